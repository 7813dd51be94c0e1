use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;

use super::*;
use crate::config::{Config, ConfigFile, Layer};
use crate::learn::{FileEvent, NetEvent, UnixEvent};
use crate::policy::Surroundings;

/// A file system of paths that exist (every ancestor a directory) and
/// symlinks (a prefix resolved to another).
#[derive(Default)]
struct FakeFs {
    exists: BTreeMap<PathBuf, bool>,
    links: Vec<(PathBuf, PathBuf)>,
}

impl FakeFs {
    fn new() -> Self {
        let mut fs = Self::default();
        for dir in ["/usr/bin", "/usr/lib", "/etc", "/tmp", "/home/u/proj/src", "/opt/tool/bin", "/dev"] {
            fs.dir(dir);
        }
        fs.file("/dev/null");
        fs
    }

    fn dir(&mut self, path: &str) -> &mut Self {
        for a in Path::new(path).ancestors() {
            self.exists.insert(a.to_path_buf(), true);
        }
        self
    }

    fn file(&mut self, path: &str) -> &mut Self {
        if let Some(parent) = Path::new(path).parent() {
            self.dir(&parent.to_string_lossy());
        }
        self.exists.insert(PathBuf::from(path), false);
        self
    }

    fn link(&mut self, from: &str, to: &str) -> &mut Self {
        self.links.push((PathBuf::from(from), PathBuf::from(to)));
        self
    }
}

impl Fs for FakeFs {
    fn lookup(&self, path: &Path) -> Option<Found> {
        let mut path = path.to_path_buf();
        for (from, to) in &self.links {
            if let Ok(rest) = path.strip_prefix(from) {
                path = to.join(rest);
            }
        }
        let path: PathBuf = path.components().collect();
        self.exists.get(&path).map(|&is_dir| Found { canonical: path, is_dir })
    }
}

fn ctx() -> Context {
    Context {
        cwd: "/home/u/proj".into(),
        home: Some("/home/u".into()),
        default_read: ["/usr", "/etc", "/tmp", "/dev/null"].iter().map(PathBuf::from).collect(),
        default_write: ["/tmp", "/dev/null"].iter().map(PathBuf::from).collect(),
        env: Vec::new(),
        ssh_auth_sock: None,
        cache_dirs: Vec::new(),
        relative_to: Some("/home/u/proj".into()),
    }
}

fn ev(path: &str, usage: FileUse, program: &str) -> FileEvent {
    FileEvent { path: path.into(), usage, program: program.into() }
}

fn files(events: Vec<FileEvent>) -> Observations {
    Observations { files: events, ..Observations::default() }
}

fn values(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.value.as_str()).collect()
}

fn held<'a>(learned: &'a Learned, key: &str) -> Vec<&'a str> {
    learned.held.iter().filter(|h| h.key == key).map(|h| h.value.as_str()).collect()
}

#[test]
fn a_fresh_build_writing_thousands_of_files_is_its_target_directory() {
    let mut fs = FakeFs::new();
    let mut events = vec![ev("/home/u/proj/target", FileUse::MadeDir, "cargo")];
    for sub in ["debug", "debug/deps", "debug/build", "debug/incremental", "debug/.fingerprint"] {
        let dir = format!("/home/u/proj/target/{sub}");
        fs.dir(&dir);
        events.push(ev(&dir, FileUse::MadeDir, "cargo"));
    }
    for i in 0..5000 {
        let sub = ["deps", "build", "incremental", ".fingerprint"][i % 4];
        let path = format!("/home/u/proj/target/debug/{sub}/{}/f{i}", i % 50);
        fs.file(&path);
        events.push(ev(&path, FileUse::Write, ["rustc", "cc", "ld"][i % 3]));
        events.push(ev(&path, FileUse::Entry, "rustc"));
        events.push(ev(&path, FileUse::Read, "rustc"));
    }
    events.push(ev("/home/u/proj/src/main.rs", FileUse::Read, "rustc"));
    fs.file("/home/u/proj/src/main.rs");
    let learned = learn(&files(events), &ctx(), &fs);
    assert_eq!(values(&learned.allow_write), ["target"], "{learned:#?}");
    let why = &learned.allow_write[0].why;
    assert!(why.starts_with("made directory; wrote 5000 files, created or removed 5000, made 5 directories"), "{why}");
    assert!(why.ends_with("(rustc, cc, ld and 1 more)"), "{why}");
    // The reads beneath target are covered by the write entry.
    assert_eq!(values(&learned.allow_read), ["src/main.rs"], "{learned:#?}");
}

#[test]
fn thousands_of_files_written_under_target_collapse_into_target_and_no_further() {
    let mut fs = FakeFs::new();
    let mut events = Vec::new();
    for i in 0..5000 {
        let profile = ["debug", "release"][i % 2];
        let path = format!("/home/u/proj/target/{profile}/deps/{}/f{i}", i % 7);
        fs.file(&path);
        events.push(ev(&path, FileUse::Write, "rustc"));
    }
    for file in [".rustc_info.json", "CACHEDIR.TAG"] {
        let path = format!("/home/u/proj/target/{file}");
        fs.file(&path);
        events.push(ev(&path, FileUse::Write, "cargo"));
    }
    let learned = learn(&files(events), &ctx(), &fs);
    assert_eq!(values(&learned.allow_write), ["target"], "{learned:#?}");
    assert_eq!(learned.allow_write[0].why, "wrote 5002 files (rustc, cargo)");
}

#[test]
fn fewer_than_four_points_stay_as_they_are() {
    let mut fs = FakeFs::new();
    let mut events = Vec::new();
    for name in ["a", "b", "c"] {
        let path = format!("/opt/tool/lib/{name}.so");
        fs.file(&path);
        events.push(ev(&path, FileUse::Read, "tool"));
    }
    let learned = learn(&files(events.clone()), &ctx(), &fs);
    assert_eq!(values(&learned.allow_read), ["/opt/tool/lib/a.so", "/opt/tool/lib/b.so", "/opt/tool/lib/c.so"]);
    fs.file("/opt/tool/lib/d.so");
    events.push(ev("/opt/tool/lib/d.so", FileUse::Read, "tool"));
    let learned = learn(&files(events), &ctx(), &fs);
    assert_eq!(values(&learned.allow_read), ["/opt/tool/lib"]);
    assert_eq!(learned.allow_read[0].why, "read 4 files (tool)");
}

#[test]
fn top_level_directories_never_collapse() {
    let mut fs = FakeFs::new();
    let events: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| {
            let path = format!("/opt/{n}");
            fs.file(&path);
            ev(&path, FileUse::Read, "x")
        })
        .collect();
    let learned = learn(&files(events), &ctx(), &fs);
    assert_eq!(values(&learned.allow_read), ["/opt/a", "/opt/b", "/opt/c", "/opt/d"]);
}

#[test]
fn files_created_in_the_working_directory_make_it_writable() {
    let mut fs = FakeFs::new();
    fs.file("/home/u/proj/out.txt").file("/home/u/proj/a.o");
    let learned = learn(
        &files(vec![
            ev("/home/u/proj/a.o", FileUse::Entry, "cc"),
            ev("/home/u/proj/a.o", FileUse::Write, "cc"),
            ev("/home/u/proj/tmp123", FileUse::Entry, "cc"),
            ev("/home/u/proj/out.txt", FileUse::Write, "make"),
        ]),
        &ctx(),
        &fs,
    );
    assert_eq!(values(&learned.allow_write), ["."], "{learned:#?}");
    assert_eq!(learned.allow_write[0].why, "wrote 2 files, created or removed 2 (cc, make)");
}

#[test]
fn a_single_use_says_what_and_who() {
    let mut fs = FakeFs::new();
    fs.file("/opt/tool/bin/gen").file("/home/u/proj/out.txt");
    let learned = learn(
        &files(vec![
            ev("/opt/tool/bin/gen", FileUse::Exec, "make"),
            ev("/opt/tool/bin", FileUse::Read, "ls"),
            ev("/home/u/proj/out.txt", FileUse::Write, "gen"),
        ]),
        &ctx(),
        &fs,
    );
    assert_eq!(
        learned.allow_read,
        [Entry { value: "/opt/tool/bin".into(), why: "executed 1 file, listed 1 directory (ls, make)".into() }]
    );
    assert_eq!(learned.allow_write, [Entry { value: "out.txt".into(), why: "written by gen".into() }]);
    let learned = learn(&files(vec![ev("/opt/tool/bin/gen", FileUse::Exec, "make")]), &ctx(), &fs);
    assert_eq!(learned.allow_read[0].why, "executed by make");
}

#[test]
fn reads_the_defaults_cover_are_left_out() {
    let mut fs = FakeFs::new();
    fs.file("/usr/lib/libc.so.6").file("/etc/hosts").file("/opt/tool/bin/x");
    let learned = learn(
        &files(vec![
            ev("/usr/lib/libc.so.6", FileUse::Read, "sh"),
            ev("/usr/bin", FileUse::Exec, "sh"),
            ev("/etc/hosts", FileUse::Read, "sh"),
            ev("/tmp", FileUse::Read, "sh"),
            ev("/opt/tool/bin/x", FileUse::Read, "sh"),
        ]),
        &ctx(),
        &fs,
    );
    assert_eq!(values(&learned.allow_read), ["/opt/tool/bin/x"]);
    assert!(learned.allow_write.is_empty() && learned.held.is_empty(), "{learned:#?}");
}

#[test]
fn writes_the_defaults_cover_are_left_out() {
    let mut fs = FakeFs::new();
    fs.file("/tmp/x").file("/dev/null");
    let learned = learn(
        &files(vec![
            ev("/tmp/x", FileUse::Write, "sh"),
            ev("/tmp/gone/deeper", FileUse::Entry, "sh"),
            ev("/tmp/token", FileUse::Entry, "sh"),
            ev("/dev/null", FileUse::Write, "sh"),
        ]),
        &ctx(),
        &fs,
    );
    assert_eq!(learned, Learned::default());
}

#[test]
fn reads_beneath_a_write_entry_are_left_out() {
    let mut fs = FakeFs::new();
    fs.file("/home/u/proj/out/a").file("/home/u/proj/src/lib.rs");
    let learned = learn(
        &files(vec![
            ev("/home/u/proj/out", FileUse::MadeDir, "make"),
            ev("/home/u/proj/out/a", FileUse::Write, "make"),
            ev("/home/u/proj/out/a", FileUse::Read, "make"),
            ev("/home/u/proj/out", FileUse::Read, "make"),
            ev("/home/u/proj/src/lib.rs", FileUse::Read, "make"),
        ]),
        &ctx(),
        &fs,
    );
    assert_eq!(values(&learned.allow_write), ["out"]);
    assert_eq!(learned.allow_write[0].why, "made directory; wrote 1 file (make)");
    assert_eq!(values(&learned.allow_read), ["src/lib.rs"]);
}

#[test]
fn an_ssh_key_read_is_held_not_allowed() {
    let mut fs = FakeFs::new();
    fs.file("/home/u/.ssh/id_ed25519").file("/home/u/.ssh/config");
    let learned = learn(
        &files(vec![
            ev("/home/u/.ssh/id_ed25519", FileUse::Read, "ssh"),
            ev("/home/u/.ssh/config", FileUse::Read, "ssh"),
        ]),
        &ctx(),
        &fs,
    );
    assert!(learned.allow_read.is_empty(), "{learned:#?}");
    assert_eq!(
        learned.held,
        [
            Held {
                key: "allow_read",
                value: "~/.ssh/config".into(),
                why: "read by ssh — SSH keys and configuration".into(),
                covered_by: None
            },
            Held {
                key: "allow_read",
                value: "~/.ssh/id_ed25519".into(),
                why: "read by ssh — SSH keys and configuration".into(),
                covered_by: None
            },
        ]
    );
}

#[test]
fn a_sensitive_file_reached_through_a_symlink_is_held() {
    let mut fs = FakeFs::new();
    fs.file("/data/dotfiles/aws/config").link("/home/u/.aws", "/data/dotfiles/aws");
    let learned = learn(&files(vec![ev("/home/u/.aws/config", FileUse::Read, "aws")]), &ctx(), &fs);
    assert!(learned.allow_read.is_empty(), "{learned:#?}");
    assert_eq!(held(&learned, "allow_read"), ["/data/dotfiles/aws/config"]);
}

#[test]
fn a_sensitive_file_in_a_writable_directory_is_held_and_says_what_reaches_it() {
    let mut fs = FakeFs::new();
    fs.file("/home/u/proj/.env").file("/home/u/proj/out.txt");
    let learned = learn(
        &files(vec![
            ev("/home/u/proj/.env", FileUse::Read, "node"),
            ev("/home/u/proj/new.txt", FileUse::Entry, "node"),
            ev("/home/u/proj/out.txt", FileUse::Write, "node"),
        ]),
        &ctx(),
        &fs,
    );
    assert_eq!(values(&learned.allow_write), ["."]);
    assert!(learned.allow_read.is_empty(), "{learned:#?}");
    assert_eq!(
        learned.held,
        [Held {
            key: "allow_read",
            value: ".env".into(),
            why: "read by node — an environment file (often holds secrets)".into(),
            covered_by: Some(".".into())
        }]
    );
    let text = render("node", &learned, &[]);
    assert!(
        text.contains("#   allow_read \".env\": read by node — an environment file (often holds secrets) (reached anyway through allow_write \".\")\n"),
        "{text}"
    );
}

#[test]
fn creating_a_sensitive_file_is_told_about() {
    let mut fs = FakeFs::new();
    fs.file("/home/u/proj/id_ed25519");
    let learned = learn(
        &files(vec![
            ev("/home/u/proj/id_ed25519", FileUse::Entry, "ssh-keygen"),
            ev("/home/u/proj/id_ed25519", FileUse::Write, "ssh-keygen"),
        ]),
        &ctx(),
        &fs,
    );
    assert_eq!(values(&learned.allow_write), ["."]);
    assert_eq!(held(&learned, "allow_write"), ["id_ed25519"]);
    assert_eq!(learned.held[0].covered_by.as_deref(), Some("."));
}

#[test]
fn no_root_holding_a_sensitive_path_is_made() {
    let mut fs = FakeFs::new();
    let mut events = Vec::new();
    for name in ["a.txt", "b.txt", "c.txt", "d.txt", "server.key"] {
        let path = format!("/srv/app/conf/{name}");
        fs.file(&path);
        events.push(ev(&path, FileUse::Read, "app"));
    }
    let learned = learn(&files(events), &ctx(), &fs);
    assert_eq!(values(&learned.allow_read).len(), 4, "{learned:#?}");
    assert_eq!(held(&learned, "allow_read"), ["/srv/app/conf/server.key"]);
    assert_eq!(learned.held[0].covered_by, None);
}

#[test]
fn the_home_directory_and_its_children_never_become_roots() {
    let mut ctx = ctx();
    ctx.relative_to = None;
    for cwd in ["/home/u/proj", "/home/u"] {
        ctx.cwd = cwd.into();
        let mut fs = FakeFs::new();
        let mut events = Vec::new();
        for path in [
            "/home/u/.a",
            "/home/u/.b",
            "/home/u/.c",
            "/home/u/.d",
            "/home/u/.cache/a/1",
            "/home/u/.cache/b/1",
            "/home/u/.cache/c/1",
            "/home/u/.cache/d/1",
            "/home/u/.cache/pip/1",
            "/home/u/.cache/pip/2",
            "/home/u/.cache/pip/3",
            "/home/u/.cache/pip/x/4",
        ] {
            fs.file(path);
            events.push(ev(path, FileUse::Write, "pip"));
        }
        let learned = learn(&files(events), &ctx, &fs);
        assert_eq!(
            values(&learned.allow_write),
            [
                "~/.a",
                "~/.b",
                "~/.c",
                "~/.cache/a/1",
                "~/.cache/b/1",
                "~/.cache/c/1",
                "~/.cache/d/1",
                "~/.cache/pip",
                "~/.d"
            ],
            "cwd {cwd}: {learned:#?}"
        );
    }
}

#[test]
fn the_project_directory_collapses_even_right_below_home() {
    let mut fs = FakeFs::new();
    let mut events = Vec::new();
    for name in ["a", "b", "c", "d"] {
        let path = format!("/home/u/proj/{name}");
        fs.file(&path);
        events.push(ev(&path, FileUse::Write, "sh"));
    }
    let learned = learn(&files(events), &ctx(), &fs);
    assert_eq!(values(&learned.allow_write), ["."]);
}

#[test]
fn a_point_that_would_open_the_home_directory_or_a_credential_store_is_held() {
    let mut fs = FakeFs::new();
    fs.file("/home/u/.cargo/bin/cargo");
    let learned = learn(
        &files(vec![
            ev("/home/u/.python_history", FileUse::Entry, "python3"),
            ev("/home/u", FileUse::Read, "ls"),
            ev("/", FileUse::Read, "ls"),
            ev("/home/u/.cargo", FileUse::Read, "cargo"),
        ]),
        &ctx(),
        &fs,
    );
    assert!(learned.allow_read.is_empty() && learned.allow_write.is_empty(), "{learned:#?}");
    let whys: Vec<(&str, &str, &str)> =
        learned.held.iter().map(|h| (h.key, h.value.as_str(), h.why.as_str())).collect();
    assert_eq!(
        whys,
        [
            ("allow_read", "/", "listed by ls — would open the whole file system"),
            ("allow_read", "~", "listed by ls — would open the whole home directory"),
            ("allow_read", "~/.cargo", "listed by cargo — would open ~/.cargo/credentials too"),
            ("allow_write", "~", "created or removed 1 (python3) — would open the whole home directory"),
        ]
    );
}

#[test]
fn a_directory_made_and_removed_again_makes_its_parent_writable() {
    let mut fs = FakeFs::new();
    fs.dir("/home/u/proj/build");
    let learned = learn(
        &files(vec![
            ev("/home/u/proj/build/tmp", FileUse::MadeDir, "cmake"),
            ev("/home/u/proj/build/tmp/x/y.o", FileUse::Write, "cc"),
            ev("/home/u/proj/build/tmp", FileUse::Entry, "cmake"),
        ]),
        &ctx(),
        &fs,
    );
    assert_eq!(values(&learned.allow_write), ["build"], "{learned:#?}");
    assert_eq!(learned.allow_write[0].why, "wrote 1 file, created or removed 1 (cmake, cc)");
}

#[test]
fn a_directory_made_that_still_exists_is_the_point_itself() {
    let mut fs = FakeFs::new();
    fs.dir("/home/u/.cache/tool");
    let learned = learn(&files(vec![ev("/home/u/.cache/tool", FileUse::MadeDir, "tool")]), &ctx(), &fs);
    assert_eq!(learned.allow_write, [Entry { value: "~/.cache/tool".into(), why: "made directory (tool)".into() }]);
}

#[test]
fn an_entry_names_the_directory_of_the_link_not_its_target() {
    let mut fs = FakeFs::new();
    fs.file("/opt/tool/bin/real").dir("/home/u/proj/bin").link("/home/u/proj/bin/tool", "/opt/tool/bin/real");
    let learned = learn(&files(vec![ev("/home/u/proj/bin/tool", FileUse::Entry, "ln")]), &ctx(), &fs);
    assert_eq!(values(&learned.allow_write), ["bin"]);
}

#[test]
fn failed_probes_and_the_commands_own_files_need_nothing() {
    let fs = FakeFs::new();
    let learned = learn(
        &files(vec![
            ev("/home/u/proj/missing.h", FileUse::Read, "cc"),
            ev("/opt/nothing/bin/x", FileUse::Exec, "sh"),
            ev("/proc/self/status", FileUse::Read, "sh"),
            ev("/proc/1234/fd/1", FileUse::Write, "sh"),
            ev("/dev/stdout", FileUse::Write, "sh"),
            ev("/dev/fd/3", FileUse::Read, "sh"),
            ev("relative/path", FileUse::Read, "sh"),
        ]),
        &ctx(),
        &fs,
    );
    assert_eq!(learned, Learned::default());
}

#[test]
fn values_relative_home_and_absolute() {
    let mut fs = FakeFs::new();
    for path in ["/home/u/proj/~x", "/home/u/proj/src/a b#\"c\\.rs", "/home/u/notes/ü.txt", "/srv/data"] {
        fs.file(path);
    }
    let events = ["/home/u/proj/~x", "/home/u/proj/src/a b#\"c\\.rs", "/home/u/notes/ü.txt", "/srv/data"]
        .iter()
        .map(|p| ev(p, FileUse::Read, "cat"))
        .collect();
    let learned = learn(&files(events), &ctx(), &fs);
    assert_eq!(values(&learned.allow_read), ["./~x", "/srv/data", "src/a b#\"c\\.rs", "~/notes/ü.txt"]);
}

#[test]
fn paths_that_cannot_be_written_are_noted() {
    let mut fs = FakeFs::new();
    let bad = PathBuf::from(OsStr::from_bytes(b"/srv/\xff"));
    fs.exists.insert(bad.clone(), false);
    fs.file("/srv/${HOME}");
    let learned = learn(
        &files(vec![
            FileEvent { path: bad, usage: FileUse::Read, program: "cat".into() },
            ev("/srv/${HOME}", FileUse::Read, "cat"),
        ]),
        &ctx(),
        &fs,
    );
    assert!(learned.allow_read.is_empty(), "{learned:#?}");
    assert_eq!(
        learned.notes,
        [
            "not written: allow_read \"/srv/${HOME}\" (read by cat): contains ${, which the loader would expand — a \
             profile cannot name it; give it on the command line (--allow-read=PATH)",
            "not written: allow_read \"/srv/\\xFF\" (read by cat): not UTF-8 — a profile cannot name it; give it on \
             the command line (--allow-read=PATH)",
        ]
    );
}

fn connect(addr: &str, names: &[&str], program: &str) -> NetEvent {
    NetEvent {
        addr: addr.parse::<SocketAddr>().unwrap(),
        names: names.iter().map(|n| n.to_string()).collect(),
        usage: NetUse::Connect,
        program: program.into(),
    }
}

#[test]
fn connections_become_name_or_address_entries() {
    let obs = Observations {
        net: vec![
            connect("192.0.2.34:443", &["example.com"], "curl"),
            connect("[2001:db8::1]:443", &["example.com"], "curl"),
            connect("198.51.100.3:443", &["git.example.com", "www.git.example.com"], "git"),
            connect("127.0.0.2:8080", &[], "curl"),
            connect("[::1]:80", &[], "wget"),
            connect("[::ffff:10.0.0.1]:22", &[], "ssh"),
        ],
        ..Observations::default()
    };
    let learned = learn(&obs, &ctx(), &FakeFs::new());
    let net: Vec<(&str, &str)> = learned.allow_net.iter().map(|e| (e.value.as_str(), e.why.as_str())).collect();
    assert_eq!(
        net,
        [
            ("10.0.0.1:22", "connected by ssh (10.0.0.1:22)"),
            ("127.0.0.2:8080", "connected by curl (127.0.0.2:8080)"),
            ("[::1]:80", "connected by wget ([::1]:80)"),
            ("example.com:443", "connected by curl (192.0.2.34:443, [2001:db8::1]:443)"),
            ("git.example.com:443", "connected by git (198.51.100.3:443)"),
            ("www.git.example.com:443", "connected by git (198.51.100.3:443)"),
        ]
    );
    assert!(learned.notes.is_empty(), "{learned:#?}");
}

#[test]
fn binds_need_nothing_or_a_listening_entry() {
    let bind = |addr: &str| NetEvent {
        addr: addr.parse().unwrap(),
        names: Vec::new(),
        usage: NetUse::Bind,
        program: "python3".into(),
    };
    let obs = Observations {
        net: vec![
            bind("127.0.0.1:8000"),
            bind("[::1]:8000"),
            bind("0.0.0.0:0"),
            bind("0.0.0.0:8080"),
            bind("[::]:8080"),
        ],
        ..Observations::default()
    };
    let learned = learn(&obs, &ctx(), &FakeFs::new());
    // Loopback and port 0 need nothing; a fixed port on all interfaces
    // becomes the listening entry for that port (which allows no connects).
    let entries: Vec<(&str, &str)> = learned.allow_net.iter().map(|e| (e.value.as_str(), e.why.as_str())).collect();
    assert_eq!(entries, [("0.0.0.0:8080", "listened by python3 (0.0.0.0:8080, [::]:8080)")], "{learned:#?}");
    assert!(learned.notes.is_empty(), "{learned:#?}");
}

#[test]
fn names_looked_up_but_never_connected_to_are_noted() {
    let obs = Observations {
        net: vec![connect("93.184.216.34:443", &["example.com"], "curl")],
        lookups: vec!["example.com".into(), "Tracker.Example.NET.".into(), "example.com".into()],
        gaps: vec!["calls through the 32-bit entry were not observed".into()],
        ..Observations::default()
    };
    let learned = learn(&obs, &ctx(), &FakeFs::new());
    assert_eq!(values(&learned.allow_net), ["example.com:443"]);
    assert_eq!(
        learned.notes,
        [
            "calls through the 32-bit entry were not observed",
            "looked up tracker.example.net but connected to none of its addresses: not allowed (it will not resolve \
             under this profile); add \"tracker.example.net\" if the command needs the lookup",
        ]
    );
}

#[test]
fn unix_sockets_connected_to_are_allowed_unless_sensitive() {
    let mut fs = FakeFs::new();
    fs.file("/run/user/1000/bus")
        .file("/run/docker.sock")
        .file("/run/user/1000/gnupg/S.gpg-agent")
        .file("/tmp/ssh-XXXX/agent.123")
        .file("/run/user/1000/keyring/ssh")
        .link("/var/run", "/run");
    let mut ctx = ctx();
    ctx.ssh_auth_sock = Some("/run/user/1000/keyring/ssh".into());
    let unix = |path: &str, bound: bool| UnixEvent { path: path.into(), bound, program: "x".into() };
    let obs = Observations {
        unix: vec![
            unix("/run/user/1000/bus", false),
            unix("/home/u/proj/server.sock", false),
            unix("/home/u/proj/own.sock", true),
            unix("/var/run/docker.sock", false),
            unix("/run/user/1000/gnupg/S.gpg-agent", false),
            unix("/tmp/ssh-XXXX/agent.123", false),
            unix("/run/user/1000/keyring/ssh", false),
            unix("/gone/dir/s.sock", false),
        ],
        ..Observations::default()
    };
    let learned = learn(&obs, &ctx, &fs);
    assert_eq!(values(&learned.allow_unix), ["/run/user/1000/bus", "server.sock"]);
    let held: Vec<(&str, &str)> = learned.held.iter().map(|h| (h.value.as_str(), h.why.as_str())).collect();
    assert_eq!(
        held,
        [
            ("/run/docker.sock", "connected by x — a container engine (root on the host)"),
            ("/run/user/1000/gnupg/S.gpg-agent", "connected by x — the GnuPG agent"),
            ("/run/user/1000/keyring/ssh", "connected by x — the SSH agent (SSH_AUTH_SOCK)"),
            ("/tmp/ssh-XXXX/agent.123", "connected by x — an SSH agent"),
        ]
    );
    assert!(learned.held.iter().all(|h| h.key == "allow_unix"));
    assert_eq!(
        learned.notes,
        [
            "not written: allow_unix \"/gone/dir/s.sock\" (connected by x): neither it nor its directory exists now — add \
             it by hand once it does"
        ]
    );
}

#[test]
fn environment_variables_set_are_allowed_unless_secret_or_always_passed() {
    let mut ctx = ctx();
    ctx.env = [
        "AWS_PROFILE",
        "CARGO_HOME",
        "DATABASE_URL",
        "EDITOR",
        "GITHUB_TOKEN",
        "HOME",
        "LANG",
        "MY_API_KEY",
        "NPM_CONFIG__AUTH",
        "PATH",
        "SSH_AUTH_SOCK",
        "STRIPE_SECRET",
        "WEIRD*",
        "_",
        "db_password",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let learned = learn(&Observations::default(), &ctx, &FakeFs::new());
    assert_eq!(values(&learned.allow_env), ["CARGO_HOME", "EDITOR"]);
    assert!(learned.allow_env.iter().all(|e| e.why == "set when learning"));
    assert_eq!(
        held(&learned, "allow_env"),
        [
            "AWS_PROFILE",
            "DATABASE_URL",
            "GITHUB_TOKEN",
            "MY_API_KEY",
            "NPM_CONFIG__AUTH",
            "SSH_AUTH_SOCK",
            "STRIPE_SECRET",
            "db_password"
        ]
    );
    assert_eq!(learned.notes.len(), 1, "{:?}", learned.notes);
    assert!(learned.notes[0].starts_with("not written: allow_env \"WEIRD*\""));
}

#[test]
fn control_characters_in_program_names_are_stripped() {
    let mut fs = FakeFs::new();
    fs.file("/opt/tool/bin/x");
    let learned =
        learn(&files(vec![ev("/opt/tool/bin/x", FileUse::Exec, "ev\nil\u{1b}[31m\u{202e}\r\0")]), &ctx(), &fs);
    assert_eq!(learned.allow_read[0].why, "executed by ev il[31m");
    let text = render("x", &learned, &["line\none".into()]);
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
    assert_eq!(text.lines().count(), 6, "{text}");
}

#[test]
fn is_sensitive_families() {
    let home = Some(Path::new("/home/u"));
    let yes = [
        "/home/u/.ssh",
        "/home/u/.ssh/config",
        "/home/u/.aws/credentials",
        "/home/u/.gnupg/pubring.kbx",
        "/home/u/.kube/config",
        "/home/u/.azure/msal_token_cache.json",
        "/home/u/.docker/config.json",
        "/home/u/.password-store/x.gpg",
        "/home/u/.terraform.d/credentials.tfrc.json",
        "/home/u/.config/gh/hosts.yml",
        "/home/u/.config/gcloud/application_default_credentials.json",
        "/home/u/.netrc",
        "/home/u/.npmrc",
        "/home/u/.pypirc",
        "/home/u/.git-credentials",
        "/home/u/.cargo/credentials",
        "/home/u/.cargo/credentials.toml",
        "/srv/tls/server.pem",
        "/srv/tls/privkey.pem",
        "/srv/tls/server.key",
        "/srv/tls/cert.p12",
        "/srv/tls/cert.PFX",
        "/backup/id_rsa",
        "/backup/id_rsa.pub",
        "/backup/id_ed25519",
        "/backup/id_ecdsa_sk",
        "/home/u/proj/.env",
        "/home/u/proj/.env.local",
        "/home/u/.cache/huggingface/token",
        "/home/u/proj/config/secrets.yml",
        "/home/u/proj/secret/db.txt",
        "/srv/app/Credentials.json",
        "/srv/app/db_password",
        "/srv/app/htpasswd",
        "/etc/shadow",
        "/srv/site/node_modules/.env",
    ];
    for path in yes {
        assert!(is_sensitive(Path::new(path), home).is_some(), "{path} should be sensitive");
    }
    let no = [
        "/etc/passwd",
        "/etc/pam.d/passwd",
        "/usr/bin/passwd",
        "/usr/lib/python3/dist-packages/keyring/credentials.py",
        "/home/u/proj/.venv/lib/python3.12/site-packages/google/auth/credentials.py",
        "/home/u/proj/node_modules/js-tokens/index.js",
        "/home/u/go/pkg/mod/golang.org/x/oauth2@v0.1.0/token.go",
        "/home/u/.cache/huggingface/tokenizers/x.json",
        "/home/u/proj/tokenizer.json",
        "/home/u/proj/.venv/lib/python3.12/site-packages/certifi/cacert.pem",
        "/home/u/proj/src/main.rs",
        "/home/u/.netrc-notes/x",
        "/other/.netrc",
        "/home/u/.config/ghostty/config",
        "/home/u/.environment",
        "/home/u/proj/env/x",
    ];
    for path in no {
        assert_eq!(is_sensitive(Path::new(path), home), None, "{path} should not be sensitive");
    }
    // Without a home directory, only the rules that need none apply.
    assert!(is_sensitive(Path::new("/home/u/.ssh/config"), None).is_some());
    assert_eq!(is_sensitive(Path::new("/home/u/.npmrc"), None), None);
}

/// A learned profile with every kind of entry, values that need escaping,
/// held entries and notes.
fn everything() -> (Learned, FakeFs, Context) {
    let mut fs = FakeFs::new();
    let odd = [
        "/home/u/proj/with \"quotes\"",
        "/home/u/proj/back\\slash",
        "/home/u/proj/sp ace#hash",
        "/home/u/proj/ünï😀",
        "/home/u/proj/~tilde",
        "/home/u/proj/ctl\u{1}x",
        "/home/u/proj/rtl\u{202e}x",
        "/home/u/.cache/tool/x",
        "/opt/tool/bin/tool",
    ];
    let mut events = Vec::new();
    for path in odd {
        fs.file(path);
        events.push(ev(path, FileUse::Read, "to\"ol#"));
    }
    fs.file("/home/u/proj/.env").file("/home/u/proj/out");
    events.push(ev("/home/u/proj/.env", FileUse::Read, "tool"));
    events.push(ev("/srv/out/new", FileUse::Entry, "tool"));
    fs.dir("/srv/out");
    fs.file("/run/user/1000/bus");
    let obs = Observations {
        files: events,
        net: vec![connect("93.184.216.34:443", &["example.com"], "curl"), connect("[::1]:80", &[], "curl")],
        unix: vec![UnixEvent { path: "/run/user/1000/bus".into(), bound: false, program: "x".into() }],
        lookups: vec!["nowhere.example".into()],
        gaps: vec!["a gap\nwith a newline".into()],
        lost: Vec::new(),
    };
    let mut ctx = ctx();
    ctx.env = vec!["CARGO_HOME".into(), "EDITOR".into(), "GITHUB_TOKEN".into()];
    let learned = learn(&obs, &ctx, &fs);
    (learned, fs, ctx)
}

#[test]
fn render_shows_every_list_the_held_entries_and_notes() {
    let (learned, _, _) = everything();
    let text = render("tool", &learned, &["learned from: tool --build".into(), "not verified".into()]);
    let expected = r#"# learned from: tool --build
# not verified
[profile.tool]
deny = ["read", "write", "net", "env"]
allow_read = [
    "./~tilde",  # read by to"ol#
    "/opt/tool/bin/tool",  # read by to"ol#
    "back\\slash",  # read by to"ol#
    "ctl\u0001x",  # read by to"ol#
    "rtl\u202Ex",  # read by to"ol#
    "sp ace#hash",  # read by to"ol#
    "with \"quotes\"",  # read by to"ol#
    "~/.cache/tool/x",  # read by to"ol#
    "ünï😀",  # read by to"ol#
]
allow_write = [
    "/srv/out",  # created or removed 1 (tool)
]
allow_net = [
    "[::1]:80",  # connected by curl ([::1]:80)
    "example.com:443",  # connected by curl (93.184.216.34:443)
]
allow_unix = [
    "/run/user/1000/bus",  # connected by x
]
allow_env = [  # set when learning
    "CARGO_HOME",
    "EDITOR",
]
# Needed but sensitive — add by hand if you mean it:
#   allow_read ".env": read by tool — an environment file (often holds secrets)
#   allow_env "GITHUB_TOKEN": set when learning — its name suggests a secret
# Notes:
#   a gap with a newline
#   looked up nowhere.example but connected to none of its addresses: not allowed (it will not resolve under this profile); add "nowhere.example" if the command needs the lookup
"#;
    assert_eq!(text, expected, "{text}");
}

#[test]
fn rendered_profiles_are_read_back_by_the_loader_as_learned() {
    let (learned, _, ctx) = everything();
    for name in ["tool", "my_tool-2"] {
        let text = render(name, &learned, &["header # with \"stuff\"\r\n".into()]);
        let table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let profile = &table["profile"][name];
        let read: Vec<&str> = profile["allow_read"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(read, values(&learned.allow_read));

        let dir = ctx.relative_to.clone().unwrap();
        let file = ConfigFile::parse(Layer::Named, Some(dir.join("sbx.toml")), &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let config = Config::from_files(vec![file]).unwrap();
        let surroundings = Surroundings { vars: vec![("HOME".into(), "/home/u".into())], cwd: "/elsewhere".into() };
        let flat = config.flatten(name, &surroundings).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let read: Vec<PathBuf> = flat.request.allow_read.iter().map(|e| e.value.clone()).collect();
        let mut expected: Vec<PathBuf> = [
            "/home/u/proj/~tilde",
            "/opt/tool/bin/tool",
            "/home/u/proj/back\\slash",
            "/home/u/proj/ctl\u{1}x",
            "/home/u/proj/rtl\u{202e}x",
            "/home/u/proj/sp ace#hash",
            "/home/u/proj/with \"quotes\"",
            "/home/u/.cache/tool/x",
            "/home/u/proj/ünï😀",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(read, expected);
        expected = vec!["/srv/out".into()];
        let write: Vec<PathBuf> = flat.request.allow_write.iter().map(|e| e.value.clone()).collect();
        assert_eq!(write, expected);
        let net: Vec<&str> = flat.request.allow_net.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(net, ["[::1]:80", "example.com:443"]);
        for entry in &flat.request.allow_net {
            NetRule::parse(&entry.value).unwrap();
        }
        let env: Vec<&str> = flat.request.allow_env.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(env, ["CARGO_HOME", "EDITOR"]);
    }
}

#[test]
fn an_empty_profile_denies_everything() {
    let text = render("empty", &Learned::default(), &[]);
    assert_eq!(text, "[profile.empty]\ndeny = [\"read\", \"write\", \"net\", \"env\"]\n");
    ConfigFile::parse(Layer::Named, None, &text).unwrap();
}

#[test]
fn quoting_round_trips_every_character() {
    let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
    for value in [all.as_str(), "", "'", "\"\"\"", "a\\u0041"] {
        let text = format!("v = {}\n", quote(value));
        let table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
        assert_eq!(table["v"].as_str(), Some(value));
    }
}

#[test]
fn a_profile_learned_from_a_start_extends_it() {
    let learned = Learned { extends: vec!["build".into()], ..Learned::default() };
    let text = render("job", &learned, &[]);
    assert_eq!(text, "[profile.job]\nextends = [\"build\"]\ndeny = [\"read\", \"write\", \"net\", \"env\"]\n");
    let file = ConfigFile::parse(Layer::Named, None, &text).unwrap();
    let config = Config::from_files(vec![file]).unwrap();
    let surroundings = Surroundings { vars: vec![], cwd: "/work".into() };
    let flat = config.flatten("job", &surroundings).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(flat.request.allow_write.iter().any(|e| e.value == std::path::Path::new("/work")), "{flat:?}");
}

#[test]
fn package_caches_are_where_the_environment_puts_them() {
    let home = Path::new("/home/u");
    let none = |_: &str| None;
    assert_eq!(
        cache_dirs(Some(home), none),
        [
            "/home/u/.cache/go-build",
            "/home/u/.cache/pip",
            "/home/u/.cargo/git",
            "/home/u/.cargo/registry",
            "/home/u/.gradle/caches",
            "/home/u/.m2/repository",
            "/home/u/.npm",
            "/home/u/go/pkg/mod",
        ]
        .map(PathBuf::from)
    );
    let vars = |name: &str| {
        let value = match name {
            "npm_config_cache" => "/cache/npm/",
            "PIP_CACHE_DIR" => "relative/pip",
            "XDG_CACHE_HOME" => "/xdg",
            "CARGO_HOME" => "/opt/cargo",
            "GOPATH" => "/gopath:/other",
            "GOCACHE" => "/home/u",
            "GRADLE_USER_HOME" => "/",
            _ => return None,
        };
        Some(value.into())
    };
    // A relative value is ignored (the default stands); one that would
    // open the home directory or the whole file system is dropped.
    assert_eq!(
        cache_dirs(Some(home), vars),
        [
            "/cache/npm",
            "/gopath/pkg/mod",
            "/home/u/.m2/repository",
            "/opt/cargo/git",
            "/opt/cargo/registry",
            "/xdg/pip"
        ]
        .map(PathBuf::from)
    );
    // No home: only what the environment names.
    assert_eq!(cache_dirs(None, |n: &str| (n == "GOMODCACHE").then(|| "/m".into())), Vec::<PathBuf>::new());
    assert_eq!(cache_dirs(None, |n: &str| (n == "GOMODCACHE").then(|| "/m/mod".into())), [PathBuf::from("/m/mod")]);
}

#[test]
fn a_package_cache_is_learned_whole_and_writable_if_anything_in_it_was_written() {
    let mut fs = FakeFs::new();
    let mut ctx = ctx();
    ctx.cache_dirs = cache_dirs(ctx.home.as_deref(), |_| None);
    // npm read one entry and added another: the whole cache, writable.
    let npm = "/home/u/.npm/_cacache/content-v2/sha512";
    fs.file(&format!("{npm}/aa/bb/old")).file(&format!("{npm}/cc/dd/new")).file("/home/u/.npm/_cacache/index-v5/x");
    // pip only read: the whole cache, read-only. A credential-like name in
    // a cache is still told about.
    fs.file("/home/u/.cache/pip/http-v2/a/b/c.body").file("/home/u/.cache/pip/secret.pem");
    // Something else in ~/.cache stays as narrow as ever.
    fs.file("/home/u/.cache/tool/data");
    let learned = learn(
        &files(vec![
            ev(&format!("{npm}/aa/bb/old"), FileUse::Read, "npm"),
            ev(&format!("{npm}/cc"), FileUse::MadeDir, "npm"),
            ev(&format!("{npm}/cc/dd"), FileUse::MadeDir, "npm"),
            ev(&format!("{npm}/cc/dd/new"), FileUse::Write, "npm"),
            ev(&format!("{npm}/cc/dd/new"), FileUse::Entry, "npm"),
            ev("/home/u/.npm/_cacache/index-v5/x", FileUse::Read, "npm"),
            ev("/home/u/.cache/pip/http-v2/a/b/c.body", FileUse::Read, "pip"),
            ev("/home/u/.cache/pip/secret.pem", FileUse::Read, "pip"),
            ev("/home/u/.cache/tool/data", FileUse::Read, "tool"),
        ]),
        &ctx,
        &fs,
    );
    assert_eq!(values(&learned.allow_write), ["~/.npm"], "{learned:#?}");
    assert!(
        learned.allow_write[0].why.starts_with("package cache, allowed whole: wrote 1 file"),
        "{}",
        learned.allow_write[0].why
    );
    assert_eq!(values(&learned.allow_read), ["~/.cache/pip", "~/.cache/tool/data"], "{learned:#?}");
    assert_eq!(held(&learned, "allow_read"), ["~/.cache/pip/secret.pem"]);
    assert_eq!(learned.held[0].covered_by.as_deref(), Some("~/.cache/pip"));
}

#[test]
fn per_session_variables_are_left_out_and_named_in_a_note() {
    let mut ctx = ctx();
    ctx.env = [
        "CLOUDSDK_CONFIG",
        "DISPLAY",
        "MYTOOL_HOME",
        "OLDPWD",
        "PWD",
        "SHLVL",
        "SSH_CONNECTION",
        "SSH_AUTH_SOCK",
        "TERM_PROGRAM",
        "VSCODE_GIT_IPC_HANDLE",
        "XDG_CONFIG_HOME",
        "XDG_SESSION_ID",
        "_",
    ]
    .map(String::from)
    .to_vec();
    let learned = learn(&Observations::default(), &ctx, &FakeFs::new());
    assert_eq!(values(&learned.allow_env), ["MYTOOL_HOME", "XDG_CONFIG_HOME"]);
    // The agent's socket is a credential: held, as before.
    assert_eq!(held(&learned, "allow_env"), ["SSH_AUTH_SOCK"]);
    assert_eq!(
        learned.notes,
        [
            "left out of allow_env, as they belong to the shell, terminal, login, desktop or machine learning ran in (add \
          one the command needs): CLOUDSDK_CONFIG, DISPLAY, OLDPWD, PWD, SHLVL, SSH_CONNECTION, TERM_PROGRAM, \
          VSCODE_GIT_IPC_HANDLE, XDG_SESSION_ID"
        ]
    );
}

#[test]
fn every_per_session_variable_is_documented() {
    let doc = include_str!("../../../docs/learn.md");
    let words: BTreeSet<&str> = doc.split(|c: char| c.is_whitespace() || c == '`' || c == ',').collect();
    for name in SESSION_VARS {
        assert!(words.contains(name), "{name} is left out of allow_env but not listed in docs/learn.md");
    }
}

//! Hidden paths (`--hide`, `--hide-secrets`, the secrets set under
//! `--deny-read`): unreadable although a rule covers them — by `open`, by a
//! hard link, a rename or a symlink made in a writable place, and through
//! `/proc/self/root` — while everything beside them stays readable. Every
//! case first proves the probe reads the file without sbx; the key cases
//! run as the invoking user and as uid 65534. HOME is a temp home.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::fs::open_up;
use super::util::{Cmd, User, as_both_users, bare, files_enforced, landlock_abi, make_reachable, probe, sbx};

/// A temp home (under the target dir: neither /tmp nor a default):
///
/// ```text
/// home/.ssh/id            "key"   in the secrets set
/// home/.config/gh/hosts   "tok"   in the secrets set
/// home/notes              "notes"
/// home/proj/              a directory beside the secrets
/// work/                   a directory outside the home
/// ```
struct Home {
    dir: TempDir,
    user: User,
}

impl Home {
    fn new(user: User) -> Self {
        let dir = super::util::tempdir();
        let root = dir.path();
        fs::create_dir_all(root.join("home/.ssh")).unwrap();
        fs::create_dir_all(root.join("home/.config/gh")).unwrap();
        fs::create_dir_all(root.join("home/proj")).unwrap();
        fs::create_dir_all(root.join("work")).unwrap();
        fs::write(root.join("home/.ssh/id"), "key").unwrap();
        fs::write(root.join("home/.config/gh/hosts"), "tok").unwrap();
        fs::write(root.join("home/notes"), "notes").unwrap();
        if user == User::Nobody {
            open_up(root);
            make_reachable(root);
        }
        Self { dir, user }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn p(&self, rel: &str) -> OsString {
        self.path(rel).into_os_string()
    }

    /// `NAME=<path of rel>`.
    fn flag(&self, name: &str, rel: &str) -> OsString {
        let mut out = OsString::from(name);
        out.push("=");
        out.push(self.path(rel));
        out
    }

    fn prepare(&self, cmd: Cmd) -> Cmd {
        // sbx's own configuration and state outside the home, which some
        // cases make writable.
        let cmd = cmd
            .cwd(self.dir.path())
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("work/config"))
            .env("XDG_STATE_HOME", self.path("work/state"))
            .env_remove("TMPDIR");
        self.user.apply(cmd)
    }

    /// `probe ARGS` without sbx: must print `ok` (the control run).
    fn control(&self, args: &[OsString]) {
        self.prepare(bare(probe()).args(args)).run().success().stdout_is("ok");
    }

    /// `sbx FLAGS -- probe ARGS`.
    fn sbx_probe(&self, flags: &[OsString], args: &[OsString]) -> Cmd {
        self.prepare(sbx(flags).arg("--").arg(probe()).args(args))
    }

    /// Asserts the control run, then that under `sbx FLAGS` the probe prints `expected`.
    #[track_caller]
    fn check(&self, flags: &[OsString], args: &[OsString], expected: &str) {
        self.control(args);
        self.sbx_probe(flags, args).run().success().stdout_is(expected);
    }
}

fn os(s: &str) -> OsString {
    OsString::from(s)
}

/// `--deny-read --allow-read=<probe> --allow-read=<home>`.
fn read_home(h: &Home) -> Vec<OsString> {
    let mut probe_flag = os("--allow-read=");
    probe_flag.push(probe());
    vec![os("--deny-read"), probe_flag, h.flag("--allow-read", "home")]
}

#[test]
fn secrets_are_hidden_by_default_under_deny_read_the_rest_of_home_stays_readable() {
    as_both_users(|user| {
        let h = Home::new(user);
        let flags = read_home(&h);
        h.check(&flags, &[os("read"), h.p("home/.ssh/id")], "EACCES");
        h.check(&flags, &[os("read"), h.p("home/.config/gh/hosts")], "EACCES");
        h.check(&flags, &[os("read"), h.p("home/notes")], "ok");
        h.check(&flags, &[os("readdir"), h.p("home/proj")], "ok");
        // Listing is inherited: the names inside a hidden directory stay listable.
        h.check(&flags, &[os("readdir"), h.p("home/.ssh")], "ok");
        // A rule on the path itself lifts the hide.
        let mut lifted = flags.clone();
        lifted.push(h.flag("--allow-read", "home/.ssh"));
        h.check(&lifted, &[os("read"), h.p("home/.ssh/id")], "ok");
        h.check(&lifted, &[os("read"), h.p("home/.config/gh/hosts")], "EACCES");
    });
}

#[test]
fn hide_without_deny_read_hides_only_that_path() {
    as_both_users(|user| {
        let h = Home::new(user);
        let flags = [h.flag("--hide", "home/.ssh")];
        h.check(&flags, &[os("read"), h.p("home/.ssh/id")], "EACCES");
        h.check(&flags, &[os("read"), h.p("home/notes")], "ok");
        h.check(&flags, &[os("read"), h.p("home/.config/gh/hosts")], "ok");
        h.check(&flags, &[os("read"), os("/etc/passwd")], "ok");
        let secrets = [os("--hide-secrets")];
        h.check(&secrets, &[os("read"), h.p("home/.config/gh/hosts")], "EACCES");
        h.check(&secrets, &[os("read"), h.p("home/notes")], "ok");
    });
}

#[test]
fn a_hidden_file_cannot_be_reached_by_link_rename_symlink_or_proc_root() {
    as_both_users(|user| {
        // Without --deny-write everything is writable: the strongest case.
        let h = Home::new(user);
        let flags = [h.flag("--hide", "home/.ssh")];
        let id = h.p("home/.ssh/id");
        // A hard link into a readable directory would gain reading: refused
        // (REFER at ABI 2+, any cross-directory link at ABI 1).
        let linked = h.p("work/x");
        h.sbx_probe(&flags, &[os("link"), id.clone(), linked.clone()]).run().success().stdout_is("EXDEV");
        assert!(!h.path("work/x").exists());
        // Renamed into a readable directory: refused the same way.
        h.sbx_probe(&flags, &[os("rename"), id.clone(), h.p("home/proj/id")]).run().success().stdout_is("EXDEV");
        assert!(h.path("home/.ssh/id").exists());
        // Through /proc/self/root: the same file, the same refusal.
        let mut via_proc = OsString::from("/proc/self/root");
        via_proc.push(&id);
        h.check(&flags, &[os("read"), via_proc], "EACCES");
        // A symlink made in a writable place leads to the same file.
        let link = h.path("work/s");
        let script = format!(
            "{probe} symlink {id} {link} && {probe} read {link}",
            probe = probe().display(),
            id = h.path("home/.ssh/id").display(),
            link = link.display()
        );
        h.prepare(sbx(&flags).args(["--", "/bin/sh", "-c", &script])).run().success().stdout_is("ok\nEACCES");
        // Control: the same read through the symlink without sbx.
        h.control(&[os("read"), link.into_os_string()]);
    });
}

#[test]
fn links_and_renames_are_refused_at_landlock_abi_1_too() {
    if !files_enforced() || landlock_abi() < 1 {
        return;
    }
    let h = Home::new(User::Caller);
    let flags = [h.flag("--hide", "home/.ssh")];
    let run = |args: &[OsString]| h.sbx_probe(&flags, args).landlock("1").run();
    run(&[os("read"), h.p("home/.ssh/id")]).success().stdout_is("EACCES");
    run(&[os("read"), h.p("home/notes")]).success().stdout_is("ok");
    run(&[os("link"), h.p("home/.ssh/id"), h.p("work/x")]).success().stdout_is("EXDEV");
    run(&[os("rename"), h.p("home/.ssh/id"), h.p("home/proj/id")]).success().stdout_is("EXDEV");
    assert!(h.path("home/.ssh/id").exists() && !h.path("work/x").exists());
}

#[test]
fn hiding_inside_a_writable_tree_is_refused_unless_best_effort() {
    if !files_enforced() {
        return;
    }
    let h = Home::new(User::Caller);
    let flags = vec![os("--deny-write"), h.flag("--allow-write", "home"), h.flag("--hide", "home/.ssh")];
    h.sbx_probe(&flags, &[os("read"), h.p("home/.ssh/id")])
        .run()
        .code(125)
        .stderr_has("which is writable")
        .stderr_has("--best-effort");
    let mut best = flags.clone();
    best.push(os("--best-effort"));
    h.sbx_probe(&best, &[os("read"), h.p("home/.ssh/id")]).run().success().stdout_is("EACCES").stderr_has("warning");
    // The secrets set skips such entries, and --explain says so.
    let mut set = read_home(&h);
    set.extend([os("--deny-write"), h.flag("--allow-write", "home")]);
    h.sbx_probe(&set, &[os("read"), h.p("home/.ssh/id")]).run().success().stdout_is("ok");
    let mut explain = vec![os("--explain")];
    explain.extend(set);
    let out = h.prepare(sbx(&explain)).run();
    out.success().stdout_has("skipped").stdout_has("which is writable");
}

#[test]
fn explain_names_each_hide_with_its_source_and_what_lifts_it() {
    let h = Home::new(User::Caller);
    let mut flags = vec![os("--explain")];
    flags.extend(read_home(&h));
    flags.push(h.flag("--allow-read", "home/.config/gh"));
    flags.push(h.flag("--hide", "home/notes"));
    let out = h.prepare(sbx(&flags)).run();
    let ssh = h.path("home/.ssh").display().to_string();
    out.success()
        .stdout_has(&format!("hidden     {ssh} (SSH keys and configuration)  ← default: secrets set"))
        .stdout_has(&format!("cut out of --allow-read={}", h.path("home").display()))
        .stdout_has(&format!("lifted     {}", h.path("home/.config/gh").display()))
        .stdout_has(&format!("hidden     {}  ← --hide", h.path("home/notes").display()))
        .stdout_has("To read a hidden path, name it: --allow-read=PATH.");
}

#[test]
fn a_profile_hides_with_its_key() {
    if !files_enforced() {
        return;
    }
    let h = Home::new(User::Caller);
    let config = h.path("sbx-config.toml");
    fs::write(&config, "[profile.p]\nhide = [\"~/notes\"]\n").unwrap();
    let flags = [os("-p"), os("p"), h.flag("--config", "sbx-config.toml")];
    h.check(&flags, &[os("read"), h.p("home/notes")], "EACCES");
    h.check(&flags, &[os("read"), h.p("home/.ssh/id")], "ok");
    let mut explain = vec![os("--explain")];
    explain.extend(flags);
    h.prepare(sbx(&explain)).run().success().stdout_has("profile p: hide");
    assert!(Path::new(&config).exists());
}

//! `sbx learn` end to end: learn real commands (a C build with make, a
//! Python script reading its configuration and writing output, a program
//! connecting to a named loopback host through the test DNS server), check
//! that the learned profile passes `--verify`, that it denies a write
//! outside what was learned, that credentials are held back, and that the
//! file is TOML that `sbx --explain` accepts.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::dnsutil::{self, Answer, CONNECT_PY, TestDns};
use super::util::{Output, bare, listener, make_reachable, probe, python, refuse, sbx, sbx_path, skip, tempdir};

/// `make` on PATH, or a skip.
fn have_make() -> bool {
    let found = bare("make").arg("--version").run().status.success();
    if !found {
        skip("needs make");
    }
    found
}

/// The profile `name` of `file`, as a TOML table (the file must parse).
fn profile_of(file: &Path, name: &str) -> toml::Table {
    let text = std::fs::read_to_string(file).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("not TOML: {e}\n{text}"));
    doc["profile"][name].as_table().unwrap_or_else(|| panic!("no [profile.{name}] in\n{text}")).clone()
}

/// The string entries of `key` in `profile` (empty if absent).
fn list(profile: &toml::Table, key: &str) -> Vec<String> {
    profile
        .get(key)
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .map(str::to_owned)
        .collect()
}

/// `sbx --explain` accepts profile `name` of `file`.
fn explain_accepts(file: &Path, name: &str, cwd: &Path) {
    let out =
        sbx(["--config".as_ref(), file.as_os_str(), "-p".as_ref(), name.as_ref(), "--explain".as_ref()]).cwd(cwd).run();
    out.success().stdout_has("read").stdout_has("write");
}

/// A small C project: two sources and a header, built into `prog`.
fn c_project(dir: &Path) {
    std::fs::write(dir.join("util.h"), "int twice(int);\n").unwrap();
    std::fs::write(dir.join("util.c"), "#include \"util.h\"\nint twice(int x) { return 2 * x; }\n").unwrap();
    std::fs::write(dir.join("main.c"), "#include \"util.h\"\nint main(void) { return twice(0); }\n").unwrap();
    std::fs::write(
        dir.join("Makefile"),
        "prog: main.o util.o\n\tcc -o prog main.o util.o\n%.o: %.c util.h\n\tcc -c $<\n",
    )
    .unwrap();
}

#[test]
fn a_make_build_learns_a_profile_that_verifies_and_denies_writes_outside() {
    // The learned profile denies files: verifying it needs Landlock.
    if !super::util::files_enforced() {
        return;
    }
    if !have_make() {
        return;
    }
    let project = tempdir();
    let outside = tempdir();
    c_project(project.path());
    // An existing file keeps its other profiles; the learned one is added.
    std::fs::write(project.path().join("sbx.toml"), "[profile.other]\ndeny = [\"net\"]\n").unwrap();

    let out = sbx(["learn", "-o", "sbx.toml", "--verify", "--", "make", "-B"]).cwd(project.path()).run();
    out.success().stderr_has("sbx learn: verified").stdout_has("cc -o prog main.o util.o");
    assert!(project.path().join("prog").is_file(), "{}", out.report());

    let file = project.path().join("sbx.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# Verified: "), "{text}");
    let learned = profile_of(&file, "make");
    assert_eq!(
        learned["deny"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>(),
        ["read", "write", "net", "env"]
    );
    // The objects and the program are created in the project directory.
    assert_eq!(list(&learned, "allow_write"), ["."], "{text}");
    // System trees are the defaults' business, not the profile's.
    assert!(list(&learned, "allow_read").iter().all(|p| !p.starts_with("/usr")), "{text}");
    assert!(profile_of(&file, "other").contains_key("deny"), "the other profile is gone:\n{text}");
    explain_accepts(&file, "make", project.path());

    // Under the learned profile: the build works, a write inside works, a
    // write outside is denied (the probe writes fine without sbx).
    let probe = probe();
    let allow_probe = format!("--allow-read={}", probe.display());
    let run = |args: &[&str]| {
        let mut all = vec!["--config", "sbx.toml", "-p", "make", allow_probe.as_str(), "--"];
        all.extend_from_slice(args);
        sbx(all).cwd(project.path()).run()
    };
    run(&["make", "-B"]).success();
    let target = outside.path().join("written");
    bare(probe).args(["write".as_ref(), target.as_os_str()]).run().success().stdout_is("ok");
    std::fs::remove_file(&target).unwrap();
    run(&[probe.to_str().unwrap(), "write", target.to_str().unwrap()]).success().stdout_is("EACCES");
    assert!(!target.exists());
    run(&[probe.to_str().unwrap(), "write", "inside"]).success().stdout_is("ok");
}

/// Reads `config.ini`, writes `out/result.txt`.
const CONFIG_SCRIPT: &str = r#"
import configparser, os
c = configparser.ConfigParser()
c.read("config.ini")
os.makedirs("out", exist_ok=True)
with open(os.path.join("out", "result.txt"), "w") as f:
    f.write(c["job"]["greeting"] + "\n")
"#;

#[test]
fn a_python_script_learns_to_read_its_config_and_write_only_its_output() {
    // The learned profile denies files: verifying it needs Landlock.
    if !super::util::files_enforced() {
        return;
    }
    let Some(py) = python() else { return };
    let dir = tempdir();
    std::fs::write(dir.path().join("config.ini"), "[job]\ngreeting = hello\n").unwrap();
    std::fs::write(dir.path().join("job.py"), CONFIG_SCRIPT).unwrap();
    let py = py.to_str().unwrap();

    let out = sbx(["learn", "-p", "job", "-o", "job.toml", "--verify", "--", py, "job.py"]).cwd(dir.path()).run();
    out.success().stderr_has("sbx learn: verified");
    assert_eq!(std::fs::read_to_string(dir.path().join("out/result.txt")).unwrap(), "hello\n");
    let file = dir.path().join("job.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let learned = profile_of(&file, "job");
    // The output directory is made by the script: only it is writable.
    assert_eq!(list(&learned, "allow_write"), ["out"], "{text}");
    let read = list(&learned, "allow_read");
    assert!(read.iter().any(|p| p == "config.ini" || p == "."), "{text}");
    explain_accepts(&file, "job", dir.path());

    // Under it: the job runs again; a write next to the config is denied.
    std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    let under = |args: &[&str]| {
        let mut all = vec!["--config", "job.toml", "-p", "job", "--"];
        all.extend_from_slice(args);
        sbx(all).cwd(dir.path()).run()
    };
    under(&[py, "job.py"]).success();
    assert_eq!(std::fs::read_to_string(dir.path().join("out/result.txt")).unwrap(), "hello\n");
    let write_beside = "import errno\ntry:\n open('beside.txt', 'w')\n print('ok')\nexcept OSError as e:\n print(errno.errorcode[e.errno])";
    bare(py).args(["-c", write_beside]).cwd(dir.path()).run().success().stdout_is("ok");
    std::fs::remove_file(dir.path().join("beside.txt")).unwrap();
    under(&[py, "-c", write_beside]).success().stdout_is("EACCES");
}

#[test]
fn credentials_are_held_back_and_the_profile_is_then_not_verified() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_ed25519"), "not a key\n").unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join(".env"), "TOKEN=x\n").unwrap();
    std::fs::write(project.join("settings.txt"), "x\n").unwrap();
    let script =
        "import os\nfor p in [os.path.expanduser('~/.ssh/id_ed25519'), '.env', 'settings.txt']:\n open(p).read()\n";
    let py = py.to_str().unwrap();

    let out = sbx(["learn", "-p", "creds", "-o", "creds.toml", "--verify", "--", py, "-c", script])
        .cwd(&project)
        .env("HOME", &home)
        .env("GITHUB_TOKEN", "secret-value")
        .run();
    // Without the key the script fails under the profile: not verified.
    out.code(1).stderr_has("sbx learn: NOT verified");
    let file = project.join("creds.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# NOT verified"), "{text}");
    let learned = profile_of(&file, "creds");
    let allowed: Vec<String> =
        ["allow_read", "allow_write", "allow_env"].iter().flat_map(|k| list(&learned, k)).collect();
    for secret in ["id_ed25519", ".ssh", ".env", "GITHUB_TOKEN"] {
        assert!(!allowed.iter().any(|a| a.contains(secret)), "{secret} was allowed:\n{text}");
        assert!(text.contains(secret), "{secret} is not listed as held back:\n{text}");
    }
    assert!(text.contains("sensitive"), "{text}");
    assert!(!text.contains("secret-value"), "a variable's value was written:\n{text}");
    // settings.txt is allowed — by name, or through the directory when
    // Python listed it (then the held .env says it is reached anyway).
    let read = list(&learned, "allow_read");
    assert!(read.iter().any(|p| p == "settings.txt" || p == "."), "{text}");
    if read.iter().any(|p| p == ".") {
        assert!(text.contains("anyway"), "{text}");
    }
}

/// Runs `cmd` in `cwd`, in the private namespace of `server`.
fn in_namespace(server: &TestDns, cwd: &Path, cmd: &[&str]) -> Option<Output> {
    let mut full = vec!["sh", "-c", "cd \"$0\" && exec \"$@\"", cwd.to_str().unwrap()];
    full.extend_from_slice(cmd);
    dnsutil::within(server, dnsutil::HOSTS, &[], &full)
}

#[test]
fn a_connection_to_a_named_host_is_learned_by_name() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let api = listener("127.0.0.2");
    let other = listener("127.0.0.3");
    server.set("api.test", Answer::Addrs(vec!["127.0.0.2".parse().unwrap()]), 60);
    server.set("other.test", Answer::Addrs(vec!["127.0.0.3".parse().unwrap()]), 60);
    let dir = tempdir();
    let (py, sbx) = (py.to_str().unwrap(), sbx_path().to_str().unwrap());
    let target = format!("api.test:{}", api.port());
    let Some(out) = in_namespace(
        &server,
        dir.path(),
        &[sbx, "learn", "-p", "client", "-o", "net.toml", "--verify", "--", py, "-c", CONNECT_PY, &target],
    ) else {
        return;
    };
    out.success().stdout_has("ok 127.0.0.2").stderr_has("sbx learn: verified");
    assert_eq!(api.accepted(), 2, "learning and verifying each connect once");
    let file = dir.path().join("net.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(list(&profile_of(&file, "client"), "allow_net"), [target.as_str()], "{text}");
    explain_accepts(&file, "client", dir.path());

    // Under it, another name neither resolves nor reaches the server.
    let before = server.count("other.test");
    let other_target = format!("other.test:{}", other.port());
    let out = in_namespace(
        &server,
        dir.path(),
        &[sbx, "--config", "net.toml", "-p", "client", "--", py, "-c", CONNECT_PY, &target, &other_target],
    )
    .unwrap();
    out.success().stdout_is("ok 127.0.0.2\nunresolved -2").stderr_has("blocked DNS lookup of other.test");
    assert_eq!(server.count("other.test"), before, "{:?}", server.log());
    assert_eq!(other.accepted(), 0);
}

#[test]
fn a_printed_profile_is_toml_that_explain_accepts() {
    // The learned profile denies files: verifying it needs Landlock.
    if !super::util::files_enforced() {
        return;
    }
    let dir = tempdir();
    std::fs::write(dir.path().join("data.txt"), "x\n").unwrap();
    let out = sbx(["learn", "-q", "--", "cat", "data.txt"]).cwd(dir.path()).run();
    // The command's output alone on stdout; the profile on stderr.
    out.success().stdout_is("x");
    let text = out.stderr.as_str();
    let doc: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("not TOML: {e}\n{text}"));
    let learned = doc["profile"]["cat"].as_table().unwrap();
    // Printed profiles name paths absolutely.
    let data = std::fs::canonicalize(dir.path().join("data.txt")).unwrap();
    assert_eq!(list(learned, "allow_read"), [data.to_str().unwrap()], "{text}");
    let file = dir.path().join("printed.toml");
    std::fs::write(&file, text).unwrap();
    explain_accepts(&file, "cat", dir.path());
    let under = sbx(["--config", "printed.toml", "-p", "cat", "--", "cat", "data.txt"]).cwd(dir.path()).run();
    under.success().stdout_is("x");
}

#[test]
fn a_command_that_cannot_start_writes_no_profile() {
    let dir = tempdir();
    let out = sbx(["learn", "-o", "p.toml", "--", "sbx-no-such-command"]).cwd(dir.path()).run();
    out.code(127).stderr_has("sbx-no-such-command: command not found");
    assert!(!dir.path().join("p.toml").exists(), "{}", out.report());
}

#[test]
fn an_interrupted_learning_run_writes_no_profile_and_is_not_verified() {
    let dir = tempdir();
    let out =
        sbx(["learn", "-o", "p.toml", "--verify", "--", "sh", "-c", "touch ran; kill -INT $$"]).cwd(dir.path()).run();
    out.signal(libc::SIGINT).stderr_has("was interrupted (signal 2); no profile written");
    assert!(!dir.path().join("p.toml").exists(), "{}", out.report());
    assert!(dir.path().join("ran").exists(), "the command never ran: {}", out.report());
    assert!(!out.stderr.contains("verifying"), "{}", out.report());
}

#[test]
fn a_taken_profile_name_is_refused_before_the_command_runs() {
    let dir = tempdir();
    std::fs::write(dir.path().join("sbx.toml"), "[profile.touch]\ndeny = [\"net\"]\n").unwrap();
    let out = sbx(["learn", "-o", "sbx.toml", "--", "touch", "ran"]).cwd(dir.path()).run();
    out.code(125).stderr_has("already has a profile touch").stderr_has("-p NAME");
    assert!(!dir.path().join("ran").exists(), "the command ran: {}", out.report());
    let out = sbx(["learn", "-o", "sbx.toml", "--", "touch", "ran"]).cwd(dir.path());
    std::fs::write(dir.path().join("sbx.toml"), "[profile.x]\nallow_rread = []\n").unwrap();
    out.run().code(125).stderr_has("allow_rread");
    assert!(!dir.path().join("ran").exists());
    let out = sbx(["learn", "-o", "missing/p.toml", "--", "touch", "ran"]).cwd(dir.path()).run();
    out.code(125).stderr_has("is not a directory; create it first");
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn an_unprivileged_user_learns_and_verifies_too() {
    let dir = tempdir();
    make_reachable(dir.path());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    make_reachable(sbx_path());
    let out = sbx(["learn", "-o", "p.toml", "--verify", "--", "sh", "-c", "mkdir -p build && echo hi > build/out"])
        .cwd(dir.path())
        .nobody()
        .run();
    out.success().stderr_has("sbx learn: verified");
    let learned = profile_of(&dir.path().join("p.toml"), "sh");
    assert_eq!(list(&learned, "allow_write"), ["build"]);
}

#[test]
fn a_starting_profile_is_extended_and_what_it_allows_is_left_out() {
    let dir = tempdir();
    let script = "mkdir -p out && echo x > out/f && cat notes.txt";
    std::fs::write(dir.path().join("notes.txt"), "n\n").unwrap();
    // Without a start, the output directory is learned.
    let out = sbx(["learn", "-p", "plain", "-o", "p.toml", "--", "sh", "-c", script]).cwd(dir.path()).run();
    out.success();
    assert_eq!(list(&profile_of(&dir.path().join("p.toml"), "plain"), "allow_write"), ["out"]);
    // The built-in `build` profile already lets it write (and read) the
    // current directory: nothing to add but the environment.
    let out = sbx(["learn", "--extends", "build", "-p", "job", "-o", "p.toml", "--verify", "--", "sh", "-c", script])
        .cwd(dir.path())
        .run();
    out.success().stderr_has("sbx learn: verified");
    let file = dir.path().join("p.toml");
    let learned = profile_of(&file, "job");
    assert_eq!(learned["extends"].as_array().unwrap()[0].as_str(), Some("build"));
    assert!(list(&learned, "allow_write").is_empty() && list(&learned, "allow_read").is_empty(), "{learned:?}");
    explain_accepts(&file, "job", dir.path());
    // An unknown start is refused before the command runs.
    let out = sbx(["learn", "--extends", "nope", "-o", "q.toml", "--", "touch", "ran"]).cwd(dir.path()).run();
    out.code(125).stderr_has("--extends nope").stderr_has("no profile named \"nope\"");
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn a_unix_socket_outside_is_learned_one_the_command_binds_is_not() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let outside = tempdir();
    let path = outside.path().join("service.sock");
    let service = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut conn, _) = service.accept().unwrap();
            std::io::Write::write_all(&mut conn, b"hi").unwrap();
        }
    });
    // Connects to the service, and binds, uses and removes a socket of its own.
    let script = "import os, socket, sys\n\
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(2).decode())\n\
        own = socket.socket(socket.AF_UNIX); own.bind('own.sock'); own.listen(1)\n\
        c = socket.socket(socket.AF_UNIX); c.connect('own.sock'); print('own ok'); os.unlink('own.sock')\n";
    let (py, sock) = (py.to_str().unwrap(), path.to_str().unwrap());
    let out =
        sbx(["learn", "-p", "client", "-o", "p.toml", "--verify", "--", py, "-c", script, sock]).cwd(dir.path()).run();
    out.success().stdout_is("hi\nown ok\nhi\nown ok").stderr_has("sbx learn: verified");
    server.join().unwrap();
    let file = dir.path().join("p.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let learned = profile_of(&file, "client");
    assert_eq!(list(&learned, "allow_unix"), [std::fs::canonicalize(&path).unwrap().to_str().unwrap()], "{text}");
    // The socket it binds is made in its directory: that needs writing
    // there, and no allow_unix entry.
    assert_eq!(list(&learned, "allow_write"), ["."], "{text}");
}

#[test]
fn a_connection_to_an_address_is_learned_by_address() {
    // The learned profile denies files: verifying it needs Landlock.
    if !super::util::files_enforced() {
        return;
    }
    let Some(py) = python() else { return };
    let server = listener("127.0.0.2");
    let other = listener("127.0.0.3");
    let dir = tempdir();
    let py = py.to_str().unwrap();
    let target = format!("127.0.0.2:{}", server.port());
    let out = sbx(["learn", "-p", "client", "-o", "p.toml", "--verify", "--", py, "-c", CONNECT_PY, &target])
        .cwd(dir.path())
        .run();
    out.success().stdout_is("ok 127.0.0.2\nok 127.0.0.2").stderr_has("sbx learn: verified");
    let file = dir.path().join("p.toml");
    assert_eq!(list(&profile_of(&file, "client"), "allow_net"), [target.as_str()]);
    // Another address stays closed (ECONNREFUSED).
    let other_target = format!("127.0.0.3:{}", other.port());
    let out = sbx(["--config", "p.toml", "-p", "client", "--", py, "-c", CONNECT_PY, &target, &other_target])
        .cwd(dir.path())
        .run();
    out.success().stdout_is("ok 127.0.0.2\nrefused").stderr_has("blocked connect to 127.0.0.3");
    assert_eq!(other.accepted(), 0);
}

#[test]
fn an_abstract_socket_made_outside_is_named_as_never_allowed() {
    use std::os::linux::net::SocketAddrExt;
    let Some(py) = python() else { return };
    let dir = tempdir();
    let name = format!("sbx-test-learn-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let service = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    std::thread::spawn(move || {
        while let Ok((mut conn, _)) = service.accept() {
            let _ = std::io::Write::write_all(&mut conn, b"hi");
        }
    });
    let script = "import socket, sys\n\
        s = socket.socket(socket.AF_UNIX)\n\
        try:\n s.connect('\\0' + sys.argv[1]); print(s.recv(2).decode())\n\
        except OSError as e:\n print('errno', e.errno); sys.exit(3)\n";
    let out =
        sbx(["learn", "-p", "client", "-o", "p.toml", "--verify", "--", py.to_str().unwrap(), "-c", script, &name])
            .cwd(dir.path())
            .run();
    // Learning reaches it; under any profile Landlock's scope refuses it.
    out.code(1).stdout_is("hi\nerrno 1").stderr_has("NOT verified");
    let text = std::fs::read_to_string(dir.path().join("p.toml")).unwrap();
    assert!(text.contains(&format!("reached the abstract unix socket @{name} made outside")), "{text}");
}

// ------------------------------------------------ inside a container's profile

/// `sbx learn ARGS` under a seccomp filter refusing `rules` (tests/probes/refuse.c).
fn learn_refusing(rules: &[&str], args: &[&str]) -> super::util::Cmd {
    bare(refuse()).args(rules).arg("--").arg(sbx_path()).arg("learn").args(args)
}

#[test]
fn inside_a_container_profile_files_and_destinations_are_learned_from_memory() {
    // moby 20.10's profile without CAP_SYS_PTRACE: no pidfd_getfd, no
    // process_vm_readv. Paths and destinations are read through
    // /proc/PID/mem, the socket's family from the address: nothing is lost.
    let server = listener("127.0.0.2");
    for nobody in super::util::users() {
        let dir = tempdir();
        make_reachable(dir.path());
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(dir.path().join("data.txt"), "x\n").unwrap();
        make_reachable(&dir.path().join("data.txt"));
        let script = format!("cat data.txt && {} connect 127.0.0.2 {}", probe().display(), server.port());
        let cmd = learn_refusing(
            &["pidfd_getfd=EPERM", "process_vm_readv=EPERM"],
            &["-o", "p.toml", "--", "sh", "-c", &script],
        )
        .cwd(dir.path());
        let out = if nobody { cmd.nobody() } else { cmd }.run();
        out.success().stdout_is("x\nok").stderr_lacks("could not be observed");
        let file = dir.path().join("p.toml");
        let text = std::fs::read_to_string(&file).unwrap();
        let learned = profile_of(&file, "sh");
        assert!(list(&learned, "allow_read").contains(&"data.txt".to_owned()), "{text}");
        assert_eq!(list(&learned, "allow_net"), [format!("127.0.0.2:{}", server.port())], "{text}");
        assert!(!text.contains("INCOMPLETE"), "{text}");
    }
}

#[test]
fn learning_is_refused_up_front_where_it_cannot_observe() {
    // A filter that refuses seccomp(2) leaves nothing to observe with.
    let dir = tempdir();
    let out = learn_refusing(&["seccomp=EPERM"], &["-o", "p.toml", "--", "touch", "ran"]).cwd(dir.path()).run();
    out.code(125).stderr_has(
        "sbx: sbx learn observes the command through seccomp user notification and reads its memory, but the \
         enclosing seccomp filter refuses seccomp user notification (EPERM); let the enclosing sandbox allow \
         seccomp user notification",
    );
    assert!(!dir.path().join("ran").exists() && !dir.path().join("p.toml").exists(), "{}", out.report());
}

#[test]
fn lookups_that_cannot_be_observed_are_counted_and_the_profile_says_it_is_incomplete() {
    // Docker's default profile without CAP_SYS_PTRACE: sbx cannot take the
    // command's socket, so its connect to the nameserver cannot go through
    // the recording proxy: the names stay unknown.
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let api = listener("127.0.0.2");
    server.set("api.test", Answer::Addrs(vec!["127.0.0.2".parse().unwrap()]), 60);
    let dir = tempdir();
    let (py, sbx, refuse) = (py.to_str().unwrap(), sbx_path().to_str().unwrap(), refuse().to_str().unwrap());
    let target = format!("api.test:{}", api.port());
    let cmd = [refuse, "pidfd_getfd=EPERM", "--", sbx, "learn", "-p", "client", "-o", "net.toml", "--verify", "--"];
    let Some(out) = in_namespace(&server, dir.path(), &[&cmd[..], &[py, "-c", CONNECT_PY, &target]].concat()) else {
        return;
    };
    let cause = "could not be observed: the enclosing seccomp filter refuses pidfd_getfd (EPERM)";
    out.code(1)
        .stdout_has("ok 127.0.0.2")
        .stderr_has("sbx: warning: 1 DNS lookup")
        .stderr_has(&format!(
            "{cause}; the learned profile is incomplete — run the container with --cap-add=SYS_PTRACE"
        ))
        // Verifying runs sbx under the same filter, which refuses the
        // network restriction (its unix sockets need pidfd_getfd too).
        .stderr_has("sbx learn: NOT verified")
        .stderr_has(&format!("the profile is incomplete (1 DNS lookup {cause})"));
    let file = dir.path().join("net.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# Learned by") && text.contains(&format!("# INCOMPLETE: 1 DNS lookup {cause}")),
        "{text}"
    );
    // What the command did is there, by address: the nameserver and the server.
    let mut net = list(&profile_of(&file, "client"), "allow_net");
    net.sort();
    let mut expected = vec![format!("{}:53", server.addr.ip()), format!("127.0.0.2:{}", api.port())];
    expected.sort();
    assert_eq!(net, expected, "{text}");
}

// ------------------------------------------------ what sbx learn prints

/// What `sbx learn -o` printed as the command to run the profile with: the
/// bytes after "run it with:\n" to the end of stderr.
fn printed_rerun(out: &Output) -> Vec<u8> {
    let marker = b"; run it with:\n";
    let at = out
        .stderr_bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap_or_else(|| panic!("no command printed{}", out.report()));
    let line = &out.stderr_bytes[at + marker.len()..];
    line.strip_suffix(b"\n").unwrap_or(line).to_vec()
}

#[test]
fn the_printed_command_runs_exactly_what_was_learned_all_of_it_in_the_sandbox() {
    // The learned profile denies files: running it needs Landlock.
    if !super::util::files_enforced() {
        return;
    }
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("my profiles")).unwrap();
    // A shell line with `&&`, quotes and `$`, and arguments with a quote,
    // expansions, a newline, bytes that are not UTF-8 and nothing at all.
    let script = r#"echo a > f1 && printf '%s|' "$@" > f2"#;
    let args: Vec<OsString> = [
        b"sh".as_slice(),
        b"-c",
        script.as_bytes(),
        b"sh",
        b"it's $HOME `id` \\ !x *",
        b"two\nlines",
        b"\xff\xfe",
        b"",
    ]
    .iter()
    .map(|a| OsStr::from_bytes(a).to_owned())
    .collect();
    let learn = sbx(["learn", "-o", "my profiles/p.toml", "--verify", "--"]).args(&args).cwd(dir.path()).run();
    learn.success().stderr_has("sbx learn: verified");
    let expected_f2 = b"it's $HOME `id` \\ !x *|two\nlines|\xff\xfe||".as_slice();
    assert_eq!(std::fs::read(dir.path().join("f2")).unwrap(), expected_f2, "{}", learn.report());
    let line = printed_rerun(&learn);
    let file = std::fs::canonicalize(dir.path().join("my profiles/p.toml")).unwrap();

    // The line as sh reads it: a stub `sbx` prints its arguments.
    let stub = tempdir();
    std::fs::write(stub.path().join("sbx"), "#!/bin/sh\nfor a; do printf '%s\\0' \"$a\"; done\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(stub.path().join("sbx"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", stub.path().display());
    let parsed = bare("sh").arg("-c").arg(OsStr::from_bytes(&line)).env("PATH", &path).run();
    parsed.success();
    let mut expected: Vec<OsString> =
        ["--config".as_ref(), file.as_os_str(), "-p".as_ref(), "sh".as_ref(), "--".as_ref()]
            .iter()
            .map(|a: &&OsStr| a.to_os_string())
            .collect();
    expected.extend(args.iter().cloned());
    let got: Vec<OsString> = parsed
        .stdout_bytes
        .strip_suffix(b"\0")
        .unwrap_or_else(|| panic!("{}", parsed.report()))
        .split(|b| *b == 0)
        .map(|a| OsStr::from_bytes(a).to_owned())
        .collect();
    assert_eq!(got, expected, "printed: {:?}", String::from_utf8_lossy(&line));

    // And run for real: the whole line runs under the profile, once.
    std::fs::remove_file(dir.path().join("f1")).unwrap();
    std::fs::remove_file(dir.path().join("f2")).unwrap();
    std::os::unix::fs::symlink(sbx_path(), stub.path().join("sbx-real")).unwrap();
    std::fs::rename(stub.path().join("sbx-real"), stub.path().join("sbx")).unwrap();
    let real = bare("sh").arg("-c").arg(OsStr::from_bytes(&line)).env("PATH", &path).cwd(dir.path()).simulated().run();
    real.success();
    assert_eq!(std::fs::read(dir.path().join("f2")).unwrap(), expected_f2, "{}", real.report());
    assert!(dir.path().join("f1").is_file(), "{}", real.report());
}

#[test]
fn the_profile_never_goes_to_the_commands_stdout() {
    let dir = tempdir();
    let out = sbx(["learn", "-q", "--", "sh", "-c", "echo out; echo err >&2"]).cwd(dir.path()).run();
    // stdout is the command's alone (`sbx learn -- cmd > out` keeps it so);
    // the profile follows the command's own stderr.
    out.success().stdout_is("out");
    let text = out.stderr.strip_prefix("err\n").unwrap_or_else(|| panic!("{}", out.report()));
    let doc: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("not TOML: {e}{}", out.report()));
    assert!(doc["profile"]["sh"].is_table(), "{}", out.report());
    // Through a shell redirection, as people write it.
    let redirected = bare("sh")
        .args(["-c", r#""$0" learn -- sh -c 'echo out' > out.txt"#])
        .arg(sbx_path())
        .cwd(dir.path())
        .simulated()
        .run();
    redirected.success().stderr_has("[profile.sh]");
    assert_eq!(std::fs::read_to_string(dir.path().join("out.txt")).unwrap(), "out\n", "{}", redirected.report());
}

#[test]
fn per_session_variables_are_left_out_and_one_the_command_reads_is_kept() {
    // The learned profile denies files: verifying it needs Landlock.
    if !super::util::files_enforced() {
        return;
    }
    let dir = tempdir();
    let session = [
        ("PWD", "/somewhere"),
        ("OLDPWD", "/elsewhere"),
        ("SHLVL", "2"),
        ("_", "/usr/bin/env"),
        ("SSH_CONNECTION", "192.0.2.1 50000 192.0.2.2 22"),
        ("SSH_TTY", "/dev/pts/3"),
        ("XDG_SESSION_ID", "7"),
        ("DISPLAY", ":0"),
        ("TERM_PROGRAM", "vscode"),
        ("TMUX", "/tmp/tmux-0/default,1,0"),
        ("CLOUDSDK_CONFIG", "/tmp/gcloud"),
        ("HOSTNAME", "builder-7"),
    ];
    let mut cmd = sbx(["learn", "-o", "p.toml", "--verify", "--", "sh", "-c", r#"echo "${MYTOOL_HOME:?unset}""#])
        .cwd(dir.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir.path())
        .env("MYTOOL_HOME", "/opt/mytool");
    for (name, value) in session {
        cmd = cmd.env(name, value);
    }
    let out = cmd.run();
    // Verified: under the profile the command still gets MYTOOL_HOME.
    out.success().stdout_is("/opt/mytool\n/opt/mytool").stderr_has("sbx learn: verified");
    let file = dir.path().join("p.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(list(&profile_of(&file, "sh"), "allow_env"), ["MYTOOL_HOME"], "{text}");
    assert!(
        text.contains(
            "# Notes:\n#   left out of allow_env, as they belong to the shell, terminal, login, desktop or machine \
             learning ran in (add one the command needs): CLOUDSDK_CONFIG, DISPLAY, HOSTNAME, OLDPWD, PWD, SHLVL, \
             SSH_CONNECTION, SSH_TTY, TERM_PROGRAM, TMUX, XDG_SESSION_ID\n"
        ),
        "{text}"
    );
}

#[test]
fn names_that_share_an_address_are_all_learned_and_verify() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let cdn = listener("127.0.0.2");
    // An index and its file host behind one address, and a third name
    // looked up after the last connect (a connection reused for it).
    for name in ["index.test", "files.test", "mirror.test"] {
        server.set(name, Answer::Addrs(vec!["127.0.0.2".parse().unwrap()]), 60);
    }
    let script = "import socket, sys\n\
        port = int(sys.argv[1])\n\
        for host in ['index.test', 'files.test']:\n\
        \x20   socket.create_connection((host, port), timeout=5).close(); print('ok', host)\n\
        print('mirror.test', socket.gethostbyname('mirror.test'))\n";
    let dir = tempdir();
    let (py, sbx) = (py.to_str().unwrap(), sbx_path().to_str().unwrap());
    let port = cdn.port().to_string();
    let Some(out) = in_namespace(
        &server,
        dir.path(),
        &[sbx, "learn", "-p", "fetch", "-o", "net.toml", "--verify", "--", py, "-c", script, &port],
    ) else {
        return;
    };
    let once = "ok index.test\nok files.test\nmirror.test 127.0.0.2";
    out.success().stdout_is(&format!("{once}\n{once}")).stderr_has("sbx learn: verified");
    assert_eq!(cdn.accepted(), 4, "learning and verifying each connect twice");
    let file = dir.path().join("net.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let expected: Vec<String> =
        ["files.test", "index.test", "mirror.test"].iter().map(|n| format!("{n}:{port}")).collect();
    assert_eq!(list(&profile_of(&file, "fetch"), "allow_net"), expected, "{text}");
}

#[test]
fn package_caches_are_learned_whole_and_writable_where_written() {
    // The learned profile denies files: verifying it needs Landlock.
    if !super::util::files_enforced() {
        return;
    }
    let dir = tempdir();
    let home = dir.path().join("home");
    let project = dir.path().join("project");
    let cargo_home = dir.path().join("cargo-home");
    let npm = home.join(".npm/_cacache/content-v2/sha512");
    std::fs::create_dir_all(npm.join("aa")).unwrap();
    std::fs::write(npm.join("aa/old"), "old\n").unwrap();
    std::fs::create_dir_all(home.join(".cache/pip/http-v2/a")).unwrap();
    std::fs::write(home.join(".cache/pip/http-v2/a/body"), "pip\n").unwrap();
    std::fs::create_dir_all(cargo_home.join("registry/cache")).unwrap();
    std::fs::create_dir(&project).unwrap();
    // npm reads one cache entry and adds another; pip only reads; cargo
    // (CARGO_HOME elsewhere) adds a crate.
    let script = r#"cat "$HOME/.npm/_cacache/content-v2/sha512/aa/old" &&
        mkdir -p "$HOME/.npm/_cacache/content-v2/sha512/bb/cc" &&
        echo new > "$HOME/.npm/_cacache/content-v2/sha512/bb/cc/new" &&
        cat "$HOME/.cache/pip/http-v2/a/body" &&
        echo crate > "$CARGO_HOME/registry/cache/c.crate""#;
    let out = sbx(["learn", "-p", "fetch", "-o", "p.toml", "--verify", "--", "sh", "-c", script])
        .cwd(&project)
        .env("HOME", &home)
        .env("CARGO_HOME", &cargo_home)
        .run();
    out.success().stdout_is("old\npip\nold\npip").stderr_has("sbx learn: verified");
    let file = project.join("p.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let learned = profile_of(&file, "fetch");
    let cargo_registry = std::fs::canonicalize(cargo_home.join("registry")).unwrap();
    assert_eq!(list(&learned, "allow_write"), [cargo_registry.to_str().unwrap(), "~/.npm"], "{text}");
    assert_eq!(list(&learned, "allow_read"), ["~/.cache/pip"], "{text}");
    assert!(text.contains("\"~/.npm\",  # package cache, allowed whole: "), "{text}");

    // Under it, another package goes anywhere in npm's cache (not only
    // where this run wrote); pip's cache, only read, stays read-only.
    let under = |script: &str| {
        sbx(["--config", "p.toml", "-p", "fetch", "--", "sh", "-c", script])
            .cwd(&project)
            .env("HOME", &home)
            .env("CARGO_HOME", &cargo_home)
            .run()
    };
    under(r#"mkdir -p "$HOME/.npm/_cacache/index-v5/zz" && echo y > "$HOME/.npm/_cacache/index-v5/zz/f" && echo ok"#)
        .success()
        .stdout_is("ok");
    assert!(home.join(".npm/_cacache/index-v5/zz/f").is_file());
    under(r#"(echo y > "$HOME/.cache/pip/y") 2>/dev/null && echo written || echo denied"#)
        .success()
        .stdout_is("denied");
    assert!(!home.join(".cache/pip/y").exists());
}

//! Every denial named (issue #14): file writes the sandbox refuses are
//! reported live and in the summary with the flag that allows them, and
//! that flag, added, makes the run pass.

use std::fs;
use std::path::Path;

use super::util::{Cmd, Output, files_enforced, make_reachable, sbx, tempdir};

/// A temp tree: `in/` (writable in the runs below), `out/` with `file`.
fn tree() -> tempfile::TempDir {
    let t = tempdir();
    fs::create_dir_all(t.path().join("in")).unwrap();
    fs::create_dir_all(t.path().join("out")).unwrap();
    fs::write(t.path().join("out/file"), "old\n").unwrap();
    make_reachable(t.path());
    t
}

/// `sbx --deny-write --allow-write=in EXTRA -- sh -c SCRIPT` in `t`.
fn sandboxed<S: AsRef<str>>(t: &Path, extra: &[S], script: &str) -> Cmd {
    let mut args = vec!["--deny-write".to_owned(), format!("--allow-write={}", t.join("in").display())];
    args.extend(extra.iter().map(|s| s.as_ref().to_owned()));
    args.extend(["--".into(), "sh".into(), "-c".into(), script.into()]);
    sbx(args).cwd(t)
}

/// [`sandboxed`], run.
fn run_in(t: &Path, extra: &[String], script: &str) -> Output {
    sandboxed(t, extra, script).run()
}

/// Each kind of write outside the writable paths is named with the
/// directory (or file) to allow; adding that flag makes the same script
/// pass, and then nothing is reported.
#[test]
fn refused_writes_are_named_with_the_flag_that_allows_them() {
    if !files_enforced() {
        return;
    }
    let out_dir = |t: &Path| t.join("out").canonicalize().unwrap();
    // (script, verb, the entry in out/ it names)
    let cases = [
        ("echo x > out/new", "create", "new"),
        ("echo x >> out/file", "write to", "file"),
        ("mkdir out/d", "create directory", "d"),
        ("rm out/file", "delete", "file"),
        ("mv out/file out/moved", "rename", "file"),
        ("ln -s file out/link", "create link", "link"),
    ];
    for (script, verb, entry) in cases {
        let t = tree();
        let dir = out_dir(t.path());
        let out = run_in(t.path(), &[], script);
        assert_ne!(out.status.code(), Some(0), "{script}: the write was not refused{}", out.report());
        let line =
            format!("sbx: blocked {verb} {}/{entry} — allow with --allow-write={}", dir.display(), dir.display());
        out.stderr_has(&line).stderr_has("sbx: summary: the sandbox refused");
        // The flag it names makes the run pass, with nothing reported.
        let allow = format!("--allow-write={}", dir.display());
        run_in(t.path(), &[allow], script).success().stderr_lacks("sbx: blocked");
    }
}

/// `make install` into a directory outside the writable paths: sbx names
/// the file `install` could not create and the directory to allow.
#[test]
fn make_install_names_the_directory_it_needs() {
    if !files_enforced() {
        return;
    }
    let t = tree();
    let bin = t.path().join("out/bin");
    fs::create_dir_all(&bin).unwrap();
    let bin = bin.canonicalize().unwrap();
    let makefile = format!("install:\n\tinstall -m 755 tool {}/tool\n", bin.display());
    fs::write(t.path().join("in/Makefile"), makefile).unwrap();
    fs::write(t.path().join("in/tool"), "#!/bin/sh\n").unwrap();
    let out = run_in(t.path(), &[], "make -C in install");
    out.code(2).stderr_has(&format!(
        "sbx: blocked create {}/tool — allow with --allow-write={}",
        bin.display(),
        bin.display()
    ));
    run_in(t.path(), &[format!("--allow-write={}", bin.display())], "make -C in install")
        .success()
        .stderr_lacks("sbx: blocked");
    assert!(bin.join("tool").exists());
}

/// In the home directory: an existing file is named alone
/// (`--allow-write=~/.gitconfig`, which then works); a new entry directly in
/// it (git's lock file) cannot be allowed without the whole home directory,
/// and the report says so instead of suggesting it.
#[test]
fn in_the_home_directory_a_file_is_named_alone_and_a_new_entry_is_explained() {
    if !files_enforced() {
        return;
    }
    let t = tree();
    let home = t.path().join("home");
    fs::create_dir_all(&home).unwrap();
    fs::write(home.join(".gitconfig"), "").unwrap();
    let home = home.canonicalize().unwrap();
    let run = |extra: &[&str], script: &str| sandboxed(t.path(), extra, script).env("HOME", &home).run();
    let out = run(&[], "echo '[user]' >> ~/.gitconfig");
    out.code(2).stderr_has(&format!(
        "sbx: blocked write to {}/.gitconfig — allow with --allow-write=~/.gitconfig",
        home.display()
    ));
    run(&["--allow-write=~/.gitconfig"], "echo '[user]' >> ~/.gitconfig").success().stderr_lacks("sbx: blocked");
    let out = run(&[], "echo x > ~/.gitconfig.lock");
    out.code(2).stderr_has(&format!(
        "sbx: blocked create {}/.gitconfig.lock — only --allow-write=~ would allow it (the whole home directory); \
         point the tool at a narrower directory",
        home.display()
    ));
}

/// `-q` silences the reports and the summary; the write is refused all
/// the same.
#[test]
fn quiet_runs_name_nothing() {
    if !files_enforced() {
        return;
    }
    let t = tree();
    let out = run_in(t.path(), &["-q".into()], "echo x > out/new; echo status=$?");
    out.success().stdout_is("status=2");
    assert!(out.stderr.lines().all(|l| !l.starts_with("sbx:")), "{}", out.report());
    assert!(!t.path().join("out/new").exists());
}

/// Writes inside the writable paths and to the write defaults (/dev/null,
/// temp) are not reported; a path that only a symlink makes look outside is
/// judged where it really is.
#[test]
fn allowed_writes_are_not_reported() {
    if !files_enforced() {
        return;
    }
    let t = tree();
    std::os::unix::fs::symlink(t.path().join("in"), t.path().join("out/to-in")).unwrap();
    let script = "echo x > in/a && mkdir in/d && mv in/a in/d/b && rm in/d/b && echo y > /dev/null \
                  && echo z > out/to-in/c && t=$(mktemp) && rm $t";
    run_in(t.path(), &[], script).success().stderr_lacks("sbx: blocked");
    assert_eq!(fs::read_to_string(t.path().join("in/c")).unwrap(), "z\n");
}

/// A tool's cache directory that does not exist yet (npm's `~/.npm`): the
/// report names that directory (sbx creates it when the flag names it), and
/// `mkdir -p`'s attempts on the directories that exist above it (EEXIST,
/// whatever the sandbox says) are not reported.
#[test]
fn a_missing_cache_directory_is_named_itself() {
    if !files_enforced() {
        return;
    }
    let t = tree();
    let home = t.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let home = home.canonicalize().unwrap();
    let script = format!("mkdir -p {}/.npm/_cacache/tmp", home.display());
    let run = |extra: &[&str]| sandboxed(t.path(), extra, &script).env("HOME", &home).run();
    let out = run(&[]);
    out.code(1).stderr_has(&format!(
        "sbx: blocked create directory {}/.npm — allow with --allow-write=~/.npm (sbx creates it)",
        home.display()
    ));
    let blocked: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("sbx: blocked")).collect();
    assert_eq!(blocked.len(), 1, "only the missing directory is reported{}", out.report());
    run(&["--allow-write=~/.npm"]).success().stderr_lacks("sbx: blocked");
    assert!(home.join(".npm/_cacache/tmp").is_dir());
}

/// A test suite's local server under --deny-net: the socket is refused
/// (EPERM, as Python reports it) and sbx names the flag for a server on
/// loopback, which then makes the same run pass.
#[test]
fn a_local_server_under_deny_net_is_told_to_use_localhost() {
    let Some(py) = super::util::python() else { return };
    let script = "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen(1)\nprint('listening')";
    let run = |flag: &str| sbx([flag, "--"]).arg(&py).args(["-c", script]).run();
    let out = run("--deny-net");
    out.code(1)
        .stderr_has("PermissionError")
        .stderr_has("sbx: blocked an IPv4 TCP socket of python3")
        .stderr_has("needs --allow-net=localhost");
    run("--allow-net=localhost").success().stdout_is("listening").stderr_lacks("sbx: blocked");
}

/// A write the file modes refuse anyway (a user writing a root-owned file
/// outside the writable paths) is not blamed on the sandbox: no flag would
/// make it pass. The same write by root, which the modes allow, is named.
#[test]
fn writes_the_file_modes_refuse_are_not_blamed_on_the_sandbox() {
    if !files_enforced() || !super::util::need_root() {
        return;
    }
    let t = tree();
    let file = t.path().join("out/file");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let script = format!("echo x >> {}", file.display());
    let run = |nobody: bool| {
        let cmd = sbx(["--deny-write", "--", "sh", "-c", &script]).cwd(t.path());
        if nobody { cmd.nobody() } else { cmd }.run()
    };
    // Without sbx the user may not write it.
    super::util::bare("sh").args(["-c", &script]).nobody().run().code(2);
    run(true).code(2).stderr_lacks("sbx: blocked");
    run(false).code(2).stderr_has(&format!("sbx: blocked write to {}", file.canonicalize().unwrap().display()));
}

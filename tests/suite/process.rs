//! How sbx runs the command: exit status and signal passthrough, sbx's own
//! exit codes (125/126/127) and messages, signal forwarding, stdio and file
//! descriptor passthrough, and pre-exec failures reported with their cause.
//!
//! Also home of the helpers other modules share for tests that need more
//! than `Cmd::run` (a `pre_exec` hook, or talking to a running sbx).

use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::util::{self, Cmd, Output, bare, make_reachable, probe, sbx, tempdir};

// ---------------------------------------------------------------- helpers

/// A hang guard, never part of an assertion: if a test is still waiting on a
/// spawned process group after a very generous delay, kill the whole group so
/// the test fails instead of hanging forever.
pub(super) struct Watchdog {
    disarm: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    pub(super) fn new(pgid: libc::pid_t) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(120)) {
                eprintln!("watchdog: process group {pgid} still running after 120 s; killing it");
                // SAFETY: kill with integer arguments only.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
        });
        Self { disarm: Some(tx), thread: Some(thread) }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `cmd` (built from a `Cmd` and then adjusted, e.g. with `pre_exec`)
/// to completion in its own process group, capturing everything.
pub(super) fn run_std(mut cmd: Command) -> Output {
    let desc = format!("{cmd:?}");
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawning {desc}: {e}"));
    let _dog = Watchdog::new(child.id() as libc::pid_t);
    Output::of(desc, None, child.wait_with_output().unwrap())
}

/// A running command (in its own process group) whose stdout the test reads
/// line by line while it runs.
pub(super) struct Running {
    desc: String,
    child: Child,
    stdout: BufReader<ChildStdout>,
    seen: String,
    stderr: Option<JoinHandle<String>>,
    _dog: Watchdog,
}

impl Running {
    pub(super) fn spawn(cmd: &Cmd) -> Self {
        let mut cmd = cmd.command();
        let desc = format!("{cmd:?}");
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawning {desc}: {e}"));
        let dog = Watchdog::new(child.id() as libc::pid_t);
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Self { desc, child, stdout, seen: String::new(), stderr: Some(stderr), _dog: dog }
    }

    pub(super) fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// Reads stdout until a line equal to `line`; panics at end of file.
    #[track_caller]
    pub(super) fn wait_for_line(&mut self, line: &str) {
        loop {
            let mut buf = String::new();
            let n = self.stdout.read_line(&mut buf).unwrap();
            self.seen.push_str(&buf);
            if n == 0 {
                let out = self.finish();
                panic!("stdout ended before the line {line:?}{}", out.report());
            }
            if buf.trim_end_matches('\n') == line {
                return;
            }
        }
    }

    /// Sends `signal` to the spawned process itself (not its group).
    pub(super) fn signal(&self, signal: i32) {
        // SAFETY: kill with integer arguments only; the child is not reaped yet.
        let ret = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(ret, 0, "kill({}, {signal}) failed: {}", self.pid(), std::io::Error::last_os_error());
    }

    /// Reads the rest of stdout and stderr and waits for the process.
    pub(super) fn finish(&mut self) -> Output {
        let mut rest = Vec::new();
        self.stdout.read_to_end(&mut rest).unwrap();
        self.seen.push_str(&String::from_utf8_lossy(&rest));
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.take().map(|t| t.join().unwrap()).unwrap_or_default();
        Output {
            desc: self.desc.clone(),
            cwd: None,
            status,
            stdout: self.seen.clone(),
            stderr_bytes: stderr.clone().into_bytes(),
            stderr,
            stdout_bytes: self.seen.clone().into_bytes(),
        }
    }
}

/// Writes an executable (`mode`) shell script `name` into `dir`.
pub(super) fn script(dir: &Path, name: &str, body: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A temp dir that uid 65534 can traverse and read.
pub(super) fn shared_tempdir() -> tempfile::TempDir {
    let dir = tempdir();
    make_reachable(dir.path());
    dir
}

/// `cmd` as root and, when running as root, as uid 65534.
pub(super) fn as_root_and_nobody(cmd: impl Fn() -> Cmd) -> Vec<Cmd> {
    util::users().into_iter().map(|nobody| if nobody { cmd().nobody() } else { cmd() }).collect()
}

/// Every stderr line of sbx's own starts with `sbx: `.
#[track_caller]
fn stderr_all_sbx(out: &Output) {
    assert!(!out.stderr.is_empty(), "expected a message from sbx{}", out.report());
    for line in out.stderr.lines() {
        assert!(
            line.starts_with("sbx: ") || line.starts_with("  "),
            "stderr line {line:?} is not sbx's{}",
            out.report()
        );
    }
}

// ---------------------------------------------------------------- exit status

#[test]
fn exit_status_passes_through() {
    for code in [0, 1, 7, 126, 127, 255] {
        let script = format!("exit {code}");
        for cmd in as_root_and_nobody(|| sbx([util::any_restriction(), "--", "sh", "-c", &script])) {
            let out = cmd.run();
            out.code(code);
            assert!(out.stderr.is_empty(), "sbx said something about a normal exit{}", out.report());
        }
    }
}

#[test]
fn signal_death_is_reraised_on_sbx() {
    let dir = tempdir(); // a core file, should one be written despite ulimit -c 0, lands here
    // Including signals sbx itself blocks (the forwarded ones, INT, QUIT) or
    // ignores (PIPE, as every Rust program does): sbx must still die of them.
    for (signal, name) in [
        (libc::SIGTERM, "TERM"),
        (libc::SIGKILL, "KILL"),
        (libc::SIGSEGV, "SEGV"),
        (libc::SIGINT, "INT"),
        (libc::SIGQUIT, "QUIT"),
        (libc::SIGPIPE, "PIPE"),
        (libc::SIGHUP, "HUP"),
        (libc::SIGUSR1, "USR1"),
        (libc::SIGALRM, "ALRM"),
    ] {
        let script = format!("ulimit -c 0; kill -{name} $$; echo not-reached");
        bare("sh").args(["-c", &script]).cwd(dir.path()).run().signal(signal);
        for cmd in as_root_and_nobody(|| sbx([util::any_restriction(), "--", "sh", "-c", &script]).cwd("/")) {
            let out = cmd.run();
            out.signal(signal);
            assert!(!out.stdout.contains("not-reached"), "{}", out.report());
        }
    }
}

// ---------------------------------------------------------------- sbx's own exit codes

#[test]
fn not_executable_is_126_with_message() {
    let dir = shared_tempdir();
    let path = script(dir.path(), "plain", "echo ran", 0o644);
    let path_env = format!("{}:/usr/bin:/bin", dir.path().display());
    for cmd in as_root_and_nobody(|| sbx([util::any_restriction(), "--"]).arg(&path)) {
        let out = cmd.run();
        out.code(126).stderr_has(&format!("sbx: {}: cannot execute: Permission denied", path.display()));
        stderr_all_sbx(&out);
        assert!(out.stdout.is_empty(), "{}", out.report());
    }
    // Found through PATH: still 126, not 127.
    for cmd in as_root_and_nobody(|| sbx([util::any_restriction(), "--", "plain"]).env("PATH", &path_env)) {
        let out = cmd.run();
        out.code(126).stderr_has("sbx: plain: cannot execute: Permission denied");
        stderr_all_sbx(&out);
    }
    // A directory is found but not executable either.
    let out = sbx([util::any_restriction(), "--"]).arg(dir.path()).run();
    out.code(126).stderr_has("cannot execute");
    stderr_all_sbx(&out);
}

#[test]
fn exec_format_error_is_126_with_cause() {
    let dir = shared_tempdir();
    let path = dir.path().join("garbage");
    std::fs::write(&path, b"\x7fELF not really\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = sbx([util::any_restriction(), "--"]).arg(&path).run();
    out.code(126).stderr_has("not a valid executable").stderr_has("exec format error");
    stderr_all_sbx(&out);
}

#[test]
fn not_found_is_127_with_message() {
    let name = format!("sbx-no-such-command-{}", std::process::id());
    for cmd in as_root_and_nobody(|| sbx([util::any_restriction(), "--", &name]).env("PATH", "/usr/bin:/bin")) {
        let out = cmd.run();
        out.code(127).stderr_has(&format!("sbx: {name}: command not found"));
        stderr_all_sbx(&out);
    }
    let dir = tempdir();
    let missing = dir.path().join("missing");
    let out = sbx([util::any_restriction(), "--"]).arg(&missing).run();
    out.code(127).stderr_has(&format!("sbx: {}: no such file or directory", missing.display()));
    stderr_all_sbx(&out);
}

#[test]
fn not_found_with_an_unsearchable_path_dir_is_127() {
    if !util::need_root() {
        return;
    }
    let dir = shared_tempdir();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    let path_env = format!("{}:/usr/bin:/bin", locked.display());
    let name = format!("sbx-no-such-command-{}", std::process::id());
    // Premise: uid 65534 cannot search `locked`, and no PATH entry holds `name`.
    bare("ls").arg(&locked).nobody().run().code(2);
    let out = sbx([util::any_restriction(), "--", &name]).env("PATH", &path_env).nobody().run();
    out.code(127).stderr_has(&format!("sbx: {name}: command not found"));
}

#[test]
fn empty_command_name_is_127() {
    // execvp(3) and env(1) answer ENOENT / 127 for an empty name.
    bare("env").arg("").run().code(127);
    let out = sbx([util::any_restriction(), "--", ""]).env("PATH", "/usr/bin:/bin").run();
    out.code(127);
    stderr_all_sbx(&out);
}

#[test]
fn usage_errors_are_125() {
    // No command at all.
    let out = sbx::<[&str; 0], &str>([]).run();
    out.code(125).stderr_has("COMMAND");
    assert!(out.stderr.starts_with("sbx: "), "{}", out.report());
    let out = sbx([util::any_restriction()]).run();
    out.code(125);
    assert!(out.stderr.starts_with("sbx: "), "{}", out.report());
    // An empty path value.
    let out = sbx(["--allow-read=", "--", "true"]).run();
    out.code(125).stderr_has("empty");
    assert!(out.stderr.starts_with("sbx: "), "{}", out.report());
}

#[test]
fn unknown_flag_is_a_usage_error() {
    // A misspelt flag must not be taken for the command (nor silently drop
    // the restriction the user meant to ask for).
    for (args, flag) in [
        (&["--deny-wirte", "--", "true"][..], "--deny-wirte"),
        (&["--bogus", "true"], "--bogus"),
        (&["--deny-net", "--bogus", "--", "true"], "--bogus"),
    ] {
        let out = sbx(args).run();
        out.code(125).stderr_has(flag);
        assert!(out.stderr.starts_with("sbx: "), "{}", out.report());
        assert!(!out.stderr.contains("command not found"), "the flag was taken for the command{}", out.report());
    }
}

#[test]
fn command_named_like_a_flag_or_subcommand_runs_after_double_dash() {
    let dir = shared_tempdir();
    for name in ["trust", "--weird", "-v", "help", "--help"] {
        script(dir.path(), name, &format!("echo \"{name} ran $*\""), 0o755);
    }
    let path_env = format!("{}:/usr/bin:/bin", dir.path().display());
    for name in ["trust", "--weird", "-v", "help", "--help"] {
        for cmd in as_root_and_nobody(|| sbx([util::any_restriction(), "--", name, "--x", "y"]).env("PATH", &path_env))
        {
            cmd.run().success().stdout_is(&format!("{name} ran --x y"));
        }
    }
    // Flags after COMMAND belong to COMMAND, not to sbx.
    sbx([util::any_restriction(), "--", "trust", "--deny-net", "--help"])
        .env("PATH", &path_env)
        .run()
        .success()
        .stdout_is("trust ran --deny-net --help");
}

// ---------------------------------------------------------------- signal forwarding

/// `sh` that says `ready` once its traps are set, then loops until a trap ends it.
fn trapping_shell(signals: &[&str]) -> String {
    let mut s = String::new();
    for name in signals {
        if *name == "TERM" {
            s.push_str("trap 'echo got-TERM; exit 3' TERM; ");
        } else {
            s.push_str(&format!("trap 'echo got-{name}' {name}; "));
        }
    }
    s.push_str("echo ready; while :; do sleep 0.1; done");
    s
}

/// Spawns `sbx ... -- sh -c SCRIPT` where the shell exits 3 on TERM and
/// echoes `got-NAME` for the other trapped signals.
fn spawn_trapping(nobody: bool, signals: &[&str]) -> Running {
    let script = trapping_shell(signals);
    let mut cmd = sbx([util::any_restriction(), "--", "sh", "-c", &script]);
    if nobody {
        cmd = cmd.nobody();
    }
    let mut running = Running::spawn(&cmd);
    running.wait_for_line("ready");
    running
}

#[test]
fn sigterm_is_forwarded() {
    for nobody in util::users() {
        let mut running = spawn_trapping(nobody, &["TERM"]);
        running.signal(libc::SIGTERM);
        running.finish().code(3).stdout_is("ready\ngot-TERM");
    }
}

#[test]
fn sighup_and_sigusr1_are_forwarded() {
    for nobody in util::users() {
        for (signal, name) in [(libc::SIGHUP, "HUP"), (libc::SIGUSR1, "USR1"), (libc::SIGUSR2, "USR2")] {
            let mut running = spawn_trapping(nobody, &[name, "TERM"]);
            running.signal(signal);
            running.wait_for_line(&format!("got-{name}"));
            // The child survived its trap; end it.
            running.signal(libc::SIGTERM);
            running.finish().code(3).stdout_is(&format!("ready\ngot-{name}\ngot-TERM"));
        }
    }
}

#[test]
fn sigint_to_sbx_alone_is_not_forwarded() {
    // Premise: the same shell, signalled directly, does report SIGINT.
    let script = trapping_shell(&["INT", "TERM"]);
    let mut direct = Running::spawn(&bare("sh").args(["-c", &script]));
    direct.wait_for_line("ready");
    direct.signal(libc::SIGINT);
    direct.wait_for_line("got-INT");
    direct.signal(libc::SIGTERM);
    direct.finish().code(3).stdout_is("ready\ngot-INT\ngot-TERM");

    for nobody in util::users() {
        let mut running = spawn_trapping(nobody, &["INT", "TERM"]);
        running.signal(libc::SIGINT);
        running.signal(libc::SIGQUIT);
        // sbx reads its signals lowest number first and would forward SIGINT
        // before SIGTERM; the shell runs pending traps in signal order. So a
        // forwarded SIGINT would show as got-INT before got-TERM, and an sbx
        // killed by SIGINT/SIGQUIT would not exit 3.
        running.signal(libc::SIGTERM);
        running.finish().code(3).stdout_is("ready\ngot-TERM");
    }
}

// ---------------------------------------------------------------- stdio and fds

#[test]
fn stdin_passes_through() {
    let input: Vec<u8> = b"line one\n\x00\xff\xfe binary\nlast line without newline".to_vec();
    for cmd in as_root_and_nobody(|| sbx([util::any_restriction(), "--", "cat"]).stdin(input.clone())) {
        let out = cmd.run();
        out.success();
        assert_eq!(out.stdout_bytes, input, "stdin did not reach cat unchanged{}", out.report());
    }
}

#[test]
fn stdout_and_stderr_pass_through() {
    for cmd in
        as_root_and_nobody(|| sbx([util::any_restriction(), "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 4"]))
    {
        let out = cmd.run();
        out.code(4).stdout_is("to-out");
        assert_eq!(out.stderr, "to-err\n", "{}", out.report());
    }
}

/// The fd the fd-listing tests hand to the command on purpose.
const INHERITED_FD: RawFd = 100;

/// Runs `cmd` with exactly fds 0-2 and `INHERITED_FD` (a dup of `file`) open
/// at exec: everything else the test process has open is marked close-on-exec
/// first, so tests running in parallel cannot leak fds into this one.
fn run_with_only_fd(cmd: &Cmd, file: &OwnedFd) -> Output {
    let raw = file.as_raw_fd();
    assert_ne!(raw, INHERITED_FD);
    let mut command = cmd.command();
    // SAFETY: the hook only makes async-signal-safe system calls.
    unsafe {
        command.pre_exec(move || {
            if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // dup2 clears close-on-exec on the new descriptor.
            if libc::dup2(raw, INHERITED_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run_std(command)
}

#[test]
fn no_fd_leaks_into_the_command() {
    let dir = shared_tempdir();
    let file: OwnedFd = std::fs::File::create(dir.path().join("inherited")).unwrap().into();
    let probe = probe();
    let probe_dir = probe.parent().unwrap().to_owned();
    let mut flag_sets: Vec<Vec<String>> = vec![vec![], vec!["--deny-net".into()]];
    if util::files_enforced() {
        flag_sets.push(vec!["--deny-write".into()]);
        flag_sets.push(vec!["--deny-all".into(), format!("--allow-read={}", probe_dir.display())]);
    }
    for nobody in util::users() {
        let with = |c: Cmd| if nobody { c.nobody() } else { c };
        let bare_out = run_with_only_fd(&with(bare(probe).arg("fds")), &file);
        bare_out.success().stdout_is(&format!("{INHERITED_FD}\nend"));
        for flags in &flag_sets {
            let out = run_with_only_fd(&with(sbx(flags).arg("--").arg(probe).arg("fds")), &file);
            out.success();
            assert_eq!(out.stdout, bare_out.stdout, "the fds under sbx differ from the bare run{}", out.report());
        }
    }
}

#[test]
fn close_fds_gives_a_clean_slate() {
    let dir = shared_tempdir();
    let file: OwnedFd = std::fs::File::create(dir.path().join("inherited")).unwrap().into();
    let probe = probe();
    for nobody in util::users() {
        let with = |c: Cmd| if nobody { c.nobody() } else { c };
        // Premise: the caller's fd reaches the command, bare and under sbx.
        run_with_only_fd(&with(bare(probe).arg("fds")), &file).success().stdout_is(&format!("{INHERITED_FD}\nend"));
        run_with_only_fd(&with(sbx([util::any_restriction(), "--"]).arg(probe).arg("fds")), &file)
            .success()
            .stdout_is(&format!("{INHERITED_FD}\nend"));
        // The supervisor's listener and sbx's own fds stay out too.
        let deny_all = format!("--allow-read={}", probe.parent().unwrap().display());
        let mut sets = vec![&["--close-fds"][..], &["--close-fds", "--deny-net"]];
        let all = ["--close-fds", "--deny-all", &deny_all];
        if util::files_enforced() {
            sets.push(&all);
        }
        for flags in sets {
            let out = run_with_only_fd(&with(sbx(flags).arg("--").arg(probe).arg("fds")), &file);
            out.success().stdout_is("end");
        }
    }
    // stdin, stdout and stderr stay.
    let out = sbx(["--close-fds", "--", "sh", "-c", "cat; echo err >&2"]).stdin("in\n").run();
    out.success().stdout_is("in");
    assert_eq!(out.stderr, "err\n", "{}", out.report());
    // Writing to the passed fd works without --close-fds only.
    let write = |flags: &[&str]| {
        run_with_only_fd(&sbx(flags).args(["--", "sh", "-c", "echo x > /proc/self/fd/100 && echo wrote"]), &file)
    };
    write(&["--deny-net"]).success().stdout_is("wrote");
    write(&["--close-fds"]).code(2).stderr_has("100");
    // `close_fds = true` in a profile is the same.
    let config = dir.path().join("fds.toml");
    std::fs::write(
        &config,
        "[profile.clean]\nclose_fds = true\n[profile.on]\nextends = [\"clean\"]\nclose_fds = false\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    write(&["--config", config, "-p", "clean"]).code(2).stderr_has("100");
    // A base's close_fds stays on: `false` turns off nothing.
    write(&["--config", config, "-p", "on"]).code(2).stderr_has("100");
}

#[test]
fn close_fds_works_without_close_range() {
    let probe = probe();
    let filter =
        super::kernel::Filter::new(&[super::kernel::Deny { syscall: "close_range", errno: libc::ENOSYS, arg0: None }]);
    // Premise: under the filter, close_range fails.
    bare(probe).arg("close_range").run().success().stdout_is("ok");
    filter.run(&bare(probe).arg("close_range")).success().stdout_is("ENOSYS");
    let with_fd_7 = |flags: &str| {
        let script = format!("exec 7</dev/null; {} {flags} -- {} fds", util::sbx_path().display(), probe.display());
        filter.run(&bare("sh").args(["-c", &script]))
    };
    with_fd_7("--deny-write").success().stdout_has("7\n");
    with_fd_7("--close-fds").success().stdout_is("end");
}

// ---------------------------------------------------------------- pre-exec failures

#[test]
fn unreadable_program_under_deny_read_is_126_naming_allow_read() {
    if !util::files_enforced() {
        return;
    }
    let dir = shared_tempdir();
    let path = script(dir.path(), "tool", "echo tool-ran", 0o755);
    for cmd in as_root_and_nobody(|| bare(&path)) {
        cmd.run().success().stdout_is("tool-ran");
    }
    for cmd in as_root_and_nobody(|| sbx(["--deny-read", "--"]).arg(&path).cwd("/")) {
        let out = cmd.run();
        out.code(126).stderr_has(&format!("sbx: {}: permission denied", path.display())).stderr_has("--allow-read");
        stderr_all_sbx(&out);
        assert!(out.stdout.is_empty(), "{}", out.report());
    }
    // With its directory readable, the same command runs.
    let allow = format!("--allow-read={}", dir.path().display());
    for cmd in as_root_and_nobody(|| sbx([allow.as_str(), "--"]).arg(&path).cwd("/")) {
        cmd.run().success().stdout_is("tool-ran");
    }
}

#[test]
fn not_executable_under_deny_read_is_not_blamed_on_the_sandbox() {
    if !util::files_enforced() {
        return;
    }
    let dir = shared_tempdir();
    let path = script(dir.path(), "plain", "echo ran", 0o644);
    let allow = format!("--allow-read={}", dir.path().display());
    // Premise: the directory is readable in the sandbox (cat reads the file).
    sbx([allow.as_str(), "--", "cat"]).arg(&path).run().success().stdout_has("echo ran");
    let out = sbx([allow.as_str(), "--"]).arg(&path).run();
    out.code(126).stderr_has("cannot execute: Permission denied").stderr_lacks("--allow-read");
}

#[test]
fn script_without_shebang_runs_with_sh() {
    // execvp(3) and env(1) run a script without `#!` with /bin/sh.
    let dir = shared_tempdir();
    let path = dir.path().join("noshebang");
    std::fs::write(&path, "echo ran-with-sh \"$1\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bare("env").arg(&path).arg("arg1").run().success().stdout_is("ran-with-sh arg1");
    let out = sbx([util::any_restriction(), "--"]).arg(&path).arg("arg1").run();
    out.success().stdout_is("ran-with-sh arg1");
}

#[test]
fn a_failing_command_under_a_file_restriction_gets_a_hint_on_a_terminal_only() {
    if !util::files_enforced() {
        return;
    }
    // Landlock tells sbx nothing about the reads it refused, so sbx says
    // where to look — when the command failed in front of a person (stderr
    // a terminal: run under script(1)'s pty), never with -q, never in logs,
    // never after Ctrl-C. Refused writes are named as they happen instead.
    let hint = "sbx: note: the command failed; reads outside the allowed paths";
    let on_pty = |args: &str| {
        let line = format!("{} {args}", super::util::sbx_path().display());
        bare("script").args(["-qec", &line, "/dev/null"]).run()
    };
    // Premise: script(1) gives the command a terminal.
    bare("script").args(["-qec", "test -t 2 && echo tty", "/dev/null"]).run().success().stdout_has("tty");
    let out = on_pty("--deny-read -- sh -c 'exit 3'");
    out.code(3).stdout_has(hint);
    assert_eq!(out.stdout.matches(hint).count(), 1, "{}", out.report());
    on_pty("-q --deny-read -- sh -c 'exit 3'").code(3).stdout_lacks(hint);
    on_pty("--deny-read -- true").success().stdout_lacks(hint);
    on_pty("--deny-read -- sh -c 'exit 130'").code(130).stdout_lacks(hint);
    on_pty("--deny-read -- sh -c 'kill -TERM $$'").code(143).stdout_lacks(hint);
    on_pty("--deny-env -- sh -c 'exit 3'").code(3).stdout_lacks(hint);
    // Writes are named as they happen: no note for them.
    on_pty("--deny-write -- sh -c 'exit 3'").code(3).stdout_lacks("sbx: note:");
    // Not a terminal: nothing.
    sbx(["--deny-read", "--", "sh", "-c", "exit 3"]).run().code(3).stderr_lacks(hint);
}

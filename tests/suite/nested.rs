//! An sbx inside another sbx (an agent's shell under sbx running a Makefile
//! that calls sbx): the outer one holds the one seccomp listener, and the
//! inner one asks it to decide for its sandbox what it cannot itself
//! (src/linux/nested.rs). Each test shows the inner restriction holding
//! where the outer one alone would allow the call, and that what the outer
//! sbx does not mediate is refused precisely — before anything runs.

use std::io::BufRead;

use super::util::{self, Cmd, bare, listener, probe, sbx, sbx_path};

/// `sbx OUTER -- sh -c SCRIPT`, where SCRIPT may use `$SBX` and `$PROBE`.
fn nested(outer: &[&str], script: &str) -> Cmd {
    sbx(outer).args(["--", "sh", "-c", script]).env("SBX", sbx_path()).env("PROBE", probe())
}

#[test]
fn an_inner_deny_write_narrows_the_outer_one_for_metadata_too() {
    if !util::files_enforced() {
        return;
    }
    let dir = util::tempdir();
    let (build, src) = (dir.path().join("build"), dir.path().join("src.txt"));
    std::fs::create_dir(&build).unwrap();
    std::fs::write(&src, "x").unwrap();
    let outer = format!("--allow-write={}", dir.path().display());
    let script = |prefix: &str| {
        format!(
            "{prefix} sh -c '\"$PROBE\" write {build}/a; \"$PROBE\" chmod {build}/a 600; \
             \"$PROBE\" chmod {src} 600; \"$PROBE\" write {dir}/new'",
            build = build.display(),
            src = src.display(),
            dir = dir.path().display()
        )
    };
    // Control: the outer sandbox alone allows all four.
    nested(&["--deny-write", &outer], &script("")).run().success().stdout_is("ok\nok\nok\nok");
    std::fs::remove_file(dir.path().join("new")).unwrap();
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let script = script(&format!("\"$SBX\" --deny-write --allow-write={} --", build.display()));
    // Inside the inner one: its tree only, for the metadata call too (the
    // outer supervisor decides it with both policies).
    let out = nested(&["--deny-write", &outer], &script).run();
    out.success().stdout_is("ok\nok\nEPERM\nEACCES").stderr_has("the sbx inside this sandbox (pid");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&src).unwrap().permissions().mode() & 0o777, 0o644);
}

#[test]
fn what_the_outer_sbx_does_not_mediate_is_refused_before_anything_runs() {
    if !util::files_enforced() {
        return;
    }
    // The outer sbx restricts only the network: metadata calls never reach
    // its supervisor, so an inner --deny-write cannot be kept whole.
    let dir = util::tempdir();
    let side = dir.path().join("side");
    let script = format!("\"$SBX\" --deny-write -- sh -c 'echo ran > {}'; echo status=$?", side.display());
    let out = nested(&["--deny-net"], &script).run();
    out.success()
        .stdout_is("status=125")
        .stderr_has("changing modes, owners, times and extended attributes")
        .stderr_has("holds the one seccomp listener")
        .stderr_has("--deny-write for metadata");
    assert!(!side.exists(), "the refused inner command ran");
    // The same for the network under an outer sbx restricting files only.
    let script = format!("\"$SBX\" --deny-net -- sh -c 'echo ran > {}'; echo status=$?", side.display());
    let allow = format!("--allow-write={}", dir.path().display());
    let out = nested(&["--deny-write", &allow], &script).run();
    out.success().stdout_is("status=125").stderr_has("connecting to unix sockets outside the sandbox");
    assert!(!side.exists(), "the refused inner command ran");
    // --best-effort names the loss and runs.
    let script = "\"$SBX\" --best-effort --deny-net -- \"$PROBE\" socket inet";
    nested(&["--deny-write", &allow], script).run().success().stdout_is("EPERM").stderr_has("warning: --best-effort");
}

#[test]
fn an_inner_allow_net_narrows_the_outer_one() {
    let good = listener("127.0.0.1");
    let other = listener("127.0.0.1");
    let outer = "--allow-net=127.0.0.0/24";
    // Control: the outer sandbox alone reaches both.
    for l in [&good, &other] {
        sbx([outer, "--"]).arg(probe()).args(["connect", &l.ip(), &l.port()]).run().success().stdout_is("ok");
    }
    let script = format!(
        "\"$SBX\" {} -- sh -c '\"$PROBE\" connect {} {}; \"$PROBE\" connect {} {}'",
        good.allow(),
        good.ip(),
        good.port(),
        other.ip(),
        other.port()
    );
    let before = other.accepted();
    let out = nested(&[outer], &script).run();
    out.success().stdout_is("ok\nECONNREFUSED").stderr_has("does not allow it");
    assert_eq!(other.accepted(), before, "the inner sandbox reached a port its rules do not allow");
    // Host names cannot be decided by the outer sbx's address rules.
    let script = "\"$SBX\" --allow-net=allowed.test:80 -- true; echo status=$?";
    nested(&[outer], script).run().success().stdout_is("status=125").stderr_has("host names inside another sbx");
    // An inner sbx without network rules keeps the outer ones.
    let bad = listener("127.0.0.2");
    let script = format!("\"$SBX\" --deny-env -- \"$PROBE\" connect {} {}", bad.ip(), bad.port());
    nested(&[&good.allow()], &script).run().success().stdout_is("ECONNREFUSED");
}

#[test]
fn an_inner_deny_net_keeps_unix_sockets_bound_outside_it_out_of_reach() {
    // A socket bound in the outer sandbox, outside the inner one: the outer
    // sandbox may connect, the inner one may not.
    let dir = util::tempdir();
    let sock = dir.path().join("s.sock");
    // The listener says "listening" into a fifo once it listens.
    let script = format!(
        "mkfifo {ready}; \"$PROBE\" unix-listen {sock} 2 >{ready} & read line <{ready}; echo \"$line\"; \
         \"$PROBE\" unix-connect {sock}; \"$SBX\" --deny-net -- \"$PROBE\" unix-connect {sock}; \
         kill $! 2>/dev/null; wait",
        sock = sock.display(),
        ready = dir.path().join("ready").display()
    );
    let allow = format!("--allow-write={}", dir.path().display());
    let mut flags = vec!["--deny-net"];
    if util::landlock_abi() > 0 {
        flags.extend(["--deny-write", &allow]);
    }
    let out = nested(&flags, &script).run();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines, ["listening", "ok", "ECONNREFUSED"], "{}", out.report());
}

#[test]
fn an_inner_sandbox_cannot_signal_or_renice_the_outer_ones_processes() {
    // A process of the outer sandbox outside the inner one: the inner
    // command may neither signal it nor change its priority.
    let script = "sleep 30 & pid=$!; \"$PROBE\" kill $pid 0; \"$PROBE\" setpriority $pid 5; \
                  \"$SBX\" --deny-env -- sh -c \"\\\"$PROBE\\\" kill $pid 0; \\\"$PROBE\\\" setpriority $pid 6\"; kill $pid";
    let flags: &[&str] = if util::landlock_abi() > 0 { &["--deny-write"] } else { &["--deny-net"] };
    if !util::enforceable(flags) {
        return;
    }
    nested(flags, script).run().success().stdout_is("ok\nok\nEPERM\nEPERM");
}

#[test]
fn what_is_left_of_an_inner_sandbox_ends_with_it() {
    // A background process of the inner command does not outlive the inner
    // sbx (it would slip out of the restrictions decided for it).
    let dir = util::tempdir();
    let pidfile = dir.path().join("pid");
    let script =
        format!("\"$SBX\" --deny-env -- sh -c 'sleep 60 & echo $! > {}'; cat {}", pidfile.display(), pidfile.display());
    let out = nested(&["--deny-net"], &script).run();
    out.success();
    let pid: i32 = out.stdout.trim().parse().unwrap();
    // Killed, it may still be on its way out (a zombie until reaped): it
    // must be gone, or dead, by the time it would have run 5 s of its 60.
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X'])))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!alive(), "the inner sandbox's background process {pid} survived it{}", out.report());
}

#[test]
fn an_inner_sbx_killed_from_outside_ends_the_outer_sandbox() {
    // Killed from outside (its own sandbox cannot signal it), the inner sbx
    // cannot end its sandbox; the outer one then ends everything and says so.
    let script = "\"$SBX\" --deny-env -- sh -c 'echo $PPID; exec sleep 60'; sleep 5; echo still";
    let mut command = nested(&["--deny-net"], script).command();
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let inner: i32 = line.trim().parse().unwrap();
    // SAFETY: kill with integer arguments; `inner` is the inner sbx, alive.
    assert_eq!(unsafe { libc::kill(inner, libc::SIGKILL) }, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("ended without ending its sandbox"), "{stderr}");
    // The inner command's process (sleep) ended with the sandbox.
    let rest = String::from_utf8_lossy(&out.stdout);
    assert!(!rest.contains("still"), "the outer command went on: {rest}");
}

#[test]
fn three_levels_all_hold() {
    if !util::files_enforced() {
        return;
    }
    let dir = util::tempdir();
    let (a, b) = (dir.path().join("a"), dir.path().join("a/b"));
    std::fs::create_dir_all(&b).unwrap();
    for d in [dir.path(), &a, &b] {
        std::fs::write(d.join("f"), "x").unwrap();
    }
    let script = format!(
        "\"$SBX\" --deny-write --allow-write={a} -- \"$SBX\" --deny-write --allow-write={b} -- \
         sh -c '\"$PROBE\" chmod {b}/f 600; \"$PROBE\" chmod {a}/f 600; \"$PROBE\" chmod {top}/f 600'",
        a = a.display(),
        b = b.display(),
        top = dir.path().display()
    );
    let outer = format!("--allow-write={}", dir.path().display());
    nested(&["--deny-write", &outer], &script).run().success().stdout_is("ok\nEPERM\nEPERM");
}

#[test]
fn without_an_enclosing_sbx_nobody_is_asked() {
    // The request is a call no driver answers: bare, the kernel says EBADF.
    bare(probe()).args(["ioctl-nested"]).run().success().stdout_is("EBADF");
}

//! The process scope (issue #11): the command may signal, renice, limit,
//! reschedule, trace or read only processes inside the sandbox — on every
//! kernel. Landlock ABI 6 scopes signals in the kernel; below, sbx's
//! supervisor does (run these with SBX_TEST_LANDLOCK_ABI=1…5 or none).
//! Calls that change another process by pid are the supervisor's on every
//! kernel. Each attack is first shown to work without sbx.

use super::process::{Running, as_root_and_nobody};
use super::util::{self, Cmd, bare, probe, sbx};

/// `sleep 30` outside any sandbox (as uid 65534 with `nobody`), killed and
/// reaped on drop — after checking that it lived until then.
struct Outsider(Option<Running>);

impl Outsider {
    fn start(nobody: bool) -> Self {
        let mut cmd = bare("sh").args(["-c", "echo ready; exec sleep 30"]);
        if nobody {
            cmd = cmd.nobody();
        }
        let mut running = Running::spawn(&cmd);
        running.wait_for_line("ready");
        Self(Some(running))
    }

    fn pid(&self) -> String {
        self.0.as_ref().map(|r| r.pid().to_string()).unwrap_or_default()
    }

    /// Asserts that something (a control run without sbx) killed it with `signal`.
    #[track_caller]
    fn was_killed_by(mut self, signal: i32) {
        let Some(mut running) = self.0.take() else { return };
        running.finish().signal(signal);
    }
}

impl Drop for Outsider {
    fn drop(&mut self) {
        let Some(mut running) = self.0.take() else { return };
        running.signal(libc::SIGKILL);
        let out = running.finish();
        if !std::thread::panicking() {
            // Still alive for the SIGKILL: nothing the sandbox did reached it.
            out.signal(libc::SIGKILL);
        }
    }
}

fn as_user(cmd: Cmd, nobody: bool) -> Cmd {
    if nobody { cmd.nobody() } else { cmd }
}

/// A restriction for the run: the scope holds whatever the policy.
pub(super) fn policies() -> Vec<&'static [&'static str]> {
    let mut flags: Vec<&'static [&'static str]> = vec![&[], &["--deny-net"]];
    if util::landlock_abi() > 0 {
        flags.push(&["--deny-write"]);
    }
    flags
}

#[test]
fn signals_reach_no_process_outside_by_any_call() {
    for nobody in util::users() {
        let outsider = Outsider::start(nobody);
        let pid = outsider.pid();
        let ops: Vec<Vec<&str>> = vec![
            vec!["kill", &pid, "9"],
            vec!["pidfd-kill", &pid, "9"],
            vec!["procfd-kill", &pid, "9"],
            vec!["sigqueue", &pid, "9"],
            vec!["tgkill", &pid, &pid, "9"],
            vec!["tkill", &pid, "9"],
            vec!["tgsigqueue", &pid, &pid, "9"],
            // The 32-bit entry (int 0x80 from this 64-bit probe).
            vec!["i386-kill", &pid, "9"],
        ];
        for op in &ops {
            // Premise (with signal 0, to keep the outsider): the call reaches it bare.
            let mut check = op.clone();
            *check.last_mut().unwrap() = "0";
            as_user(bare(probe()).args(&check), nobody).run().success().stdout_is("ok");
            for flags in policies() {
                as_user(sbx(flags).arg("--").arg(probe()).args(op), nobody).run().success().stdout_is("EPERM");
            }
        }
        // The drop asserts the outsider survived until the test killed it.
        drop(outsider);
    }
}

/// The ptrace-like calls on a process outside, as its own user: Landlock's
/// domain refuses them (the command is not an ancestor of the outsider's
/// domain), and without Landlock (simulated ABI none) sbx's filter and
/// supervisor do. As uid 65534 the kernel itself would allow each (same
/// user, no capabilities): the control. As root the command's capabilities
/// are fewer than the outsider's and the kernel refuses too.
#[test]
fn ptrace_like_calls_reach_no_process_outside() {
    for nobody in util::users() {
        let outsider = Outsider::start(nobody);
        let pid = outsider.pid();
        let ops: [(&str, &str); 7] = [
            ("vmread", "EFAULT"),
            ("vmwrite", "EFAULT"),
            ("move-pages", "ok"),
            ("migrate-pages", "ok"),
            ("robust-list", "ok"),
            ("kcmp", "ok"),
            ("pidfd-getfd", "ok"),
        ];
        for (op, bare_result) in ops {
            as_user(bare(probe()).args([op, &pid]), nobody).run().success().stdout_is(bare_result);
            for flags in policies() {
                as_user(sbx(flags).arg("--").arg(probe()).args([op, &pid]), nobody).run().success().stdout_is("EPERM");
            }
        }
        drop(outsider);
    }
}

#[test]
fn no_signal_reaches_any_thread_of_sbx() {
    for cmd in as_root_and_nobody(|| sbx(["--deny-net", "--"]).arg(probe()).arg("kill-parent-threads")) {
        cmd.run().success().stdout_is("EPERM");
    }
    // Premise: bare, the probe may signal its parent's threads (a shell here).
    bare("sh").args(["-c", "\"$0\" kill-parent-threads; :"]).arg(probe()).run().success().stdout_is("ok");
}

#[test]
fn a_signal_owner_outside_gets_no_signal() {
    // F_SETOWN + F_SETSIG SIGKILL + O_ASYNC: writing to the pipe sends
    // SIGKILL to the owner. Below ABI 6 sbx refuses such an owner (EPERM);
    // on ABI 6 Landlock lets the owner be set but keeps the signal in.
    for nobody in util::users() {
        // Premise: bare, the owner is killed.
        let victim = Outsider::start(nobody);
        as_user(bare(probe()).args(["sigio-to", &victim.pid()]), nobody).run().success().stdout_is("ok");
        victim.was_killed_by(libc::SIGKILL);
        let outsider = Outsider::start(nobody);
        let expected = if util::landlock_abi() >= 6 { "ok" } else { "EPERM" };
        for flags in policies() {
            as_user(sbx(flags).arg("--").arg(probe()).args(["sigio-to", &outsider.pid()]), nobody)
                .run()
                .success()
                .stdout_is(expected);
        }
        for op in ["setown-ex", "fiosetown"] {
            as_user(bare(probe()).args([op, &outsider.pid()]), nobody).run().success().stdout_is("ok");
            as_user(sbx(["--"]).arg(probe()).args([op, &outsider.pid()]), nobody).run().success().stdout_is(expected);
        }
        drop(outsider);
    }
}

#[test]
fn signals_inside_reach_their_targets_by_every_call() {
    for flags in policies() {
        for cmd in as_root_and_nobody(|| sbx(flags).arg("--").arg(probe()).arg("child-signals")) {
            cmd.run().success().stdout_is("ok");
        }
    }
    // A signal owner inside (the command itself) still gets its SIGIO.
    for cmd in
        as_root_and_nobody(|| sbx(["--", "sh", "-c"]).arg(format!("{} sigio-to $$ 10; echo lived", probe().display())))
    {
        // SIGUSR1 kills the shell that owns the pipe; sbx dies of it too.
        cmd.run().signal(libc::SIGUSR1).stdout_is("ok");
    }
}

#[test]
fn a_process_group_signal_skips_the_members_outside() {
    // sbx keeps the command in the caller's process group; a member outside
    // must not get the command's kill(0, SIGUSR1) (it would die of it).
    for nobody in util::users() {
        let script =
            |inner: &str| format!("sleep 30 >/dev/null 2>&1 & echo $!; {inner} {} kill-group 10", probe().display());
        let run = |inner: &str| {
            let out = as_user(bare("setsid").args(["-w", "sh", "-c", &script(inner)]).simulated(), nobody).run();
            let sleeper: i32 = out.stdout.lines().next().unwrap_or_default().trim().parse().unwrap_or(0);
            assert!(sleeper > 0, "no pid{}", out.report());
            // Alive: not gone, not a zombie waiting to be reaped — for a
            // while (a signal sent is delivered a moment later).
            let living = || {
                std::fs::read_to_string(format!("/proc/{sleeper}/stat"))
                    .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
            };
            let mut alive = living();
            for _ in 0..40 {
                if !alive {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
                alive = living();
            }
            // SAFETY: ends the test's own child (if still there).
            unsafe { libc::kill(sleeper, libc::SIGKILL) };
            (out, alive)
        };
        // Premise: bare, the whole group gets it: the sleeper, and the shell
        // that leads the group.
        let (out, alive) = run("");
        out.signal(libc::SIGUSR1).stdout_has("ok\nchild killed");
        assert!(!alive, "the bare kill(0) did not reach the group{}", out.report());
        let sbx_bin = util::sbx_path().display().to_string();
        for flags in policies() {
            let (out, alive) = run(&format!("{sbx_bin} {} --", flags.join(" ")));
            // The sandbox's own member (the probe's child) got it; the sleeper did not.
            out.success().stdout_has("ok\nchild killed");
            assert!(alive, "kill(0) inside the sandbox reached a process outside it{}", out.report());
        }
    }
}

/// A uid no other test runs as: kill(-1) as that user reaches only this
/// test's processes.
const KILL_ALL_UID: &str = "65533";

/// `cmd` (a program and its arguments) run as [`KILL_ALL_UID`].
fn as_kill_all_user(program: &std::path::Path, args: &[&str]) -> Cmd {
    let uid = format!("--reuid={KILL_ALL_UID}");
    let gid = format!("--regid={KILL_ALL_UID}");
    bare("setpriv").args([uid.as_str(), gid.as_str(), "--clear-groups", "--"]).arg(program).args(args)
}

#[test]
fn kill_of_every_process_reaches_only_the_sandbox() {
    // kill(-1, SIGKILL): bare, it kills every process of the user (an
    // outsider among them); under sbx, only the sandbox's.
    if !util::need_root() {
        return;
    }
    let start_outsider = || {
        let mut running =
            Running::spawn(&as_kill_all_user(std::path::Path::new("/bin/sh"), &["-c", "echo ready; exec sleep 30"]));
        running.wait_for_line("ready");
        Outsider(Some(running))
    };
    let outsider = start_outsider();
    for flags in policies() {
        let mut args: Vec<&str> = flags.to_vec();
        let probe = probe().to_str().unwrap();
        args.extend(["--", probe, "kill-all", "9"]);
        as_kill_all_user(util::sbx_path(), &args).simulated().run().success().stdout_is("ok\nchild killed");
    }
    drop(outsider);
    // The control, last (it kills every process of that uid).
    let victim = start_outsider();
    as_kill_all_user(probe(), &["kill-all", "9"]).run().success().stdout_is("ok\nchild killed");
    victim.was_killed_by(libc::SIGKILL);
}

#[test]
fn priority_limits_and_scheduling_of_processes_outside_cannot_be_changed() {
    for nobody in util::users() {
        let outsider = Outsider::start(nobody);
        let pid = outsider.pid();
        let ops: Vec<Vec<&str>> = vec![
            vec!["setpriority", &pid, "5"],
            vec!["prlimit-cpu", &pid, "100000"],
            vec!["setaffinity", &pid],
            vec!["setscheduler", &pid],
            vec!["setparam", &pid],
            vec!["setattr", &pid],
            vec!["ioprio", &pid],
            vec!["i386-setpriority", &pid, "5"],
        ];
        for op in &ops {
            as_user(bare(probe()).args(op), nobody).run().success().stdout_is("ok");
            for flags in policies() {
                as_user(sbx(flags).arg("--").arg(probe()).args(op), nobody).run().success().stdout_is("EPERM");
            }
        }
        drop(outsider);
    }
}

#[test]
fn sbx_itself_cannot_be_killed_by_a_cpu_limit() {
    // RLIMIT_CPU of 0 s on sbx would kill it with SIGXCPU; the command
    // would run on, unsupervised.
    for cmd in as_root_and_nobody(|| {
        sbx(["--", "sh", "-c"]).arg(format!("{} prlimit-cpu $PPID 0; sleep 1.5; echo done", probe().display()))
    }) {
        cmd.run().success().stdout_is("EPERM\ndone");
    }
}

#[test]
fn priority_and_scheduling_inside_keep_working() {
    for flags in policies() {
        for cmd in as_root_and_nobody(|| sbx(flags).arg("--").arg(probe()).arg("child-renice")) {
            cmd.run().success().stdout_is("5");
        }
        // pthread_setaffinity_np on another thread, and on itself.
        for cmd in as_root_and_nobody(|| sbx(flags).arg("--").arg(probe()).arg("thread-affinity")) {
            cmd.run().success().stdout_is("ok");
        }
        // nice(1) and renice of its own process group (the sandbox's members only).
        for cmd in as_root_and_nobody(|| sbx(flags).args(["--", "nice", "-n", "3", "nice"])) {
            cmd.run().success().stdout_is("3");
        }
        for cmd in as_root_and_nobody(|| {
            sbx(flags)
                .args(["--", "setsid", "-w", "sh", "-c"])
                .arg(format!("{} setpriority-pgrp 7 && nice", probe().display()))
        }) {
            cmd.run().success().stdout_is("ok\n7");
        }
    }
}

#[test]
fn another_sandboxes_environment_cannot_be_read_through_proc() {
    // /proc/PID/environ of sbx (whose environment --deny-env withholds) and
    // of other processes: Landlock's ptrace scope where there is Landlock;
    // without, sbx is not dumpable. As uid 65534 (root is #12's).
    if !util::need_root() {
        return;
    }
    let read = "cat /proc/$PPID/environ >/dev/null 2>&1 && echo read || echo refused";
    // Premise: bare, a process reads its parent's (a shell's) environment.
    bare("sh").args(["-c", &format!("sh -c '{read}'")]).nobody().run().success().stdout_is("read");
    sbx(["--", "sh", "-c", read]).nobody().run().success().stdout_is("refused");
    if util::enforceable(&["--deny-env"]) {
        sbx(["--deny-env", "--", "sh", "-c", read]).nobody().run().success().stdout_is("refused");
    }
}

#[test]
fn no_signals_to_processes_outside() {
    for nobody in util::users() {
        let outsider = Outsider::start(nobody);
        let pid = outsider.pid();
        as_user(bare(probe()).args(["kill", &pid, "0"]), nobody).run().success().stdout_is("ok");
        for flags in policies() {
            for sig in ["0", "15", "9"] {
                as_user(sbx(flags).arg("--").arg(probe()).args(["kill", &pid, sig]), nobody)
                    .run()
                    .success()
                    .stdout_is("EPERM");
            }
        }
        // The drop asserts the outsider survived until killed by the test.
        drop(outsider);
    }
}

#[test]
fn no_signals_to_sbx_itself() {
    let probe = probe().display().to_string();
    // Premise: bare, a process may signal its parent of the same user (here
    // an outer shell standing in for sbx) — checked with signal 0 only.
    let nested = format!("sh -c 'exec {probe} kill $PPID 0'; true");
    for cmd in as_root_and_nobody(|| bare("sh").args(["-c", &nested])) {
        cmd.run().success().stdout_is("ok");
    }
    // Under sbx the parent is sbx, outside the sandbox: even SIGKILL is refused,
    // and sbx lives on to report the command's exit.
    for sig in ["0", "15", "9"] {
        let script = format!("exec {probe} kill $PPID {sig}");
        for cmd in as_root_and_nobody(|| sbx(["--deny-net", "--", "sh", "-c", &script])) {
            cmd.run().success().stdout_is("EPERM");
        }
    }
    // The shell's own `kill` builtin fails the same way.
    for cmd in as_root_and_nobody(|| {
        sbx(["--deny-net", "--", "sh", "-c", "kill -TERM $PPID 2>/dev/null && echo sent || echo refused"])
    }) {
        cmd.run().success().stdout_is("refused");
    }
}

#[test]
fn signals_inside_the_sandbox_still_work() {
    let probe = probe().display().to_string();
    let script = format!("sleep 30 & {probe} kill $! 9; wait $!; echo status=$?");
    for flags in policies() {
        for cmd in as_root_and_nobody(|| sbx(flags).args(["--", "sh", "-c", &script])) {
            // 137 = 128 + SIGKILL: the sandboxed sleep died of the sandboxed kill.
            cmd.run().success().stdout_is("ok\nstatus=137");
        }
    }
}

//! What sbx does when the kernel cannot enforce the policy: it refuses (125)
//! and says what would stay possible, unless `--best-effort`, which warns and
//! runs; and a failure to apply the sandbox in the child is never ignored.
//!
//! A kernel without Landlock (or with a failing seccomp or no_new_privs) is
//! simulated with a seccomp filter the test installs on sbx itself: built with
//! libseccomp before spawning, installed in `pre_exec` with sbx's own
//! (async-signal-safe) no_new_privs and seccomp calls.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::sync::Arc;

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use sbx::linux::sys::{self, BpfProgram};

use super::process::{run_std, shared_tempdir};
use super::util::{self, Cmd, Output, bare, probe, sbx};

/// A compiled seccomp filter, ready to install.
#[derive(Clone)]
pub(super) struct Filter(Arc<BpfProgram>);

/// One rule: `syscall` fails with `errno`, optionally only when argument 0 equals a value.
pub(super) struct Deny {
    pub(super) syscall: &'static str,
    pub(super) errno: i32,
    pub(super) arg0: Option<u64>,
}

fn deny(syscall: &'static str, errno: i32) -> Deny {
    Deny { syscall, errno, arg0: None }
}

impl Filter {
    pub(super) fn new(rules: &[Deny]) -> Self {
        let mut ctx = ScmpFilterContext::new(ScmpAction::Allow).unwrap();
        // The pre_exec hook sets no_new_privs itself, right before installing.
        ctx.set_ctl_nnp(false).unwrap();
        // The probe also makes i386/x32 calls; leave other architectures alone.
        ctx.set_act_badarch(ScmpAction::Allow).unwrap();
        for rule in rules {
            let syscall = ScmpSyscall::from_name(rule.syscall).unwrap();
            let action = ScmpAction::Errno(rule.errno);
            match rule.arg0 {
                None => ctx.add_rule(action, syscall).unwrap(),
                Some(v) => ctx
                    .add_rule_conditional(action, syscall, &[ScmpArgCompare::new(0, ScmpCompareOp::Equal, v)])
                    .unwrap(),
            };
        }
        let fd = sys::memfd(c"sbx-test-filter").unwrap();
        ctx.export_bpf(&fd).unwrap();
        let mut file = std::fs::File::from(fd);
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        let program = BpfProgram::from_bytes(&bytes)
            .unwrap_or_else(|| panic!("libseccomp exported {} bytes, not a filter", bytes.len()));
        Self(Arc::new(program))
    }

    /// Runs `cmd` under this filter.
    pub(super) fn run(&self, cmd: &Cmd) -> Output {
        let program = Arc::clone(&self.0);
        let mut command = cmd.command();
        // SAFETY: the hook makes two system calls and allocates nothing: the
        // program was built before fork.
        unsafe {
            command.pre_exec(move || {
                sys::set_no_new_privs().map_err(std::io::Error::from)?;
                sys::seccomp_install(&program).map_err(std::io::Error::from)
            });
        }
        run_std(command)
    }
}

/// Premise of the tests that hide Landlock: the shim (see
/// [`util::Simulated`]) really hides it from a program, which sees it without.
#[track_caller]
pub(super) fn assert_shim_hides_landlock(value: &str, errno_name: &str) {
    bare(probe()).arg("landlock-abi").landlock("").run().success().stdout_is("ok");
    bare(probe()).arg("landlock-abi").landlock(value).run().success().stdout_is(errno_name);
}

fn maybe_nobody(cmd: Cmd, nobody: bool) -> Cmd {
    if nobody { cmd.nobody() } else { cmd }
}

#[test]
fn without_landlock_file_restrictions_and_deny_env_are_refused_and_named() {
    if !util::need_real_abi(1) {
        return;
    }
    assert_shim_hides_landlock("none", "ENOSYS");
    let cases: &[(&[&str], &[&str])] = &[
        (&["--deny-write"], &["writing files outside the writable paths", "truncating files outside"]),
        (&["--deny-read"], &["reading files outside the readable paths", "executing files outside the readable paths"]),
        // Other processes' /proc/PID/environ: only Landlock keeps it closed.
        (&["--deny-env"], &["/proc/PID/environ"]),
    ];
    for nobody in util::users() {
        for (flags, lost) in cases {
            let out = filter_free(sbx(*flags).args(["--", "sh", "-c", "echo ran"]), "none", nobody);
            out.code(125).stderr_has("this kernel has no Landlock").stderr_has("--best-effort");
            for what in *lost {
                out.stderr_has(what);
            }
            assert!(out.stdout.is_empty(), "the command ran{}", out.report());
        }
        // The baseline (signals too) and the network need no Landlock.
        for flags in [&["--deny-net"][..], &[], &["--allow-net=127.0.0.1:9"]] {
            filter_free(sbx(flags).args(["--", "sh", "-c", "echo ran"]), "none", nobody)
                .success()
                .stdout_is("ran")
                .stderr_lacks("warning: --best-effort");
        }
    }
}

/// Runs `cmd` (an sbx command) seeing the Landlock `value` through the shim.
fn filter_free(cmd: Cmd, value: &str, nobody: bool) -> Output {
    maybe_nobody(cmd.landlock(value), nobody).run()
}

#[test]
fn landlock_disabled_at_boot_is_named_as_such() {
    if !util::need_real_abi(1) {
        return;
    }
    assert_shim_hides_landlock("disabled", "EOPNOTSUPP");
    let out = sbx(["--deny-write", "--", "sh", "-c", "echo ran"]).landlock("disabled").run();
    out.code(125).stderr_has("not enabled").stderr_has("lsm=").stderr_has("--best-effort");
    assert!(out.stdout.is_empty(), "the command ran{}", out.report());
}

#[test]
fn best_effort_without_landlock_runs_and_warns() {
    if !util::need_real_abi(1) {
        return;
    }
    let dir = shared_tempdir();
    for nobody in util::users() {
        let out = filter_free(sbx(["--best-effort", "--deny-write", "--", "sh", "-c", "echo ran"]), "none", nobody);
        out.success()
            .stdout_is("ran")
            .stderr_has("sbx: warning: --best-effort")
            .stderr_has("writing files outside the writable paths")
            .stderr_lacks("sending signals to processes outside");
    }
    // The warning tells the truth: the write it names as possible is possible.
    let target = dir.path().join("written");
    let out =
        sbx(["--best-effort", "--deny-write", "--"]).arg(probe()).arg("write").arg(&target).landlock("none").run();
    out.success().stdout_is("ok").stderr_has("--best-effort");
    assert!(target.exists());
}

#[test]
fn deny_net_without_landlock_is_enforced_whole() {
    if !util::need_real_abi(1) {
        return;
    }
    for nobody in util::users() {
        let run =
            |family: &str| filter_free(sbx(["--deny-net", "--"]).arg(probe()).args(["socket", family]), "none", nobody);
        // Premise: without sbx, sockets of every family can be made.
        maybe_nobody(bare(probe()).args(["socket", "inet"]), nobody).run().success().stdout_is("ok");
        run("inet").success().stdout_is("EPERM").stderr_lacks("--best-effort");
        run("inet6").success().stdout_is("EPERM");
        run("unix").success().stdout_is("ok");
    }
}

#[test]
fn failing_landlock_restrict_self_is_fatal_even_with_best_effort() {
    if !util::need_real_abi(1) {
        return;
    }
    // Landlock is there (the ABI query works) but applying the ruleset fails.
    let filter = Filter::new(&[deny("landlock_restrict_self", libc::EPERM)]);
    filter.run(&bare(probe()).arg("landlock-abi")).success().stdout_is("ok");
    for flags in [&["--deny-write"][..], &["--best-effort", "--deny-write"]] {
        let out = filter.run(&sbx(flags).args(["--", "sh", "-c", "echo ran"]).landlock(""));
        out.code(125).stderr_has("applying the Landlock ruleset failed").stderr_has("EPERM");
        assert!(out.stdout.is_empty(), "the command ran{}", out.report());
    }
}

#[test]
fn failing_seccomp_install_is_fatal_even_with_best_effort() {
    // seccomp(SECCOMP_SET_MODE_FILTER, ...) fails for sbx's own filter.
    let filter = Filter::new(&[Deny {
        syscall: "seccomp",
        errno: libc::EINVAL,
        arg0: Some(libc::SECCOMP_SET_MODE_FILTER as u64),
    }]);
    // --deny-net needs a supervisor (a seccomp listener): sbx finds out
    // before starting the command and names the cause.
    let out = filter.run(&sbx(["--deny-net", "--", "sh", "-c", "echo ran"]).landlock(""));
    out.code(125).stderr_has("the enclosing seccomp filter refuses a seccomp filter with a listener (EINVAL)");
    assert!(out.stdout.is_empty(), "the command ran{}", out.report());
    // --best-effort gives up the supervisor, not the filter: still fatal.
    let out = filter.run(&sbx(["--best-effort", "--deny-net", "--", "sh", "-c", "echo ran"]).landlock(""));
    out.code(125).stderr_has("installing the seccomp filter failed");
    assert!(out.stdout.is_empty(), "the command ran{}", out.report());
    // Every sandbox installs the baseline filter, so any run fails the same way.
    let out = filter.run(&sbx(["--deny-env", "--", "sh", "-c", "echo ran"]).landlock(""));
    out.code(125).stderr_has("installing the seccomp filter failed");
    assert!(out.stdout.is_empty(), "the command ran{}", out.report());
    // Premise: the filter breaks only seccomp; the command itself runs under it.
    filter.run(&bare("sh").args(["-c", "echo ran"])).success().stdout_is("ran");
}

#[test]
fn failing_no_new_privs_is_fatal() {
    let filter =
        Filter::new(&[Deny { syscall: "prctl", errno: libc::EPERM, arg0: Some(libc::PR_SET_NO_NEW_PRIVS as u64) }]);
    // (--deny-read: no supervisor needed, so nothing is refused before the child.)
    for flags in [&["--deny-read"][..], &["--best-effort", "--deny-read"], &[]] {
        let out = filter.run(&sbx(flags).args(["--", "sh", "-c", "echo ran"]).landlock(""));
        out.code(125).stderr_has("setting no_new_privs failed");
        assert!(out.stdout.is_empty(), "the command ran{}", out.report());
    }
}

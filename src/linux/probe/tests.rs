//! The causes a failed probe is put down to, from the errno, the enclosing
//! filter, Yama and the LSMs; and what a run makes of them.

use super::*;

fn plain() -> Confinement {
    Confinement { release: Some((6, 18)), seccomp_mode: Some(0), ..Confinement::default() }
}

fn filtered() -> Confinement {
    Confinement { seccomp_mode: Some(2), seccomp_filters: Some(1), ..plain() }
}

fn on_self(call: Call, result: Result<(), Errno>) -> Tried {
    Tried { call, own: Some(result), child: None }
}

fn on_child_only(call: Call, errno: Errno) -> Tried {
    Tried { call, own: Some(Ok(())), child: Some(Err(errno)) }
}

#[track_caller]
fn cause_of(tried: Tried, c: &Confinement) -> Limit {
    cause(&tried, c).unwrap_or_else(|| panic!("{tried:?} is no failure")).1
}

#[test]
fn what_works_has_no_cause() {
    assert_eq!(cause(&on_self(Call::PidfdGetfd, Ok(())), &filtered()), None);
    let both = Tried { call: Call::VmRead, own: None, child: Some(Ok(())) };
    assert_eq!(cause(&both, &filtered()), None);
}

#[test]
fn a_container_profile_refusing_pidfd_getfd_is_named_with_its_fix() {
    // Docker's default profile without CAP_SYS_PTRACE: EPERM on sbx itself.
    let tried = Tried { call: Call::PidfdGetfd, own: Some(Err(Errno::EPERM)), child: Some(Err(Errno::EPERM)) };
    let limit = cause_of(tried, &filtered());
    assert_eq!(limit.cause, "the enclosing seccomp filter refuses pidfd_getfd (EPERM)");
    assert!(limit.fix.contains("--cap-add=SYS_PTRACE") && limit.fix.contains("RuntimeDefault"), "{limit:?}");
    // moby 20.10's profile refuses process_vm_readv too: the same fix.
    let limit = cause_of(on_self(Call::VmRead, Err(Errno::EPERM)), &filtered());
    assert_eq!(limit.cause, "the enclosing seccomp filter refuses process_vm_readv (EPERM)");
    assert!(limit.fix.contains("--cap-add=SYS_PTRACE"), "{limit:?}");
    // Other calls a filter refuses: no capability fixes those.
    let limit = cause_of(on_self(Call::Openat2, Err(Errno::EPERM)), &filtered());
    assert_eq!(limit.cause, "the enclosing seccomp filter refuses openat2 (EPERM)");
    assert!(!limit.fix.contains("SYS_PTRACE"), "{limit:?}");
}

#[test]
fn enosys_is_the_kernel_without_a_filter_and_the_filter_where_the_kernel_has_the_call() {
    let limit = cause_of(on_self(Call::PidfdGetfd, Err(Errno::ENOSYS)), &plain());
    assert_eq!(limit.cause, "this kernel lacks pidfd_getfd (Linux 5.6)");
    assert_eq!(limit.fix, "use Linux 5.6 or later");
    // runc answers ENOSYS for calls newer than its profile.
    let limit = cause_of(on_self(Call::Openat2, Err(Errno::ENOSYS)), &filtered());
    assert_eq!(
        limit.cause,
        "the enclosing seccomp filter answers openat2 with ENOSYS, though this kernel (Linux 6.18) has it"
    );
    assert!(limit.fix.contains("seccomp profile that allows openat2"), "{limit:?}");
    // Under a filter on a kernel older than the call: the kernel.
    let old = Confinement { release: Some((5, 4)), ..filtered() };
    assert_eq!(
        cause_of(on_self(Call::Openat2, Err(Errno::ENOSYS)), &old).cause,
        "this kernel lacks openat2 (Linux 5.6)"
    );
    // Release unknown: both are named.
    let unknown = Confinement { release: None, ..filtered() };
    let limit = cause_of(on_self(Call::Openat2, Err(Errno::ENOSYS)), &unknown);
    assert!(limit.cause.contains("filter") && limit.cause.contains("kernel"), "{limit:?}");
    // seccomp(2) answers EINVAL for what it does not know (before 5.0).
    let limit = cause_of(on_self(Call::UserNotif, Err(Errno::EINVAL)), &plain());
    assert_eq!(limit.cause, "this kernel lacks seccomp user notification (Linux 5.0)");
    let limit = cause_of(on_self(Call::UserNotif, Err(Errno::EINVAL)), &filtered());
    assert_eq!(limit.cause, "the enclosing seccomp filter refuses seccomp user notification (EINVAL)");
}

#[test]
fn a_held_listener_is_the_enclosing_sandbox() {
    let limit = cause_of(on_self(Call::Listener, Err(Errno::EBUSY)), &filtered());
    assert_eq!(
        limit.cause,
        "an enclosing sandbox — an outer sbx or a container runtime — already holds the one seccomp listener the \
         kernel allows per process"
    );
}

#[test]
fn yama_is_named_for_what_only_fails_on_the_child() {
    let yama = |scope, cap| Confinement { yama: Some(scope), cap_sys_ptrace: cap, ..plain() };
    let limit = cause_of(on_child_only(Call::VmRead, Errno::EPERM), &yama(3, true));
    assert!(
        limit.cause.starts_with("Yama's ptrace_scope is 3: no process may read another process's memory"),
        "{limit:?}"
    );
    assert!(limit.fix.contains("reboot"), "{limit:?}");
    let limit = cause_of(on_child_only(Call::PidfdGetfd, Errno::EPERM), &yama(2, false));
    assert!(
        limit.cause.starts_with("Yama's ptrace_scope is 2: only a process with CAP_SYS_PTRACE may take another"),
        "{limit:?}"
    );
    assert!(limit.fix.contains("kernel.yama.ptrace_scope=1"), "{limit:?}");
    // Scope 2 with CAP_SYS_PTRACE, or scope 1: not Yama.
    for c in [yama(2, true), yama(1, false)] {
        let limit = cause_of(on_child_only(Call::VmRead, Errno::EPERM), &c);
        assert!(!limit.cause.starts_with("Yama"), "{limit:?}");
    }
    // Yama restricts attaching only: reopening /proc/PID/fd (read mode) is not its doing.
    let limit = cause_of(on_child_only(Call::ProcFd, Errno::EACCES), &yama(3, false));
    assert!(!limit.cause.starts_with("Yama"), "{limit:?}");
}

#[test]
fn an_lsm_is_named_where_seccomp_and_yama_allow_the_call() {
    let apparmor = Confinement {
        lsms: Some(vec!["capability".into(), "landlock".into(), "yama".into(), "apparmor".into()]),
        yama: Some(1),
        ..plain()
    };
    let limit = cause_of(on_child_only(Call::ProcMem, Errno::EACCES), &apparmor);
    assert_eq!(
        limit.cause,
        "/proc/PID/mem on sbx's own child is refused (EACCES) though seccomp and Yama allow it: an LSM (apparmor) \
         forbids it"
    );
    assert!(limit.fix.contains("AppArmor") && limit.fix.contains("SELinux"), "{limit:?}");
    // sbx's own label says which profile.
    let confined = Confinement { label: Some("docker-default (enforce)".into()), ..apparmor.clone() };
    let limit = cause_of(on_child_only(Call::ProcMem, Errno::EACCES), &confined);
    assert!(limit.cause.contains("an LSM confines sbx (docker-default (enforce))"), "{limit:?}");
    // No LSM that decides ptrace, no filter: unexplained, and said so.
    let bare = Confinement { lsms: Some(vec!["capability".into(), "landlock".into()]), ..plain() };
    let limit = cause_of(on_child_only(Call::ProcMem, Errno::EACCES), &bare);
    assert!(limit.cause.starts_with("/proc/PID/mem on sbx's own child fails"), "{limit:?}");
    // A filter that refuses the call on other processes only (an outer sbx without Landlock).
    let limit =
        cause_of(on_child_only(Call::PidfdGetfd, Errno::EPERM), &Confinement { lsms: Some(Vec::new()), ..filtered() });
    assert!(limit.cause.contains("enclosing sandbox refuses pidfd_getfd on other processes"), "{limit:?}");
}

#[test]
fn a_call_no_ptrace_rule_checks_fails_for_what_it_is_even_on_the_child() {
    let tried = Tried { call: Call::PidfdOpen, own: None, child: Some(Err(Errno::ENOSYS)) };
    assert_eq!(cause_of(tried, &plain()).cause, "this kernel lacks pidfd_open (Linux 5.3)");
}

/// The failures of `failing`, each with a cause of its own.
fn failing(calls: &'static [Call]) -> impl Fn(Call) -> Option<(Errno, Limit)> {
    move |call| {
        calls
            .contains(&call)
            .then(|| (Errno::EPERM, Limit { cause: format!("{} refused", call.name()), fix: "fix it".into() }))
    }
}

#[test]
fn what_a_run_makes_of_the_failures() {
    // Everything works.
    assert_eq!(limits(failing(&[])), Limits::default());
    // Docker's default profile: the supervisor runs, without taking fds.
    let l = limits(failing(&[Call::PidfdGetfd]));
    assert_eq!(l.no_supervisor, None);
    assert_eq!(l.no_fd_taking.map(|l| l.cause), Some("pidfd_getfd refused".into()));
    assert!(!l.memory_through_proc && l.no_observing.is_none());
    // moby 20.10's: memory through /proc/PID/mem.
    let l = limits(failing(&[Call::PidfdGetfd, Call::VmRead]));
    assert!(l.memory_through_proc && l.no_supervisor.is_none() && l.no_fd_taking.is_some());
    // No way to read memory: no supervisor, no observing; both causes named.
    let l = limits(failing(&[Call::VmRead, Call::ProcMem]));
    let cause = l.no_supervisor.map(|l| l.cause).unwrap_or_default();
    assert!(cause.contains("process_vm_readv refused") && cause.contains("/proc/PID/mem refused"), "{cause}");
    assert!(l.no_observing.is_some() && l.no_fd_taking.is_none());
    // No listener: nothing runs, the fd question does not arise.
    let l = limits(failing(&[Call::Listener, Call::PidfdGetfd]));
    assert_eq!(l.no_supervisor.map(|l| l.cause), Some("a seccomp filter with a listener refused".into()));
    assert_eq!(l.no_fd_taking, None);
    // openat2 is the supervisor's, not the observer's.
    let l = limits(failing(&[Call::Openat2]));
    assert!(l.no_supervisor.is_some() && l.no_observing.is_none());
    // Neither taking nor reopening the command's fds: no supervisor.
    let l = limits(failing(&[Call::PidfdGetfd, Call::ProcFd]));
    assert_eq!(l.no_supervisor.map(|l| l.cause), Some("/proc/PID/fd refused".into()));
    // Reopening alone failing changes nothing while fds can be taken.
    assert_eq!(limits(failing(&[Call::ProcFd])), Limits::default());
}

#[test]
fn releases_are_read_as_major_and_minor() {
    assert_eq!(parse_release("6.18.44-fc-v1300\n"), Some((6, 18)));
    assert_eq!(parse_release("5.4.0"), Some((5, 4)));
    assert_eq!(parse_release("x"), None);
}

#[test]
fn this_machine_can_supervise() {
    // The test suite runs where sbx works whole (it is not in a container).
    let findings = Findings::gather();
    let failed: Vec<_> = findings.tried.iter().filter_map(|t| findings.failure(t.call)).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(findings.limits(), Limits::default());
}

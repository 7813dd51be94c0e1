//! What sbx's supervisor (and `sbx learn`'s observer) needs of this
//! machine, tried the way a run uses it: on a short-lived child of sbx,
//! which installs a seccomp listener on itself, then has its file
//! descriptors taken (pidfd_getfd) and reopened (/proc/PID/fd/N) and its
//! memory read (process_vm_readv, /proc/PID/mem); and on sbx itself, which
//! no ptrace rule keeps from itself, so a call that fails there is refused
//! by a seccomp filter or missing from the kernel, and one that fails only
//! on the child is refused by a ptrace rule (Yama, an LSM). Every failure is
//! put down to its cause, with the fix ([`cause`], pure).
//!
//! Runs ([`supervision_limits`]), `sbx learn`, `--explain` and `--doctor`
//! all decide from this one probe, so they say the same.

use std::os::fd::{AsFd, AsRawFd};

use nix::errno::Errno;

use super::sys;
use crate::support::{Confinement, Limit, Probe};

/// Something the supervisor needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// prctl(PR_SET_NO_NEW_PRIVS), set by a child on itself.
    NoNewPrivs,
    /// seccomp(SECCOMP_GET_NOTIF_SIZES) and the `user_notif` action.
    UserNotif,
    /// A filter with a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER), after no_new_privs.
    Listener,
    PidfdOpen,
    PidfdGetfd,
    VmRead,
    ProcMem,
    ProcFd,
    Openat2,
}

impl Call {
    /// All of them, in the order the doctor lists them.
    pub const ALL: [Call; 9] = [
        Call::NoNewPrivs,
        Call::UserNotif,
        Call::Listener,
        Call::PidfdOpen,
        Call::PidfdGetfd,
        Call::VmRead,
        Call::ProcMem,
        Call::ProcFd,
        Call::Openat2,
    ];

    /// The call, as messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Call::NoNewPrivs => "no_new_privs",
            Call::UserNotif => "seccomp user notification",
            Call::Listener => "a seccomp filter with a listener",
            Call::PidfdOpen => "pidfd_open",
            Call::PidfdGetfd => "pidfd_getfd",
            Call::VmRead => "process_vm_readv",
            Call::ProcMem => "/proc/PID/mem",
            Call::ProcFd => "/proc/PID/fd",
            Call::Openat2 => "openat2",
        }
    }

    /// The kernel version that brought it.
    pub fn since(self) -> Option<(u32, u32)> {
        match self {
            Call::NoNewPrivs => Some((3, 5)),
            Call::UserNotif | Call::Listener => Some((5, 0)),
            Call::PidfdOpen => Some((5, 3)),
            Call::PidfdGetfd | Call::Openat2 => Some((5, 6)),
            Call::VmRead => Some((3, 2)),
            Call::ProcMem | Call::ProcFd => None,
        }
    }

    /// What sbx does with it, for the doctor.
    fn use_text(self) -> &'static str {
        match self {
            Call::NoNewPrivs => "set by a child of sbx on itself, as on the command (before its seccomp filter)",
            Call::UserNotif => "the supervisor's notifications",
            Call::Listener => "installed by a child of sbx on itself, as the command's filter is",
            Call::PidfdOpen => "a pidfd for the child",
            Call::PidfdGetfd => "taking the child's file descriptors (the command's sockets)",
            Call::VmRead => "reading the child's memory (the calls' arguments)",
            Call::ProcMem => "reading the child's memory where process_vm_readv is refused",
            Call::ProcFd => "reopening the files behind the child's descriptors",
            Call::Openat2 => "opening paths for the command without following magic links",
        }
    }

    /// What the call does to another process, for Yama's messages.
    fn does(self) -> &'static str {
        match self {
            Call::PidfdGetfd => "take another process's file descriptors",
            Call::ProcFd => "reopen another process's files",
            _ => "read another process's memory",
        }
    }

    /// Whether, made on another process, the kernel checks ptrace access
    /// to it: in attach mode (Yama's scopes apply), or read mode.
    fn ptrace_mode(self) -> Option<Mode> {
        match self {
            Call::PidfdGetfd | Call::VmRead | Call::ProcMem => Some(Mode::Attach),
            Call::ProcFd => Some(Mode::Read),
            Call::NoNewPrivs | Call::UserNotif | Call::Listener | Call::PidfdOpen | Call::Openat2 => None,
        }
    }

    /// The calls a container's seccomp profile allows only with
    /// CAP_SYS_PTRACE (Docker's default, Kubernetes' RuntimeDefault).
    fn needs_cap_sys_ptrace_in_containers(self) -> bool {
        matches!(self, Call::PidfdGetfd | Call::VmRead)
    }

    /// The doctor's line for it: the call, its kernel version and its use.
    fn what(self) -> String {
        match self.since() {
            Some((major, minor)) => format!("{} (Linux {major}.{minor}): {}", self.name(), self.use_text()),
            None => format!("{}: {}", self.name(), self.use_text()),
        }
    }
}

/// PTRACE_MODE_ATTACH or PTRACE_MODE_READ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Attach,
    Read,
}

/// One call as tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tried {
    pub call: Call,
    /// Made by sbx on itself (or by the child on itself): no ptrace rule
    /// is involved. `None`: not tried so.
    pub own: Option<Result<(), Errno>>,
    /// Made by sbx on its child: ptrace rules apply. `None`: not tried so.
    pub child: Option<Result<(), Errno>>,
}

/// Everything tried, and what confines sbx.
#[derive(Debug, Clone)]
pub struct Findings {
    pub tried: Vec<Tried>,
    pub confinement: Confinement,
}

/// What a run makes of the findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Why no supervisor can run (`None`: one can).
    pub no_supervisor: Option<Limit>,
    /// Why it cannot take the command's descriptors (`None`: it can, or
    /// there is no supervisor at all).
    pub no_fd_taking: Option<Limit>,
    /// process_vm_readv is refused but /proc/PID/mem works.
    pub memory_through_proc: bool,
    /// Why `sbx learn` cannot observe a command (`None`: it can).
    pub no_observing: Option<Limit>,
}

impl Findings {
    /// Tries everything on one short-lived child (started, probed and
    /// reaped here: about a tenth of a millisecond); a call that fails on
    /// the child is tried on sbx itself too, to tell a ptrace rule from a
    /// filter. Reads what confines sbx only when something failed.
    pub fn gather() -> Self {
        Self::gather_with(false)
    }

    /// [`Findings::gather`], reading what confines sbx in any case (for
    /// the doctor).
    pub fn gather_all() -> Self {
        Self::gather_with(true)
    }

    fn gather_with(confinement: bool) -> Self {
        let me = std::process::id() as libc::pid_t;
        let marker = [0x5bu8; 8];
        let at = [(marker.as_ptr() as u64, marker.len() as u64)];
        let mut copy = [0u8; 8];
        let root = std::fs::File::open("/").map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)));
        let on_child = with_child(|pid, fd| {
            let pidfd = sys::pidfd_open(pid);
            let getfd = match &pidfd {
                Ok(pidfd) => sys::pidfd_getfd(pidfd.as_fd(), fd).map(drop),
                Err(errno) => Err(*errno),
            };
            [
                pidfd.map(drop),
                getfd,
                sys::read_memory_vm(pid, &at, &mut copy),
                sys::read_memory_proc(pid, &at, &mut copy),
                sys::reopen_fd(pid, fd).map(drop),
            ]
        });
        let (nnp, listener, child) = match on_child {
            Ok((set_up, results)) => (set_up.nnp, set_up.listener, results),
            // No child to try them on: each fails as starting it did.
            Err(errno) => (Err(errno), None, [Err(errno); 5]),
        };
        // Tried on sbx itself only where the child refused it.
        let mut own_copy = [0u8; 8];
        let on_both = |call, on_child: Result<(), Errno>, on_self: &mut dyn FnMut() -> Result<(), Errno>| Tried {
            call,
            own: on_child.is_err().then(on_self),
            child: Some(on_child),
        };
        let tried = vec![
            Tried { call: Call::NoNewPrivs, own: Some(nnp), child: None },
            Tried { call: Call::UserNotif, own: Some(sys::user_notif()), child: None },
            Tried { call: Call::Listener, own: listener, child: None },
            Tried { call: Call::PidfdOpen, own: None, child: Some(child[0]) },
            on_both(Call::PidfdGetfd, child[1], &mut sys::fd_taking),
            on_both(Call::VmRead, child[2], &mut || sys::read_memory_vm(me, &at, &mut own_copy)),
            on_both(Call::ProcMem, child[3], &mut || sys::read_memory_proc(me, &at, &mut own_copy)),
            on_both(Call::ProcFd, child[4], &mut || {
                root.as_ref().map_err(|e| *e).and_then(|root| sys::reopen_fd(me, root.as_raw_fd()).map(drop))
            }),
            Tried { call: Call::Openat2, own: Some(root.and_then(|root| openat2(&root))), child: None },
        ];
        let failed = tried.iter().any(|t| matches!(t.own, Some(Err(_))) || matches!(t.child, Some(Err(_))));
        let confinement = if confinement || failed { read_confinement() } else { Confinement::default() };
        Self { tried, confinement }
    }

    /// How `call` went.
    fn get(&self, call: Call) -> Option<&Tried> {
        self.tried.iter().find(|t| t.call == call)
    }

    /// Why `call` fails here, if it does: its errno and cause.
    pub fn failure(&self, call: Call) -> Option<(Errno, Limit)> {
        cause(self.get(call)?, &self.confinement)
    }

    /// What a run makes of the findings.
    pub fn limits(&self) -> Limits {
        limits(|call| self.failure(call))
    }

    /// Each call and how it went, for the doctor.
    pub fn probes(&self) -> Vec<Probe> {
        Call::ALL
            .iter()
            .filter(|&&call| self.get(call).is_some_and(|t| t.own.is_some() || t.child.is_some()))
            .map(|&call| Probe {
                what: call.what(),
                failed: self.failure(call).map(|(errno, limit)| (format!("{errno:?}"), limit)),
            })
            .collect()
    }
}

/// What a run makes of each call's failure (`failure(call)`): pure.
fn limits(failure: impl Fn(Call) -> Option<(Errno, Limit)>) -> Limits {
    let limit = |call| failure(call).map(|(_, limit)| limit);
    // Reading memory: process_vm_readv, else /proc/PID/mem.
    let memory = match (limit(Call::VmRead), limit(Call::ProcMem)) {
        (Some(vm), Some(proc_mem)) if vm == proc_mem => Some(vm),
        (Some(vm), Some(proc_mem)) => Some(Limit {
            cause: format!("process_vm_readv: {}; and /proc/PID/mem: {}", vm.cause, proc_mem.cause),
            fix: format!("{}; or {}", proc_mem.fix, vm.fix),
        }),
        _ => None,
    };
    let memory_through_proc = limit(Call::VmRead).is_some() && limit(Call::ProcMem).is_none();
    let fd_taking = limit(Call::PidfdOpen).or_else(|| limit(Call::PidfdGetfd));
    // The descriptors' files: taken, else reopened through /proc/PID/fd.
    let fds = match (&fd_taking, limit(Call::ProcFd)) {
        (Some(_), Some(proc_fd)) => Some(proc_fd),
        _ => None,
    };
    let observing = limit(Call::NoNewPrivs)
        .or_else(|| limit(Call::UserNotif))
        .or_else(|| limit(Call::Listener))
        .or_else(|| memory.clone());
    let no_supervisor = observing.clone().or_else(|| limit(Call::Openat2)).or(fds);
    Limits {
        no_fd_taking: if no_supervisor.is_none() { fd_taking } else { None },
        no_supervisor,
        memory_through_proc,
        no_observing: observing,
    }
}

/// What keeps sbx from supervising here at all, and what keeps its
/// supervisor from taking the command's file descriptors: each as
/// "cause — fix: fix", the form [`super::enforcement::Kernel`] takes. Reads
/// memory through /proc/PID/mem from now on where process_vm_readv is
/// refused (older container profiles). A run's answer; `check_supervision`
/// then tries the real child.
pub fn supervision_limits() -> (Option<String>, Option<String>) {
    let limits = Findings::gather().limits();
    if limits.memory_through_proc {
        sys::use_proc_mem();
    }
    (limits.no_supervisor.map(|l| l.text()), limits.no_fd_taking.map(|l| l.text()))
}

/// Why `sbx learn` cannot observe a command here, if it cannot (and reads
/// memory through /proc/PID/mem where it must), and why it cannot take the
/// command's sockets, if it cannot.
pub fn observing_limits() -> (Option<Limit>, Option<Limit>) {
    let findings = Findings::gather();
    let limits = findings.limits();
    if limits.memory_through_proc {
        sys::use_proc_mem();
    }
    let fd_taking = findings.failure(Call::PidfdOpen).or_else(|| findings.failure(Call::PidfdGetfd));
    (limits.no_observing, fd_taking.map(|(_, limit)| limit))
}

/// Why `call` on the command (reading its memory, its /proc files, taking
/// its fds) failed with `errno` while sbx could make it on itself: for
/// `sbx learn`'s count of what it could not observe. `None` for an errno
/// that says the call the command made fails too or its thread is gone:
/// nothing happened that could have been observed.
pub fn access_failure(call: Call, errno: Errno) -> Option<Limit> {
    let nothing_happened = [
        Errno::ESRCH,
        Errno::ENOENT,
        Errno::EFAULT,
        Errno::EIO,
        Errno::EINVAL,
        Errno::EBADF,
        Errno::ENOTSOCK,
        Errno::ENAMETOOLONG,
    ];
    if nothing_happened.contains(&errno) {
        return None;
    }
    let tried = Tried { call, own: Some(Ok(())), child: Some(Err(errno)) };
    cause(&tried, &read_confinement()).map(|(_, limit)| limit)
}

/// How the throwaway child set itself up.
struct SetUp {
    nnp: Result<(), Errno>,
    /// `None`: not tried (no_new_privs failed).
    listener: Option<Result<(), Errno>>,
}

/// Starts a throwaway child sharing sbx's memory and file table (see
/// [`sys::spawn_paused`]), which sets no_new_privs and installs an
/// allow-all filter with a listener on itself (closing the listener), says
/// how that went and waits; runs `probe` on it (its pid and an fd number
/// of the shared table), then lets it exit and reaps it.
fn with_child<T>(probe: impl FnOnce(libc::pid_t, i32) -> T) -> Result<(SetUp, T), Errno> {
    let (report_read, report_write) = sys::cloexec_pipe()?;
    let (go_read, go_write) = sys::cloexec_pipe()?;
    let allow_all = sys::BpfProgram::allow_all();
    let report = report_write.as_fd();
    let go = go_read.as_fd();
    let child = sys::spawn_paused(|| {
        // sbx waits on the report pipe meanwhile: errno may be used until
        // the report is written, only the raw calls after. The report:
        // no_new_privs's errno (0: set), then the listener's.
        let codes: [i32; 2] = match sys::set_no_new_privs() {
            Err(errno) => [errno as i32, 0],
            Ok(()) => match sys::seccomp_install_listener(&allow_all) {
                Ok(listener) => {
                    // It landed in sbx's (shared) file table: close it.
                    sys::close_raw(listener);
                    [0, 0]
                }
                Err(errno) => [0, errno as i32],
            },
        };
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&codes[0].to_ne_bytes());
        bytes[4..].copy_from_slice(&codes[1].to_ne_bytes());
        sys::raw_write_all(report, &bytes);
        let _ = sys::raw_read_byte(go);
        sys::raw_exit(0)
    })?;
    let mut buf = [0u8; 8];
    let outcome = match sys::read_full(report_read.as_fd(), &mut buf) {
        Ok(8) => {
            let code = |b: &[u8]| match i32::from_ne_bytes([b[0], b[1], b[2], b[3]]) {
                0 => Ok(()),
                errno => Err(Errno::from_raw(errno)),
            };
            let nnp = code(&buf[..4]);
            let listener = nnp.is_ok().then(|| code(&buf[4..]));
            Ok((SetUp { nnp, listener }, probe(child.pid, go_read.as_raw_fd())))
        }
        // It died before it could say anything.
        Ok(_) => Err(Errno::ECHILD),
        Err(errno) => Err(errno),
    };
    let _ = sys::raw_write_all(go_write.as_fd(), &[1]);
    let _ = sys::wait(child.pid);
    drop(child);
    outcome
}

/// openat2 as the supervisor uses it: an O_PATH open without magic links.
fn openat2(root: &std::fs::File) -> Result<(), Errno> {
    sys::open_path_at(root.as_fd(), c".", 0, sys::RESOLVE_NO_MAGICLINKS).map(drop)
}

/// What confines sbx, read from /proc and /sys.
pub fn read_confinement() -> Confinement {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field =
        |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse::<u32>().ok());
    let label = std::fs::read_to_string("/proc/self/attr/current")
        .ok()
        .map(|l| l.trim_end_matches(['\0', '\n']).trim().to_owned())
        .filter(|l| !l.is_empty() && l != "unconfined" && !l.starts_with("unconfined_u:unconfined_r:"));
    Confinement {
        release: std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().as_deref().and_then(parse_release),
        seccomp_mode: field("Seccomp:").and_then(|v| u8::try_from(v).ok()),
        seccomp_filters: field("Seccomp_filters:"),
        yama: std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").ok().and_then(|s| s.trim().parse().ok()),
        cap_sys_ptrace: sys::capabilities().is_ok_and(|(effective, _, _)| effective & (1 << 19) != 0),
        lsms: std::fs::read_to_string("/sys/kernel/security/lsm")
            .ok()
            .map(|l| l.trim().split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()),
        label,
    }
}

/// "6.18.44-fc" → (6, 18).
fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The LSMs that decide ptrace access between processes.
const PTRACE_LSMS: [&str; 5] = ["apparmor", "selinux", "smack", "tomoyo", "bpf"];

/// Why `tried` failed, if it did: the errno, the cause and the fix. Pure.
pub fn cause(tried: &Tried, c: &Confinement) -> Option<(Errno, Limit)> {
    let call = tried.call;
    let own = tried.own.and_then(Result::err);
    let child = tried.child.and_then(Result::err);
    // A call no ptrace rule checks fails for what it is, wherever made.
    if let Some(errno) = own.or(child.filter(|_| call.ptrace_mode().is_none())) {
        return Some((errno, call_cause(call, errno, c)));
    }
    let errno = child?;
    Some((errno, access_cause(call, errno, c)))
}

/// Why `call` fails with `errno` where no ptrace rule is involved.
fn call_cause(call: Call, errno: Errno, c: &Confinement) -> Limit {
    let name = call.name();
    if call == Call::Listener && errno == Errno::EBUSY {
        return Limit {
            cause: "an enclosing sandbox — an outer sbx or a container runtime — already holds the one seccomp \
                    listener the kernel allows per process"
                .into(),
            fix: "run sbx outside that sandbox, or let the outer one enforce these restrictions (its rules still \
                  apply to everything inside)"
                .into(),
        };
    }
    let kernel_has = match (call.since(), c.release) {
        (Some(since), Some(release)) => Some(release >= since),
        (None, _) => Some(true),
        (Some(_), None) => None,
    };
    let since = call.since().map(|(major, minor)| format!("Linux {major}.{minor}")).unwrap_or_default();
    let lacks = || Limit { cause: format!("this kernel lacks {name} ({since})"), fix: format!("use {since} or later") };
    // ENOSYS (and EINVAL for what seccomp(2) does not know yet) from a
    // kernel without the call; under a filter, from the filter where the
    // kernel has it.
    let missing =
        errno == Errno::ENOSYS || (errno == Errno::EINVAL && matches!(call, Call::UserNotif | Call::Listener));
    if missing && (!c.filtered() || kernel_has == Some(false)) {
        return lacks();
    }
    if !c.filtered() {
        return Limit {
            cause: format!("{name} fails here: {} ({errno:?})", errno.desc()),
            fix: "report it, with `sbx --doctor`'s output".into(),
        };
    }
    let cause = match (errno, kernel_has) {
        (Errno::ENOSYS, Some(true)) => {
            let release = c.release.map(|(major, minor)| format!(" (Linux {major}.{minor})")).unwrap_or_default();
            format!("the enclosing seccomp filter answers {name} with ENOSYS, though this kernel{release} has it")
        }
        (Errno::ENOSYS, None) => format!("the enclosing seccomp filter, or this kernel (before {since}), lacks {name}"),
        _ => format!("the enclosing seccomp filter refuses {name} ({errno:?})"),
    };
    let fix = if call.needs_cap_sys_ptrace_in_containers() && errno != Errno::ENOSYS {
        format!(
            "run the container with --cap-add=SYS_PTRACE (Docker's default seccomp profile and Kubernetes' \
             RuntimeDefault allow {name} only with CAP_SYS_PTRACE) or with a seccomp profile that allows {name}; \
             in another sandbox, let it allow {name}"
        )
    } else if errno == Errno::ENOSYS {
        format!(
            "run the container with a seccomp profile that allows {name} (older runtimes' default profiles \
             predate it); in another sandbox, let it allow {name}"
        )
    } else {
        format!("let the enclosing sandbox allow {name} (a container: a seccomp profile that allows it)")
    };
    Limit { cause, fix }
}

/// Why `call` on sbx's own child fails with `errno` though sbx may make it
/// on itself: a ptrace rule.
fn access_cause(call: Call, errno: Errno, c: &Confinement) -> Limit {
    let name = call.name();
    let attach = call.ptrace_mode() == Some(Mode::Attach);
    if matches!(errno, Errno::EPERM | Errno::EACCES) {
        let yama = if attach { c.yama } else { None };
        match yama {
            Some(3) => {
                return Limit {
                    cause: format!(
                        "Yama's ptrace_scope is 3: no process may {}, which sbx's supervisor needs ({name}: {errno:?})",
                        call.does()
                    ),
                    fix: "boot with kernel.yama.ptrace_scope=1 (scope 3 cannot be lowered until a reboot), which \
                          lets a parent read its children"
                        .into(),
                };
            }
            Some(2) if !c.cap_sys_ptrace => {
                return Limit {
                    cause: format!(
                        "Yama's ptrace_scope is 2: only a process with CAP_SYS_PTRACE may {}, which sbx's \
                         supervisor needs ({name}: {errno:?})",
                        call.does()
                    ),
                    fix: "`sysctl kernel.yama.ptrace_scope=1`, which lets a parent read its children, or give sbx \
                          CAP_SYS_PTRACE"
                        .into(),
                };
            }
            _ => {}
        }
        let lsms: Vec<&str> = c.lsms.iter().flatten().map(String::as_str).filter(|l| PTRACE_LSMS.contains(l)).collect();
        let by = match (&c.label, lsms.is_empty()) {
            (Some(label), _) => Some(format!("an LSM confines sbx ({label})")),
            (None, false) => Some(format!("an LSM ({})", lsms.join(", "))),
            (None, true) if c.lsms.is_none() && !c.filtered() => {
                Some("an LSM such as AppArmor or SELinux (/sys/kernel/security/lsm cannot be read)".to_owned())
            }
            (None, true) => None,
        };
        if let Some(by) = by {
            return Limit {
                cause: format!(
                    "{name} on sbx's own child is refused ({errno:?}) though seccomp and Yama allow it: {by} \
                     forbids it"
                ),
                fix: "let sbx read and trace its own children in that LSM's policy (AppArmor: a `ptrace (read, \
                      trace)` rule for sbx's profile; SELinux: the process ptrace permission)"
                    .into(),
            };
        }
        if c.filtered() {
            return Limit {
                cause: format!("the enclosing sandbox refuses {name} on other processes than sbx itself ({errno:?})"),
                fix: format!("let the enclosing sandbox allow {name} on sbx's children"),
            };
        }
    }
    Limit {
        cause: format!("{name} on sbx's own child fails: {} ({errno:?})", errno.desc()),
        fix: "report it, with `sbx --doctor`'s output".into(),
    }
}

#[cfg(test)]
mod tests;

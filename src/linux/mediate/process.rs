//! The process scope: the command may act only on processes inside the
//! sandbox. "Inside" is "a descendant of sbx": sbx is the sandbox's child
//! subreaper, so an orphan stays its descendant, and a process outside can
//! never become one (a process only ever moves up its tree). sbx starts no
//! other child while it supervises.
//!
//! Handled here: signals and signal owners below Landlock ABI 6 (whose
//! signal scope does this in the kernel), calls that change another
//! process by pid on every kernel (Landlock has no scope for them), and
//! without Landlock the ptrace-like calls.
//!
//! Guarantees: a target is decided on a pidfd, which names one process for
//! its whole life, and its ancestry is read with every link pinned (see
//! [`Mediator::inside`]), so a pid that is reused by a process outside is
//! never mistaken for the one that was checked. A call whose target is the
//! caller itself (its own thread or process, which cannot go away while it
//! waits) is let through unchanged. Signals to other processes are sent by
//! sbx through the pidfd that was checked. Calls that have no pidfd form
//! (setpriority, prlimit64, sched_*, ioprio_set) are performed by sbx by
//! pid between two checks that the pinned target is still alive: only a
//! target that exits, is reaped and whose pid is given to a new process in
//! those microseconds could be missed — see ESCAPES.md.

use std::os::fd::{AsFd, OwnedFd};

use libseccomp::{ScmpArch, ScmpSyscall};
use nix::errno::Errno;

use super::{Mediator, NATIVE_AUDIT_ARCH, Reply, Status, read_status};
use crate::linux::sys::{self, Notification, SigInfo};

/// A call the process scope decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Kill,
    Tkill,
    Tgkill,
    Sigqueue,
    Tgsigqueue,
    PidfdSignal,
    /// fcntl/fcntl64 F_SETOWN or F_SETOWN_EX.
    Fcntl,
    /// ioctl FIOSETOWN or SIOCSPGRP.
    OwnerIoctl,
    Setpriority,
    IoprioSet,
    Prlimit,
    Affinity,
    Scheduler,
    Param,
    Attr,
    /// ptrace-like calls without Landlock: the caller itself only (pid in arg 0).
    SelfOnly,
}

/// Which calls the supervisor scopes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope {
    pub signals: bool,
    pub pid_calls: bool,
    pub ptrace_calls: bool,
}

/// How a syscall entry lays out memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Native,
    /// x32 or the 32-bit entry: only what needs no memory is acted on.
    Other,
}

#[cfg(target_arch = "x86_64")]
const COMPAT: &[(ScmpArch, u32)] = &[(ScmpArch::X32, NATIVE_AUDIT_ARCH), (ScmpArch::X86, 0x4000_0003)];
#[cfg(target_arch = "aarch64")]
const COMPAT: &[(ScmpArch, u32)] = &[(ScmpArch::Arm, 0x4000_0028)];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const COMPAT: &[(ScmpArch, u32)] = &[];

/// Syscall numbers (per audit architecture) of the calls in `scope`.
#[derive(Debug, Default)]
pub struct Table(Vec<(u32, i32, Call, Entry)>);

impl Table {
    pub fn new(scope: Scope) -> Self {
        let mut names: Vec<(&str, Call)> = Vec::new();
        if scope.signals {
            names.extend([
                ("kill", Call::Kill),
                ("tkill", Call::Tkill),
                ("tgkill", Call::Tgkill),
                ("rt_sigqueueinfo", Call::Sigqueue),
                ("rt_tgsigqueueinfo", Call::Tgsigqueue),
                ("pidfd_send_signal", Call::PidfdSignal),
                ("fcntl", Call::Fcntl),
                ("fcntl64", Call::Fcntl),
                ("ioctl", Call::OwnerIoctl),
            ]);
        }
        if scope.pid_calls {
            names.extend([
                ("setpriority", Call::Setpriority),
                ("ioprio_set", Call::IoprioSet),
                ("prlimit64", Call::Prlimit),
                ("sched_setaffinity", Call::Affinity),
                ("sched_setscheduler", Call::Scheduler),
                ("sched_setparam", Call::Param),
                ("sched_setattr", Call::Attr),
            ]);
        }
        if scope.ptrace_calls {
            for &name in crate::linux::seccomp::PTRACE_SELF_ONLY {
                names.push((name, Call::SelfOnly));
            }
        }
        let mut arches = vec![(ScmpArch::native(), NATIVE_AUDIT_ARCH, Entry::Native)];
        arches.extend(COMPAT.iter().map(|&(arch, audit)| (arch, audit, Entry::Other)));
        let mut table = Vec::new();
        for (arch, audit, entry) in arches {
            for &(name, call) in &names {
                // A name this entry lacks resolves to a negative pseudo number.
                if let Ok(nr) = ScmpSyscall::from_name_by_arch(name, arch) {
                    let nr = nr.as_raw_syscall();
                    if nr >= 0 {
                        table.push((audit, nr, call, entry));
                    }
                }
            }
        }
        Self(table)
    }

    fn find(&self, req: &Notification) -> Option<(Call, Entry)> {
        self.0.iter().find(|(a, n, ..)| *a == req.arch && *n == req.nr).map(|&(_, _, c, e)| (c, e))
    }

    pub fn handles(&self, req: &Notification) -> bool {
        self.find(req).is_some()
    }
}

/// Fields of /proc/PID/stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    ppid: i32,
    pgrp: i32,
    session: i32,
}

/// Parses /proc/PID/stat (the name in parentheses may hold anything).
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let _state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some(Stat { ppid, pgrp, session })
}

fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|c| c.trim_end().to_owned()).unwrap_or_default()
}

/// Chooses processes by pid and /proc/PID/stat.
type Pick = dyn Fn(i32, &Stat) -> bool;

/// A process pinned by a pidfd, and its pid.
pub(super) struct Pinned {
    pub(super) fd: OwnedFd,
    pub(super) pid: i32,
}

impl Pinned {
    fn alive(&self) -> bool {
        sys::pidfd_alive(self.fd.as_fd())
    }
}

/// Pins the process that `id` names: a process id, or a thread id (then
/// its process, checked to still hold that thread once pinned).
pub(super) fn pin(id: i32) -> Result<Pinned, Errno> {
    if id <= 0 {
        return Err(Errno::ESRCH);
    }
    match sys::pidfd_open(id) {
        Ok(fd) => Ok(Pinned { fd, pid: id }),
        // Not a process id: a thread of some process (EINVAL before Linux
        // 6.9, ENOENT since).
        Err(Errno::EINVAL | Errno::ENOENT) => {
            let tgid = read_status(id).ok_or(Errno::ESRCH)?.tgid;
            let fd = sys::pidfd_open(tgid)?;
            let pinned = Pinned { fd, pid: tgid };
            if !std::path::Path::new(&format!("/proc/{tgid}/task/{id}")).exists() || !pinned.alive() {
                return Err(Errno::ESRCH);
            }
            Ok(pinned)
        }
        Err(e) => Err(e),
    }
}

/// The calling thread, as /proc shows it.
struct Caller {
    tid: i32,
    status: Status,
    stat: Stat,
}

impl Caller {
    fn read(tid: i32) -> Option<Self> {
        Some(Self { tid, status: read_status(tid)?, stat: stat(tid)? })
    }

    fn tgid(&self) -> i32 {
        self.status.tgid
    }

    /// Whether `id` is the caller's own thread or process, which cannot go
    /// away (and so cannot be reused) while the caller waits.
    fn is_self(&self, id: i32) -> bool {
        id == self.tid || id == self.tgid()
    }

    /// Real and effective user ids.
    fn uids(&self) -> (u32, u32) {
        let ids = self.status.creds.ids();
        (ids[0], ids[1])
    }
}

/// `siginfo_t` for a signal sbx sends for `from`: SI_QUEUE with the
/// caller as sender (the kernel lets no one else claim SI_USER for another
/// process; SI_QUEUE keeps the sender's pid and uid in place).
fn queued_info(sig: i32, from: &Caller) -> SigInfo {
    const SI_QUEUE: i32 = -1;
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&sig.to_ne_bytes());
    info[8..12].copy_from_slice(&SI_QUEUE.to_ne_bytes());
    // 64-bit layout: the union starts at offset 16 (si_pid, si_uid, si_value).
    info[16..20].copy_from_slice(&from.tgid().to_ne_bytes());
    info[20..24].copy_from_slice(&from.uids().0.to_ne_bytes());
    info
}

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;
const IOPRIO_WHO_PROCESS: i32 = 1;
const IOPRIO_WHO_PGRP: i32 = 2;
const IOPRIO_WHO_USER: i32 = 3;
const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 1 << 2;
const F_OWNER_TID: i32 = 0;
const F_OWNER_PID: i32 = 1;
/// Deepest ancestry sbx walks (deeper: not inside).
const MAX_DEPTH: usize = 4096;
/// Largest CPU mask and `struct sched_attr` copied.
const MASK_MAX: u64 = 64 * 1024;
const ATTR_MAX: u32 = 4096;

impl Mediator {
    pub(super) fn serve_process(&self, req: &Notification) -> Reply {
        let Some((call, entry)) = self.process.find(req) else { return self.fail(req.id, Errno::ENOSYS) };
        let Some(caller) = Caller::read(req.pid as i32) else { return self.fail(req.id, Errno::ESRCH) };
        // What was read belongs to the waiting thread only if it still waits.
        if !self.still_valid(req.id) {
            return Reply::Gone;
        }
        let a = req.args;
        let int = |i: usize| a[i] as i32;
        let native = entry == Entry::Native;
        let reply = match call {
            Call::Kill => self.kill(&caller, int(0), int(1)),
            Call::Tkill if int(0) == caller.tid => Reply::Continue,
            Call::Tkill => match read_status(int(0)) {
                // A thread of the caller's own process, whose id is pinned:
                // tgkill with it reaches nothing outside.
                Some(st) if st.tgid == caller.tgid() => into_reply(sys::tgkill(st.tgid, int(0), int(1))),
                Some(st) => self.thread_signal(&caller, st.tgid, int(0), int(1), None),
                None => Reply::Error(Errno::ESRCH),
            },
            // tgkill checks that the thread is in the thread group: with the
            // caller's own, nothing outside can be reached.
            Call::Tgkill if int(0) == caller.tgid() => Reply::Continue,
            Call::Tgkill => self.thread_signal(&caller, int(0), int(1), int(2), None),
            Call::Sigqueue | Call::Tgsigqueue if int(0) == caller.tgid() => Reply::Continue,
            Call::Sigqueue | Call::Tgsigqueue if !native => self.refuse("rt_sigqueueinfo (32-bit)", int(0)),
            Call::Sigqueue => match read_info(caller.tid, a[2]) {
                Ok(info) => self.process_signal(&caller, int(0), int(1), Some(&info)),
                Err(e) => Reply::Error(e),
            },
            Call::Tgsigqueue => match read_info(caller.tid, a[3]) {
                Ok(info) => self.thread_signal(&caller, int(0), int(1), int(2), Some(&info)),
                Err(e) => Reply::Error(e),
            },
            Call::PidfdSignal => self.pidfd_signal(&caller, int(0), int(1), a[2], a[3] as u32, native),
            Call::Fcntl => self.fcntl_owner(&caller, int(0), int(1), a[2]),
            Call::OwnerIoctl => self.ioctl_owner(&caller, int(0), a[1] as u32, a[2]),
            Call::Setpriority => {
                let prio = int(2);
                let act = |tid| sys::setpriority(PRIO_PROCESS, tid, prio);
                self.by_id(&caller, int(0), int(1), [PRIO_PROCESS, PRIO_PGRP, PRIO_USER], "setpriority", act)
            }
            Call::IoprioSet => {
                let prio = int(2);
                let act = |tid| sys::ioprio_set(IOPRIO_WHO_PROCESS, tid, prio);
                let kinds = [IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER];
                self.by_id(&caller, int(0), int(1), kinds, "ioprio_set", act)
            }
            Call::Prlimit | Call::Affinity | Call::Scheduler | Call::Param | Call::Attr | Call::SelfOnly => {
                self.pid_call(&caller, call, a, native)
            }
        };
        // The answer reaches only a thread that still waits.
        if matches!(reply, Reply::Error(_) | Reply::Value(_)) && !self.still_valid(req.id) {
            return Reply::Gone;
        }
        reply
    }

    /// A call that changes process (or thread) `args[0]`: let through for
    /// the caller itself; for another process inside the sandbox,
    /// performed by sbx with its copies of the arguments (native entry only).
    fn pid_call(&self, caller: &Caller, call: Call, a: [u64; 6], native: bool) -> Reply {
        let target = a[0] as i32;
        let what = match call {
            Call::Prlimit => "prlimit64",
            Call::Affinity => "sched_setaffinity",
            Call::Scheduler => "sched_setscheduler",
            Call::Param => "sched_setparam",
            Call::Attr => "sched_setattr",
            _ => "a ptrace-like call",
        };
        if caller.is_self(target) {
            return Reply::Continue;
        }
        if call == Call::SelfOnly || !native {
            return self.refuse(what, target);
        }
        let copied = match call {
            Call::Prlimit => return self.prlimit(caller, target, a[1] as u32, a[2], a[3]),
            Call::Affinity => copy(caller.tid, a[2], a[1], MASK_MAX),
            Call::Scheduler => copy(caller.tid, a[2], 4, 4),
            Call::Param => copy(caller.tid, a[1], 4, 4),
            _ => read_attr(caller.tid, a[1]),
        };
        let bytes = match copied {
            Ok(b) => b,
            Err(e) => return Reply::Error(e),
        };
        let int = |b: &[u8]| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
        match call {
            Call::Affinity => self.on_other(caller, target, what, |pid| sys::sched_setaffinity(pid, &bytes)),
            Call::Scheduler => {
                self.on_other(caller, target, what, |pid| sys::sched_setscheduler(pid, Some(a[1] as i32), int(&bytes)))
            }
            Call::Param => self.on_other(caller, target, what, |pid| sys::sched_setscheduler(pid, None, int(&bytes))),
            _ => self.on_other(caller, target, what, |pid| sys::sched_setattr(pid, &bytes, a[2] as u32)),
        }
    }

    /// Whether the pinned process is inside the sandbox: its ancestry,
    /// read link by link, reaches sbx. Each parent is pinned before it is
    /// trusted: its pid is read from the child's /proc entry, a pidfd is
    /// opened, and the child is read again — a process's parent only ever
    /// changes to one of its ancestors, which never holds the same pid, so
    /// an unchanged parent pid means the pidfd names the real parent.
    /// Whether `target` is inside the sandbox as `caller` sees it: below
    /// sbx, and below every inner sbx whose sandbox the caller is in (a
    /// delegation, see [`super::super::nested`]).
    fn inside(&self, caller: &Caller, target: &Pinned) -> Result<bool, Errno> {
        if !descends_from(target, std::process::id() as i32)? {
            return Ok(false);
        }
        for (_, delegation) in self.delegations_of(caller.tgid()) {
            if !descends_from(target, delegation.pid)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Whether the pinned process descends from process `root` (its parent
/// chain, each link confirmed against a pidfd, reaches `root`). `root`
/// itself does not.
pub(super) fn descends_from(target: &Pinned, root: i32) -> Result<bool, Errno> {
    let me = root;
    {
        if target.pid == me {
            return Ok(false);
        }
        let mut pinned: Option<Pinned> = None;
        for _ in 0..MAX_DEPTH {
            let cur_pid = pinned.as_ref().unwrap_or(target).pid;
            // Read, then confirm the pinned process still holds its pid: the
            // entry read was its own.
            let ppid = stat(cur_pid).map(|s| s.ppid);
            if !pinned.as_ref().unwrap_or(target).alive() {
                if pinned.is_none() {
                    return Err(Errno::ESRCH);
                }
                // An ancestor ended and handed its children on: start over.
                pinned = None;
                continue;
            }
            let ppid = ppid.ok_or(Errno::ESRCH)?;
            if ppid == me {
                return Ok(true);
            }
            if ppid <= 1 {
                return Ok(false);
            }
            let parent = match sys::pidfd_open(ppid) {
                Ok(fd) => Pinned { fd, pid: ppid },
                // Gone meanwhile: the child has a new parent; read it again.
                Err(Errno::ESRCH) => continue,
                Err(e) => return Err(e),
            };
            let again = stat(cur_pid).map(|s| s.ppid);
            if again != Some(ppid) || !pinned.as_ref().unwrap_or(target).alive() {
                continue;
            }
            pinned = Some(parent);
        }
        Ok(false)
    }
}

impl Mediator {
    /// Reports a refused call once and answers EPERM.
    fn refuse(&self, what: &str, target: i32) -> Reply {
        let name = comm(target);
        let who = if name.is_empty() { format!("pid {target}") } else { format!("pid {target} ({name})") };
        self.report(format!("sbx: blocked {what} of {who} — it is outside the sandbox"));
        Reply::Error(Errno::EPERM)
    }

    /// kill(pid, sig) for the caller.
    fn kill(&self, caller: &Caller, pid: i32, sig: i32) -> Reply {
        match pid {
            _ if pid > 0 && caller.is_self(pid) => Reply::Continue,
            _ if pid > 0 => self.process_signal(caller, pid, sig, None),
            0 => self.group_signal(caller, caller.stat.pgrp, sig),
            -1 => {
                let me = caller.tgid();
                self.signal_all(caller, sig, |pid, _| pid != me, "kill(-1)")
            }
            _ if pid == i32::MIN => Reply::Error(Errno::ESRCH),
            _ => self.group_signal(caller, -pid, sig),
        }
    }

    /// A process-directed signal to `pid`, with `info` (the caller's,
    /// copied) or a queued-signal info naming the caller.
    fn process_signal(&self, caller: &Caller, pid: i32, sig: i32, info: Option<&SigInfo>) -> Reply {
        let target = match pin(pid) {
            Ok(t) => t,
            Err(e) => return Reply::Error(e),
        };
        match self.inside(caller, &target) {
            Ok(true) => into_reply(self.send(caller, &target, sig, info, 0)),
            Ok(false) => self.refuse(&signal_name("signal", sig), pid),
            Err(e) => Reply::Error(e),
        }
    }

    /// Sends `sig` through the pinned target's pidfd.
    fn send(
        &self,
        caller: &Caller,
        target: &Pinned,
        sig: i32,
        info: Option<&SigInfo>,
        flags: u32,
    ) -> Result<i64, Errno> {
        if caller.status.creds != self.creds && !may_signal(caller, target.pid, sig) {
            return Err(Errno::EPERM);
        }
        if sig == 0 {
            return sys::pidfd_send_signal(target.fd.as_fd(), 0, None, flags);
        }
        let queued;
        let info = match info {
            Some(info) => info,
            None => {
                queued = queued_info(sig, caller);
                &queued
            }
        };
        sys::pidfd_send_signal(target.fd.as_fd(), sig, Some(info), flags)
    }

    /// A thread-directed signal (tgkill, tkill, rt_tgsigqueueinfo) to a
    /// thread of another process: through a pidfd of the thread itself
    /// (Linux 6.9); on older kernels to its process as a whole, which is
    /// the closest sbx can send without naming a pid.
    fn thread_signal(&self, caller: &Caller, tgid: i32, tid: i32, sig: i32, info: Option<&SigInfo>) -> Reply {
        if tgid <= 0 || tid <= 0 {
            return Reply::Error(Errno::EINVAL);
        }
        let process = match sys::pidfd_open(tgid) {
            Ok(fd) => Pinned { fd, pid: tgid },
            Err(e) => return Reply::Error(if matches!(e, Errno::EINVAL | Errno::ENOENT) { Errno::ESRCH } else { e }),
        };
        match self.inside(caller, &process) {
            Ok(true) => {}
            Ok(false) => return self.refuse(&signal_name("signal", sig), tgid),
            Err(e) => return Reply::Error(e),
        }
        let thread = sys::pidfd_open_thread(tid).ok().map(|fd| Pinned { fd, pid: tid });
        // The thread must belong to the process that was checked.
        let belongs = std::path::Path::new(&format!("/proc/{tgid}/task/{tid}")).exists();
        if !belongs || !process.alive() || thread.as_ref().is_some_and(|t| !t.alive()) {
            return Reply::Error(Errno::ESRCH);
        }
        let target = thread.as_ref().unwrap_or(&process);
        into_reply(self.send(caller, target, sig, info, 0))
    }

    /// kill(0 or -pgrp): every process of the group inside the sandbox.
    fn group_signal(&self, caller: &Caller, pgrp: i32, sig: i32) -> Reply {
        self.signal_all(caller, sig, |_, st| st.pgrp == pgrp, "kill of a process group")
    }

    /// Signals every process inside the sandbox that `pick` chooses, twice
    /// over to reach children forked meanwhile; succeeds if one got it, as
    /// the kernel does for a group. ESRCH when nothing matches anywhere;
    /// EPERM when only processes outside do.
    fn signal_all(&self, caller: &Caller, sig: i32, pick: impl Fn(i32, &Stat) -> bool, what: &str) -> Reply {
        let mut done: Vec<i32> = Vec::new();
        let mut result: Option<Result<i64, Errno>> = None;
        let mut outside = 0;
        for _ in 0..2 {
            for (pid, st) in processes() {
                if done.contains(&pid) || !pick(pid, &st) {
                    continue;
                }
                let Ok(target) = pin(pid) else { continue };
                if !self.inside(caller, &target).unwrap_or(false) {
                    outside += 1;
                    continue;
                }
                done.push(pid);
                let sent = self.send(caller, &target, sig, None, 0);
                result = Some(match (result, sent) {
                    (Some(Ok(v)), _) | (_, Ok(v)) => Ok(v),
                    (_, Err(e)) => Err(e),
                });
            }
        }
        match result {
            Some(r) => into_reply(r),
            None if outside > 0 => {
                self.report(format!(
                    "sbx: blocked {} ({what}) — only processes outside the sandbox match",
                    signal_name("signal", sig)
                ));
                Reply::Error(Errno::EPERM)
            }
            None => Reply::Error(Errno::ESRCH),
        }
    }

    /// pidfd_send_signal(fd, sig, info, flags): on sbx's duplicate of the
    /// caller's pidfd (or /proc/PID directory fd).
    fn pidfd_signal(&self, caller: &Caller, fd: i32, sig: i32, info_ptr: u64, flags: u32, native: bool) -> Reply {
        let (dup, pid) = match self.pidfd_of_caller(caller, fd) {
            Ok(found) => found,
            Err(e) => return Reply::Error(e),
        };
        let info = match (info_ptr, native) {
            (0, _) => None,
            (_, true) => match read_info(caller.tid, info_ptr) {
                Ok(info) => Some(info),
                Err(e) => return Reply::Error(e),
            },
            (_, false) => return self.refuse("pidfd_send_signal (32-bit, with info)", pid),
        };
        let target = Pinned { fd: dup, pid };
        if flags & PIDFD_SIGNAL_PROCESS_GROUP != 0 {
            return match stat(pid) {
                Some(st) if target.alive() => self.group_signal(caller, st.pgrp, sig),
                _ => Reply::Error(Errno::ESRCH),
            };
        }
        if pid != caller.tgid() {
            match self.inside(caller, &target) {
                Ok(true) => {}
                Ok(false) => return self.refuse(&signal_name("signal", sig), pid),
                Err(e) => return Reply::Error(e),
            }
        }
        into_reply(self.send(caller, &target, sig, info.as_ref(), flags))
    }

    /// fcntl(fd, F_SETOWN/F_SETOWN_EX, …): the owner gets SIGIO (or the
    /// F_SETSIG signal) later. The caller itself (or nobody) may be it; a
    /// process inside the sandbox too, set by sbx (the kernel keeps the
    /// process itself, not its pid, so a pid reused later changes nothing);
    /// a process outside, or a process group (whose members are looked up
    /// only when the signal is sent), not.
    fn fcntl_owner(&self, caller: &Caller, fd: i32, cmd: i32, arg: u64) -> Reply {
        match cmd {
            libc::F_SETOWN => {
                let owner = arg as i32;
                if owner == 0 || caller.is_self(owner) {
                    return Reply::Continue;
                }
                self.owner(caller, fd, "F_SETOWN", owner, |file| sys::set_owner(file, owner))
            }
            sys::F_SETOWN_EX => {
                let raw = match copy(caller.tid, arg, 8, 8) {
                    Ok(raw) => raw,
                    Err(e) => return Reply::Error(e),
                };
                let kind = i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
                let pid = i32::from_ne_bytes([raw[4], raw[5], raw[6], raw[7]]);
                // Performed with sbx's copy: the struct may change meanwhile.
                let set = |file: std::os::fd::BorrowedFd<'_>| sys::set_owner_ex(file, kind, pid);
                match kind {
                    _ if pid == 0 || (kind == F_OWNER_TID && pid == caller.tid) => self.owner(caller, fd, "", 0, set),
                    F_OWNER_PID if pid == caller.tgid() => self.owner(caller, fd, "", 0, set),
                    F_OWNER_TID | F_OWNER_PID => self.owner(caller, fd, "F_SETOWN_EX", pid, set),
                    _ => self.owner(caller, fd, "F_SETOWN_EX", -pid.abs().max(1), set),
                }
            }
            _ => Reply::Error(Errno::ENOSYS),
        }
    }

    /// ioctl(fd, FIOSETOWN/SIOCSPGRP, &owner): as F_SETOWN.
    fn ioctl_owner(&self, caller: &Caller, fd: i32, request: u32, arg: u64) -> Reply {
        let owner = match copy(caller.tid, arg, 4, 4) {
            Ok(raw) => i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]),
            Err(e) => return Reply::Error(e),
        };
        let what = if request == 0x8901 { "FIOSETOWN" } else { "SIOCSPGRP" };
        let target = if owner == 0 || caller.is_self(owner) { 0 } else { owner };
        self.owner(caller, fd, what, target, |file| {
            // SIOCSPGRP is a socket request.
            if request == 0x8902 && sys::socket_kind(file).is_err() {
                return Err(Errno::ENOTTY);
            }
            sys::set_owner(file, owner)
        })
    }

    /// Sets the owner of the caller's fd `fd` with `set`, on sbx's
    /// duplicate of it: `target` 0 for the caller itself or nobody, a pid
    /// (checked to be inside the sandbox, and alive around the call), or a
    /// negative process group (refused).
    fn owner(
        &self,
        caller: &Caller,
        fd: i32,
        what: &str,
        target: i32,
        set: impl FnOnce(std::os::fd::BorrowedFd<'_>) -> Result<i64, Errno>,
    ) -> Reply {
        let pinned = match target {
            0 => None,
            t if t < 0 => {
                self.report(format!(
                    "sbx: blocked {what} of process group {} — without Landlock ABI 6 sbx cannot keep the signals it \
                     gets to the sandbox's members",
                    -t
                ));
                return Reply::Error(Errno::EPERM);
            }
            t => match pin(t) {
                Ok(p) => match self.inside(caller, &p) {
                    Ok(true) => Some(p),
                    Ok(false) => return self.refuse(what, t),
                    Err(e) => return Reply::Error(e),
                },
                Err(e) => return Reply::Error(e),
            },
        };
        let file = match self.caller_fd(caller, fd) {
            Ok(f) => f,
            Err(e) => return Reply::Error(e),
        };
        if pinned.as_ref().is_some_and(|p| !p.alive()) {
            return Reply::Error(Errno::ESRCH);
        }
        into_reply(set(file.as_fd()))
    }

    /// sbx's duplicate of the caller's fd `fd` (the same open file
    /// description: a signal owner is a property of it). EPERM where
    /// pidfd_getfd is refused: a reopened file would be another description.
    fn caller_fd(&self, caller: &Caller, fd: i32) -> Result<OwnedFd, Errno> {
        if !self.takes_fds {
            self.report(format!(
                "sbx: blocked setting another process of the sandbox as signal owner of fd {fd} — sbx would have \
                 to take the command's fd, which pidfd_getfd (refused here) does"
            ));
            return Err(Errno::EPERM);
        }
        let me = sys::pidfd_open_thread(caller.tid).or_else(|_| sys::pidfd_open(caller.tgid()))?;
        sys::pidfd_getfd(me.as_fd(), fd)
    }

    /// The process the caller's pidfd (or /proc/PID directory fd) `fd`
    /// names, pinned by a pidfd of sbx's, and its pid. With pidfd_getfd,
    /// sbx's duplicate of that very fd; without, the pid /proc shows for
    /// it, pinned, and checked to be still what the fd names — sbx decides
    /// on, and signals, the process it pinned either way.
    fn pidfd_of_caller(&self, caller: &Caller, fd: i32) -> Result<(OwnedFd, i32), Errno> {
        if self.takes_fds {
            let me = sys::pidfd_open_thread(caller.tid).or_else(|_| sys::pidfd_open(caller.tgid()))?;
            let dup = sys::pidfd_getfd(me.as_fd(), fd)?;
            return match pid_behind(dup.as_fd()) {
                Some(pid) if pid > 0 => Ok((dup, pid)),
                // The process has ended.
                Some(_) => Err(Errno::ESRCH),
                None => Err(Errno::EBADF),
            };
        }
        let named = || -> Result<i32, Errno> {
            match sys::pidfd_target(caller.tid, fd)? {
                Some(pid) => Ok(pid),
                None => {
                    let link = std::fs::read_link(format!("/proc/{}/fd/{fd}", caller.tid)).map_err(|_| Errno::EBADF)?;
                    link.to_str()
                        .and_then(|l| l.strip_prefix("/proc/"))
                        .and_then(|p| p.parse().ok())
                        .ok_or(Errno::EBADF)
                }
            }
        };
        let pid = named()?;
        if pid <= 0 {
            return Err(Errno::ESRCH);
        }
        let pinned = pin(pid)?;
        if named()? != pid {
            return Err(Errno::ESRCH);
        }
        Ok((pinned.fd, pinned.pid))
    }

    /// setpriority/ioprio_set: `which` is one of `kinds` (process, group,
    /// user); `act` changes one thread by id.
    fn by_id(
        &self,
        caller: &Caller,
        which: i32,
        who: i32,
        kinds: [i32; 3],
        what: &str,
        act: impl Fn(i32) -> Result<i64, Errno>,
    ) -> Reply {
        let [process, group, user] = kinds;
        if which == process {
            if who == 0 || caller.is_self(who) {
                return Reply::Continue;
            }
            return self.on_other(caller, who, what, act);
        }
        if caller.status.creds != self.creds {
            self.report(format!(
                "sbx: blocked {what} of a process group or user — the command changed its user, groups or \
                 capabilities, and sbx acts on its behalf only with its own"
            ));
            return Reply::Error(Errno::EPERM);
        }
        let pick: Box<Pick> = if which == group {
            let pgrp = if who == 0 { caller.stat.pgrp } else { who };
            Box::new(move |_, st| st.pgrp == pgrp)
        } else if which == user {
            let uid = if who == 0 { caller.uids().0 } else { who as u32 };
            Box::new(move |pid, _| read_status(pid).is_some_and(|s| s.creds.ids()[0] == uid))
        } else {
            return Reply::Error(Errno::EINVAL);
        };
        let mut result: Option<Result<i64, Errno>> = None;
        let mut outside = false;
        for (pid, st) in processes() {
            if !pick(pid, &st) {
                continue;
            }
            let Ok(target) = pin(pid) else { continue };
            if !self.inside(caller, &target).unwrap_or(false) {
                outside = true;
                continue;
            }
            for tid in threads(pid) {
                let done = act(tid);
                result = Some(match (result, done) {
                    (Some(Err(e)), _) | (_, Err(e)) => Err(e),
                    (_, Ok(v)) => Ok(v),
                });
            }
        }
        match result {
            Some(r) => into_reply(r),
            None if outside => self.refuse(what, who),
            None => Reply::Error(Errno::ESRCH),
        }
    }

    /// A call on thread or process `id` other than the caller: performed by
    /// sbx by id, if `id`'s process is inside the sandbox and the caller
    /// has sbx's credentials (so the kernel's permission check is the
    /// caller's), between two checks that the pinned target is alive.
    fn on_other(&self, caller: &Caller, id: i32, what: &str, act: impl Fn(i32) -> Result<i64, Errno>) -> Reply {
        let target = match pin(id) {
            Ok(t) => t,
            Err(e) => return Reply::Error(e),
        };
        match self.inside(caller, &target) {
            Ok(true) => {}
            Ok(false) => return self.refuse(what, id),
            Err(e) => return Reply::Error(e),
        }
        if caller.status.creds != self.creds {
            self.report(format!(
                "sbx: blocked {what} of pid {id} — the command changed its user, groups or capabilities, and sbx acts \
                 on its behalf only with its own"
            ));
            return Reply::Error(Errno::EPERM);
        }
        let holds = || id == target.pid || std::path::Path::new(&format!("/proc/{}/task/{id}", target.pid)).exists();
        if !target.alive() || !holds() {
            return Reply::Error(Errno::ESRCH);
        }
        let result = act(id);
        if !target.alive() || !holds() {
            tracing::warn!("{what} of {id}: the target ended while sbx acted on it");
        }
        into_reply(result)
    }

    /// prlimit64(pid, resource, new, old) on another process.
    fn prlimit(&self, caller: &Caller, pid: i32, resource: u32, new_ptr: u64, old_ptr: u64) -> Reply {
        let raw = match copy(caller.tid, new_ptr, 16, 16) {
            Ok(raw) => raw,
            Err(e) => return Reply::Error(e),
        };
        let new = [
            u64::from_ne_bytes(raw[0..8].try_into().unwrap_or([0; 8])),
            u64::from_ne_bytes(raw[8..16].try_into().unwrap_or([0; 8])),
        ];
        let old = std::cell::Cell::new([0u64; 2]);
        let reply = self.on_other(caller, pid, "prlimit64", |pid| {
            let mut out = [0u64; 2];
            let r = sys::prlimit(pid, resource, &new, (old_ptr != 0).then_some(&mut out));
            old.set(out);
            r
        });
        if let (Reply::Value(_), true) = (&reply, old_ptr != 0) {
            let out = old.get();
            let mut bytes = Vec::with_capacity(16);
            bytes.extend_from_slice(&out[0].to_ne_bytes());
            bytes.extend_from_slice(&out[1].to_ne_bytes());
            if let Err(e) = sys::write_memory(caller.tid, old_ptr, &bytes) {
                return Reply::Error(e);
            }
        }
        reply
    }
}

fn signal_name(what: &str, sig: i32) -> String {
    if sig == 0 { format!("{what} 0 (existence check)") } else { format!("{what} {sig}") }
}

fn into_reply(result: Result<i64, Errno>) -> Reply {
    match result {
        Ok(v) => Reply::Value(v),
        Err(e) => Reply::Error(e),
    }
}

/// Every process on the machine, with its /proc/PID/stat.
fn processes() -> Vec<(i32, Stat)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter_map(|pid| stat(pid).map(|s| (pid, s)))
        .collect()
}

/// The thread ids of process `pid`.
fn threads(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    dir.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok())).collect()
}

/// The pid of the process behind a pidfd or a /proc/PID directory fd.
fn pid_behind(fd: std::os::fd::BorrowedFd<'_>) -> Option<i32> {
    use std::os::fd::AsRawFd;
    let raw = fd.as_raw_fd();
    if let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{raw}")) {
        if let Some(pid) = info.lines().find_map(|l| l.strip_prefix("Pid:")) {
            return pid.trim().parse().ok();
        }
    }
    let link = std::fs::read_link(format!("/proc/self/fd/{raw}")).ok()?;
    let rest = link.to_str()?.strip_prefix("/proc/")?;
    rest.parse().ok()
}

/// Copies `len` (at most `max`) bytes at `ptr` of thread `tid`.
fn copy(tid: i32, ptr: u64, len: u64, max: u64) -> Result<Vec<u8>, Errno> {
    if len > max {
        return Err(Errno::EINVAL);
    }
    if ptr == 0 {
        return Err(Errno::EFAULT);
    }
    let mut buf = vec![0u8; len as usize];
    sys::read_memory(tid, &[(ptr, len)], &mut buf)?;
    Ok(buf)
}

fn read_info(tid: i32, ptr: u64) -> Result<SigInfo, Errno> {
    let raw = copy(tid, ptr, 128, 128)?;
    let mut info = [0u8; 128];
    info.copy_from_slice(&raw);
    Ok(info)
}

/// `struct sched_attr`: its size field first (0: the first version, 48 bytes).
fn read_attr(tid: i32, ptr: u64) -> Result<Vec<u8>, Errno> {
    let head = copy(tid, ptr, 4, 4)?;
    let size = match u32::from_ne_bytes([head[0], head[1], head[2], head[3]]) {
        0 => 48,
        s if s < 48 => return Err(Errno::E2BIG),
        s => s.min(ATTR_MAX),
    };
    copy(tid, ptr, u64::from(size), u64::from(ATTR_MAX))
}

/// The kernel's rule for who may signal whom (kill_ok_by_cred), for a
/// caller whose credentials differ from sbx's: its real or effective uid
/// is the target's real or saved uid, or it has CAP_KILL; SIGCONT within
/// the session.
fn may_signal(caller: &Caller, target: i32, sig: i32) -> bool {
    const CAP_KILL: u32 = 5;
    if caller.status.creds.cap_eff_bits() & (1 << CAP_KILL) != 0 {
        return true;
    }
    let Some(t) = read_status(target) else { return false };
    let (uid, euid) = caller.uids();
    let ids = t.creds.ids();
    let (t_uid, t_suid) = (ids[0], ids[2]);
    if uid == t_uid || uid == t_suid || euid == t_uid || euid == t_suid {
        return true;
    }
    sig == libc::SIGCONT && stat(target).is_some_and(|s| s.session == caller.stat.session)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn stat_is_parsed_whatever_the_name() {
        let text = "42 (a) b) c) S 7 9 11 34816 0 -1";
        assert_eq!(parse_stat(text), Some(Stat { ppid: 7, pgrp: 9, session: 11 }));
        assert_eq!(parse_stat("42 (x"), None);
    }

    #[test]
    fn sbx_itself_and_init_are_outside() {
        let me = std::process::id() as i32;
        assert!(!descends_from(&pin(me).unwrap(), me).unwrap());
        assert!(!descends_from(&pin(1).unwrap(), me).unwrap());
    }

    /// A child (sh) of this process with a child of its own (sleep): both,
    /// the grandchild's pid. Kill the grandchild, then wait for the child.
    pub(in crate::linux::mediate) fn child_with_grandchild() -> (std::process::Child, i32) {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        (child, line.trim().parse().unwrap())
    }

    #[test]
    fn a_child_of_sbx_is_inside_and_its_own_child_too() {
        let me = std::process::id() as i32;
        let (mut child, grandchild) = child_with_grandchild();
        assert!(descends_from(&pin(child.id() as i32).unwrap(), me).unwrap());
        assert!(descends_from(&pin(grandchild).unwrap(), me).unwrap());
        // Below the child, but not below the grandchild itself.
        assert!(descends_from(&pin(grandchild).unwrap(), child.id() as i32).unwrap());
        assert!(!descends_from(&pin(grandchild).unwrap(), grandchild).unwrap());
        sys::kill(grandchild, libc::SIGKILL);
        let _ = child.wait();
    }

    #[test]
    fn queued_info_names_the_caller() {
        let caller = Caller {
            tid: 77,
            status: Status {
                tgid: 70,
                creds: super::super::Creds::for_test("1000 1000 1000 1000"),
                umask: 0,
                filters: 1,
            },
            stat: Stat { ppid: 1, pgrp: 70, session: 70 },
        };
        let info = queued_info(15, &caller);
        assert_eq!(i32::from_ne_bytes(info[0..4].try_into().unwrap()), 15);
        assert_eq!(i32::from_ne_bytes(info[8..12].try_into().unwrap()), -1);
        assert_eq!(i32::from_ne_bytes(info[16..20].try_into().unwrap()), 70);
        assert_eq!(u32::from_ne_bytes(info[20..24].try_into().unwrap()), 1000);
        assert!(caller.is_self(77) && caller.is_self(70) && !caller.is_self(71));
    }
}

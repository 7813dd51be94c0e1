//! Policy → seccomp: a pure rule table ([`rules`]) and its compilation into a
//! BPF program with libseccomp before fork ([`compile`]). The filter allows by
//! default and returns an errno, or hands the call to sbx's supervisor
//! (user notification), for what the policy restricts. It covers every
//! syscall entry of the architecture (on x86_64: native, i386 `int 0x80`, x32);
//! a rule may be limited to some entries.

use std::fmt;
use std::io::{Read, Seek, SeekFrom};

use anyhow::{Context, Result, anyhow};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};

use super::enforcement::Mediation;
use super::sys::{self, BpfProgram};
use crate::policy::{Net, Policy};

/// A comparison of one syscall argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq(u64),
    Ne(u64),
    Gt(u64),
    /// `arg & mask == value`.
    MaskedEq {
        mask: u64,
        value: u64,
    },
}

/// When a rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// On every call.
    Always,
    /// When argument `n` compares as given.
    Arg(u32, Cmp),
    /// When both arguments compare as given.
    Both((u32, Cmp), (u32, Cmp)),
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The call fails with this errno.
    Errno(i32),
    /// The call waits for sbx's supervisor, which decides and performs it.
    Notify,
}

/// A syscall entry of the architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Native,
    /// x86_64's x32 ABI (same registers, 32-bit pointers).
    X32,
    /// The 32-bit entry: i386 `int 0x80` on x86_64, arm on aarch64.
    Compat,
}

/// A set of entries a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entries(u8);

impl Entries {
    pub const ALL: Entries = Entries(0b111);
    pub const NATIVE: Entries = Entries(0b001);
    pub const NATIVE_X32: Entries = Entries(0b011);
    pub const X32: Entries = Entries(0b010);
    pub const COMPAT: Entries = Entries(0b100);

    pub const fn union(self, other: Entries) -> Entries {
        Entries(self.0 | other.0)
    }

    pub fn contains(self, entry: Entry) -> bool {
        let bit = match entry {
            Entry::Native => 0b001,
            Entry::X32 => 0b010,
            Entry::Compat => 0b100,
        };
        self.0 & bit != 0
    }
}

impl fmt::Display for Entries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [(Entry::Native, "native"), (Entry::X32, "x32"), (Entry::Compat, "32-bit")]
            .into_iter()
            .filter(|(e, _)| self.contains(*e))
            .map(|(_, n)| n)
            .collect();
        f.write_str(&names.join("+"))
    }
}

/// One entry of the rule table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub syscall: &'static str,
    pub when: When,
    pub action: Action,
    pub entries: Entries,
    /// Why, for `-v` and the docs.
    pub reason: &'static str,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.syscall)?;
        match self.when {
            When::Always => {}
            When::Arg(n, Cmp::Eq(v)) => write!(f, "(arg{n} == {v})")?,
            When::Arg(n, Cmp::Ne(v)) => write!(f, "(arg{n} != {v})")?,
            When::Arg(n, Cmp::Gt(v)) => write!(f, "(arg{n} > {v})")?,
            When::Arg(n, Cmp::MaskedEq { mask: u64::MAX, value }) => write!(f, "(arg{n} == {value})")?,
            When::Arg(n, Cmp::MaskedEq { mask, value }) => write!(f, "(arg{n} & {mask:#x} == {value})")?,
            When::Both((n, a), (m, b)) => {
                write!(f, "(arg{n} {} && arg{m} {})", CmpText(a), CmpText(b))?;
            }
        }
        match self.action {
            Action::Errno(e) => write!(f, " → {:?}", nix::errno::Errno::from_raw(e))?,
            Action::Notify => f.write_str(" → supervisor")?,
        }
        if self.entries != Entries::ALL {
            write!(f, " [{} entry]", self.entries)?;
        }
        write!(f, " ({})", self.reason)
    }
}

/// A comparison as text, for [`Rule`]'s `Display`.
struct CmpText(Cmp);

impl fmt::Display for CmpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Cmp::Eq(v) => write!(f, "== {v}"),
            Cmp::Ne(v) => write!(f, "!= {v}"),
            Cmp::Gt(v) => write!(f, "> {v}"),
            Cmp::MaskedEq { mask, value } => write!(f, "& {mask:#x} == {value}"),
        }
    }
}

/// The extra syscall entries of this architecture that the filter must
/// cover as well as the native one.
#[cfg(target_arch = "x86_64")]
const EXTRA_ARCHES: &[(ScmpArch, Entry)] = &[(ScmpArch::X86, Entry::Compat), (ScmpArch::X32, Entry::X32)];
#[cfg(target_arch = "aarch64")]
const EXTRA_ARCHES: &[(ScmpArch, Entry)] = &[(ScmpArch::Arm, Entry::Compat)];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const EXTRA_ARCHES: &[(ScmpArch, Entry)] = &[];

/// Socket families allowed in per-address mode: unix, inet, inet6.
const FAMILIES: &[u64] = &[libc::AF_UNIX as u64, libc::AF_INET as u64, libc::AF_INET6 as u64];
/// Socket types (low 4 bits of the type argument): stream, datagram.
const TYPES: &[u64] = &[libc::SOCK_STREAM as u64, libc::SOCK_DGRAM as u64];
/// Protocols: the default, TCP, UDP. Not SCTP (`sctp_connectx` connects
/// through setsockopt), MPTCP (the kernel opens subflows to addresses the
/// peer advertises), ICMP, UDP-Lite or anything else.
const PROTOCOLS: &[u64] = &[0, libc::IPPROTO_TCP as u64, libc::IPPROTO_UDP as u64];

/// The conditions `arg & field == v` (or `arg > max` when `field` is the whole
/// argument) that together match exactly the values of the field outside
/// `allowed`, using aligned blocks to keep the filter short.
fn outside(arg: u32, allowed: &[u64], max: u64, field: u64) -> Vec<When> {
    let mut out = Vec::new();
    let mut v = 0u64;
    while v <= max {
        if allowed.contains(&v) {
            v += 1;
            continue;
        }
        // The largest aligned block starting at v with no allowed value in it.
        let mut size = 1u64;
        while v % (size * 2) == 0 && v + size * 2 - 1 <= max && !allowed.iter().any(|a| (v..v + size * 2).contains(a)) {
            size *= 2;
        }
        out.push(When::Arg(arg, Cmp::MaskedEq { mask: field & !(size - 1), value: v }));
        v += size;
    }
    if field == u64::MAX {
        out.push(When::Arg(arg, Cmp::Gt(max)));
    }
    out
}

/// `ioctl` requests that inject input into a terminal: TIOCSTI pushes bytes
/// into the terminal's input queue (the shell that started sbx reads them as
/// typed commands once the command ends); TIOCLINUX (a virtual console's
/// selection paste) does the same on a VT.
const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541c;
/// The kernel reads the request as an `unsigned int`: only the low 32 bits
/// count, so only they are compared (a set high half cannot dodge the rule).
const IOCTL_REQUEST: u64 = 0xffff_ffff;

/// Namespace flags of clone(2). Not CLONE_NEWTIME: clone(2) has no room for
/// it (0x80 lies in the exit signal byte); unshare(2) takes it.
const CLONE_NAMESPACES: &[(u64, &str)] = &[
    (libc::CLONE_NEWNS as u64, "CLONE_NEWNS"),
    (libc::CLONE_NEWCGROUP as u64, "CLONE_NEWCGROUP"),
    (libc::CLONE_NEWUTS as u64, "CLONE_NEWUTS"),
    (libc::CLONE_NEWIPC as u64, "CLONE_NEWIPC"),
    (libc::CLONE_NEWUSER as u64, "CLONE_NEWUSER"),
    (libc::CLONE_NEWPID as u64, "CLONE_NEWPID"),
    (libc::CLONE_NEWNET as u64, "CLONE_NEWNET"),
];
const CLONE_NEWTIME: u64 = 0x80;

/// Calls denied (EPERM) in every sandbox, with why each one would let the
/// command — above all a command running as root — leave the policy.
pub const DENIED_ALWAYS: &[(&str, &str)] = &[
    ("setns", "joins another namespace (a container's, the host's), whose mounts and network the policy never saw"),
    ("mount", "mounts over the paths the policy names (or bind-mounts a denied tree into a writable one)"),
    ("umount2", "unmounts what the policy relies on, uncovering what lies beneath"),
    ("pivot_root", "swaps the root filesystem for one the policy never saw"),
    ("chroot", "changes the root the command resolves paths from; with a kept fd, the classic chroot escape"),
    ("move_mount", "attaches a mount tree (the new mount API's mount)"),
    ("open_tree", "clones a mount tree for move_mount (the new mount API)"),
    ("open_tree_attr", "clones a mount tree with new attributes (Linux 6.15; by number where libseccomp lacks it)"),
    ("fsopen", "creates a filesystem context to mount (the new mount API)"),
    ("fsmount", "turns a filesystem context into a mount (the new mount API)"),
    ("fsconfig", "configures a filesystem context, or reconfigures a mounted one (remount)"),
    ("fspick", "picks a mounted filesystem to reconfigure (remount) through fsconfig"),
    ("mount_setattr", "changes mount attributes (read-only, nosuid, idmapping) of mounts the policy relies on"),
    ("bpf", "loads BPF programs into the kernel (root: tracing any process, rewriting packets and syscalls)"),
    ("perf_event_open", "observes other processes and the kernel (root: every process's registers and memory samples)"),
    ("kexec_load", "replaces the running kernel"),
    ("kexec_file_load", "replaces the running kernel"),
    ("init_module", "loads code into the kernel"),
    ("finit_module", "loads code into the kernel"),
    ("delete_module", "unloads kernel code (a security module, a filesystem)"),
    ("keyctl", "reads and changes the kernel keyrings, a secret store outside the filesystem (Kerberos, fscrypt, …)"),
    ("add_key", "adds keys to the kernel keyrings shared with processes outside the sandbox"),
    ("request_key", "looks up keys of the keyrings shared with processes outside the sandbox (and may start a helper)"),
    ("userfaultfd", "stalls the kernel (or sbx's supervisor) mid-copy at will: the standard tool to win kernel races"),
    ("open_by_handle_at", "opens a file by its handle, bypassing every path (the \"shocker\" container escape)"),
    ("quotactl", "changes disk quotas of the whole filesystem"),
    ("quotactl_fd", "changes disk quotas of the whole filesystem"),
    ("swapon", "adds swap: the machine's memory pages go to a file or device"),
    ("swapoff", "removes swap the machine relies on"),
    ("reboot", "reboots or halts the machine, or replaces the kernel"),
    ("settimeofday", "sets the clock every process (and every TLS certificate check) relies on"),
    ("clock_settime", "sets the clock every process (and every TLS certificate check) relies on"),
    ("adjtimex", "steers the clock (ADJ_SETOFFSET jumps it); its flags lie in memory, so reading it is refused too"),
    ("clock_adjtime", "steers a clock (ADJ_SETOFFSET jumps it); its flags lie in memory, so reading it is refused too"),
    ("fanotify_init", "watches other processes' file accesses (root: every file name; permission events block them)"),
    ("vhangup", "hangs up the terminal of the shell that started sbx"),
    ("sethostname", "renames the machine for every process outside the sandbox"),
    ("setdomainname", "renames the machine's NIS domain for every process outside the sandbox"),
    ("acct", "turns process accounting on or off for the whole machine, writing to a file of its choosing"),
    ("syslog", "reads or clears the kernel log (addresses, other processes' messages)"),
    ("iopl", "raw access to the machine's I/O ports"),
    ("ioperm", "raw access to the machine's I/O ports"),
];

/// The rules every sandbox gets, whatever the policy: no terminal input
/// injection, no new namespaces, mounts, kernel code or keyrings.
pub fn baseline() -> Vec<Rule> {
    let eperm = |syscall, when, reason| Rule {
        syscall,
        when,
        action: Action::Errno(libc::EPERM),
        entries: Entries::ALL,
        reason,
    };
    let mut rules = vec![
        eperm(
            "ioctl",
            When::Arg(1, Cmp::MaskedEq { mask: IOCTL_REQUEST, value: TIOCSTI }),
            "TIOCSTI types input into the terminal, run after the command ends by the shell that started sbx",
        ),
        eperm(
            "ioctl",
            When::Arg(1, Cmp::MaskedEq { mask: IOCTL_REQUEST, value: TIOCLINUX }),
            "TIOCLINUX pastes the selection into a virtual console as input",
        ),
    ];
    let ns_reason = "a new namespace of its own gives the command root-like powers there (user) or a view the policy \
                     never saw (mount, pid, net, …): no nested sandboxes (bwrap, unshare, Chrome's sandbox)";
    for &(flag, _) in CLONE_NAMESPACES {
        rules.push(eperm("clone", When::Arg(0, Cmp::MaskedEq { mask: flag, value: flag }), ns_reason));
    }
    for &(flag, _) in CLONE_NAMESPACES {
        rules.push(eperm("unshare", When::Arg(0, Cmp::MaskedEq { mask: flag, value: flag }), ns_reason));
    }
    rules.push(eperm("unshare", When::Arg(0, Cmp::MaskedEq { mask: CLONE_NEWTIME, value: CLONE_NEWTIME }), ns_reason));
    rules.push(Rule {
        syscall: "clone3",
        when: When::Always,
        action: Action::Errno(libc::ENOSYS),
        entries: Entries::ALL,
        reason: "its flags lie in memory, out of seccomp's reach: ENOSYS makes libc fall back to clone(2), whose \
                 flags the filter checks",
    });
    for &(syscall, reason) in DENIED_ALWAYS {
        rules.push(eperm(syscall, When::Always, reason));
    }
    rules.push(Rule {
        syscall: "umount",
        when: When::Always,
        action: Action::Errno(libc::EPERM),
        entries: Entries::COMPAT,
        reason: "unmounts what the policy relies on (the 32-bit entry's old umount)",
    });
    for &(syscall, reason) in DENIED_COMPAT {
        rules.push(Rule {
            syscall,
            when: When::Always,
            action: Action::Errno(libc::EPERM),
            entries: Entries::COMPAT,
            reason,
        });
    }
    for &(request, _, reason) in TERMINAL_IOCTLS {
        rules.push(eperm("ioctl", When::Arg(1, Cmp::MaskedEq { mask: IOCTL_REQUEST, value: request }), reason));
    }
    rules
}

/// The 32-bit entry's own calls that change the clock.
pub const DENIED_COMPAT: &[(&str, &str)] = &[
    ("stime", "sets the clock (the 32-bit entry's old call)"),
    ("clock_settime64", "sets the clock (the 32-bit entry's 64-bit-time call)"),
    ("clock_adjtime64", "steers a clock (the 32-bit entry's 64-bit-time call)"),
];

/// `ioctl` requests on a terminal that reach beyond the command.
pub const TERMINAL_IOCTLS: &[(u64, &str, &str)] = &[
    (0x5423, "TIOCSETD", "changes the terminal's line discipline, which stays changed for the shell after sbx ends"),
    (0x541d, "TIOCCONS", "redirects the console's output to this terminal (root)"),
    (0x5437, "TIOCVHANGUP", "hangs up the terminal of the shell that started sbx (root)"),
];

/// The rule table for `policy` with the mediation the enforcement plan
/// chose: the [`baseline`], the network rules, under --deny-write the
/// [`METADATA`] rules, inode flags and io_uring, then the process scope,
/// truncation and device ioctl rules. Without a supervisor (a kernel lacking
/// user notification, or an enclosing sandbox holding the listener), no call
/// is handed to one: `Net::Allow` must already have been narrowed to
/// `Net::Denied`.
pub fn rules(policy: &Policy, m: &Mediation) -> Vec<Rule> {
    let mut rules = baseline();
    network_rules(policy, m.sockets, &mut rules);
    if m.dns_sources && m.supervisor {
        dns_source_rules(&mut rules);
    }
    if policy.deny.write && (m.supervisor || m.outer.metadata) {
        // Delegated: the enclosing sbx's filter hands them to its supervisor.
        metadata_rules(m.supervisor, &mut rules);
    }
    if policy.deny.write {
        inode_flag_rules(&mut rules);
        if !policy.net.is_restricted() {
            io_uring_rules(
                "--deny-write: io_uring operations (setxattr, open with O_TRUNC, …) bypass seccomp",
                &mut rules,
            );
        }
    }
    if policy.deny.read && !m.outer.watches {
        watch_rules(m.watches, &mut rules);
    }
    process_rules(m, &mut rules);
    if m.truncate {
        truncate_rules(m.supervisor, &mut rules);
    }
    if m.random_ioctls {
        random_ioctl_rules(&mut rules);
    }
    if m.pty_peers {
        pty_peer_rules(&mut rules);
    }
    if m.supervisor {
        nested_rules(&mut rules);
    }
    if m.write_reports || m.protect {
        // Below Landlock ABI 3 truncate(2) goes to the supervisor already.
        write_report_rules(!m.truncate, &mut rules);
    }
    rules
}

/// inotify watches under --deny-read (Landlock does not check them): with a
/// supervisor, added by it where the command may read; without one, and on
/// the 32-bit entries, refused.
fn watch_rules(supervisor: bool, rules: &mut Vec<Rule>) {
    let why = "--deny-read: a watch reports the names of files in directories the command may not list";
    if supervisor {
        rules.push(Rule {
            syscall: "inotify_add_watch",
            when: When::Always,
            action: Action::Notify,
            entries: Entries::NATIVE,
            reason: why,
        });
    }
    let entries = if supervisor { Entries::X32.union(Entries::COMPAT) } else { Entries::ALL };
    rules.push(Rule {
        syscall: "inotify_add_watch",
        when: When::Always,
        action: Action::Errno(libc::EACCES),
        entries,
        reason: why,
    });
}

/// Calls that change another process named by pid, with the argument that
/// holds it: 0 there means the caller (and passes the filter); any other
/// target goes to the supervisor, or without one is refused.
pub const PID_TARGETED: &[(&str, &str)] = &[
    ("setpriority", "its nice value (which/who: PRIO_PROCESS 0 is the caller)"),
    ("ioprio_set", "its I/O priority (which/who: IOPRIO_WHO_PROCESS 0 is the caller)"),
    ("prlimit64", "its resource limits (reading them is not restricted)"),
    ("sched_setaffinity", "the CPUs it may run on"),
    ("sched_setscheduler", "its scheduling policy"),
    ("sched_setparam", "its scheduling priority"),
    ("sched_setattr", "its scheduling attributes"),
];

/// Signal calls, handed to the supervisor below Landlock ABI 6.
pub const SIGNAL_CALLS: &[&str] =
    &["kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal"];

/// Without a Landlock domain (ABI 0): ptrace-like calls, allowed on the
/// caller itself only (by the supervisor), or refused outright.
pub const PTRACE_SELF_ONLY: &[&str] =
    &["process_vm_readv", "process_vm_writev", "move_pages", "migrate_pages", "get_robust_list"];
pub const PTRACE_REFUSED: &[&str] = &["kcmp", "pidfd_getfd", "process_madvise"];

/// `fcntl` commands and `ioctl` requests that choose who gets SIGIO/SIGURG
/// (and any signal F_SETSIG picks) for a file.
const F_SETOWN: u64 = 8;
const F_SETOWN_EX: u64 = 15;
const FIOSETOWN: u64 = 0x8901;
const SIOCSPGRP: u64 = 0x8902;

fn process_rules(m: &Mediation, rules: &mut Vec<Rule>) {
    let notify = |syscall, when, entries, reason| Rule { syscall, when, action: Action::Notify, entries, reason };
    let eperm =
        |syscall, when, entries, reason| Rule { syscall, when, action: Action::Errno(libc::EPERM), entries, reason };
    // setpriority/ioprio_set: (which, who) other than (self kind, 0).
    // Delegated: the enclosing sbx's filter hands them to its supervisor.
    let delegated = !m.pid_calls_supervised && m.outer.pid_calls;
    let (action, reason) = if m.pid_calls_supervised {
        (Action::Notify, "process scope: a target other than the caller goes to the supervisor")
    } else {
        (Action::Errno(libc::EPERM), "process scope, no supervisor: only the caller itself")
    };
    let rule = |syscall, when| Rule { syscall, when, action, entries: Entries::ALL, reason };
    for &(syscall, _) in PID_TARGETED.iter().filter(|(s, _)| known(s) && !delegated) {
        match syscall {
            "setpriority" => {
                rules.push(rule(syscall, When::Arg(0, Cmp::Ne(0))));
                rules.push(rule(syscall, When::Arg(1, Cmp::Ne(0))));
            }
            "ioprio_set" => {
                rules.push(rule(syscall, When::Arg(0, Cmp::Ne(1))));
                rules.push(rule(syscall, When::Arg(1, Cmp::Ne(0))));
            }
            "prlimit64" => rules.push(rule(syscall, When::Both((0, Cmp::Ne(0)), (2, Cmp::Ne(0))))),
            _ => rules.push(rule(syscall, When::Arg(0, Cmp::Ne(0)))),
        }
    }
    if m.signals {
        let why = "process scope without Landlock ABI 6: signals reach only the sandbox's processes";
        for &syscall in SIGNAL_CALLS.iter().filter(|s| known(s)) {
            rules.push(notify(syscall, When::Always, Entries::ALL, why));
        }
        for cmd in [F_SETOWN, F_SETOWN_EX] {
            rules.push(notify("fcntl", When::Arg(1, Cmp::Eq(cmd)), Entries::ALL, why));
            rules.push(notify("fcntl64", When::Arg(1, Cmp::Eq(cmd)), Entries::COMPAT, why));
        }
        for request in [FIOSETOWN, SIOCSPGRP] {
            rules.push(notify(
                "ioctl",
                When::Arg(1, Cmp::MaskedEq { mask: IOCTL_REQUEST, value: request }),
                Entries::ALL,
                why,
            ));
        }
    }
    if m.ptrace_calls {
        let why = "no Landlock domain: ptrace-like calls only on the caller itself";
        for &syscall in PTRACE_SELF_ONLY.iter().filter(|s| known(s)) {
            let when = match syscall {
                "process_vm_readv" | "process_vm_writev" => When::Always,
                _ => When::Arg(0, Cmp::Ne(0)),
            };
            rules.push(if m.supervisor {
                notify(syscall, when, Entries::ALL, why)
            } else {
                eperm(syscall, when, Entries::ALL, why)
            });
        }
        for &syscall in PTRACE_REFUSED.iter().filter(|s| known(s)) {
            rules.push(eperm(syscall, When::Always, Entries::ALL, why));
        }
        for request in [PTRACE_ATTACH, PTRACE_SEIZE] {
            rules.push(eperm("ptrace", When::Arg(0, Cmp::Eq(request)), Entries::ALL, why));
        }
    }
}

const PTRACE_ATTACH: u64 = 16;
const PTRACE_SEIZE: u64 = 0x4206;

/// Truncation without Landlock's TRUNCATE right (ABI < 3, under
/// --deny-write): truncate(2) goes to the supervisor; a read-only open with
/// O_TRUNC — the one open that truncates without write access, which
/// Landlock's write right does not cover — fails with EACCES; openat2,
/// whose flags lie in memory, fails with ENOSYS (libc falls back to openat).
fn truncate_rules(own: bool, rules: &mut Vec<Rule>) {
    let truncating = Cmp::MaskedEq { mask: (libc::O_ACCMODE | libc::O_TRUNC) as u64, value: libc::O_TRUNC as u64 };
    let rule = |syscall, when, action, entries, reason| Rule { syscall, when, action, entries, reason };
    let eacces = Action::Errno(libc::EACCES);
    if own {
        rules.push(rule(
            "truncate",
            When::Always,
            Action::Notify,
            Entries::NATIVE,
            "--deny-write without Landlock TRUNCATE: the supervisor truncates inside the writable paths only",
        ));
    }
    for syscall in ["truncate", "truncate64"] {
        let entries = if syscall == "truncate" { Entries::X32.union(Entries::COMPAT) } else { Entries::COMPAT };
        rules.push(rule(
            syscall,
            When::Always,
            eacces,
            entries,
            "--deny-write: truncate of 32-bit programs is not mediated",
        ));
    }
    let why = "--deny-write without Landlock TRUNCATE: a read-only open with O_TRUNC truncates without write access";
    rules.push(rule("open", When::Arg(1, truncating), eacces, Entries::ALL, why));
    rules.push(rule("openat", When::Arg(2, truncating), eacces, Entries::ALL, why));
    rules.push(rule(
        "openat2",
        When::Always,
        Action::Errno(libc::ENOSYS),
        Entries::ALL,
        "--deny-write without Landlock TRUNCATE: openat2's flags lie in memory, out of seccomp's reach (ENOSYS: libc \
         falls back to openat)",
    ));
}

/// The random devices' own ioctl requests (`'R'`, numbers 0–31): below
/// Landlock ABI 5 under --deny-write `/dev/random` and `/dev/urandom` stay
/// openable (every program reads them), so their ioctls are refused by
/// request, with the errno Landlock gives (EACCES). The request is compared
/// on its type and number only (its low 16 bits, the direction and size bits
/// masked off).
const RANDOM_IOCTL: Cmp = Cmp::MaskedEq { mask: 0xffe0, value: 0x5200 };

fn random_ioctl_rules(rules: &mut Vec<Rule>) {
    rules.push(Rule {
        syscall: "ioctl",
        when: When::Arg(1, RANDOM_IOCTL),
        action: Action::Errno(libc::EACCES),
        entries: Entries::ALL,
        reason: "--deny-write without Landlock IOCTL_DEV: the random devices' ioctls (RNDGETENTCNT, RNDADDENTROPY, …)",
    });
}

fn io_uring_rules(reason: &'static str, rules: &mut Vec<Rule>) {
    for syscall in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
        rules.push(Rule {
            syscall,
            when: When::Always,
            action: Action::Errno(libc::EPERM),
            entries: Entries::ALL,
            reason,
        });
    }
}

/// What `sbx learn` observes on the native entry: file opens, execs,
/// directory changes and metadata writes (the accesses a profile's
/// Landlock rules and metadata checks decide), and the network calls.
pub const OBSERVED: &[&str] = &[
    "open",
    "openat",
    "openat2",
    "creat",
    "execve",
    "execveat",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "unlink",
    "unlinkat",
    "rmdir",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "truncate",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "connect",
    "bind",
    "sendto",
    "sendmsg",
    "sendmmsg",
];

/// The rule table of a learning run: the [`baseline`]; what every learned
/// profile refuses whatever it allows (it denies read, write and net):
/// sockets other than unix/inet/inet6 stream and datagram, io_uring,
/// chattr-style inode flags, the unmediated metadata calls — so the
/// learning run goes the way the run under the profile will; and every
/// [`OBSERVED`] call handed to the observer (which records it and lets it
/// continue: nothing is decided). `envp_address` is the environment array
/// of the child's own execve calls before the command runs: those are not
/// handed over (sbx cannot answer while it waits for that exec).
pub fn learn_rules(envp_address: u64) -> Vec<Rule> {
    const REASON: &str = "sbx learn: observed, then let through unchanged";
    let mut rules = baseline();
    socket_limits(&Net::Allow(Vec::new()), false, &mut rules);
    inode_flag_rules(&mut rules);
    refused_metadata_rules(&mut rules);
    for &syscall in OBSERVED.iter().filter(|s| known(s)) {
        let when = match syscall {
            "execve" => When::Arg(2, Cmp::Ne(envp_address)),
            // O_PATH opens reach no content: Landlock does not check them.
            "open" => When::Arg(1, Cmp::MaskedEq { mask: libc::O_PATH as u64, value: 0 }),
            "openat" => When::Arg(2, Cmp::MaskedEq { mask: libc::O_PATH as u64, value: 0 }),
            // Only sends with a destination: the rest go where a connect went.
            "sendto" => When::Arg(4, Cmp::Ne(0)),
            _ => When::Always,
        };
        rules.push(Rule { syscall, when, action: Action::Notify, entries: Entries::NATIVE, reason: REASON });
    }
    // A 32-bit program's calls are not observed; its opens and execs are
    // noticed, to say so.
    for syscall in ["open", "openat", "execve"] {
        rules.push(Rule {
            syscall,
            when: When::Always,
            action: Action::Notify,
            entries: Entries::X32.union(Entries::COMPAT),
            reason: "sbx learn: x32 and 32-bit programs are noticed, their calls not observed",
        });
    }
    rules
}

/// `ioctl` requests that change a file's inode flags or attributes
/// (`chattr`: append-only, immutable, no-atime, …), for 64-bit and 32-bit
/// callers (their `long` differs): the request is all there is to see, not
/// the file, so under --deny-write they are refused everywhere.
const INODE_FLAG_IOCTLS: &[(u64, &str)] = &[
    (0x4008_6602, "FS_IOC_SETFLAGS"),
    (0x4004_6602, "FS_IOC32_SETFLAGS"),
    (0x401c_5820, "FS_IOC_FSSETXATTR"),
    (0x4008_7602, "FS_IOC_SETVERSION"),
    (0x4004_7602, "FS_IOC32_SETVERSION"),
];

fn inode_flag_rules(rules: &mut Vec<Rule>) {
    for &(request, _) in INODE_FLAG_IOCTLS {
        rules.push(Rule {
            syscall: "ioctl",
            when: When::Arg(1, Cmp::MaskedEq { mask: IOCTL_REQUEST, value: request }),
            action: Action::Errno(libc::EPERM),
            entries: Entries::ALL,
            reason: "--deny-write: chattr-style inode flags (append-only, immutable, …) are set through ioctl on \
                     any open file, which seccomp cannot place: refused everywhere",
        });
    }
}

/// Metadata writes Landlock does not mediate: mode, owner, times, extended
/// attributes. Under --deny-write the supervisor performs them on the
/// command's behalf inside the writable trees only. Its notification table
/// is `(syscall, what it changes)`.
pub const METADATA: &[(&str, &str)] = &[
    ("chmod", "mode"),
    ("fchmod", "mode"),
    ("fchmodat", "mode"),
    ("fchmodat2", "mode"),
    ("chown", "owner"),
    ("fchown", "owner"),
    ("lchown", "owner"),
    ("fchownat", "owner"),
    ("utime", "times"),
    ("utimes", "times"),
    ("futimesat", "times"),
    ("utimensat", "times"),
    ("setxattr", "extended attributes"),
    ("lsetxattr", "extended attributes"),
    ("fsetxattr", "extended attributes"),
    ("removexattr", "extended attributes"),
    ("lremovexattr", "extended attributes"),
    ("fremovexattr", "extended attributes"),
];

/// Metadata calls the supervisor does not perform: refused (EPERM) on every
/// entry under --deny-write.
pub const METADATA_REFUSED: &[&str] = &["setxattrat", "removexattrat", "file_setattr"];

/// The 32-bit entry's own names for the owner calls.
const METADATA_COMPAT: &[&str] = &["chown32", "fchown32", "lchown32"];

/// Syscalls newer than some libseccomp releases, by native number (the
/// same on every architecture since the numbering was unified). Used when
/// libseccomp does not know the name, on the native entry; on the 32-bit
/// entries [`compat_prefix`] answers that whole range with ENOSYS.
pub const RAW_NUMBERS: &[(&str, i32)] =
    &[("fchmodat2", 452), ("setxattrat", 463), ("removexattrat", 466), ("open_tree_attr", 467), ("file_setattr", 469)];

/// The native number of `syscall`, by name or from [`RAW_NUMBERS`].
pub fn native_number(syscall: &str) -> Option<i32> {
    match ScmpSyscall::from_name(syscall) {
        Ok(nr) => Some(nr.as_raw_syscall()),
        Err(_) => raw_number(syscall),
    }
}

fn raw_number(syscall: &str) -> Option<i32> {
    RAW_NUMBERS.iter().find(|(n, _)| *n == syscall).map(|&(_, nr)| nr)
}

/// Whether the filter can name `syscall` on this system.
fn known(syscall: &str) -> bool {
    native_number(syscall).is_some()
}

fn metadata_rules(own: bool, rules: &mut Vec<Rule>) {
    let rule = |syscall, action, entries, reason| Rule { syscall, when: When::Always, action, entries, reason };
    for &(syscall, _) in METADATA.iter().filter(|(s, _)| known(s)) {
        if own {
            rules.push(rule(
                syscall,
                Action::Notify,
                Entries::NATIVE,
                "--deny-write: Landlock does not mediate metadata writes; the supervisor performs them inside the \
                 writable trees only",
            ));
        }
        rules.push(rule(
            syscall,
            Action::Errno(libc::EPERM),
            Entries::X32.union(Entries::COMPAT),
            "--deny-write: metadata writes of x32 and 32-bit programs are not mediated",
        ));
    }
    for &syscall in METADATA_COMPAT.iter().filter(|s| known(s)) {
        rules.push(rule(
            syscall,
            Action::Errno(libc::EPERM),
            Entries::COMPAT,
            "--deny-write: metadata writes of 32-bit programs are not mediated",
        ));
    }
    refused_metadata_rules(rules);
}

/// A new pseudo-terminal's slave, opened through its master: Landlock
/// checks that open against /dev/pts, which file restrictions keep closed
/// but for sbx's own terminals; the supervisor opens it.
fn pty_peer_rules(rules: &mut Vec<Rule>) {
    rules.push(Rule {
        syscall: "ioctl",
        when: When::Arg(1, Cmp::MaskedEq { mask: IOCTL_REQUEST, value: TIOCGPTPEER }),
        action: Action::Notify,
        entries: Entries::NATIVE,
        reason: "the slave of a pseudo-terminal the command made is opened by the supervisor (other sessions' \
                 terminals stay closed)",
    });
}

/// Under --deny-write: the calls that intend to write go to the supervisor,
/// which names those the sandbox refuses; each continues as made (Landlock
/// decides). `open`/`openat` only with a write, create or truncate flag.
fn write_report_rules(truncate: bool, rules: &mut Vec<Rule>) {
    let why = "--deny-write: the supervisor names the writes the sandbox refuses (Landlock refuses them)";
    let notify = |syscall, when| Rule { syscall, when, action: Action::Notify, entries: Entries::NATIVE, reason: why };
    let names = super::mediate::WRITE_INTENT.iter().map(|&(name, _)| name);
    for name in names.filter(|s| known(s) && (truncate || *s != "truncate")) {
        match name {
            "open" | "openat" => {
                let arg = if name == "open" { 1 } else { 2 };
                for flag in super::mediate::WRITE_FLAGS {
                    rules.push(notify(name, When::Arg(arg, Cmp::MaskedEq { mask: flag, value: flag })));
                }
            }
            _ => rules.push(notify(name, When::Always)),
        }
    }
}

/// An sbx inside the sandbox asking this one's supervisor to decide for its
/// sandbox too (see `nested`): two ioctl requests no driver answers.
fn nested_rules(rules: &mut Vec<Rule>) {
    for request in [super::nested::REGISTER, super::nested::DONE] {
        rules.push(Rule {
            syscall: "ioctl",
            when: When::Arg(1, Cmp::MaskedEq { mask: IOCTL_REQUEST, value: request }),
            action: Action::Notify,
            entries: Entries::NATIVE,
            reason: "an sbx inside the sandbox asks this supervisor to decide for its sandbox too",
        });
    }
}

/// `ioctl(master, TIOCGPTPEER, flags)`: opens a pseudo-terminal's slave.
pub const TIOCGPTPEER: u64 = 0x5441;

/// [`METADATA_REFUSED`]: refused everywhere under --deny-write (and while
/// learning, as under the learned profile).
fn refused_metadata_rules(rules: &mut Vec<Rule>) {
    for &syscall in METADATA_REFUSED.iter().filter(|s| known(s)) {
        rules.push(Rule {
            syscall,
            when: When::Always,
            action: Action::Errno(libc::EPERM),
            entries: Entries::ALL,
            reason: "--deny-write: a metadata write the supervisor does not mediate",
        });
    }
}

/// Socket options that route packets past their destination address:
/// IPv4 source routing (`IP_OPTIONS`), the IPv6 routing header (also the old
/// RFC 2292 one and its "packet options" buffer, which can carry one) and the
/// IPv6 next hop. Refused by (level, option) under `--allow-net`.
pub const ROUTING_OPTIONS: &[(i32, i32, &str)] = &[
    (libc::IPPROTO_IP, libc::IP_OPTIONS, "IP_OPTIONS"),
    (libc::IPPROTO_IPV6, super::notify::IPV6_RTHDR, "IPV6_RTHDR"),
    (libc::IPPROTO_IPV6, super::notify::IPV6_2292RTHDR, "IPV6_2292RTHDR"),
    (libc::IPPROTO_IPV6, super::notify::IPV6_2292PKTOPTIONS, "IPV6_2292PKTOPTIONS"),
    (libc::IPPROTO_IPV6, super::notify::IPV6_NEXTHOP, "IPV6_NEXTHOP"),
];

/// The socket limits of `net` (families, types, protocols; socket pairs;
/// io_uring, whose socket operations seccomp cannot see); whether `net` is
/// restricted at all. `supervised`: sbx's supervisor performs the command's
/// network calls (it can take its sockets).
fn socket_limits(net: &Net, supervised: bool, rules: &mut Vec<Rule>) -> bool {
    let af_unix = libc::AF_UNIX as u64;
    let deny =
        |syscall, when, entries, reason| Rule { syscall, when, action: Action::Errno(libc::EPERM), entries, reason };
    match net {
        Net::Unrestricted => return false,
        Net::Denied if supervised => deny_net_named(rules),
        Net::Denied => {
            rules.push(deny(
                "socket",
                When::Arg(0, Cmp::Ne(af_unix)),
                Entries::ALL,
                "--deny-net: only unix sockets (inet, inet6, packet, netlink, vsock, … denied; MPTCP is inet)",
            ));
        }
        Net::Allow(_) => {
            routing_rules("--allow-net: source routing and next hops send packets past the checked destination", rules);
            let reason =
                "--allow-net: only unix/inet/inet6 stream and datagram sockets with the default, TCP or UDP protocol";
            for when in outside(0, FAMILIES, 10, u64::MAX) {
                rules.push(deny("socket", when, Entries::ALL, reason));
            }
            for when in outside(1, TYPES, 15, 0xf) {
                rules.push(deny("socket", when, Entries::ALL, reason));
            }
            for when in outside(2, PROTOCOLS, 17, u64::MAX) {
                rules.push(deny("socket", when, Entries::ALL, reason));
            }
        }
    }
    rules.push(deny("socketpair", When::Arg(0, Cmp::Ne(af_unix)), Entries::ALL, "no network: only unix socket pairs"));
    io_uring_rules("io_uring operations (sockets, setxattr, open with O_TRUNC, …) bypass seccomp", rules);
    true
}

/// `--deny-net` with sbx's supervisor: UDP sockets may be made, so that a
/// name lookup reaches sbx's DNS filter, which answers NXDOMAIN for every
/// name and names it ("blocked DNS lookup of HOST — allow with
/// --allow-net=HOST"); every connect, bind and send of them is refused by
/// the supervisor (the lookup's connect goes to sbx's own proxy). Every
/// inet socket() goes to the supervisor, which lets UDP ones be made and
/// names and refuses the rest (EPERM); other families are refused outright,
/// as are 32-bit programs' sockets and source routing.
fn deny_net_named(rules: &mut Vec<Rule>) {
    let reason = "--deny-net: only unix sockets, and UDP sockets whose every use the supervisor refuses \
                  (DNS lookups are answered NXDOMAIN by sbx and named)";
    let rule = |when, action, entries| Rule { syscall: "socket", when, action, entries, reason };
    for when in outside(0, FAMILIES, 10, u64::MAX) {
        rules.push(rule(when, Action::Errno(libc::EPERM), Entries::ALL));
    }
    // Two rules, not one per type and protocol block: the filter is
    // compiled on every run, and a socket() round trip costs less than its
    // rules would. The supervisor decides on the registers, which the
    // continued call uses as they were.
    for family in [libc::AF_INET as u64, libc::AF_INET6 as u64] {
        rules.push(rule(When::Arg(0, Cmp::Eq(family)), Action::Notify, Entries::NATIVE));
    }
    rules.push(rule(
        When::Arg(0, Cmp::Ne(libc::AF_UNIX as u64)),
        Action::Errno(libc::EPERM),
        Entries::X32.union(Entries::COMPAT),
    ));
    routing_rules("--deny-net: source routing and next hops send packets past the checked destination", rules);
}

/// The [`ROUTING_OPTIONS`], refused (EPERM) on every entry.
fn routing_rules(reason: &'static str, rules: &mut Vec<Rule>) {
    for &(level, option, _) in ROUTING_OPTIONS {
        rules.push(Rule {
            syscall: "setsockopt",
            when: When::Both((1, Cmp::Eq(level as u64)), (2, Cmp::Eq(option as u64))),
            action: Action::Errno(libc::EPERM),
            entries: Entries::ALL,
            reason,
        });
    }
}

fn network_rules(policy: &Policy, supervisor: bool, rules: &mut Vec<Rule>) {
    if !socket_limits(&policy.net, supervisor, rules) || !supervisor {
        return;
    }
    let deny =
        |syscall, when, entries, reason| Rule { syscall, when, action: Action::Errno(libc::EPERM), entries, reason };
    let notify = |syscall, when, entries, reason| Rule { syscall, when, action: Action::Notify, entries, reason };
    let why = "the supervisor checks the destination on its own copy and performs the call";
    rules.push(notify("connect", When::Always, Entries::NATIVE_X32, why));
    rules.push(notify(
        "bind",
        When::Always,
        Entries::NATIVE_X32,
        "the supervisor checks the address, binds, records unix sockets",
    ));
    rules.push(notify("sendto", When::Arg(4, Cmp::Ne(0)), Entries::NATIVE_X32, why));
    rules.push(notify("sendmsg", When::Always, Entries::NATIVE, why));
    rules.push(notify("sendmmsg", When::Always, Entries::NATIVE, why));
    for syscall in ["sendmsg", "sendmmsg"] {
        rules.push(deny(syscall, When::Always, Entries::X32, "x32 message headers are not mediated"));
    }
    for syscall in ["connect", "bind", "sendto", "sendmsg", "sendmmsg", "socketcall"] {
        rules.push(deny(syscall, When::Always, Entries::COMPAT, "32-bit programs get no mediated network"));
    }
}

/// With sbx's DNS filter: the calls that tell where a socket's data comes
/// from, so that a socket sbx connected to its DNS proxy reports the
/// nameserver the command asked for. `recvfrom` only with a source address
/// argument (a stream's reads pass NULL: unmediated); not recvmsg/recvmmsg,
/// whose address lies in memory the filter cannot see (every one of them
/// would come to the supervisor; see docs/dns.md). Native entry only: other
/// entries' connects are refused, so no socket of theirs is redirected.
fn dns_source_rules(rules: &mut Vec<Rule>) {
    let reason = "DNS filter: a socket sbx connected to its proxy reports the nameserver as its peer and source";
    for (syscall, when) in [("getpeername", When::Always), ("recvfrom", When::Arg(4, Cmp::Ne(0)))] {
        rules.push(Rule { syscall, when, action: Action::Notify, entries: Entries::NATIVE, reason });
    }
}

/// Whether the filter hands calls to a supervisor (and so needs a listener).
pub fn needs_supervisor(rules: &[Rule]) -> bool {
    rules.iter().any(|r| r.action == Action::Notify)
}

fn compare(n: u32, cmp: Cmp) -> ScmpArgCompare {
    match cmp {
        Cmp::Eq(v) => ScmpArgCompare::new(n, ScmpCompareOp::Equal, v),
        Cmp::Ne(v) => ScmpArgCompare::new(n, ScmpCompareOp::NotEqual, v),
        Cmp::Gt(v) => ScmpArgCompare::new(n, ScmpCompareOp::Greater, v),
        Cmp::MaskedEq { mask, value } => ScmpArgCompare::new(n, ScmpCompareOp::MaskedEqual(mask), value),
    }
}

/// A filter context for one entry, with the rules that apply to it.
fn entry_filter(arch: Option<ScmpArch>, entry: Entry, rules: &[Rule]) -> Result<ScmpFilterContext> {
    let mut filter = ScmpFilterContext::new(ScmpAction::Allow).context("seccomp: creating a filter")?;
    if let Some(arch) = arch {
        filter.add_arch(arch).with_context(|| format!("seccomp: adding architecture {arch:?}"))?;
        filter.remove_arch(ScmpArch::Native).context("seccomp: removing the native architecture")?;
    }
    filter.set_act_badarch(ScmpAction::KillProcess).context("seccomp: setting the bad-architecture action")?;
    // sbx sets no_new_privs itself, before Landlock.
    filter.set_ctl_nnp(false).context("seccomp: leaving no_new_privs to sbx")?;
    for rule in rules.iter().filter(|r| r.entries.contains(entry)) {
        let action = match rule.action {
            Action::Errno(errno) => ScmpAction::Errno(errno),
            Action::Notify => ScmpAction::Notify,
        };
        let added = match (ScmpSyscall::from_name(rule.syscall), raw_number(rule.syscall)) {
            (Ok(syscall), _) => match rule.when {
                When::Always => filter.add_rule(action, syscall),
                When::Arg(n, cmp) => filter.add_rule_conditional(action, syscall, &[compare(n, cmp)]),
                When::Both((n, a), (m, b)) => {
                    filter.add_rule_conditional(action, syscall, &[compare(n, a), compare(m, b)])
                }
            },
            // A syscall this libseccomp does not know: its native number as
            // is. libseccomp cannot place such a number on the other
            // entries: there `compat_prefix` refuses the whole range.
            (Err(_), Some(nr)) if entry == Entry::Native => match rule.when {
                When::Always => filter.add_rule_exact(action, ScmpSyscall::from(nr)),
                When::Arg(n, cmp) => {
                    filter.add_rule_conditional_exact(action, ScmpSyscall::from(nr), &[compare(n, cmp)])
                }
                When::Both((n, a), (m, b)) => {
                    filter.add_rule_conditional_exact(action, ScmpSyscall::from(nr), &[compare(n, a), compare(m, b)])
                }
            },
            (Err(_), Some(_)) => {
                tracing::debug!(
                    "seccomp: libseccomp does not know {} on the {entry:?} entry: the compat prefix answers ENOSYS",
                    rule.syscall
                );
                continue;
            }
            (Err(err), None) => {
                return Err(anyhow!(err))
                    .with_context(|| format!("seccomp: libseccomp does not know the syscall {}", rule.syscall));
            }
        };
        added.with_context(|| format!("seccomp: adding rule {rule} for the {entry:?} entry"))?;
    }
    Ok(filter)
}

/// Builds the libseccomp filter for `rules`, one sub-filter per entry merged
/// into one. On the i386 entry, libseccomp turns `socket`/`socketpair` rules
/// into a check of `socketcall(SYS_SOCKET|SYS_SOCKETPAIR)` as a whole, since
/// the arguments sit in memory there and cannot be checked.
fn filter(rules: &[Rule]) -> Result<ScmpFilterContext> {
    let mut filter = entry_filter(None, Entry::Native, rules)?;
    for &(arch, entry) in EXTRA_ARCHES {
        let extra = entry_filter(Some(arch), entry, rules)?;
        filter.merge(extra).with_context(|| format!("seccomp: merging the {arch:?} filter"))?;
    }
    Ok(filter)
}

/// Compiles `rules` into a BPF program; `None` for an empty table (never
/// for a policy's table: the baseline is always there).
pub fn compile(rules: &[Rule]) -> Result<Option<BpfProgram>> {
    if rules.is_empty() {
        return Ok(None);
    }
    let filter = filter(rules)?;
    let memfd = sys::memfd(c"sbx-seccomp").context("seccomp: creating a buffer for the filter")?;
    filter.export_bpf(&memfd).context("seccomp: exporting the filter")?;
    let mut bytes = compat_prefix();
    bytes.extend(read_back(memfd)?);
    BpfProgram::from_bytes(&bytes)
        .map(Some)
        .ok_or_else(|| anyhow!("seccomp: libseccomp exported a malformed filter ({} bytes)", bytes.len()))
}

/// The first syscall number libseccomp 2.5.4 does not know on the i386 and
/// x32 entries (`fchmodat2`, then the calls of Linux 6.6 and later), and the
/// first x32-only number (x32's own `rt_sigaction` and the like).
const FIRST_UNKNOWN_COMPAT: u32 = 452;
const FIRST_X32_ONLY: u32 = 512;
const X32_BIT: u32 = 0x4000_0000;

/// A few classic-BPF instructions run before libseccomp's program: on the
/// i386 entry every syscall numbered from [`FIRST_UNKNOWN_COMPAT`] up, and on
/// the x32 entry those up to the x32-only range, fail with ENOSYS. The rule
/// table names calls of that range (fchmodat2, open_tree_attr, setxattrat, …)
/// that libseccomp cannot place on those entries, so without this prefix a
/// 32-bit call (or `int 0x80` from a 64-bit program) would pass unfiltered.
/// ENOSYS is what an older kernel answers: libc falls back where it can.
#[cfg(target_arch = "x86_64")]
fn compat_prefix() -> Vec<u8> {
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const NR: u32 = 0; // offsetof(struct seccomp_data, nr)
    const ARCH: u32 = 4; // offsetof(struct seccomp_data, arch)
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    let enosys = 0x0005_0000 | libc::ENOSYS as u32; // SECCOMP_RET_ERRNO | ENOSYS
    // (code, jt, jf, k); jumps count from the next instruction.
    let program: [(u16, u8, u8, u32); 11] = [
        (LD_W_ABS, 0, 0, ARCH),                        // 0
        (JEQ_K, 0, 3, AUDIT_ARCH_I386),                // 1: i386 → 2, else → 5
        (LD_W_ABS, 0, 0, NR),                          // 2
        (JGE_K, 0, 1, FIRST_UNKNOWN_COMPAT),           // 3: ≥ → 4, else → 5
        (RET_K, 0, 0, enosys),                         // 4
        (LD_W_ABS, 0, 0, ARCH),                        // 5
        (JEQ_K, 0, 4, AUDIT_ARCH_X86_64),              // 6: x86_64 → 7, else → 11
        (LD_W_ABS, 0, 0, NR),                          // 7
        (JGE_K, 0, 2, X32_BIT | FIRST_UNKNOWN_COMPAT), // 8: ≥ → 9, else → 11
        (JGE_K, 1, 0, X32_BIT | FIRST_X32_ONLY),       // 9: x32-only → 11, else → 10
        (RET_K, 0, 0, enosys),                         // 10; 11 is libseccomp's program
    ];
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for (code, jt, jf, k) in program {
        bytes.extend_from_slice(&code.to_ne_bytes());
        bytes.push(jt);
        bytes.push(jf);
        bytes.extend_from_slice(&k.to_ne_bytes());
    }
    bytes
}

#[cfg(not(target_arch = "x86_64"))]
fn compat_prefix() -> Vec<u8> {
    Vec::new()
}

/// The filter for `rules` in libseccomp's readable pseudo-code (PFC).
pub fn pseudo_code(rules: &[Rule]) -> Result<String> {
    let filter = filter(rules)?;
    let memfd = sys::memfd(c"sbx-seccomp-pfc").context("seccomp: creating a buffer for the filter")?;
    filter.export_pfc(&memfd).context("seccomp: exporting the filter as text")?;
    Ok(String::from_utf8_lossy(&read_back(memfd)?).into_owned())
}

fn read_back(memfd: std::os::fd::OwnedFd) -> Result<Vec<u8>> {
    let mut file = std::fs::File::from(memfd);
    file.seek(SeekFrom::Start(0)).context("seccomp: reading the filter back")?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).context("seccomp: reading the filter back")?;
    Ok(bytes)
}

#[cfg(test)]
mod tests;

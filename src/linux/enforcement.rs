//! What this kernel enforces of a policy, and with what: a Landlock right
//! where the kernel's ABI has it, else sbx's seccomp filter and supervisor
//! where they can soundly stand in, else nothing — a gap, which a run
//! refuses unless `--best-effort`. One pure decision ([`plan`]) that a run,
//! `--explain` and `--doctor` share, so what they say is what a run does.

use super::landlock::{self, ABSTRACT_SOCKETS, Choices, DEVICE_IOCTL, LandlockPlan, SIGNALS, TRUNCATING};
use super::nested::Covers;
use crate::policy::{Kind, Net, Policy, Source};

/// The effect of a missing TRUNCATE right, and the rest as the Landlock plan names them.
pub use super::landlock::{ABSTRACT_SOCKETS as ABSTRACT, SIGNALS as SIGNAL_SCOPE};

/// What sbx found out about the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// The Landlock ABI (0: none).
    pub abi: u8,
    /// Why no seccomp supervisor can run here (`None`: one can).
    pub no_supervisor: Option<String>,
    /// Why the supervisor cannot take the command's file descriptors
    /// (pidfd_getfd) here — a container's seccomp profile, mostly — though
    /// it can reach the files behind them through /proc (`None`: it can).
    /// Without, it can mediate what acts on files (metadata, truncation)
    /// but not what must act on the command's sockets, inotify instances or
    /// pseudo-terminal masters themselves.
    pub no_fd_taking: Option<String>,
    /// Without a supervisor of its own: what the enclosing sbx's supervisor
    /// decides for this sandbox (a delegation, see [`super::nested`]).
    pub delegated: Option<Covers>,
}

impl Kernel {
    fn supervisor(&self) -> bool {
        self.no_supervisor.is_none()
    }

    /// Whether the supervisor can act on the command's own descriptions.
    fn takes_fds(&self) -> bool {
        self.supervisor() && self.no_fd_taking.is_none()
    }

    /// Why the supervisor cannot act on the command's sockets, with the fix.
    fn why_no_sockets(&self) -> String {
        match (&self.no_supervisor, &self.no_fd_taking) {
            (Some(why), _) => format!("the network supervisor, but {why}"),
            (None, Some(why)) => format!(
                "sbx's supervisor making those calls on the command's sockets, which needs pidfd_getfd, but {why}"
            ),
            (None, None) => String::new(),
        }
    }
}

/// Which calls the seccomp filter hands to sbx's supervisor, or refuses,
/// beyond the baseline and the network and metadata rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mediation {
    /// A listener is installed and sbx supervises the command.
    pub supervisor: bool,
    /// What the enclosing sbx's supervisor decides for this sandbox (all
    /// false when it has its own): those calls must pass this filter.
    pub outer: Covers,
    /// Signals (kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo,
    /// pidfd_send_signal) and signal owners (F_SETOWN, FIOSETOWN,
    /// SIOCSPGRP) go to the supervisor, which lets them reach only the
    /// sandbox's processes: below Landlock ABI 6.
    pub signals: bool,
    /// Calls that change another process by pid (priority, I/O priority,
    /// limits, scheduling): with a supervisor, any target other than the
    /// caller goes to it; without, seccomp refuses any such target.
    pub pid_calls_supervised: bool,
    /// No Landlock domain (ABI 0): the ptrace-like calls (ptrace attach,
    /// process_vm_readv/writev, kcmp, pidfd_getfd, process_madvise,
    /// move_pages, migrate_pages, get_robust_list) are limited to the
    /// caller itself by the filter and the supervisor.
    pub ptrace_calls: bool,
    /// Truncation under --deny-write without Landlock's TRUNCATE right:
    /// truncate(2) goes to the supervisor, which performs it inside the
    /// writable paths only; a read-only open with O_TRUNC fails with
    /// EACCES; openat2 (whose flags seccomp cannot see) fails with ENOSYS,
    /// so libc falls back to openat.
    pub truncate: bool,
    /// Below ABI 6 under --deny-net: the supervisor lets connects and sends
    /// reach only abstract unix sockets bound inside the sandbox.
    pub abstract_sockets: bool,
    /// Below ABI 5 under --deny-write: the random devices stay readable, so
    /// their ioctls are refused by request.
    pub random_ioctls: bool,
    /// Under a file restriction, where /dev/pts holds only sbx's own
    /// terminals: the slave of a pseudo-terminal the command made is opened
    /// by the supervisor through its master (TIOCGPTPEER).
    pub pty_peers: bool,
    /// The network rules' calls on the command's sockets (connect, bind,
    /// sends) go to the supervisor, which performs them on its duplicate.
    pub sockets: bool,
    /// With `sockets`, while sbx's DNS filter runs (which depends on
    /// /etc/resolv.conf too, so the caller sets it): `getpeername`, and
    /// `recvfrom` with a source address argument, go to the supervisor,
    /// which answers them with the nameserver's address on the sockets it
    /// connected to its DNS proxy instead.
    pub dns_sources: bool,
    /// Under --deny-read: inotify watches go to the supervisor, which adds
    /// them to the command's instance where it may read.
    pub watches: bool,
    /// Under --deny-write (without -q): the calls that intend to write go to
    /// the supervisor, which names those the sandbox refuses and lets every
    /// one continue (Landlock decides).
    pub write_reports: bool,
    /// Under --deny-write with protected paths (see `policy::protect`):
    /// the calls that intend to write go to the supervisor, which performs
    /// those in the trees that hold a protected path (Landlock keeps them
    /// read-only to the command) and refuses those reaching one.
    pub protect: bool,
}

/// How one restriction is enforced here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    /// Enforced; the text names the mechanism.
    Enforced(String),
    /// Not enforced: a run refuses it unless --best-effort. The text says
    /// what enforcing it needs.
    Gap(String),
    /// Not enforced, and not part of what the policy asks for: said, never
    /// refused. The text says why.
    Open(String),
}

/// One restriction and how this kernel enforces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    /// The restriction, by what it keeps the command from doing.
    pub what: String,
    /// The restriction it belongs to (`None`: every run).
    pub kind: Option<Kind>,
    pub by: By,
}

/// The enforcement plan of a policy on a kernel.
#[derive(Debug, Clone)]
pub struct Plan {
    pub landlock: LandlockPlan,
    pub mediation: Mediation,
    /// Every restriction of the policy (and of every run), and how it is enforced.
    pub covered: Vec<Covered>,
}

impl Plan {
    /// What stays possible that the policy asks to prevent: (what, what it needs).
    pub fn gaps(&self) -> impl Iterator<Item = (&str, &str)> {
        self.covered.iter().filter_map(|c| match &c.by {
            By::Gap(needs) => Some((c.what.as_str(), needs.as_str())),
            _ => None,
        })
    }
}

fn needs_abi(abi: u8) -> String {
    format!("Landlock ABI {abi} (Linux {})", landlock::linux_version_of(abi))
}

/// What `policy` gets on `kernel`.
pub fn plan(policy: &Policy, kernel: &Kernel) -> Plan {
    let abi = kernel.abi.min(7);
    let sup = kernel.supervisor();
    let take = kernel.takes_fds();
    let outer = if sup { Covers::default() } else { kernel.delegated.unwrap_or_default() };
    let delegated = |covered: bool| covered.then(|| By::Enforced(outer.how()));
    let why_not = kernel.no_supervisor.clone().unwrap_or_default();
    let why_no_sockets = kernel.why_no_sockets();
    let restricted = policy.net.is_restricted();
    let write = policy.deny.write;
    // Truncation: Landlock's right where the ABI has it; below ABI 3 the
    // supervisor and the filter.
    let truncate = write && (1..3).contains(&abi) && (sup || outer.truncate);
    let landlock = landlock::plan(policy, abi, Choices { truncate_elsewhere: truncate });
    let mediation = Mediation {
        supervisor: sup,
        outer,
        signals: abi < 6 && sup,
        pid_calls_supervised: sup,
        ptrace_calls: abi == 0,
        truncate,
        abstract_sockets: abi < 6 && restricted && take,
        random_ioctls: write && abi < 5,
        pty_peers: policy.deny.fs() && abi >= 1 && take,
        sockets: restricted && take,
        dns_sources: false,
        watches: policy.deny.read && take,
        write_reports: write && sup && abi >= 1 && !policy.quiet,
        protect: write && sup && abi >= 1 && !policy.protection.is_empty(),
    };

    let mut covered = Vec::new();
    let mut add = |what: &str, kind: Option<Kind>, by: By| covered.push(Covered { what: what.to_owned(), kind, by });
    let ll = |name: &str, abi: u8| By::Enforced(format!("Landlock {name} (ABI {abi})"));
    let supervisor = |how: &str| By::Enforced(format!("sbx's supervisor: {how}"));
    let or_supervisor = |needs: u8| By::Gap(format!("{}, or sbx's supervisor, but {why_not}", needs_abi(needs)));

    // Files. Without Landlock every file right is a gap of its own.
    if abi == 0 {
        for u in landlock.unenforced.iter().filter(|u| u.what != SIGNALS && u.what != ABSTRACT_SOCKETS) {
            let read = ["reading", "listing", "executing"].iter().any(|w| u.what.starts_with(w));
            add(&u.what, Some(if read { Kind::Read } else { Kind::Write }), By::Gap(needs_abi(u.needs_abi)));
        }
    } else {
        if !policy.hidden.is_empty() {
            add(
                HIDING,
                Some(Kind::Read),
                By::Enforced(
                    "Landlock file rights (ABI 1): every rule above a hidden path split around it, its rights \
                     granted on each entry beside the way there"
                        .into(),
                ),
            );
        }
        if policy.deny.read {
            add(READING, Some(Kind::Read), ll("file rights", 1));
            add(
                WATCHING,
                Some(Kind::Read),
                if take {
                    supervisor("an inotify watch is added only where the command may read")
                } else if let Some(by) = delegated(outer.watches) {
                    by
                } else {
                    By::Enforced(format!(
                        "seccomp refuses inotify watches (EACCES, stricter: adding one for the command takes its \
                         inotify descriptor, {})",
                        if sup {
                            "which pidfd_getfd would do, refused here"
                        } else {
                            "and there is no supervisor here"
                        }
                    ))
                },
            );
        }
        if write {
            add(WRITING, Some(Kind::Write), ll("file rights", 1));
            if !policy.protection.is_empty() {
                let explicit = policy.protection.protected.iter().any(|p| !matches!(p.source, Source::Default(_)));
                add(
                    PROTECTED,
                    Some(Kind::Write),
                    if mediation.protect {
                        supervisor(
                            "the trees that hold a protected path are read-only to the command (Landlock); sbx \
                             performs its writes there and refuses those that reach a protected path",
                        )
                    } else if explicit {
                        By::Gap(format!("sbx's supervisor, but {why_not}"))
                    } else {
                        By::Open(format!(
                            "the project's files that run code stay writable: protecting them needs sbx's \
                             supervisor, but {why_not}"
                        ))
                    },
                );
            }
            add(
                RENAMING,
                Some(Kind::Write),
                if abi >= 2 {
                    ll("REFER", 2)
                } else {
                    By::Enforced("refused outright below Landlock ABI 2 (EXDEV), inside the writable paths too".into())
                },
            );
            add(
                TRUNCATING,
                Some(Kind::Write),
                if abi >= 3 {
                    ll("TRUNCATE", 3)
                } else if truncate && !sup {
                    By::Enforced(format!(
                        "{}: truncate(2) inside the writable paths only; this filter refuses read-only opens with \
                         O_TRUNC (EACCES) and openat2 (ENOSYS)",
                        outer.how()
                    ))
                } else if truncate {
                    supervisor(
                        "truncate(2) is performed inside the writable paths only; seccomp refuses read-only opens \
                         with O_TRUNC (EACCES) and openat2 (ENOSYS: libc falls back to openat)",
                    )
                } else {
                    or_supervisor(3)
                },
            );
            add(
                DEVICE_IOCTL,
                Some(Kind::Write),
                if abi >= 5 {
                    ll("IOCTL_DEV", 5)
                } else {
                    By::Enforced(
                        "Landlock READ_FILE (ABI 1): device files outside the write defaults cannot be opened at \
                         all; seccomp refuses the ioctls of the random devices, which stay readable"
                            .into(),
                    )
                },
            );
        }
        if policy.deny.fs() {
            add(DEVICE_NODES, Some(if write { Kind::Write } else { Kind::Read }), ll("MAKE_CHAR, MAKE_BLOCK", 1));
        }
    }
    if write {
        add(
            IO_URING,
            Some(Kind::Write),
            By::Enforced("seccomp refuses io_uring (its operations run where seccomp cannot see them)".into()),
        );
        if abi >= 1 && write {
            add(
                TERMINALS,
                Some(Kind::Write),
                By::Enforced(if take || outer.pty_peers {
                    "Landlock (ABI 1): /dev/pts holds sbx's own terminals only; the slave of a new pseudo-terminal \
                     is opened by sbx's supervisor (TIOCGPTPEER)"
                        .into()
                } else {
                    format!(
                        "Landlock (ABI 1): /dev/pts holds sbx's own terminals only (stricter: a new pseudo-terminal's \
                         slave cannot be opened — opening it for the command takes its master descriptor, {}; \
                         --allow-write=/dev/pts allows it)",
                        if sup {
                            "which pidfd_getfd would do, refused here"
                        } else {
                            "and there is no supervisor here"
                        }
                    )
                }),
            );
        }
        add(
            METADATA,
            Some(Kind::Write),
            if sup {
                supervisor("chmod, chown, utimes and xattr calls are performed inside the writable paths only")
            } else if let Some(by) = delegated(outer.metadata) {
                by
            } else {
                By::Gap(format!("the supervisor, but {why_not}"))
            },
        );
    }

    // Network.
    if restricted {
        add(IP_SOCKETS, Some(Kind::Net), By::Enforced("seccomp (socket families, types and protocols)".into()));
        let take = take || outer.sockets;
        match (&policy.net, take) {
            (Net::Allow(_), true) if !sup => {
                add(ALLOW_LIST, Some(Kind::Net), By::Enforced(outer.how()));
                if !policy.net.name_rules().is_empty() {
                    add(
                        NAMES_NESTED,
                        Some(Kind::Net),
                        By::Gap(
                            "a DNS filter of this sbx's own, but the enclosing sbx's filter decides which names \
                             resolve (give the names to the outer sbx and addresses to this one; with \
                             --best-effort the names here reach nothing)"
                                .into(),
                        ),
                    );
                }
            }
            (Net::Allow(_), true) => add(
                ALLOW_LIST,
                Some(Kind::Net),
                supervisor(
                    "connect, bind and sends are checked on its own copy of the address and performed by sbx; \
                     source routing (IP options, IPv6 routing headers, next hops) is refused",
                ),
            ),
            (Net::Allow(_), false) => {
                add(ALLOW_LIST_LOST, Some(Kind::Net), By::Gap(why_no_sockets.clone()));
            }
            _ => {}
        }
        add(
            UNIX_OUTSIDE,
            Some(Kind::Net),
            if take && !sup {
                By::Enforced(outer.how())
            } else if take {
                supervisor("a pathname socket is reached only if bound inside the sandbox or given to --allow-unix")
            } else {
                By::Gap(why_no_sockets.clone())
            },
        );
        // Sockets made outside and inherited: seccomp's socket() rule never
        // saw them, so their connects, binds and sends are the supervisor's
        // to refuse, and Landlock's for TCP from ABI 4.
        if !take {
            let (what, by) = if abi >= 4 {
                (INHERITED_UDP, By::Gap(why_no_sockets.clone()))
            } else {
                (INHERITED_INET, By::Gap(format!("{} for TCP, and {why_no_sockets}", needs_abi(4))))
            };
            add(what, Some(Kind::Net), by);
        }
        add(
            TCP_LAYER,
            Some(Kind::Net),
            if abi >= 4 {
                ll("BIND_TCP, CONNECT_TCP", 4)
            } else {
                By::Open(format!(
                    "{} adds it; seccomp and the supervisor enforce the network rules without it",
                    needs_abi(4)
                ))
            },
        );
        add(
            ABSTRACT_SOCKETS,
            Some(Kind::Net),
            if abi >= 6 {
                ll("abstract unix socket scope", 6)
            } else if take && sup {
                supervisor("connects and sends reach only abstract sockets bound inside the sandbox")
            } else if let Some(by) = delegated(outer.abstract_sockets) {
                by
            } else if sup {
                By::Gap(format!("{}, or {why_no_sockets}", needs_abi(6)))
            } else {
                or_supervisor(6)
            },
        );
    }

    // Environment.
    if policy.deny.env {
        add(
            PROC_ENVIRON,
            Some(Kind::Env),
            if abi >= 1 {
                ll("ptrace scope", 1)
            } else {
                By::Gap(format!("{} (nothing else keeps other processes' /proc files closed)", needs_abi(1)))
            },
        );
    }

    // Every run.
    add(
        SIGNALS,
        None,
        if abi >= 6 {
            ll("signal scope", 6)
        } else if sup {
            supervisor("signals and signal owners (F_SETOWN) reach only the sandbox's processes")
        } else if let Some(by) = delegated(outer.signals) {
            by
        } else {
            or_supervisor(6)
        },
    );
    add(
        PID_CALLS,
        None,
        if sup {
            supervisor("setpriority, ioprio_set, prlimit64 and sched_* reach only the sandbox's processes")
        } else if let Some(by) = delegated(outer.pid_calls) {
            by
        } else {
            By::Enforced(format!(
                "seccomp refuses them for any process but the caller's own (stricter: no supervisor here, {why_not})"
            ))
        },
    );
    add(
        TRACING,
        None,
        if abi >= 1 {
            ll("ptrace scope", 1)
        } else {
            By::Enforced(
                "seccomp (and sbx's supervisor): ptrace attach, process_vm_readv/writev, kcmp, pidfd_getfd and the \
                 like only on the caller itself"
                    .into(),
            )
        },
    );
    add(
        CAPABILITIES,
        None,
        By::Enforced(format!(
            "a root command keeps only {} (bounding, permitted, effective, inheritable and ambient sets)",
            crate::linux::capabilities::names(crate::linux::capabilities::kept_mask()).join(", ")
        )),
    );
    if abi == 0 {
        add(
            PROC_FILES,
            None,
            By::Open(
                "only Landlock can close them; without it the kernel's ptrace rules (same user; Yama) decide — sbx \
                 makes itself non-dumpable and a root command holds no CAP_SYS_PTRACE, so the command cannot read \
                 sbx's own"
                    .into(),
            ),
        );
    }
    Plan { landlock, mediation, covered }
}

pub const WATCHING: &str = "watching directories outside the readable paths for new names (inotify)";
pub const IO_URING: &str = "io_uring operations that would write past the supervisor's checks";
pub const TERMINALS: &str = "writing other sessions' terminals";
pub const CAPABILITIES: &str = "capabilities beyond what builds need (root)";
/// Reading a hidden path, as a covered restriction.
pub const HIDING: &str = "reading and executing files in the hidden paths (their names stay listable)";
pub const READING: &str = "reading, listing and executing outside the readable paths";
pub const WRITING: &str = "writing, creating and deleting outside the writable paths";
pub const PROTECTED: &str = "writing the protected paths inside the writable paths (git hooks and configuration, \
                               editor and CI files, --protect)";
pub const RENAMING: &str = "renaming and hard-linking files across directories";
pub const DEVICE_NODES: &str = "creating device nodes";
pub const METADATA: &str = "changing modes, owners, times and extended attributes of files outside the writable paths";
pub const NAMES_NESTED: &str = "--allow-net host names inside another sbx";
pub const ALLOW_LIST: &str = "connections beyond the --allow-net entries";
pub const ALLOW_LIST_LOST: &str =
    "--allow-net rules (never widened: --best-effort gives the command no network at all)";
pub const UNIX_OUTSIDE: &str = "connecting to unix sockets outside the sandbox";
pub const IP_SOCKETS: &str = "IP sockets beyond what the network rules allow";
pub const TCP_LAYER: &str = "TCP bind and connect, a second layer under seccomp";
pub const INHERITED_UDP: &str = "connecting and sending on UDP sockets inherited from outside the sandbox";
pub const INHERITED_INET: &str =
    "connecting, binding and sending on TCP and UDP sockets inherited from outside the sandbox";
pub const PROC_ENVIRON: &str = "reading the environment of other processes through /proc/PID/environ";
pub const PID_CALLS: &str = "changing the priority, limits or scheduling of processes outside the sandbox";
pub const TRACING: &str = "tracing or reading the memory of processes outside the sandbox";
pub const PROC_FILES: &str = "reading /proc/PID files (memory, environment, fds) of processes outside the sandbox";

#[cfg(test)]
mod tests;

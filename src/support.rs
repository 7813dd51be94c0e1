//! What this machine can enforce — the Landlock ABI, seccomp and its user
//! notification, what the supervisor needs (tried on a throwaway child by
//! `linux::probe`, each failure with its cause and fix), 32-bit
//! entry points — found out without changing anything sbx keeps, and what
//! that leaves unenforced of a policy. Used by `--explain` and `--doctor`;
//! the backend makes the same decisions, from the same probe, when it runs a
//! command.

use crate::policy::{Kind, Policy};

/// Landlock on this kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landlock {
    /// Available at this ABI version.
    Abi(u8),
    /// Built in but not enabled at boot (EOPNOTSUPP).
    Disabled,
    /// Not there; the text says why (e.g. the errno).
    Missing(String),
}

impl Landlock {
    /// The ABI version (0: none).
    pub fn version(&self) -> u8 {
        match self {
            Landlock::Abi(v) => *v,
            _ => 0,
        }
    }

    /// The state in words, with the fix where Landlock is missing.
    pub fn describe(&self) -> String {
        match self {
            Landlock::Abi(v) => format!("ABI {v}"),
            Landlock::Disabled => {
                "built into this kernel but not enabled: add `landlock` to the `lsm=` boot parameter".into()
            }
            Landlock::Missing(why) => {
                format!("not available ({why}): it needs Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK")
            }
        }
    }
}

/// Why something sbx needs does not work here, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Limit {
    /// The cause, e.g. "the enclosing seccomp filter refuses pidfd_getfd (EPERM)".
    pub cause: String,
    /// What to do about it.
    pub fix: String,
}

impl Limit {
    /// "CAUSE — fix: FIX": how runs, `--explain` and `--doctor` name it.
    pub fn text(&self) -> String {
        format!("{} — fix: {}", self.cause, self.fix)
    }
}

/// One thing sbx's supervisor needs, as tried on this machine (see
/// `linux::probe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The call, and what sbx uses it for.
    pub what: String,
    /// `None`: it works. Else the errno it failed with (`EPERM`) and why.
    pub failed: Option<(String, Limit)>,
}

/// What already confines sbx here, as the kernel shows it: what a failed
/// probe is put down to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confinement {
    /// The kernel release's major and minor version.
    pub release: Option<(u32, u32)>,
    /// `Seccomp:` of /proc/self/status: 2 when sbx runs under a seccomp filter.
    pub seccomp_mode: Option<u8>,
    /// `Seccomp_filters:` of /proc/self/status: how many (Linux 5.9).
    pub seccomp_filters: Option<u32>,
    /// /proc/sys/kernel/yama/ptrace_scope (`None`: no Yama).
    pub yama: Option<u8>,
    /// sbx holds CAP_SYS_PTRACE (Yama's scope 2 lets it trace).
    pub cap_sys_ptrace: bool,
    /// The active LSMs, /sys/kernel/security/lsm (`None`: unreadable).
    pub lsms: Option<Vec<String>>,
    /// sbx's LSM label (/proc/self/attr/current) when one confines it: an
    /// AppArmor profile, an SELinux context.
    pub label: Option<String>,
}

impl Confinement {
    /// Whether sbx already runs under a seccomp filter.
    pub fn filtered(&self) -> bool {
        self.seccomp_mode == Some(2)
    }
}

/// 32-bit system calls on x86-64 (IA32 emulation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ia32 {
    /// Not an x86-64 machine.
    NotApplicable,
    NotBuiltIn,
    Enabled(&'static str),
    Disabled(&'static str),
    /// Built in; whether it is enabled at boot cannot be told.
    Unknown,
}

/// What this machine supports.
#[derive(Debug, Clone)]
pub struct Support {
    /// `uname -r`, when it can be read.
    pub kernel: Option<String>,
    pub arch: &'static str,
    pub landlock: Landlock,
    /// seccomp filters (`/proc/sys/kernel/seccomp/actions_avail` exists).
    pub seccomp_filter: bool,
    /// The `user_notif` action is available.
    pub user_notif: bool,
    /// What already confines sbx (a container's seccomp filter, Yama, an LSM).
    pub confinement: Confinement,
    /// What the supervisor needs, each tried the way a run uses it.
    pub probes: Vec<Probe>,
    /// Why no supervisor can run here at all (`None`: one can), as a run
    /// decides it: the kernel, an enclosing filter or listener, Yama, an LSM.
    pub no_supervisor: Option<Limit>,
    /// Why the supervisor cannot take the command's file descriptors here
    /// (`None`: it can), as a run decides it.
    pub no_fd_taking: Option<Limit>,
    /// process_vm_readv is refused, so the supervisor reads the command's
    /// memory through /proc/PID/mem.
    pub memory_through_proc: bool,
    /// Inside another sbx: what its supervisor would decide for this one.
    pub delegated: Option<crate::nesting::Covers>,
    pub ia32: Ia32,
}

impl Support {
    /// Looks at this machine. Starts (and reaps) one short-lived child, on
    /// which it tries what the supervisor needs (`linux::probe`).
    pub fn detect() -> Self {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned());
        let actions = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").ok();
        let found = platform::detect();
        // Inside another sbx: what it would decide for this sandbox, as a
        // run asks it (a dry request).
        let mut no_supervisor = found.no_supervisor;
        let delegated = if no_supervisor.is_some() { platform::enclosing_sbx() } else { None };
        if let Some(covers) = &delegated {
            no_supervisor = Some(covers.no_supervisor());
        }
        Self {
            kernel,
            arch: std::env::consts::ARCH,
            landlock: found.landlock,
            seccomp_filter: actions.is_some(),
            user_notif: actions.as_deref().is_some_and(|a| a.split_whitespace().any(|w| w == "user_notif")),
            confinement: found.confinement,
            probes: found.probes,
            no_supervisor,
            no_fd_taking: found.no_fd_taking,
            memory_through_proc: found.memory_through_proc,
            delegated,
            ia32: ia32(),
        }
    }

    /// Why the network supervisor cannot run here, if it cannot.
    pub fn supervisor_unavailable(&self) -> Option<String> {
        self.no_supervisor.as_ref().map(Limit::text)
    }

    /// Why the supervisor cannot act on the command's sockets here (though
    /// it runs), if it cannot.
    pub fn fd_taking_unavailable(&self) -> Option<String> {
        if self.no_supervisor.is_some() {
            return None;
        }
        self.no_fd_taking.as_ref().map(Limit::text)
    }

    /// How this machine enforces each restriction of `policy` (and of
    /// every run): the mechanism, or what stays possible.
    pub fn coverage(&self, policy: &Policy) -> Vec<Coverage> {
        platform::coverage(policy, self)
    }

    /// What this machine would leave unenforced of `policy`, each with
    /// what it needs: the same list the backend refuses (or, with
    /// `--best-effort`, warns) about.
    pub fn gaps(&self, policy: &Policy) -> Vec<Gap> {
        self.coverage(policy)
            .into_iter()
            .filter_map(|c| match c.how {
                How::Gap(needs) => Some(Gap { what: c.what, needs }),
                _ => None,
            })
            .collect()
    }
}

/// How one restriction is enforced on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// The restriction, by what it keeps the command from doing.
    pub what: String,
    /// The restriction of the policy it belongs to (`None`: every run).
    pub kind: Option<Kind>,
    pub how: How,
}

/// By what a restriction is enforced, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// Enforced by this mechanism.
    Enforced(String),
    /// Not enforced; a run refuses it unless --best-effort. What it needs.
    Gap(String),
    /// Not enforced, and not asked for by the policy: said, not refused. Why.
    Open(String),
}

/// The platform sbx runs on and what it offers: what `--explain` describes
/// and asks about the gaps of a policy. (One per invocation: the size of
/// its variants does not matter.)
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Platform {
    /// Linux (and systems without a backend, which enforce nothing).
    Linux(Support),
    /// macOS: sandbox-exec and SBPL.
    #[cfg(any(target_os = "macos", test))]
    Macos(crate::macos::enforcement::MacSupport),
}

impl Platform {
    /// Looks at this machine (see [`Support::detect`] and, on macOS,
    /// [`crate::macos::enforcement::MacSupport::detect`]).
    pub fn detect() -> Self {
        #[cfg(target_os = "macos")]
        return Platform::Macos(crate::macos::enforcement::MacSupport::detect());
        #[cfg(not(target_os = "macos"))]
        Platform::Linux(Support::detect())
    }

    /// What this platform leaves unenforced of `policy`: the parts a run
    /// refuses, or with `--best-effort` drops, and says so.
    pub fn gaps(&self, policy: &Policy) -> Vec<Gap> {
        match self {
            Platform::Linux(support) => support.gaps(policy),
            #[cfg(any(target_os = "macos", test))]
            Platform::Macos(_) => crate::macos::enforcement::gaps(policy),
        }
    }
}

/// One part of a policy this machine cannot enforce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// What stays possible for the command.
    pub what: String,
    /// What enforcing it needs.
    pub needs: String,
}

/// IA32 emulation: built in when `/proc/sys/abi/vsyscall32` exists; enabled
/// unless `ia32_emulation=0` on the kernel command line or the kernel's
/// config disables it by default.
fn ia32() -> Ia32 {
    if std::env::consts::ARCH != "x86_64" {
        return Ia32::NotApplicable;
    }
    if std::fs::symlink_metadata("/proc/sys/abi/vsyscall32").is_err() {
        return Ia32::NotBuiltIn;
    }
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    for word in cmdline.split_whitespace() {
        match word {
            "ia32_emulation=0" | "ia32_emulation=false" | "ia32_emulation=off" | "ia32_emulation=n" => {
                return Ia32::Disabled("ia32_emulation= on the kernel command line");
            }
            "ia32_emulation=1" | "ia32_emulation=true" | "ia32_emulation=on" | "ia32_emulation=y" => {
                return Ia32::Enabled("ia32_emulation= on the kernel command line");
            }
            _ => {}
        }
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    match std::fs::read_to_string(format!("/boot/config-{}", release.trim())) {
        Ok(config) if config.lines().any(|l| l == "CONFIG_IA32_EMULATION_DEFAULT_DISABLED=y") => {
            Ia32::Disabled("the kernel's default (CONFIG_IA32_EMULATION_DEFAULT_DISABLED)")
        }
        Ok(_) => Ia32::Enabled("the kernel's default"),
        Err(_) => Ia32::Unknown,
    }
}

/// What [`platform::detect`] finds.
struct Found {
    landlock: Landlock,
    confinement: Confinement,
    probes: Vec<Probe>,
    no_supervisor: Option<Limit>,
    no_fd_taking: Option<Limit>,
    memory_through_proc: bool,
}

#[cfg(target_os = "linux")]
mod platform {
    use super::{Coverage, Found, How, Landlock, Support};
    use crate::linux::enforcement::{self, By, Kernel};
    use crate::linux::{probe, sys};
    use crate::policy::Policy;
    use nix::errno::Errno;

    pub(super) fn detect() -> Found {
        let landlock = match sys::landlock_abi() {
            Ok(v) => Landlock::Abi(u8::try_from(v).unwrap_or(u8::MAX)),
            Err(Errno::EOPNOTSUPP) => Landlock::Disabled,
            Err(errno) => Landlock::Missing(format!("{}, {errno:?}", errno.desc())),
        };
        let findings = probe::Findings::gather_all();
        let limits = findings.limits();
        Found {
            landlock,
            probes: findings.probes(),
            confinement: findings.confinement,
            no_supervisor: limits.no_supervisor,
            no_fd_taking: limits.no_fd_taking,
            memory_through_proc: limits.memory_through_proc,
        }
    }

    pub(super) fn enclosing_sbx() -> Option<crate::nesting::Covers> {
        crate::linux::nested::ask()
    }

    pub(super) fn coverage(policy: &Policy, s: &Support) -> Vec<Coverage> {
        let kernel = Kernel {
            abi: s.landlock.version(),
            no_supervisor: s.supervisor_unavailable(),
            no_fd_taking: s.no_fd_taking.as_ref().map(super::Limit::text),
            delegated: s.delegated,
        };
        enforcement::plan(policy, &kernel)
            .covered
            .into_iter()
            .map(|c| Coverage {
                what: c.what,
                kind: c.kind,
                how: match c.by {
                    By::Enforced(how) => How::Enforced(how),
                    By::Gap(needs) => How::Gap(needs),
                    By::Open(why) => How::Open(why),
                },
            })
            .collect()
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use super::{Confinement, Coverage, Found, How, Landlock, Limit, Support};
    use crate::policy::Policy;

    pub(super) fn detect() -> Found {
        let os = std::env::consts::OS;
        Found {
            landlock: Landlock::Missing(format!("{os} is not Linux")),
            confinement: Confinement::default(),
            probes: Vec::new(),
            no_supervisor: Some(Limit { cause: format!("{os} is not Linux"), fix: "run sbx on Linux".to_owned() }),
            no_fd_taking: None,
            memory_through_proc: false,
        }
    }

    pub(super) fn enclosing_sbx() -> Option<crate::nesting::Covers> {
        None
    }

    pub(super) fn coverage(_policy: &Policy, _s: &Support) -> Vec<Coverage> {
        vec![Coverage {
            what: "everything: sbx refuses to run anything on this system".into(),
            kind: None,
            how: How::Gap("Linux".into()),
        }]
    }
}

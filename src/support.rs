//! What this machine can enforce — the Landlock ABI, seccomp and its user
//! notification, the network supervisor's system calls, 32-bit entry points —
//! found out without changing anything, and what that leaves unenforced of a
//! policy. Used by `--explain` and `--doctor`; the backend makes the same
//! decisions when it runs a command.

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

/// Whether sbx may get a seccomp listener of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listener {
    Possible,
    /// No: the text says why (an enclosing sandbox holds one, …).
    Impossible(String),
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
    /// What the network supervisor lacks (user notification 5.0,
    /// pidfd_getfd 5.6, openat2 5.6: the first missing one), if anything.
    pub supervisor_missing: Option<String>,
    /// Whether sbx runs under a seccomp filter already (inside a sandbox or a container).
    pub filtered: bool,
    pub listener: Listener,
    /// Why no supervisor can run here at all (`None`: one can), as a run
    /// decides it: the kernel, an enclosing listener, Yama.
    pub no_supervisor: Option<String>,
    /// Why the supervisor cannot take the command's file descriptors here
    /// (`None`: it can), as a run decides it.
    pub no_fd_taking: Option<String>,
    /// Inside another sbx: what its supervisor would decide for this one.
    pub delegated: Option<crate::nesting::Covers>,
    pub ia32: Ia32,
}

impl Support {
    /// Looks at this machine. Starts (and reaps) one short-lived child when
    /// sbx already runs under a seccomp filter, to see whether a listener is
    /// still possible.
    pub fn detect() -> Self {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned());
        let actions = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").ok();
        let filtered = std::fs::read_to_string("/proc/self/status")
            .is_ok_and(|s| s.lines().any(|l| l.starts_with("Seccomp:") && l.trim_end().ends_with('2')));
        let (landlock, supervisor_missing, listener) = platform::detect(filtered);
        let (mut no_supervisor, no_fd_taking) = platform::supervision_limits();
        let delegated = if no_supervisor.is_some() { platform::enclosing_sbx() } else { None };
        if let Some(covers) = &delegated {
            no_supervisor = Some(covers.why_no_supervisor());
        }
        Self {
            kernel,
            arch: std::env::consts::ARCH,
            landlock,
            seccomp_filter: actions.is_some(),
            user_notif: actions.as_deref().is_some_and(|a| a.split_whitespace().any(|w| w == "user_notif")),
            supervisor_missing,
            filtered,
            listener,
            no_supervisor,
            no_fd_taking,
            delegated,
            ia32: ia32(),
        }
    }

    /// Why the network supervisor cannot run here, if it cannot.
    pub fn supervisor_unavailable(&self) -> Option<String> {
        self.no_supervisor.clone()
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
/// and asks about the gaps of a policy.
#[derive(Debug, Clone)]
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

#[cfg(target_os = "linux")]
mod platform {
    use super::{Coverage, How, Landlock, Listener, Support};
    use crate::linux::enforcement::{self, By, Kernel};
    use crate::linux::sys;
    use crate::policy::Policy;
    use nix::errno::Errno;

    pub(super) fn detect(filtered: bool) -> (Landlock, Option<String>, Listener) {
        let landlock = match sys::landlock_abi() {
            Ok(v) => Landlock::Abi(u8::try_from(v).unwrap_or(u8::MAX)),
            Err(Errno::EOPNOTSUPP) => Landlock::Disabled,
            Err(errno) => Landlock::Missing(format!("{}, {errno:?}", errno.desc())),
        };
        let missing = sys::supervisor_missing().map(str::to_owned);
        let listener = if missing.is_some() || !filtered {
            Listener::Possible
        } else {
            match sys::listener_possible() {
                Ok(true) => Listener::Possible,
                Ok(false) => Listener::Impossible(
                    "an enclosing sandbox (an outer sbx supervising the network, or a container runtime) already \
                     holds the one seccomp listener the kernel allows per process"
                        .into(),
                ),
                Err(errno) => Listener::Impossible(format!(
                    "installing a seccomp filter with a listener fails under the enclosing seccomp filter: {} \
                     ({errno:?})",
                    errno.desc()
                )),
            }
        };
        (landlock, missing, listener)
    }

    pub(super) fn supervision_limits() -> (Option<String>, Option<String>) {
        crate::linux::supervision_limits()
    }

    pub(super) fn enclosing_sbx() -> Option<crate::nesting::Covers> {
        crate::linux::nested::ask()
    }

    pub(super) fn coverage(policy: &Policy, s: &Support) -> Vec<Coverage> {
        let kernel = Kernel {
            abi: s.landlock.version(),
            no_supervisor: s.supervisor_unavailable(),
            no_fd_taking: s.no_fd_taking.clone(),
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
    use super::{Coverage, How, Landlock, Listener, Support};
    use crate::policy::Policy;

    pub(super) fn detect(_filtered: bool) -> (Landlock, Option<String>, Listener) {
        (
            Landlock::Missing(format!("{} is not Linux", std::env::consts::OS)),
            Some("a Linux kernel".into()),
            Listener::Impossible("sbx has no backend on this system yet".into()),
        )
    }

    pub(super) fn supervision_limits() -> (Option<String>, Option<String>) {
        (Some(format!("{} is not Linux", std::env::consts::OS)), None)
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

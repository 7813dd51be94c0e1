//! Policy → seccomp: a pure rule table ([`rules`]) and its compilation into a
//! BPF program with libseccomp before fork ([`compile`]). The filter allows by
//! default and returns an errno for what the policy forbids; it covers every
//! syscall entry of the architecture (on x86_64: native, i386 `int 0x80`, x32).

use std::fmt;
use std::io::{Read, Seek, SeekFrom};

use anyhow::{Context, Result, anyhow};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};

use super::sys::{self, BpfProgram};
use crate::policy::{Net, Policy};

/// When a rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// On every call.
    Always,
    /// When argument 0 (e.g. the socket family) differs from this value.
    Arg0Not(u64),
}

/// One entry of the rule table: `syscall` fails with `errno` when `when` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub syscall: &'static str,
    pub when: When,
    pub errno: i32,
    /// Why, for `-v` and the docs.
    pub reason: &'static str,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errno = nix::errno::Errno::from_raw(self.errno);
        match self.when {
            When::Always => write!(f, "{} → {errno:?} ({})", self.syscall, self.reason),
            When::Arg0Not(v) => write!(f, "{}(arg0 != {v}) → {errno:?} ({})", self.syscall, self.reason),
        }
    }
}

/// The extra syscall entries of this architecture that the filter must
/// cover as well as the native one.
#[cfg(target_arch = "x86_64")]
const EXTRA_ARCHES: &[ScmpArch] = &[ScmpArch::X86, ScmpArch::X32];
#[cfg(target_arch = "aarch64")]
const EXTRA_ARCHES: &[ScmpArch] = &[ScmpArch::Arm];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const EXTRA_ARCHES: &[ScmpArch] = &[];

/// The rule table for `policy`. Empty when nothing needs seccomp.
pub fn rules(policy: &Policy) -> Vec<Rule> {
    let mut rules = Vec::new();
    if policy.net == Net::Denied {
        let af_unix = libc::AF_UNIX as u64;
        rules.push(Rule {
            syscall: "socket",
            when: When::Arg0Not(af_unix),
            errno: libc::EPERM,
            reason: "--deny-net: only unix sockets (inet, inet6, packet, netlink, vsock, … denied; MPTCP is inet)",
        });
        rules.push(Rule {
            syscall: "socketpair",
            when: When::Arg0Not(af_unix),
            errno: libc::EPERM,
            reason: "--deny-net: only unix socket pairs",
        });
        for syscall in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
            rules.push(Rule {
                syscall,
                when: When::Always,
                errno: libc::EPERM,
                reason: "--deny-net: io_uring socket operations bypass seccomp",
            });
        }
    }
    rules
}

/// Compiles `rules` into a BPF program; `None` for an empty table. On the
/// i386 entry, libseccomp turns the `socket`/`socketpair` rules into a denial
/// of `socketcall(SYS_SOCKET|SYS_SOCKETPAIR)` as a whole, since the family sits
/// in memory there and cannot be checked.
pub fn compile(rules: &[Rule]) -> Result<Option<BpfProgram>> {
    if rules.is_empty() {
        return Ok(None);
    }
    let mut filter = ScmpFilterContext::new(ScmpAction::Allow).context("seccomp: creating a filter")?;
    for &arch in EXTRA_ARCHES {
        filter.add_arch(arch).with_context(|| format!("seccomp: adding architecture {arch:?}"))?;
    }
    filter.set_act_badarch(ScmpAction::KillProcess).context("seccomp: setting the bad-architecture action")?;
    // sbx sets no_new_privs itself, before Landlock.
    filter.set_ctl_nnp(false).context("seccomp: leaving no_new_privs to sbx")?;
    for rule in rules {
        let syscall = ScmpSyscall::from_name(rule.syscall)
            .with_context(|| format!("seccomp: libseccomp does not know the syscall {}", rule.syscall))?;
        let action = ScmpAction::Errno(rule.errno);
        match rule.when {
            When::Always => filter.add_rule(action, syscall),
            When::Arg0Not(value) => {
                filter.add_rule_conditional(action, syscall, &[ScmpArgCompare::new(0, ScmpCompareOp::NotEqual, value)])
            }
        }
        .with_context(|| format!("seccomp: adding rule {rule}"))?;
    }
    let memfd = sys::memfd(c"sbx-seccomp").context("seccomp: creating a buffer for the filter")?;
    filter.export_bpf(&memfd).context("seccomp: exporting the filter")?;
    let mut file = std::fs::File::from(memfd);
    file.seek(SeekFrom::Start(0)).context("seccomp: reading the filter back")?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).context("seccomp: reading the filter back")?;
    BpfProgram::from_bytes(&bytes)
        .map(Some)
        .ok_or_else(|| anyhow!("seccomp: libseccomp exported a malformed filter ({} bytes)", bytes.len()))
}

#[cfg(test)]
mod tests;

//! The Linux backend: translate the policy (Landlock ruleset, seccomp BPF,
//! argv/envp), refuse what this kernel cannot enforce, fork, sandbox and exec
//! the child, then supervise it until it ends.

pub mod child;
pub mod landlock;
pub mod seccomp;
pub mod supervisor;
pub mod sys;

use std::fmt::Write as _;
use std::os::fd::AsFd;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;

use crate::exit::{NOT_EXECUTABLE, NOT_FOUND, Outcome, SBX_FAILED};
use crate::policy::Policy;
use child::{ChildSetup, ExecPlan, Failure, Stage};

pub use sys::die_of_signal;

/// Runs `policy.command` under `policy`; returns how sbx should end.
pub fn run(policy: &Policy) -> Result<Outcome> {
    if matches!(policy.net, crate::policy::Net::Allow(_)) || !policy.unix_allow.is_empty() {
        bail!(
            "per-address network rules (--allow-net=ADDRESS, --allow-unix) are not enforced by this build yet, \
             and sbx will not widen them to all network; use --deny-net, or --allow-net='*' for all network"
        );
    }
    let abi = detect_landlock();
    let plan = landlock::plan(policy, abi.version());
    check_enforceable(policy, &plan, &abi)?;
    log_plan(policy, &plan);
    let ruleset = landlock::build(&plan)?;
    let seccomp_rules = seccomp::rules(policy);
    for rule in &seccomp_rules {
        tracing::debug!("seccomp: {rule}");
    }
    let filter = seccomp::compile(&seccomp_rules)?;
    let exec = ExecPlan::new(&policy.command, &policy.child_env)?;

    let forwarding = supervisor::Signals::block()?;
    let (report_read, report_write) = sys::cloexec_pipe().context("creating the child's report pipe")?;
    let child = match sys::fork().context("fork")? {
        sys::Forked::Child => child::run(ChildSetup {
            signal_mask: forwarding.original_mask(),
            landlock: ruleset.as_ref(),
            seccomp: filter.as_ref(),
            exec: &exec,
            report: report_write.as_fd(),
        }),
        sys::Forked::Parent { child } => child,
    };
    drop(report_write);
    drop(ruleset);

    let mut buf = [0u8; Failure::SIZE];
    let n = sys::read_full(report_read.as_fd(), &mut buf).context("reading the child's report")?;
    if n == Failure::SIZE {
        let _ = sys::wait(child);
        let failure = Failure::decode(buf).context("the child sent an unreadable report")?;
        return report_failure(policy, &exec, failure);
    }
    drop(report_read);
    forwarding.supervise(child)
}

/// The Landlock ABI on this kernel, or why there is none.
#[derive(Debug, Clone, Copy)]
enum LandlockSupport {
    Abi(u8),
    Missing(Errno),
}

impl LandlockSupport {
    fn version(&self) -> u8 {
        match *self {
            LandlockSupport::Abi(v) => v,
            LandlockSupport::Missing(_) => 0,
        }
    }
}

fn detect_landlock() -> LandlockSupport {
    match sys::landlock_abi() {
        Ok(v) => LandlockSupport::Abi(u8::try_from(v).unwrap_or(u8::MAX)),
        Err(errno) => LandlockSupport::Missing(errno),
    }
}

/// Refuses (or, with `--best-effort`, warns about) what this kernel cannot enforce.
fn check_enforceable(policy: &Policy, plan: &landlock::LandlockPlan, abi: &LandlockSupport) -> Result<()> {
    if plan.unenforced.is_empty() {
        return Ok(());
    }
    let kernel = match abi {
        LandlockSupport::Abi(v) => format!("this kernel offers Landlock ABI {v}"),
        LandlockSupport::Missing(Errno::EOPNOTSUPP) => {
            "Landlock is built into this kernel but not enabled (add `landlock` to the `lsm=` boot parameter)".into()
        }
        LandlockSupport::Missing(errno) => {
            format!(
                "this kernel has no Landlock ({}; it needs Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK)",
                errno.desc()
            )
        }
    };
    let mut list = String::new();
    for item in &plan.unenforced {
        let _ = write!(list, "\n  - {item}");
    }
    if policy.best_effort {
        eprintln!("sbx: warning: --best-effort: {kernel}, so these stay possible for the command:{list}");
        Ok(())
    } else {
        bail!(
            "{kernel}, which cannot enforce part of the policy; the command could still do:{list}\n\
             Upgrade the kernel, or pass --best-effort to run without these restrictions."
        )
    }
}

fn log_plan(policy: &Policy, plan: &landlock::LandlockPlan) {
    tracing::debug!(abi = plan.abi, handled = ?plan.handled_fs, net = ?plan.handled_net, scopes = ?plan.scopes, "landlock");
    for rule in &plan.rules {
        tracing::debug!("landlock: {} {} ({})", landlock::describe(rule.rights), rule.path.display(), rule.source);
    }
    let env = match &policy.env {
        crate::env::EnvPolicy::Inherit => "inherited".to_string(),
        crate::env::EnvPolicy::Filter { patterns, .. } => {
            format!("only {} and {:?}", crate::env::BASE_VARS.join(" "), patterns)
        }
    };
    tracing::debug!(deny = ?policy.deny, net = ?policy.net, env = %env, "policy");
}

/// Turns a child's pre-exec failure into sbx's message and exit code.
fn report_failure(policy: &Policy, exec: &ExecPlan, failure: Failure) -> Result<Outcome> {
    let name = policy.command.first().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
    let errno = failure.errno;
    match failure.stage {
        Stage::NoNewPrivs => bail!("setting no_new_privs failed: {}", errno.desc()),
        Stage::Landlock => bail!(
            "applying the Landlock ruleset failed: {} ({errno:?}); run with -v to see the rules, or report a bug",
            errno.desc()
        ),
        Stage::Seccomp => bail!(
            "installing the seccomp filter failed: {} ({errno:?}); the kernel may lack CONFIG_SECCOMP_FILTER",
            errno.desc()
        ),
        Stage::Exec => {
            let (code, message) = match errno {
                Errno::ENOENT => (NOT_FOUND, exec_not_found(&name, exec)),
                Errno::EACCES if policy.deny.read && exec.candidates().any(|p| p.exists()) => (
                    NOT_EXECUTABLE,
                    format!(
                        "{name}: permission denied — the sandbox does not let the command read it; \
                         allow its directory with --allow-read=DIR"
                    ),
                ),
                Errno::ENOEXEC => {
                    (NOT_EXECUTABLE, format!("{name}: cannot execute: not a valid executable (exec format error)"))
                }
                other => (NOT_EXECUTABLE, format!("{name}: cannot execute: {}", other.desc())),
            };
            eprintln!("sbx: {message}");
            Ok(Outcome::Code(code))
        }
    }
    .or_else(|err: anyhow::Error| {
        eprintln!("sbx: {err:#}");
        Ok(Outcome::Code(SBX_FAILED))
    })
}

fn exec_not_found(name: &str, exec: &ExecPlan) -> String {
    if name.contains('/') {
        format!("{name}: no such file or directory")
    } else {
        let _ = exec;
        format!("{name}: command not found (searched the command's PATH)")
    }
}

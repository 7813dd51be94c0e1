//! `sbx --doctor`: what this machine supports (Landlock ABI and what each
//! level adds, seccomp and user notification, IA32 emulation), what already
//! confines sbx (an enclosing seccomp filter, Yama, LSMs), what the
//! supervisor needs as tried on a throwaway child (`linux::probe`:
//! each failure with its errno and cause), and what a run does with each
//! flag: works, or refused with the need, the fix and what --best-effort
//! would give up. Changes nothing; the per-flag answers come from the same
//! probe and the same enforcement plan a run uses. On macOS the report is
//! [`crate::macos::enforcement::report`]: sandbox-exec, nesting, the macOS
//! version and what SBPL enforces of each flag.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;

use crate::exit::Outcome;
use crate::policy::{Kind, Policy, Request, Source, Sourced, Surroundings};
use crate::support::{Confinement, Coverage, Gap, How, Ia32, Landlock, Support};

/// What each Landlock ABI adds, as sbx uses it.
const ABI_LEVELS: &[(u8, &str, &str)] = &[
    (1, "5.13", "files: read, list, execute, write, create, delete; no device nodes; ptrace scope (every run)"),
    (2, "5.19", "files: rename and hard-link across directories (below: refused outright under a domain)"),
    (3, "6.2", "files: truncate (below: sbx's supervisor and filter)"),
    (4, "6.7", "TCP bind and connect (--deny-net: a second layer under seccomp; below: that layer only)"),
    (5, "6.10", "ioctl on device files (below: device files outside the write defaults cannot be opened)"),
    (6, "6.12", "scopes: signals and abstract unix sockets (below: sbx's supervisor)"),
    (7, "6.15", "audit logging of denials (not used by sbx)"),
];

/// Runs `--doctor`: prints the report; exit status 0 when everything sbx
/// offers is enforced here, 1 when something is not.
pub fn run() -> Result<Outcome> {
    #[cfg(target_os = "macos")]
    let (report, complete) = crate::macos::enforcement::report(&crate::macos::enforcement::MacSupport::detect());
    #[cfg(not(target_os = "macos"))]
    let (report, complete) = report(&Support::detect())?;
    print!("{report}");
    Ok(Outcome::Code(if complete { 0 } else { 1 }))
}

fn yes(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

/// The report, and whether everything is enforced.
pub fn report(s: &Support) -> Result<(String, bool)> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kernel: Linux {} ({})",
        s.kernel.as_deref().unwrap_or("(release unknown: /proc/sys/kernel/osrelease unreadable)"),
        s.arch
    );

    let _ = writeln!(out, "\nLandlock: {}", s.landlock.describe());
    let abi = s.landlock.version();
    for (level, linux, adds) in ABI_LEVELS {
        let linux = format!("(Linux {linux})");
        let _ = writeln!(out, "  {} ABI {level} {linux:<13} {adds}", if abi >= *level { "yes" } else { "no " });
    }

    let _ = writeln!(out, "\nseccomp");
    let _ = writeln!(out, "  {:<3} seccomp filters (Linux 3.5; CONFIG_SECCOMP_FILTER)", yes(s.seccomp_filter));
    let _ = writeln!(
        out,
        "  {:<3} user notification (Linux 5.0; the kernel's user_notif action): the supervisor's listener",
        yes(s.user_notif)
    );

    let _ = writeln!(out, "\nwhat confines sbx already");
    confinement_lines(&mut out, &s.confinement);

    let _ = writeln!(out, "\nwhat sbx's supervisor needs, tried on a throwaway child of sbx");
    for probe in &s.probes {
        match &probe.failed {
            None => {
                let _ = writeln!(out, "  yes {}", probe.what);
            }
            Some((errno, limit)) => {
                let _ = writeln!(out, "  no  {} — {errno}: {}", probe.what, limit.cause);
            }
        }
    }
    let _ = writeln!(
        out,
        "  so: {}",
        match (&s.no_supervisor, &s.no_fd_taking) {
            (Some(limit), _) => format!("no supervisor can run here: {}", limit.cause),
            (None, Some(limit)) => format!(
                "the supervisor runs, but cannot take the command's file descriptors ({}): it reaches the files \
                 behind them through /proc/PID/fd, and cannot act on the command's sockets",
                limit.cause
            ),
            (None, None) => "the supervisor runs and can take the command's file descriptors".to_owned(),
        }
    );
    if s.memory_through_proc && s.no_supervisor.is_none() {
        let _ = writeln!(out, "  (it reads the command's memory through /proc/PID/mem: process_vm_readv is refused)");
    }

    let _ = writeln!(out, "\n32-bit system calls");
    let _ = writeln!(
        out,
        "  {}",
        match &s.ia32 {
            Ia32::NotApplicable => format!(
                "not an x86-64 machine ({}): the seccomp filter covers this architecture's 32-bit entry, if any",
                s.arch
            ),
            Ia32::NotBuiltIn => "IA32 emulation is not built in: 32-bit x86 programs cannot run here".to_owned(),
            Ia32::Enabled(why) => format!(
                "IA32 emulation is enabled ({why}): 32-bit programs run; sbx's seccomp filter covers their system \
                 call entry too (under --deny-net they cannot create sockets through socketcall)"
            ),
            Ia32::Disabled(why) => {
                format!("IA32 emulation is disabled ({why}): 32-bit x86 programs cannot make system calls here")
            }
            Ia32::Unknown => "IA32 emulation is built in and enabled unless the kernel's configuration disables it \
                              by default (no /boot/config-RELEASE to tell); sbx's seccomp filter covers the 32-bit \
                              entry either way"
                .to_owned(),
        }
    );

    let _ = writeln!(out, "\nwhat a run does with each flag here (and how each part is enforced)");
    let base_policy = policy(Request::default())?;
    let baseline = s.coverage(&base_policy);
    let mut fixes: Vec<String> = Vec::new();
    let mut complete = true;
    let mut flag = |out: &mut String, name: &str, policy: &Policy, rows: &[Coverage]| {
        let gaps = s.gaps(policy);
        complete &= gaps.is_empty();
        let _ = writeln!(out, "  {name:<21} {}", verdict(&gaps, &s.landlock, &mut fixes));
        rows_lines(out, rows);
    };
    flag(&mut out, "every run (no flag)", &base_policy, &baseline);
    let flags: [(&str, Request); 5] = [
        ("--deny-read", denying(Kind::Read, "--deny-read")),
        ("--deny-write", denying(Kind::Write, "--deny-write")),
        ("--deny-net", denying(Kind::Net, "--deny-net")),
        ("--allow-net=HOST", allowing_net()),
        ("--deny-env", denying(Kind::Env, "--deny-env")),
    ];
    for (name, request) in flags {
        let policy = policy(request)?;
        let mut rows: Vec<Coverage> = s.coverage(&policy).into_iter().filter(|c| !baseline.contains(c)).collect();
        if name == "--deny-env" {
            rows.insert(
                0,
                Coverage {
                    what: "variables outside the base set and --allow-env".into(),
                    kind: Some(Kind::Env),
                    how: How::Enforced("sbx builds the environment itself".into()),
                },
            );
        }
        flag(&mut out, name, &policy, &rows);
    }
    let _ = writeln!(out);
    if complete {
        let _ = writeln!(out, "verdict: everything sbx offers is enforced on this machine");
    } else {
        let _ = writeln!(
            out,
            "verdict: some restrictions cannot be enforced here: a run that asks for them is refused (exit 125) \
             unless --best-effort is given, which runs without them and says so"
        );
        for fix in &fixes {
            let _ = writeln!(out, "fix: {fix}");
        }
    }
    Ok((out, complete))
}

/// What already confines sbx: an enclosing seccomp filter, Yama, LSMs.
fn confinement_lines(out: &mut String, c: &Confinement) {
    let filters = match c.seccomp_filters {
        Some(1) => "1 seccomp filter".to_owned(),
        Some(n) => format!("{n} seccomp filters"),
        None => "a seccomp filter".to_owned(),
    };
    let _ = writeln!(
        out,
        "  {}",
        match c.seccomp_mode {
            Some(2) => format!(
                "seccomp: sbx runs under {filters} already (Seccomp: 2 in /proc/self/status): inside a container or \
                 another sandbox, whose filter decides what sbx may call"
            ),
            Some(1) => "seccomp: sbx runs in seccomp strict mode (it could not have started)".to_owned(),
            Some(_) => "seccomp: no filter confines sbx".to_owned(),
            None => "seccomp: unknown (no Seccomp: line in /proc/self/status)".to_owned(),
        }
    );
    let _ = writeln!(
        out,
        "  {}",
        match c.yama {
            None => "Yama: not active (no /proc/sys/kernel/yama/ptrace_scope)".to_owned(),
            Some(0) => "Yama: ptrace_scope 0 (classic ptrace rules)".to_owned(),
            Some(1) => "Yama: ptrace_scope 1 (a process may read its descendants' memory)".to_owned(),
            Some(2) if c.cap_sys_ptrace => {
                "Yama: ptrace_scope 2 (only with CAP_SYS_PTRACE, which sbx holds)".to_owned()
            }
            Some(2) => "Yama: ptrace_scope 2 (only with CAP_SYS_PTRACE, which sbx lacks)".to_owned(),
            Some(scope) => format!("Yama: ptrace_scope {scope} (no process may read another's memory)"),
        }
    );
    let lsms = match &c.lsms {
        Some(lsms) => format!("LSMs: {}", lsms.join(", ")),
        None => "LSMs: unknown (/sys/kernel/security/lsm cannot be read)".to_owned(),
    };
    let _ = writeln!(
        out,
        "  {lsms}{}",
        match &c.label {
            Some(label) => format!("; sbx is confined by {label}"),
            None => String::new(),
        }
    );
}

/// A flag's verdict as a run reaches it: "works", or what refuses it, the
/// fix, and what --best-effort would give up. Collects the fixes.
fn verdict(gaps: &[Gap], landlock: &Landlock, fixes: &mut Vec<String>) -> String {
    if gaps.is_empty() {
        return "works".to_owned();
    }
    // Gaps with the same need are named together, the need once.
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for gap in gaps {
        match groups.iter_mut().find(|(needs, _)| *needs == gap.needs) {
            Some((_, whats)) => whats.push(&gap.what),
            None => groups.push((&gap.needs, vec![&gap.what])),
        }
    }
    let needs: Vec<String> = groups
        .iter()
        .map(|(needs, _)| {
            let fix = match needs.split_once(" — fix: ") {
                Some((_, fix)) => fix.to_owned(),
                None => landlock_fix(landlock).unwrap_or_else(|| "upgrade the kernel".to_owned()),
            };
            if !fixes.contains(&fix) {
                fixes.push(fix.clone());
            }
            if needs.contains(" — fix: ") {
                format!("needs {needs}")
            } else {
                format!("needs {needs} — fix: {fix}")
            }
        })
        .collect();
    let whats: Vec<&str> = groups.iter().flat_map(|(_, whats)| whats.iter().copied()).collect();
    format!("refused (exit 125): {}; --best-effort would give up: {}", needs.join("; and "), whats.join("; "))
}

/// Each part of a flag and what enforces it here.
fn rows_lines(out: &mut String, rows: &[Coverage]) {
    for row in rows {
        match &row.how {
            How::Enforced(how) => {
                let _ = writeln!(out, "      - {}: {how}", row.what);
            }
            How::Gap(_) => {
                let _ = writeln!(out, "      - {}: NOT ENFORCED here (see above)", row.what);
            }
            How::Open(why) => {
                let _ = writeln!(out, "      - {}: open ({why})", row.what);
            }
        }
    }
}

fn landlock_fix(landlock: &Landlock) -> Option<String> {
    match landlock {
        Landlock::Abi(_) => None,
        Landlock::Disabled => Some("add `landlock` to the `lsm=` kernel boot parameter and reboot".into()),
        Landlock::Missing(_) => Some("use Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK=y".into()),
    }
}

fn denying(kind: Kind, flag: &'static str) -> Request {
    let mut request = Request::default();
    request.deny(kind, Source::Flag(flag));
    request
}

fn allowing_net() -> Request {
    let mut request = Request::default();
    request.allow_net.push(Sourced::new("127.0.0.1".to_owned(), Source::Flag("--allow-net")));
    request
}

/// The policy of `request` in empty surroundings (no variables, `/`):
/// enough for what the kernel can enforce, which depends only on the kinds
/// of restriction.
fn policy(request: Request) -> Result<Policy> {
    Policy::build(&request, &Surroundings { vars: Vec::new(), cwd: PathBuf::from("/") })
}

//! `sbx --doctor`: what this machine supports (Landlock ABI and what each
//! level adds, seccomp and user notification, pidfd_getfd and openat2, the
//! seccomp listener, IA32 emulation) and what that means for each flag, with
//! the fix where something is missing. Changes nothing; the per-flag answers
//! come from the same translation a run uses. On macOS the report is
//! [`crate::macos::enforcement::report`]: sandbox-exec, nesting, the macOS
//! version and what SBPL enforces of each flag.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;

use crate::exit::Outcome;
use crate::policy::{Kind, Policy, Request, Source, Sourced, Surroundings};
use crate::support::{Coverage, How, Ia32, Landlock, Listener, Support};

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
    let notif = s.user_notif && s.supervisor_missing.as_deref().is_none_or(|m| !m.contains("notification"));
    let _ = writeln!(
        out,
        "  {:<3} user notification (Linux 5.0): the supervisor's listener (process scope, network, metadata)",
        yes(notif)
    );
    let later = match s.supervisor_missing.as_deref() {
        None => "yes",
        Some(m) if m.contains("notification") => "?",
        Some(_) => "no",
    };
    let _ = writeln!(
        out,
        "  {later:<3} pidfd_getfd and openat2 (Linux 5.6): taking the listener, opening unix socket paths{}",
        match s.supervisor_missing.as_deref() {
            Some(m) if !m.contains("notification") => format!(" — missing: {m}"),
            Some(_) => " — not checked: user notification is missing already".to_owned(),
            None => String::new(),
        }
    );
    let _ = writeln!(
        out,
        "  {:<3} sbx itself already runs under a seccomp filter{}",
        yes(s.filtered),
        if s.filtered { " (inside a sandbox or container)" } else { "" }
    );
    match &s.listener {
        Listener::Possible => {
            let _ = writeln!(out, "  yes a seccomp listener for sbx is possible");
        }
        Listener::Impossible(why) => {
            let _ = writeln!(out, "  no  a seccomp listener for sbx is possible: {why}");
        }
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

    let _ = writeln!(out, "\nwhat this means for each flag (and how each part is enforced here)");
    let baseline = s.coverage(&policy(Request::default())?);
    let mut complete = !baseline.iter().any(|c| matches!(c.how, How::Gap(_)));
    flag_lines(&mut out, "every run (baseline)", &baseline);
    let flags: [(&str, Request); 5] = [
        ("--deny-read", denying(Kind::Read, "--deny-read")),
        ("--deny-write", denying(Kind::Write, "--deny-write")),
        ("--deny-net", denying(Kind::Net, "--deny-net")),
        ("--allow-net, --allow-unix", allowing_net()),
        ("--deny-env", denying(Kind::Env, "--deny-env")),
    ];
    for (flag, request) in flags {
        let mut rows: Vec<Coverage> =
            s.coverage(&policy(request)?).into_iter().filter(|c| !baseline.contains(c)).collect();
        if flag == "--deny-env" {
            rows.insert(
                0,
                Coverage {
                    what: "variables outside the base set and --allow-env".into(),
                    kind: Some(Kind::Env),
                    how: How::Enforced("sbx builds the environment itself".into()),
                },
            );
        }
        complete &= !rows.iter().any(|c| matches!(c.how, How::Gap(_)));
        flag_lines(&mut out, flag, &rows);
    }
    let _ = writeln!(out);
    if complete {
        let _ = writeln!(out, "verdict: everything sbx offers is enforced on this machine");
    } else {
        let _ = writeln!(
            out,
            "verdict: some restrictions are not enforced here; sbx refuses runs that ask for them (exit 125) unless \
             --best-effort is given, which runs without them and says so"
        );
        if let Some(fix) = landlock_fix(&s.landlock) {
            let _ = writeln!(out, "fix: {fix}");
        }
    }
    Ok((out, complete))
}

/// A flag's verdict, then each part of it and what enforces it here.
fn flag_lines(out: &mut String, flag: &str, rows: &[Coverage]) {
    let gaps = rows.iter().filter(|c| matches!(c.how, How::Gap(_))).count();
    let verdict = if gaps == 0 { "enforced" } else { "NOT fully enforced" };
    let _ = writeln!(out, "  {flag:<26} {verdict}");
    for row in rows {
        match &row.how {
            How::Enforced(how) => {
                let _ = writeln!(out, "      - {}: {how}", row.what);
            }
            How::Gap(needs) => {
                let _ = writeln!(out, "      - {}: STAYS POSSIBLE (needs {needs})", row.what);
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

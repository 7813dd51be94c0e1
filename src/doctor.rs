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
use crate::support::{Gap, Ia32, Landlock, Listener, Support};

/// What each Landlock ABI adds, as sbx uses it.
const ABI_LEVELS: &[(u8, &str, &str)] = &[
    (1, "5.13", "files: read, list, execute, write, create, delete; no device nodes (--deny-read, --deny-write)"),
    (2, "5.19", "files: rename and hard-link across directories (--deny-write)"),
    (3, "6.2", "files: truncate (--deny-write)"),
    (4, "6.7", "TCP bind and connect (--deny-net: a second layer under seccomp)"),
    (5, "6.10", "ioctl on device files (--deny-write)"),
    (6, "6.12", "scopes: signals (every run) and abstract unix sockets (every run; required by --deny-net)"),
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
    if abi > 0 && usize::from(abi) < ABI_LEVELS.len() {
        let _ = writeln!(
            out,
            "  fix: Linux 6.12 or later (Landlock ABI 6) lets sbx enforce everything it offers; this kernel has ABI {abi}"
        );
    }

    let _ = writeln!(out, "\nseccomp");
    let _ = writeln!(out, "  {:<3} seccomp filters (Linux 3.5; CONFIG_SECCOMP_FILTER)", yes(s.seccomp_filter));
    let notif = s.user_notif && s.supervisor_missing.as_deref().is_none_or(|m| !m.contains("notification"));
    let _ = writeln!(out, "  {:<3} user notification (Linux 5.0): the network supervisor's listener", yes(notif));
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

    let _ = writeln!(out, "\nwhat this means for each flag");
    let baseline = s.gaps(&policy(Request::default())?);
    let mut complete = baseline.is_empty();
    flag_line(
        &mut out,
        "every run (baseline)",
        &baseline,
        "no_new_privs, signal and abstract socket scopes, the seccomp baseline",
    );
    let flags: [(&str, Request, &str); 5] = [
        ("--deny-read", denying(Kind::Read, "--deny-read"), "Landlock"),
        ("--deny-write", denying(Kind::Write, "--deny-write"), "Landlock, and the supervisor for metadata"),
        ("--deny-net", denying(Kind::Net, "--deny-net"), "seccomp, Landlock TCP and scopes, the supervisor"),
        ("--allow-net, --allow-unix", allowing_net(), "the network supervisor"),
        ("--deny-env", denying(Kind::Env, "--deny-env"), "sbx builds the environment itself"),
    ];
    for (flag, request, how) in flags {
        let gaps: Vec<Gap> = s.gaps(&policy(request)?).into_iter().filter(|g| !baseline.contains(g)).collect();
        complete &= gaps.is_empty();
        flag_line(&mut out, flag, &gaps, how);
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

fn flag_line(out: &mut String, flag: &str, gaps: &[Gap], how: &str) {
    if gaps.is_empty() {
        let _ = writeln!(out, "  {flag:<26} enforced ({how})");
        return;
    }
    let _ = writeln!(out, "  {flag:<26} NOT fully enforced; stays possible:");
    for gap in gaps {
        let _ = writeln!(out, "  {:<26} - {} (needs {})", "", gap.what, gap.needs);
    }
}

fn landlock_fix(landlock: &Landlock) -> Option<String> {
    match landlock {
        Landlock::Abi(v) if *v >= 6 => None,
        Landlock::Abi(_) => Some("upgrade to Linux 6.12 or later (Landlock ABI 6)".into()),
        Landlock::Disabled => Some("add `landlock` to the `lsm=` kernel boot parameter and reboot".into()),
        Landlock::Missing(_) => Some("use Linux 6.12 or later built with CONFIG_SECURITY_LANDLOCK=y".into()),
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

//! What the macOS backend will and will not enforce — of a given policy (for
//! `--explain`) and of each flag on this Mac (for `--doctor`). The texts and
//! the report are pure and compiled (and tested) on every platform; only
//! [`MacSupport::detect`] looks at the machine, on macOS.
//!
//! Two kinds of shortfall, kept apart:
//! - a **gap** ([`gaps`]) is part of the policy sbx cannot enforce: a run
//!   refuses it (exit 125) unless `--best-effort`, which narrows it. On macOS
//!   these are the `--allow-net` entries SBPL cannot name — exactly those
//!   [`super::profile::check_network`] refuses.
//! - a **limit** ([`limits`]) holds for every run of the policy on macOS and
//!   refuses nothing: Mach/XPC services, unix sockets, `localhost`, what this
//!   macOS's SBPL cannot name, and that nothing here was verified on a real
//!   Mac. The ones that depend on the run (a resolver socket allowed, `DYLD_*`
//!   variables) are also printed as warnings when it starts ([`warnings`]).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::machine::Dialect;
use super::profile::{SANDBOX_EXEC, split_rules};
use crate::policy::net::{Host, IpNet};
use crate::policy::{Kind, Net, Policy};
use crate::support::Gap;

/// What every run restricts on macOS (the warning for a run that restricts
/// nothing else, and `--explain`).
pub const BASELINE: &str =
    "no signals to or debugging of processes outside the sandbox, no terminal injection (TIOCSTI)";

/// `/usr/bin/sandbox-exec` on this Mac.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxExec {
    Present,
    Missing,
    /// There but not an executable file: the text says what it is.
    NotExecutable(String),
}

/// Whether sbx itself already runs inside a macOS sandbox (which does not
/// nest: sandbox-exec would fail with 71).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nesting {
    Outside,
    /// Inside one; the text says how sbx can tell.
    Inside(String),
    /// Could not be told; the text says why.
    Unknown(String),
}

/// What this Mac offers sbx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacSupport {
    /// `sw_vers -productVersion`, when it could be run.
    pub version: Option<String>,
    pub arch: &'static str,
    pub sandbox_exec: SandboxExec,
    pub nesting: Nesting,
    /// The SBPL forms this macOS accepts (`None`: not probed, because
    /// sandbox-exec cannot be used here).
    pub dialect: Option<Dialect>,
}

impl MacSupport {
    /// Why sbx cannot sandbox anything here (every run would exit 125), if so.
    pub fn unusable(&self) -> Option<String> {
        match (&self.sandbox_exec, &self.nesting) {
            (SandboxExec::Missing, _) => {
                Some(format!("{SANDBOX_EXEC} is missing: it ships with macOS and sbx needs it to sandbox anything"))
            }
            (SandboxExec::NotExecutable(what), _) => Some(format!("{SANDBOX_EXEC} is not an executable file ({what})")),
            (SandboxExec::Present, Nesting::Inside(how)) => Some(format!(
                "sbx runs inside another macOS sandbox ({how}), and macOS does not nest them: the sandbox could \
                 not be applied"
            )),
            _ => None,
        }
    }

    /// One line: version, architecture, sandbox-exec and nesting.
    pub fn describe(&self) -> String {
        format!(
            "macOS {} ({}), {SANDBOX_EXEC} {}, {}",
            self.version.as_deref().unwrap_or("(version unknown: sw_vers failed)"),
            self.arch,
            match &self.sandbox_exec {
                SandboxExec::Present => "present".to_owned(),
                SandboxExec::Missing => "MISSING".to_owned(),
                SandboxExec::NotExecutable(what) => format!("NOT EXECUTABLE ({what})"),
            },
            match &self.nesting {
                Nesting::Outside => "not inside another sandbox".to_owned(),
                Nesting::Inside(how) => format!("INSIDE another sandbox ({how})"),
                Nesting::Unknown(why) => format!("whether inside another sandbox is unknown ({why})"),
            }
        )
    }
}

/// What macOS needs to name a destination, for the `needs` of a gap.
const NAMEABLE: &str = "a destination SBPL can name: localhost[:PORT], or 0.0.0.0/0:PORT together with \
                        [::/0]:PORT (every host)";

/// The `--allow-net` entries of `policy` SBPL cannot express: refused (exit
/// 125) or, with `--best-effort`, dropped — never widened. Empty when the
/// backend enforces the whole policy.
pub fn gaps(policy: &Policy) -> Vec<Gap> {
    let Net::Allow(rules) = &policy.net else { return Vec::new() };
    let (remotes, rest) = split_rules(rules);
    let any_v4 = IpNet::new(Ipv4Addr::UNSPECIFIED.into(), 0);
    let any_v6 = IpNet::new(Ipv6Addr::UNSPECIFIED.into(), 0);
    rest.iter()
        .map(|rule| {
            let what = match &rule.host {
                Host::Name(_) | Host::Subdomains(_) => "a host name",
                Host::Net(net) if [any_v4, any_v6].contains(&Some(*net)) => {
                    "one address family alone (`*` covers both)"
                }
                Host::Net(net)
                    if net.contains(Ipv4Addr::LOCALHOST.into()) || net.contains(Ipv6Addr::LOCALHOST.into()) =>
                {
                    "a loopback address or range (`localhost` is exactly 127.0.0.1 and ::1)"
                }
                Host::Net(_) => "an address or range",
                _ => "this destination",
            };
            let fate = if !policy.best_effort {
                "refused: sbx exits 125 rather than widen it".to_owned()
            } else if remotes.is_empty() {
                "narrowed by --best-effort: dropped, and with no entry left the command gets no network at all"
                    .to_owned()
            } else {
                "narrowed by --best-effort: dropped, so the command cannot reach it".to_owned()
            };
            Gap { what: format!("--allow-net={rule}, {what} ({fate})"), needs: NAMEABLE.to_owned() }
        })
        .collect()
}

/// A limit of the macOS sandbox that refuses nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The restriction it belongs to (`None`: every run).
    pub kind: Option<Kind>,
    pub what: String,
    pub why: String,
}

/// Not verified on a real Mac: every run.
pub const UNVERIFIED: &str = "nothing of the macOS backend has been verified on a real Mac: its profiles are \
                              golden-tested and its code type-checked on Linux only";

/// The limits of the macOS sandbox for `policy` on this Mac (`mac.dialect`:
/// what its SBPL can name, when known).
pub fn limits(policy: &Policy, mac: &MacSupport) -> Vec<Limit> {
    let mut limits = vec![Limit { kind: None, what: UNVERIFIED.to_owned(), why: "see docs/macos.md".to_owned() }];
    if policy.restricts_anything() {
        limits.push(Limit {
            kind: None,
            what: "Mach and XPC services other than LaunchServices, AppleEvents and launchd jobs are not \
                   restricted: the command can still use the pasteboard (pbcopy, pbpaste), read keychain items its \
                   user may read without a prompt (security find-generic-password), search Spotlight (mdfind), \
                   which indexes the files --deny-read hides, and ask other system services to act for it"
                .to_owned(),
            why: "the profile starts from (allow default); sbx denies only the services that start or script apps, \
                  or run jobs, outside the sandbox"
                .to_owned(),
        });
    }
    if policy.deny.read || !policy.hidden.is_empty() {
        limits.push(Limit {
            kind: Some(Kind::Read),
            what: "every app's preferences stay readable through cfprefsd (defaults read DOMAIN, CFPreferences), \
                   which reads ~/Library/Preferences for the command"
                .to_owned(),
            why: "sbx does not deny user-preference-read: the command's own frameworks read their settings through \
                  it, and which domains a command needs cannot be known beforehand"
                .to_owned(),
        });
    }
    if policy.net.is_restricted() {
        limits.push(Limit {
            kind: Some(Kind::Net),
            what: "some Mach and XPC services reach the network for the command (the URL-loading and software-update \
                   daemons)"
                .to_owned(),
            why: "--deny-net stops the command's own sockets; sbx writes no mach-lookup rules for them".to_owned(),
        });
        limits.push(Limit {
            kind: Some(Kind::Net),
            what: "connecting to any pathname unix socket needs --allow-unix, even one the command bound itself \
                   (stricter than Linux); /private/var/run/mDNSResponder is shut too unless --allow-unix names it, \
                   so host names do not resolve"
                .to_owned(),
            why: "SBPL cannot tell who bound a socket".to_owned(),
        });
    }
    if let Net::Allow(rules) = &policy.net {
        if rules.iter().any(|r| r.host == Host::Localhost) {
            limits.push(Limit {
                kind: Some(Kind::Net),
                what: "--allow-net=localhost is 127.0.0.1 and ::1 only, not the rest of 127.0.0.0/8 as on Linux \
                       (narrower)"
                    .to_owned(),
                why: "SBPL's `localhost`".to_owned(),
            });
        }
    }
    limits.extend(situational(policy, mac.dialect.as_ref()));
    limits
}

/// The warnings a run of `policy` prints when it starts on a Mac whose SBPL
/// accepts `dialect`: the limits that depend on the run.
pub fn warnings(policy: &Policy, dialect: &Dialect) -> Vec<String> {
    situational(policy, Some(dialect)).into_iter().map(|l| format!("{} ({})", l.what, l.why)).collect()
}

/// The limits that depend on this run: a resolver socket allowed, `DYLD_*`
/// variables, and what this macOS's SBPL cannot name.
fn situational(policy: &Policy, dialect: Option<&Dialect>) -> Vec<Limit> {
    let mut limits = Vec::new();
    if policy.net.is_restricted() {
        let resolver = policy
            .unix_allow
            .iter()
            .find(|p| crate::policy::RESOLVER_SOCKETS.iter().any(|r| std::path::Path::new(r) == p.as_path()));
        if let Some(socket) = resolver {
            limits.push(Limit {
                kind: Some(Kind::Net),
                what: format!(
                    "--allow-unix={} opens DNS: the command can resolve any host name, and what it puts in a \
                     name leaves the machine in the resolver's queries",
                    socket.display()
                ),
                why: "the system resolver does the lookups outside the sandbox; the command still connects only \
                      to the --allow-net destinations"
                    .to_owned(),
            });
        }
    }
    let dyld: Vec<String> = policy
        .child_env
        .iter()
        .map(|(k, _)| k.to_string_lossy())
        .filter(|k| k.starts_with("DYLD_"))
        .map(|k| k.into_owned())
        .collect();
    if !dyld.is_empty() {
        limits.push(Limit {
            kind: None,
            what: format!("{} do not reach the command", dyld.join(", ")),
            why: "macOS's System Integrity Protection removes DYLD_* variables when it starts /usr/bin/sandbox-exec, \
                  a protected binary; see docs/macos.md"
                .to_owned(),
        });
    }
    if let Some(dialect) = dialect {
        if dialect.new_session() {
            limits.push(Limit {
                kind: None,
                what: "the command runs in a new session, without a controlling terminal (no /dev/tty, no job \
                       control; sbx passes Ctrl-C and Ctrl-\\ on)"
                    .to_owned(),
                why: "this macOS's SBPL cannot name TIOCSTI, and without a controlling terminal the command cannot \
                      inject input into yours"
                    .to_owned(),
            });
        }
        if policy.deny.write && dialect.protection_class.is_none() {
            limits.push(Limit {
                kind: Some(Kind::Write),
                what: "the command can change the data-protection class of files it can open \
                       (fcntl F_SETPROTECTIONCLASS)"
                    .to_owned(),
                why: "this macOS's SBPL cannot name F_SETPROTECTIONCLASS".to_owned(),
            });
        }
    }
    limits
}

/// What `--doctor` says per flag on macOS: flag, how it is enforced, and
/// what stays possible or is refused.
const FLAGS: &[(&str, &str, &[&str])] = &[
    (
        "every run (baseline)",
        "enforced (Seatbelt: no signals to or task ports of processes outside the sandbox, no TIOCSTI terminal \
         injection)",
        &["under any restriction LaunchServices (open -a), AppleEvents and launchd jobs (launchctl submit) are \
           denied; other Mach and XPC services are not restricted (the pasteboard, keychain items, Spotlight)"],
    ),
    (
        "--deny-read",
        "enforced (Seatbelt file-read*; metadata and / itself stay readable, as under Landlock; what is outside \
         the readable paths cannot be moved, deleted, hard-linked or cloned either)",
        &[
            "Spotlight (mdfind) can still report what it indexed of the hidden files",
            "every app's preferences stay readable through cfprefsd (defaults read)",
        ],
    ),
    (
        "--hide",
        "enforced (Seatbelt file-read* after every grant; the hidden paths cannot be moved, hard-linked or cloned, \
         nor the directories on their way renamed)",
        &["Spotlight and cfprefsd, as under --deny-read"],
    ),
    (
        "--deny-write",
        "enforced (Seatbelt file-write*, hard links, preferences through cfprefsd, F_SETPROTECTIONCLASS, unix \
         sockets outside the writable paths; also chmod, chown, xattrs, device nodes)",
        &[],
    ),
    (
        "--deny-net",
        "enforced for the command's own sockets (Seatbelt network*)",
        &[
            "Mach and XPC services can still reach the network for the command",
            "host names do not resolve (the mDNSResponder socket is a unix socket)",
        ],
    ),
    (
        "--allow-net",
        "enforced for localhost[:PORT] (127.0.0.1 and ::1), 0.0.0.0/0:PORT with [::/0]:PORT, and listening on \
         0.0.0.0:PORT or [::]:PORT",
        &["host names, other addresses (127.0.0.1 too) and ranges are refused (exit 125), or dropped with \
             --best-effort: never widened"],
    ),
    (
        "--allow-unix",
        "enforced (Seatbelt network-outbound to the socket path)",
        &[
            "connecting to a socket the command bound itself needs --allow-unix too (stricter than Linux)",
            "--allow-unix=/private/var/run/mDNSResponder resolves any name for the command (DNS leaves the machine)",
        ],
    ),
    (
        "--deny-env",
        "enforced (sbx builds the environment itself; other processes' arguments and environment, \
         kern.procargs2, are denied)",
        &["DYLD_* variables never reach the command (SIP strips them from /usr/bin/sandbox-exec)"],
    ),
];

/// The `--doctor` report for `s`, and whether sbx can sandbox here (its
/// exit status: 0 yes, 1 no). The limits that hold on every Mac are listed
/// but do not make it fail: they are the backend's, not this machine's.
pub fn report(s: &MacSupport) -> (String, bool) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "system: macOS {} ({})",
        s.version.as_deref().unwrap_or("(version unknown: /usr/bin/sw_vers -productVersion failed)"),
        s.arch
    );
    let _ = writeln!(out, "\nsandbox");
    let _ = writeln!(
        out,
        "  {:<3} {SANDBOX_EXEC} present and executable{}",
        if s.sandbox_exec == SandboxExec::Present { "yes" } else { "no" },
        match &s.sandbox_exec {
            SandboxExec::Present => String::new(),
            SandboxExec::Missing => " — missing: it ships with macOS; check the system volume".to_owned(),
            SandboxExec::NotExecutable(what) => format!(" — {what}"),
        }
    );
    let _ = writeln!(
        out,
        "  {:<3} sbx itself already runs inside a macOS sandbox{}",
        match s.nesting {
            Nesting::Outside => "no",
            Nesting::Inside(_) => "yes",
            Nesting::Unknown(_) => "?",
        },
        match &s.nesting {
            Nesting::Outside => String::new(),
            Nesting::Inside(how) => format!(" ({how}): macOS does not nest sandboxes, so sbx cannot run anything here"),
            Nesting::Unknown(why) => format!(" — not checked: {why}"),
        }
    );
    if let Some(dialect) = &s.dialect {
        let _ = writeln!(out, "  -   terminal injection (TIOCSTI): {}", dialect.describe_tiocsti());
        let _ = writeln!(
            out,
            "  -   F_SETPROTECTIONCLASS under --deny-write: {}",
            match dialect.protection_class {
                Some(super::machine::Form::Symbolic) => "denied by the profile",
                Some(super::machine::Form::Numeric) => "denied by the profile, by number",
                None => "NOT restricted: this macOS's SBPL cannot name it",
            }
        );
    }
    let _ = writeln!(out, "  -   {UNVERIFIED}");

    let _ = writeln!(out, "\nwhat this means for each flag");
    for (flag, how, stays) in FLAGS {
        let _ = writeln!(out, "  {flag:<26} {how}");
        for what in *stays {
            let _ = writeln!(out, "  {:<26} - {what}", "");
        }
    }
    let _ = writeln!(out);
    let usable = s.unusable();
    match &usable {
        None => {
            let _ = writeln!(
                out,
                "verdict: sbx can sandbox commands on this Mac, with the limits above (docs/macos.md); --allow-net \
                 entries SBPL cannot name are refused (exit 125) unless --best-effort"
            );
        }
        Some(why) => {
            let _ = writeln!(out, "verdict: sbx cannot sandbox anything here: {why}; every run exits 125");
        }
    }
    (out, usable.is_none())
}

#[cfg(target_os = "macos")]
mod detect {
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};

    use super::{Dialect, MacSupport, Nesting, SANDBOX_EXEC, SandboxExec};

    use crate::macos::diagnose::APPLY_FAILED;

    impl MacSupport {
        /// Looks at this Mac: runs `/usr/bin/sw_vers -productVersion` and, when
        /// sandbox-exec is there, `sandbox-exec -p '(version 1)(allow default)'
        /// /usr/bin/true` once (a few milliseconds): an allow-everything
        /// profile fails to apply (71) only because sbx is inside a sandbox
        /// already. `APP_SANDBOX_CONTAINER_ID` alone would only tell the App
        /// Sandbox, not an outer sandbox-exec or sbx. Outside a sandbox it
        /// also finds the SBPL forms this macOS accepts ([`Dialect::detect`],
        /// cached).
        pub fn detect() -> Self {
            let version = Command::new("/usr/bin/sw_vers")
                .arg("-productVersion")
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .filter(|v| !v.is_empty());
            let sandbox_exec = match std::fs::metadata(SANDBOX_EXEC) {
                Err(_) => SandboxExec::Missing,
                Ok(m) if !m.is_file() => SandboxExec::NotExecutable("not a regular file".into()),
                Ok(m) if m.permissions().mode() & 0o111 == 0 => {
                    SandboxExec::NotExecutable(format!("mode {:o}", m.permissions().mode() & 0o7777))
                }
                Ok(_) => SandboxExec::Present,
            };
            let nesting = if sandbox_exec != SandboxExec::Present {
                Nesting::Unknown("sandbox-exec is not usable".into())
            } else {
                nesting()
            };
            // The forms can be probed only where a profile can be applied.
            let dialect = if nesting == Nesting::Outside { Dialect::detect() } else { None };
            Self { version, arch: std::env::consts::ARCH, sandbox_exec, nesting, dialect }
        }
    }

    fn nesting() -> Nesting {
        let probe = Command::new(SANDBOX_EXEC)
            .args(["-p", "(version 1)(allow default)", "/usr/bin/true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match probe {
            Ok(o) if o.status.success() => Nesting::Outside,
            Ok(o) if o.status.code() == Some(APPLY_FAILED) => {
                let how = if std::env::var_os("APP_SANDBOX_CONTAINER_ID").is_some() {
                    "the App Sandbox: APP_SANDBOX_CONTAINER_ID is set".to_owned()
                } else {
                    "an allow-everything profile could not be applied".to_owned()
                };
                let said = String::from_utf8_lossy(&o.stderr).trim().to_owned();
                Nesting::Inside(if said.is_empty() { how } else { format!("{how}; sandbox-exec: {said}") })
            }
            Ok(o) => Nesting::Unknown(format!(
                "sandbox-exec around /usr/bin/true ended with {}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(err) => Nesting::Unknown(format!("starting {SANDBOX_EXEC} failed: {err}")),
        }
    }
}

#[cfg(test)]
mod tests;

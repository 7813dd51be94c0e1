//! The macOS gaps and limits for given policies, and the doctor's report:
//! pure, run on every platform.

use std::ffi::OsString;
use std::path::PathBuf;

use super::*;
use crate::macos::machine::{Dialect, Form};
use crate::policy::{Deny, NetRule};

fn allowing(entries: &[&str], best_effort: bool) -> Policy {
    let net = Net::Allow(entries.iter().map(|e| NetRule::parse(e).unwrap()).collect());
    let mut p = Policy::for_test(Deny { net: true, ..Deny::default() }, net, Vec::new());
    p.best_effort = best_effort;
    p
}

#[test]
fn a_host_name_is_refused() {
    let gaps = gaps(&allowing(&["example.com"], false));
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0].what.starts_with("--allow-net=example.com, a host name"), "{}", gaps[0].what);
    assert!(gaps[0].what.contains("refused") && gaps[0].what.contains("125"), "{}", gaps[0].what);
    assert!(gaps[0].needs.contains("localhost[:PORT]"));
}

#[test]
fn localhost_and_every_host_on_a_port_are_enforced() {
    assert_eq!(gaps(&allowing(&["localhost:5432"], false)), Vec::new());
    assert_eq!(gaps(&allowing(&["0.0.0.0/0:443", "[::/0]:443"], false)), Vec::new());
    let limits = limits(&allowing(&["localhost:5432"], false), &today());
    assert!(limits.iter().any(|l| l.what.contains("127.0.0.1 and ::1 only")), "{limits:?}");
}

#[test]
fn best_effort_narrows_and_says_what_is_left() {
    let gaps = gaps(&allowing(&["10.0.0.0/8", "localhost"], true));
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0].what.contains("an address or range") && gaps[0].what.contains("narrowed"), "{}", gaps[0].what);
    assert!(!gaps[0].what.contains("no network at all"));
    let gaps = super::gaps(&allowing(&["127.0.0.1:80"], true));
    assert!(gaps[0].what.contains("loopback") && gaps[0].what.contains("no network at all"), "{}", gaps[0].what);
    let gaps = super::gaps(&allowing(&["0.0.0.0/0:443"], false));
    assert!(gaps[0].what.contains("one address family alone"), "{}", gaps[0].what);
}

#[test]
fn limits_follow_the_policy() {
    let open = Policy::for_test(Deny::default(), Net::Unrestricted, Vec::new());
    let limits = limits(&open, &today());
    assert_eq!(limits.len(), 1);
    assert_eq!((limits[0].kind, limits[0].what.as_str()), (None, UNVERIFIED));
    let denied = Policy::for_test(Deny { net: true, ..Deny::default() }, Net::Denied, Vec::new());
    let limits = super::limits(&denied, &today());
    assert!(
        limits
            .iter()
            .any(|l| l.kind.is_none() && l.what.contains("other than LaunchServices, AppleEvents and launchd jobs"))
    );
    assert!(limits.iter().any(|l| l.kind.is_none() && l.what.contains("pasteboard") && l.what.contains("Spotlight")));
    assert!(limits.iter().any(|l| l.kind == Some(Kind::Net) && l.what.contains("reach the network")));
    assert!(limits.iter().any(|l| l.kind == Some(Kind::Net) && l.what.contains("--allow-unix")));
    assert!(gaps(&denied).is_empty());
    assert!(!limits.iter().any(|l| l.what.contains("cfprefsd")), "{limits:?}");
}

/// `defaults read` reaches ~/Library/Preferences through cfprefsd, which
/// the profile leaves open: --deny-read and --hide must not claim it.
#[test]
fn preferences_read_through_cfprefsd_are_a_read_limit() {
    let read = Policy::for_test(Deny { read: true, ..Deny::default() }, Net::Unrestricted, Vec::new());
    let mut hide = Policy::for_test(Deny::default(), Net::Unrestricted, Vec::new());
    hide.hidden = vec![crate::policy::Hidden {
        path: "/Users/me/.ssh".into(),
        is_dir: true,
        source: crate::policy::Source::Flag("--hide"),
    }];
    for policy in [read, hide] {
        let limits = limits(&policy, &today());
        assert!(limits.iter().any(|l| l.kind == Some(Kind::Read) && l.what.contains("defaults read")), "{limits:?}");
    }
}

#[test]
fn what_this_macos_cannot_name_is_a_limit_and_a_warning() {
    let write = Policy::for_test(Deny { write: true, ..Deny::default() }, Net::Unrestricted, Vec::new());
    assert!(warnings(&write, &Dialect::BY_NAME).is_empty());
    let old = Dialect { hid_control: false, tiocsti: None, protection_class: None };
    let said = warnings(&write, &old);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].contains("new session") && said[0].contains("cannot name TIOCSTI"), "{said:?}");
    assert!(said[1].contains("F_SETPROTECTIONCLASS"), "{said:?}");
    let mut mac = today();
    mac.dialect = Some(old);
    let limits = limits(&write, &mac);
    assert!(limits.iter().any(|l| l.kind == Some(Kind::Write) && l.what.contains("data-protection class")));
    // By number is as good as by name: nothing to say.
    let numeric = Dialect { hid_control: false, tiocsti: Some(Form::Numeric), protection_class: Some(Form::Numeric) };
    assert!(warnings(&write, &numeric).is_empty());
    // F_SETPROTECTIONCLASS only matters under --deny-write.
    let net = Policy::for_test(Deny { net: true, ..Deny::default() }, Net::Denied, Vec::new());
    assert_eq!(warnings(&net, &Dialect { tiocsti: Some(Form::Symbolic), ..old }), Vec::<String>::new());
}

#[test]
fn allowing_the_resolver_socket_warns_that_it_opens_dns() {
    let mut p = Policy::for_test(Deny { net: true, ..Deny::default() }, Net::Denied, Vec::new());
    p.unix_allow = vec![PathBuf::from("/private/var/run/mDNSResponder")];
    let said = warnings(&p, &Dialect::BY_NAME);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("--allow-unix=/private/var/run/mDNSResponder opens DNS"), "{said:?}");
    assert!(limits(&p, &today()).iter().any(|l| l.kind == Some(Kind::Net) && l.what.contains("opens DNS")));
    p.unix_allow = vec![PathBuf::from("/private/var/run/docker.sock")];
    assert!(warnings(&p, &Dialect::BY_NAME).is_empty());
}

#[test]
fn dyld_variables_are_said_not_to_reach_the_command() {
    let mut p = Policy::for_test(Deny::default(), Net::Unrestricted, Vec::new());
    p.child_env = vec![
        (OsString::from("PATH"), OsString::from("/usr/bin")),
        (OsString::from("DYLD_LIBRARY_PATH"), OsString::from("/opt/lib")),
        (OsString::from("DYLD_INSERT_LIBRARIES"), OsString::from("/opt/x.dylib")),
    ];
    let said = warnings(&p, &Dialect::BY_NAME);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("DYLD_LIBRARY_PATH, DYLD_INSERT_LIBRARIES do not reach the command"), "{said:?}");
    assert!(said[0].contains("System Integrity Protection"), "{said:?}");
    p.child_env.truncate(1);
    assert!(warnings(&p, &Dialect::BY_NAME).is_empty());
}

fn mac(sandbox_exec: SandboxExec, nesting: Nesting) -> MacSupport {
    let dialect = (nesting == Nesting::Outside).then_some(Dialect::BY_NAME);
    MacSupport { version: Some("14.5".into()), arch: "aarch64", sandbox_exec, nesting, dialect }
}

/// A Mac of today, outside any sandbox.
fn today() -> MacSupport {
    mac(SandboxExec::Present, Nesting::Outside)
}

#[test]
fn doctor_report() {
    let (out, ok) = report(&mac(SandboxExec::Present, Nesting::Outside));
    assert!(ok, "{out}");
    assert!(out.starts_with("system: macOS 14.5 (aarch64)\n"), "{out}");
    assert!(out.contains("yes /usr/bin/sandbox-exec present and executable\n"), "{out}");
    assert!(out.contains("no  sbx itself already runs inside a macOS sandbox\n"), "{out}");
    assert!(out.contains(UNVERIFIED) && out.contains("Mach and XPC"), "{out}");
    assert!(
        out.contains("\n  -   terminal injection (TIOCSTI): denied by the profile ((ioctl-command TIOCSTI))\n"),
        "{out}"
    );
    assert!(out.contains("\n  -   F_SETPROTECTIONCLASS under --deny-write: denied by the profile\n"), "{out}");
    assert!(!out.contains("Landlock ABI") && !out.contains("seccomp"), "{out}");
    for flag in ["--deny-read", "--hide", "--deny-write", "--deny-net", "--allow-net", "--allow-unix", "--deny-env"] {
        assert!(out.contains(&format!("\n  {flag} ")), "{flag} missing:\n{out}");
    }
    assert!(out.contains("task ports") && out.contains("launchd jobs"), "{out}");
    assert!(out.contains("readable through cfprefsd") && out.contains("nor the directories on their way"), "{out}");
    assert!(out.contains("verdict: sbx can sandbox commands on this Mac"), "{out}");

    let (out, ok) =
        report(&mac(SandboxExec::Present, Nesting::Inside("an allow-everything profile could not be applied".into())));
    assert!(!ok && out.contains("yes sbx itself already runs inside") && out.contains("every run exits 125"), "{out}");
    let (out, ok) = report(&mac(SandboxExec::Missing, Nesting::Unknown("sandbox-exec is not usable".into())));
    assert!(!ok && out.contains("no  /usr/bin/sandbox-exec") && out.contains("?   sbx itself"), "{out}");
    assert!(!out.contains("TIOCSTI):"), "not probed without sandbox-exec:\n{out}");
    let mut old = today();
    old.dialect = Some(Dialect { hid_control: false, tiocsti: None, protection_class: None });
    let (out, ok) = report(&old);
    assert!(ok && out.contains("cannot name TIOCSTI: commands run in a new session"), "{out}");
    assert!(out.contains("F_SETPROTECTIONCLASS under --deny-write: NOT restricted"), "{out}");
}

/// `--explain` on macOS for `entries`: the explanation and its text.
fn explained(entries: &[&str], best_effort: bool) -> (crate::explain::Explanation, String) {
    use crate::policy::{Request, Source, Sourced};
    let mut request = Request::default();
    for e in entries {
        request.allow_net.push(Sourced::new((*e).to_owned(), Source::Flag("--allow-net")));
    }
    if best_effort {
        request.best_effort = Some(Source::Flag("--best-effort"));
    }
    let platform = crate::support::Platform::Macos(mac(SandboxExec::Present, Nesting::Outside));
    let e = crate::explain::explained(request, &platform);
    let text = crate::explain::render(&e, crate::cli::ExplainFormat::Text);
    (e, text)
}

#[test]
fn explain_names_sbpl_limits_not_linux_mechanisms() {
    let (e, text) = explained(&["example.com:443"], false);
    assert!(!e.verdict.runs, "{text}");
    assert!(e.verdict.refusals[0].contains("cannot be enforced on macOS"), "{:?}", e.verdict.refusals);
    assert!(text.contains("NOT ENFORCED here: --allow-net=example.com:443, a host name (refused"), "{text}");
    assert!(text.contains("LIMIT on macOS: some Mach and XPC services reach the network"), "{text}");
    assert!(
        text.contains("limit: Mach and XPC services other than LaunchServices, AppleEvents and launchd jobs"),
        "{text}"
    );
    assert!(text.contains("this system: macOS 14.5 (aarch64), /usr/bin/sandbox-exec present"), "{text}");
    assert!(text.contains("limit: nothing of the macOS backend has been verified on a real Mac"), "{text}");
    assert!(!text.contains("Landlock") && !text.contains("seccomp") && !text.contains("this kernel"), "{text}");
    let json = crate::explain::render(&e, crate::cli::ExplainFormat::Json);
    assert!(json.contains("\"macos\": {") && !json.contains("\"kernel\""), "{json}");

    let (e, text) = explained(&["example.com:443", "localhost"], true);
    assert!(e.verdict.runs && e.verdict.warnings.iter().any(|w| w.contains("dropped")), "{text}");
    assert!(text.contains("(narrowed by --best-effort: dropped, so the command cannot reach it)"), "{text}");

    let (e, text) = explained(&["localhost:5432"], false);
    assert!(e.verdict.runs && e.platform.unenforced().is_empty(), "{text}");
    assert!(text.contains("  enforces all of the above\n"), "{text}");
    assert!(text.contains("unix sockets only the --allow-unix ones"), "{text}");
}

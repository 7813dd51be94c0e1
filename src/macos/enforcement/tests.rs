//! The macOS gaps and limits for given policies, and the doctor's report:
//! pure, run on every platform.

use super::*;
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
    let limits = limits(&allowing(&["localhost:5432"], false));
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
    let limits = limits(&open);
    assert_eq!(limits.len(), 1);
    assert_eq!((limits[0].kind, limits[0].what.as_str()), (None, UNVERIFIED));
    let denied = Policy::for_test(Deny { net: true, ..Deny::default() }, Net::Denied, Vec::new());
    let limits = super::limits(&denied);
    assert!(limits.iter().any(|l| l.kind == Some(Kind::Net) && l.what.contains("Mach and XPC")));
    assert!(limits.iter().any(|l| l.kind == Some(Kind::Net) && l.what.contains("--allow-unix")));
    assert!(gaps(&denied).is_empty());
}

fn mac(sandbox_exec: SandboxExec, nesting: Nesting) -> MacSupport {
    MacSupport { version: Some("14.5".into()), arch: "aarch64", sandbox_exec, nesting }
}

#[test]
fn doctor_report() {
    let (out, ok) = report(&mac(SandboxExec::Present, Nesting::Outside));
    assert!(ok, "{out}");
    assert!(out.starts_with("system: macOS 14.5 (aarch64)\n"), "{out}");
    assert!(out.contains("yes /usr/bin/sandbox-exec present and executable\n"), "{out}");
    assert!(out.contains("no  sbx itself already runs inside a macOS sandbox\n"), "{out}");
    assert!(out.contains(UNVERIFIED) && out.contains("Mach and XPC"), "{out}");
    assert!(!out.contains("Landlock ABI") && !out.contains("seccomp"), "{out}");
    for flag in ["--deny-read", "--deny-write", "--deny-net", "--allow-net", "--allow-unix", "--deny-env"] {
        assert!(out.contains(&format!("\n  {flag} ")), "{flag} missing:\n{out}");
    }
    assert!(out.contains("verdict: sbx can sandbox commands on this Mac"), "{out}");

    let (out, ok) =
        report(&mac(SandboxExec::Present, Nesting::Inside("an allow-everything profile could not be applied".into())));
    assert!(!ok && out.contains("yes sbx itself already runs inside") && out.contains("every run exits 125"), "{out}");
    let (out, ok) = report(&mac(SandboxExec::Missing, Nesting::Unknown("sandbox-exec is not usable".into())));
    assert!(!ok && out.contains("no  /usr/bin/sandbox-exec") && out.contains("?   sbx itself"), "{out}");
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
    assert!(text.contains("LIMIT on macOS: Mach and XPC services are not restricted"), "{text}");
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

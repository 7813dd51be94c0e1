//! The start-failure diagnosis: which endings are probed and what each probe
//! result means. Pure, run on every platform.

use std::time::Duration;

use super::*;

const SOON: Duration = Duration::from_millis(30);
const LATE: Duration = Duration::from_secs(5);

#[test]
fn only_sandbox_statuses_and_early_aborts_are_probed() {
    assert!(suspicious(Outcome::Code(APPLY_FAILED), LATE));
    assert!(suspicious(Outcome::Code(PROFILE_REFUSED), SOON));
    assert!(suspicious(Outcome::Signal(libc::SIGABRT), SOON));
    assert!(suspicious(Outcome::Signal(libc::SIGTRAP), SOON));
    // An abort after the command ran a while is the command's own.
    assert!(!suspicious(Outcome::Signal(libc::SIGABRT), LATE));
    assert!(!suspicious(Outcome::Signal(libc::SIGABRT), START_WINDOW));
    for ended in [Outcome::Code(0), Outcome::Code(1), Outcome::Code(134), Outcome::Signal(libc::SIGSEGV)] {
        assert!(!suspicious(ended, SOON), "{ended:?}");
    }
}

#[test]
fn the_probe_tells_nested_refused_and_broken_profiles_apart() {
    assert_eq!(verdict(Some(Outcome::Code(0))), Verdict::Command);
    assert_eq!(verdict(Some(Outcome::Code(APPLY_FAILED))), Verdict::Nested);
    assert_eq!(verdict(Some(Outcome::Code(PROFILE_REFUSED))), Verdict::Refused);
    assert_eq!(verdict(Some(Outcome::Signal(libc::SIGABRT))), Verdict::AbortsAtStart(libc::SIGABRT));
    assert_eq!(verdict(Some(Outcome::Signal(libc::SIGTRAP))), Verdict::AbortsAtStart(libc::SIGTRAP));
    // A probe that could not start, or ended some other way, proves nothing:
    // the command's status stands.
    assert_eq!(verdict(None), Verdict::Command);
    assert_eq!(verdict(Some(Outcome::Code(1))), Verdict::Command);
    assert_eq!(verdict(Some(Outcome::Signal(libc::SIGKILL))), Verdict::Command);
}

#[test]
fn messages_say_what_failed_why_and_what_to_do() {
    assert_eq!(message(Verdict::Command), None);
    let nested = message(Verdict::Nested).unwrap();
    assert!(nested.contains("inside another macOS sandbox") && nested.contains("did not run"), "{nested}");
    let refused = message(Verdict::Refused).unwrap();
    assert!(refused.contains("refused") && refused.contains("sw_vers") && refused.contains("-v"), "{refused}");
    let aborts = message(Verdict::AbortsAtStart(libc::SIGABRT)).unwrap();
    assert!(aborts.contains("/usr/bin/true died of SIGABRT") && aborts.contains("--allow-read"), "{aborts}");
    assert!(message(Verdict::AbortsAtStart(libc::SIGTRAP)).unwrap().contains("SIGTRAP"));
    assert!(hint(libc::SIGABRT).contains("SIGABRT right after it started"));
}

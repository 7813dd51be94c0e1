//! The choice of SBPL forms from probe answers, the cache, and the terminal
//! list: pure, run on every platform.

use std::path::PathBuf;

use super::*;

/// A `compiles` answer from a list of the candidates that compile, counting
/// how often each was asked.
fn asking(compiling: &[Candidate]) -> (Dialect, Vec<&'static str>) {
    let mut asked = Vec::new();
    let dialect = Dialect::choose(|c| {
        asked.push(c.id);
        compiling.contains(c)
    });
    (dialect, asked)
}

#[test]
fn names_are_preferred_and_numbers_tried_only_when_a_name_is_unbound() {
    let (dialect, asked) = asking(CANDIDATES);
    assert_eq!(dialect, Dialect::BY_NAME);
    assert_eq!(asked, ["tiocsti-symbolic", "protection-class-symbolic", "hid-control"]);
    assert!(!dialect.new_session());

    // macOS 14.2 (Codex issue 45119): TIOCSTI unbound, its number compiles.
    let (dialect, asked) = asking(&[TIOCSTI_NUMERIC, PROTECTION_CLASS_SYMBOLIC, HID_CONTROL]);
    assert_eq!(dialect.tiocsti, Some(Form::Numeric));
    assert_eq!(dialect.tiocsti_rule(), Some("(deny file-ioctl (ioctl-command 2147578994))"));
    assert!(!dialect.new_session());
    assert_eq!(asked.iter().filter(|id| id.starts_with("tiocsti")).count(), 2);
}

#[test]
fn no_tiocsti_form_means_a_new_session_never_nothing() {
    let (dialect, asked) = asking(&[]);
    assert_eq!(dialect, Dialect { hid_control: false, tiocsti: None, protection_class: None });
    assert!(dialect.new_session());
    assert_eq!(dialect.tiocsti_rule(), None);
    assert_eq!(dialect.protection_class_rule(), None);
    assert_eq!(asked.len(), CANDIDATES.len(), "every candidate is asked once: {asked:?}");
    assert!(dialect.describe_tiocsti().contains("new session"));
}

#[test]
fn the_numeric_forms_are_the_macos_values() {
    // TIOCSTI = _IOW('t', 114, char) = IOC_IN | sizeof(char) << 16 | 't' << 8 | 114.
    let tiocsti: u32 = 0x8000_0000 | (1 << 16) | (u32::from(b't') << 8) | 114;
    assert_eq!(tiocsti, 2_147_578_994);
    assert!(TIOCSTI_NUMERIC.rule.contains(&tiocsti.to_string()));
    // F_SETPROTECTIONCLASS in <sys/fcntl.h>.
    assert!(PROTECTION_CLASS_NUMERIC.rule.contains("(fcntl-command 64)"));
}

#[test]
fn the_cache_holds_only_forms_that_compiled_on_the_same_build() {
    let text = cache_text("23C64", &["tiocsti-numeric", "hid-control"]);
    assert_eq!(text, "sbx seatbelt forms 1\nbuild 23C64\ntiocsti-numeric\nhid-control\n");
    assert_eq!(cached_forms(&text, "23C64"), ["tiocsti-numeric", "hid-control"]);
    // Another build (an update) or no build known: probe again.
    assert!(cached_forms(&text, "23D56").is_empty());
    assert!(cached_forms(&cache_text("", &["hid-control"]), "").is_empty());
    // Not this format, or ids sbx does not know: ignored.
    assert!(cached_forms("garbage\nbuild 23C64\nhid-control\n", "23C64").is_empty());
    let forged = "sbx seatbelt forms 1\nbuild 23C64\n(allow default)\nhid-control\n";
    assert_eq!(cached_forms(forged, "23C64"), ["hid-control"]);
}

#[test]
fn terminals_are_the_stdio_ttys_once_each() {
    let names = [Some(PathBuf::from("/dev/ttys003")), None, Some(PathBuf::from("/dev/ttys003"))];
    assert_eq!(terminals(names), [PathBuf::from("/dev/ttys003")]);
    let names = [Some(PathBuf::from("/dev/ttys001")), Some(PathBuf::from("/dev/ttys002")), None];
    assert_eq!(terminals(names), [PathBuf::from("/dev/ttys001"), PathBuf::from("/dev/ttys002")]);
    assert!(terminals([None, None, None]).is_empty());
    assert!(terminals([Some(PathBuf::from("/Users/me/x")), Some(PathBuf::from("/dev"))]).is_empty());
}

#[test]
fn a_cached_spelling_answers_for_its_rule_and_nothing_else_is_assumed() {
    let cached = ["tiocsti-numeric", "hid-control"];
    assert_eq!(cached_answer(&TIOCSTI_NUMERIC, &cached), Some(true));
    // The name is not probed again on a macOS that needed the number.
    assert_eq!(cached_answer(&TIOCSTI_SYMBOLIC, &cached), Some(false));
    assert_eq!(cached_answer(&HID_CONTROL, &cached), Some(true));
    // Nothing cached for this rule: only a probe can tell.
    assert_eq!(cached_answer(&PROTECTION_CLASS_SYMBOLIC, &cached), None);
    assert_eq!(cached_answer(&PROTECTION_CLASS_NUMERIC, &cached), None);
    assert_eq!(cached_answer(&HID_CONTROL, &[]), None);
    // With that cache, the choice asks the probe for the protection class only.
    let mut probed = Vec::new();
    let dialect = Dialect::choose(|c| {
        cached_answer(c, &cached).unwrap_or_else(|| {
            probed.push(c.id);
            true
        })
    });
    assert_eq!(dialect.tiocsti, Some(Form::Numeric));
    assert_eq!(probed, ["protection-class-symbolic"]);
}

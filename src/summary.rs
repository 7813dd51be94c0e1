//! The denial summary: what the sandbox blocked during a run, grouped and
//! counted, printed when the command ends (`-q` silences it), with the flag
//! or the profile line that would allow each. The supervisor records each
//! report line as it makes it: network attempts, metadata calls, and the
//! file writes it sees refused. Refused reads are not reported to sbx
//! (Landlock does not tell it): [`file_hint`] says where to look instead
//! when a command under --deny-read fails.
//!
//! One tally per process: sbx runs one command.

use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use crate::policy::{Kind, Policy, Source};

/// A report line and how often it happened (`None`: its reporter tells
/// each one once, so it was not counted).
#[derive(Debug, Default)]
struct Tally {
    lines: Vec<(String, Option<u64>)>,
}

static TALLY: Mutex<Tally> = Mutex::new(Tally { lines: Vec::new() });

/// Records one blocked attempt, described by its report `line`
/// (`sbx: blocked …`). Returns whether it is the first of its kind.
pub fn record(line: &str) -> bool {
    record_with(line, true)
}

/// Records a blocked attempt whose reporter tells each kind only once (so
/// it cannot be counted).
pub fn record_once(line: &str) {
    record_with(line, false);
}

fn record_with(line: &str, counted: bool) -> bool {
    let mut tally = TALLY.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, count)) = tally.lines.iter_mut().find(|(l, _)| l == line) {
        if let Some(n) = count {
            *n += 1;
        }
        return false;
    }
    // Bounded: a command trying a million addresses must not grow sbx
    // without end; past the bound new kinds are printed but not summed up.
    if tally.lines.len() < 10_000 {
        tally.lines.push((line.to_owned(), counted.then_some(1)));
    }
    true
}

/// What to say about file denials when the command has ended. Refused
/// writes are named as they happen where sbx's supervisor sees them
/// (`writes_reported`); refused reads never are (Landlock does not tell sbx).
/// So when a command under a restriction sbx cannot name fails in front of a
/// person (stderr is a terminal), sbx says once where to look. Not after an
/// interrupt (a signal, or the shell's 130/143 for Ctrl-C and SIGTERM), not
/// in scripts or CI logs, not with `-q`.
pub fn file_hint(
    policy: &Policy,
    outcome: crate::exit::Outcome,
    stderr_is_terminal: bool,
    writes_reported: bool,
) -> Option<String> {
    let failed = matches!(outcome, crate::exit::Outcome::Code(code) if ![0, 130, 143].contains(&code));
    let hides = !policy.hidden.is_empty();
    let unnamed = match (policy.deny.read, policy.deny.write && !writes_reported) {
        (true, true) => "file accesses outside the allowed paths",
        (true, false) => "reads outside the allowed paths",
        (false, true) if hides => "writes outside the allowed paths and reads of the hidden paths",
        (false, true) => "writes outside the allowed paths",
        (false, false) if hides => "reads of the hidden paths",
        (false, false) => return None,
    };
    if policy.quiet || !stderr_is_terminal || !failed {
        return None;
    }
    // Under --deny-read a rule on the path lifts a hide; without it an
    // --allow-read would deny every other read, so the hide itself goes.
    let hidden = match (policy.hidden.as_slice(), policy.deny.read) {
        ([], _) => String::new(),
        ([one], true) => format!("; {} is hidden (--allow-read={0} lifts it)", one.path.display()),
        ([one], false) => format!("; {} is hidden (by {}: leave that out to read it)", one.path.display(), one.source),
        ([first, rest @ ..], true) => {
            format!("; {} and {} more paths are hidden (--allow-read=PATH lifts one)", first.path.display(), rest.len())
        }
        ([first, rest @ ..], false) => format!(
            "; {} and {} more paths are hidden (by --hide or --hide-secrets: leave it out to read one)",
            first.path.display(),
            rest.len()
        ),
    };
    Some(format!(
        "sbx: note: the command failed; {unnamed} fail with EACCES and are not listed here{hidden} — `sbx \
         --explain` with the same flags shows what is allowed, `-v` the rules as applied\n"
    ))
}

/// The summary to print when the command has ended, if anything was
/// blocked and `-q` was not given.
pub fn take(policy: &Policy) -> Option<String> {
    let lines = std::mem::take(&mut TALLY.lock().unwrap_or_else(PoisonError::into_inner).lines);
    render(&lines, policy)
}

/// What only a network report line says.
const NETWORK_MARKS: &[&str] = &["--allow-net", "--allow-unix", "abstract unix socket", "nameserver"];

fn render(lines: &[(String, Option<u64>)], policy: &Policy) -> Option<String> {
    if lines.is_empty() || policy.quiet {
        return None;
    }
    let mut sorted: Vec<&(String, Option<u64>)> = lines.iter().collect();
    sorted.sort_by_key(|(_, count)| std::cmp::Reverse(count.unwrap_or(0)));
    let attempts: u64 = lines.iter().map(|(_, c)| c.unwrap_or(1)).sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sbx: summary: the sandbox refused {attempts} {}attempt{} of {} kind{}:",
        if lines.iter().all(|(l, _)| NETWORK_MARKS.iter().any(|mark| l.contains(mark))) { "network " } else { "" },
        if attempts == 1 { "" } else { "s" },
        lines.len(),
        if lines.len() == 1 { "" } else { "s" }
    );
    for (line, count) in sorted {
        let what = line.strip_prefix("sbx: blocked ").unwrap_or(line);
        match count {
            Some(n) => {
                let _ = writeln!(out, "sbx:   {n}× {what}");
            }
            None => {
                let _ = writeln!(out, "sbx:   {what}");
            }
        }
    }
    if let Some(hint) = profile_hint(policy) {
        let _ = writeln!(out, "sbx:   {hint}");
    }
    Some(out)
}

/// Where an `allow_net` entry would go when the network restriction comes
/// from a profile: its `allow_net` line, else the line that denied the
/// network.
fn profile_hint(policy: &Policy) -> Option<String> {
    let in_profile = policy.origins.net.iter().find_map(|e| match &e.source {
        Source::Profile(key) => Some(key),
        _ => None,
    });
    if let Some(key) = in_profile {
        return Some(match &key.at {
            Some((file, line)) => format!(
                "(the profile's way: add the entry to allow_net of profile {} at {}:{line})",
                key.profile,
                file.display()
            ),
            None => format!(
                "(the profile's way: define a profile that extends {} with allow_net = [\"ENTRY\"])",
                key.profile
            ),
        });
    }
    let reason = policy.origins.denied(Kind::Net)?;
    match &reason.source {
        Source::Profile(key) => Some(match &key.at {
            Some((file, line)) => format!(
                "(the profile's way: add allow_net = [\"ENTRY\"] to profile {}, whose {} is at {}:{line})",
                key.profile,
                key.key,
                file.display()
            ),
            None => format!(
                "(the profile's way: define a profile that extends {} with allow_net = [\"ENTRY\"])",
                key.profile
            ),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::policy::{Request, Sourced, Surroundings};

    fn policy(request: Request) -> Policy {
        Policy::build(&request, &Surroundings { vars: Vec::new(), cwd: PathBuf::from("/") }).unwrap()
    }

    #[test]
    fn the_file_note_follows_a_plausible_failure_of_what_sbx_cannot_name() {
        use crate::exit::Outcome;
        let mut request = Request::default();
        request.deny(Kind::Read, Source::Flag("--deny-read"));
        let reads = policy(request);
        let note = file_hint(&reads, Outcome::Code(1), true, true).unwrap();
        assert!(note.starts_with("sbx: note: the command failed; reads outside"), "{note}");
        // Not after success, Ctrl-C or a signal; not off a terminal.
        for outcome in [Outcome::Code(0), Outcome::Code(130), Outcome::Code(143), Outcome::Signal(2)] {
            assert_eq!(file_hint(&reads, outcome, true, true), None, "{outcome:?}");
        }
        assert_eq!(file_hint(&reads, Outcome::Code(1), false, true), None);
        // Writes alone: only where they are not named as they happen.
        let mut request = Request::default();
        request.deny(Kind::Write, Source::Flag("--deny-write"));
        let writes = policy(request);
        assert_eq!(file_hint(&writes, Outcome::Code(1), true, true), None);
        assert!(file_hint(&writes, Outcome::Code(1), true, false).unwrap().contains("; writes outside"));
        // No file restriction: nothing to say.
        assert_eq!(file_hint(&policy(Request::default()), Outcome::Code(1), true, false), None);
        // A hidden path is named, with what lifts it.
        let mut hides = policy(Request::default());
        hides.hidden.push(crate::policy::Hidden {
            path: PathBuf::from("/h/.ssh"),
            is_dir: true,
            source: Source::Flag("--hide"),
        });
        let note = file_hint(&hides, Outcome::Code(1), true, true).unwrap();
        assert!(note.contains("reads of the hidden paths fail with EACCES"), "{note}");
        assert!(note.contains("/h/.ssh is hidden (by --hide: leave that out to read it)"), "{note}");
        hides.deny.read = true;
        let note = file_hint(&hides, Outcome::Code(1), true, true).unwrap();
        assert!(note.contains("/h/.ssh is hidden (--allow-read=/h/.ssh lifts it)"), "{note}");
    }

    #[test]
    fn groups_counts_and_sorts() {
        let lines = vec![
            ("sbx: blocked connect to 127.0.0.2:80 — allow with --allow-net=127.0.0.2:80".to_owned(), Some(1)),
            ("sbx: blocked sendto 127.0.0.3:53 — allow with --allow-net=127.0.0.3:53".to_owned(), Some(4)),
            ("sbx: blocked DNS lookup of evil.test — allow with --allow-net=evil.test".to_owned(), None),
        ];
        let mut request = Request::default();
        request.deny(Kind::Net, Source::Flag("--deny-net"));
        let text = render(&lines, &policy(request)).unwrap();
        assert_eq!(
            text,
            "sbx: summary: the sandbox refused 6 network attempts of 3 kinds:\n\
             sbx:   4× sendto 127.0.0.3:53 — allow with --allow-net=127.0.0.3:53\n\
             sbx:   1× connect to 127.0.0.2:80 — allow with --allow-net=127.0.0.2:80\n\
             sbx:   DNS lookup of evil.test — allow with --allow-net=evil.test\n"
        );
        assert!(!text.contains("blocked connect"), "the summary must not read as another report");
    }

    #[test]
    fn quiet_or_nothing_blocked_prints_nothing() {
        let mut request = Request::default();
        request.quiet = true;
        assert!(render(&[("sbx: blocked x".into(), Some(1))], &policy(request)).is_none());
        assert!(render(&[], &policy(Request::default())).is_none());
    }

    #[test]
    fn names_the_profile_line() {
        let at = Some((PathBuf::from("/p/sbx.toml"), 7));
        let mut request = Request::default();
        request.allow_net.push(Sourced::new("127.0.0.1".into(), Source::profile("web", "allow_net", at.clone())));
        let text = render(&[("sbx: blocked x".into(), Some(2))], &policy(request)).unwrap();
        assert!(text.contains("allow_net of profile web at /p/sbx.toml:7"), "{text}");
        let mut request = Request::default();
        request.deny(Kind::Net, Source::profile("web", "deny", at));
        let text = render(&[("sbx: blocked x".into(), Some(2))], &policy(request)).unwrap();
        assert!(text.contains("to profile web, whose deny is at /p/sbx.toml:7"), "{text}");
    }

    #[test]
    fn record_counts_repeats() {
        // The one global tally: use lines no other test records.
        assert!(record("sbx: blocked test-only 1"));
        assert!(!record("sbx: blocked test-only 1"));
        let tally = TALLY.lock().unwrap();
        let (_, count) = tally.lines.iter().find(|(l, _)| l == "sbx: blocked test-only 1").unwrap();
        assert_eq!(*count, Some(2));
    }
}

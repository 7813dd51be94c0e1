//! Hidden paths: what the command may not read although a rule covers it —
//! the `--hide` paths, and the built-in secrets set ([`crate::secrets`]),
//! asked for with `--hide-secrets` and on by default under `--deny-read`.
//! Decided here, platform-neutrally: which are hidden, which a rule on the
//! path itself lifts, which are skipped and why; a hide inside a writable
//! tree is refused unless `--best-effort` names it (see [`decide`]).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::{Access, Deny, PathRule, Request, Source, Surroundings};
use crate::paths;
use crate::secrets::SECRETS;

/// A path the command may not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    /// Canonical.
    pub path: PathBuf,
    pub is_dir: bool,
    pub source: Source,
}

/// What became of one hide, for `--explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HideNote {
    /// Canonical.
    pub path: PathBuf,
    pub source: Source,
    /// For an entry of the secrets set: what it holds.
    pub holds: Option<&'static str>,
    pub outcome: HideOutcome,
}

/// Whether a hide is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HideOutcome {
    /// Hidden: cut out of `from` (the covering rule, as an entry; the
    /// reading of everything without `--deny-read`), except what the rules
    /// in `except` (beneath it) grant again.
    Hidden { from: String, except: Vec<String> },
    /// Not hidden: a rule names the path itself (the entry).
    Lifted(String),
    /// Not hidden, and why.
    Skipped(String),
}

/// The source of the secrets set when nobody asked for it.
pub const SECRETS_BY_DEFAULT: Source = Source::Default("secrets set, hidden under --deny-read");

/// What stands for the reading of everything without `--deny-read`.
pub const READ_ALL: &str = "reading everything (no --deny-read)";

/// One hide asked for, before it is decided.
struct Wanted {
    path: PathBuf,
    source: Source,
    /// For an entry of the secrets set: what it holds.
    holds: Option<&'static str>,
}

/// Decides every hide `request` asks for against the (deduplicated) path
/// `rules`: returns the hidden paths and a note for each hide.
///
/// An explicit `--hide` (or `hide` key) is hidden wherever a read rule
/// covers it, or everywhere without `--deny-read`; inside a writable rule
/// it is refused, unless `--best-effort` (then hidden, with a warning).
/// Why: Landlock can only add rights, so a hidden path is cut out of a tree
/// by granting the tree's rights entry by entry (see the Linux plan), and a
/// file made later directly in a split directory is covered by no rule —
/// in a writable tree, the command's own new files would be unreadable to
/// it. An entry of the secrets set in a writable tree is skipped instead,
/// and said so. A rule on the path itself lifts the hide; rules beneath it
/// grant what they name. A missing `--hide` path is warned about (nothing to
/// hide); missing entries of the set, and entries no rule reaches under
/// `--deny-read`, are left out silently.
pub fn decide(
    request: &Request,
    ctx: &Surroundings,
    deny: Deny,
    rules: &[PathRule],
) -> Result<(Vec<Hidden>, Vec<HideNote>)> {
    let mut wanted: Vec<Wanted> =
        request.hide.iter().map(|e| Wanted { path: e.value.clone(), source: e.source.clone(), holds: None }).collect();
    let explicit = wanted.len();
    let set_source = request.hide_secrets.clone().or_else(|| deny.read.then_some(SECRETS_BY_DEFAULT));
    if let (Some(source), Some(home)) = (&set_source, ctx.home()) {
        wanted.extend(SECRETS.iter().map(|s| Wanted {
            path: home.join(s.path),
            source: source.clone(),
            holds: Some(s.holds),
        }));
    }
    let mut hidden: Vec<Hidden> = Vec::new();
    let mut notes: Vec<HideNote> = Vec::new();
    for (i, want) in wanted.into_iter().enumerate() {
        let named = i < explicit;
        let entry = || want.source.entry(&paths::show(&want.path));
        let resolved = match paths::resolve(&want.path) {
            Ok(resolved) => resolved,
            Err(err) if named => {
                eprintln!(
                    "sbx: warning: {}: {}; there is nothing to hide",
                    entry(),
                    paths::explain_unresolvable(&want.path, &err)
                );
                continue;
            }
            Err(_) => continue,
        };
        if resolved.path == Path::new("/") {
            bail!(
                "{}: hiding / hides everything; use --deny-read with the --allow-read paths the command needs",
                entry()
            );
        }
        if notes.iter().any(|n| n.path == resolved.path) {
            continue;
        }
        let note =
            |outcome| HideNote { path: resolved.path.clone(), source: want.source.clone(), holds: want.holds, outcome };
        if let Some(lift) = rules.iter().find(|r| r.path == resolved.path) {
            notes.push(note(HideOutcome::Lifted(lift.source.entry(&paths::show(&lift.path)))));
            continue;
        }
        let covering: Vec<&PathRule> = rules
            .iter()
            .filter(|r| r.is_dir && resolved.path.starts_with(&r.path) && r.path != resolved.path)
            .collect();
        let except: Vec<String> = rules
            .iter()
            .filter(|r| r.path.starts_with(&resolved.path) && r.path != resolved.path)
            .map(|r| r.source.entry(&paths::show(&r.path)))
            .collect();
        let closest = |access: Option<Access>| {
            covering.iter().filter(|r| access.is_none_or(|a| r.access == a)).max_by_key(|r| r.path.components().count())
        };
        if let Some(writable) = closest(Some(Access::Write)) {
            let tree = writable.source.entry(&paths::show(&writable.path));
            if !named {
                let why = format!(
                    "inside {tree}, which is writable: a file the command made there would be unreadable to it; \
                     allow narrower write paths to hide it"
                );
                if request.hide_secrets.is_some() {
                    eprintln!("sbx: warning: {} is not hidden: {why}", want.path.display());
                }
                notes.push(note(HideOutcome::Skipped(why)));
                continue;
            }
            let Some(best_effort) = &request.best_effort else {
                bail!(
                    "{} lies inside {tree}, which is writable: Landlock can only add rights, so hiding it means granting \
                     that tree's rights entry by entry around it, and a file the command makes later directly in a \
                     directory on the way would be unreadable to it; allow narrower write paths that leave it out, \
                     or add --best-effort to hide it at that cost",
                    entry()
                );
            };
            eprintln!(
                "sbx: warning: {} lies inside {tree}, which is writable; hidden anyway ({best_effort}): a file the command \
                 makes directly in a directory between the two is unreadable to it for this run",
                entry()
            );
            notes.push(note(HideOutcome::Hidden { from: tree, except }));
        } else if let Some(readable) = closest(None) {
            notes.push(note(HideOutcome::Hidden { from: readable.source.entry(&paths::show(&readable.path)), except }));
        } else if !deny.read {
            notes.push(note(HideOutcome::Hidden { from: READ_ALL.to_owned(), except }));
        } else {
            if named {
                notes.push(note(HideOutcome::Skipped("no rule makes it readable: it is unreadable anyway".into())));
            }
            continue;
        }
        hidden.push(Hidden { path: resolved.path, is_dir: resolved.is_dir, source: want.source });
    }
    Ok((hidden, notes))
}

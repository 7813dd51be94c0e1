//! Paths kept read-only inside the writable paths: what a command could
//! plant there to run later, outside the sandbox — a git hook, a git
//! configuration naming a program, an editor task, a CI workflow, the
//! sandbox's own configuration. A project's defaults ([`PROJECT_DEFAULTS`],
//! [`GIT_DEFAULTS`]) apply wherever a write rule covers the top of a git
//! work tree or a directory with `sbx.toml`; `--protect` adds paths,
//! `--unprotect` and a more specific `--allow-write` lift defaults.
//!
//! Landlock can only grant, so a protected path inside a writable tree
//! cannot be one rule. The backend keeps every tree that holds one
//! read-only to the command and performs the command's writes there itself,
//! refusing those that reach a protected path ([`Protection::refuses`]).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::{Access, PathRule, Request, Source, Sourced, Surroundings};
use crate::paths;

/// A project's files that make other programs run code, relative to the
/// project's top directory, and why each is protected.
pub const PROJECT_DEFAULTS: &[(&str, &str)] = &[
    ("sbx.toml", "the sandbox's own configuration: it would choose the next run's sandbox"),
    (".envrc", "direnv runs it when a shell enters the directory"),
    (".vscode", "VS Code runs its tasks (runOn: folderOpen), and its settings name programs (terminal, interpreters)"),
    (".idea", "JetBrains IDEs run its run configurations and startup tasks"),
    (".husky", "husky's git hooks (core.hooksPath) run on commit"),
    (".pre-commit-config.yaml", "the pre-commit hook runs the programs it lists"),
    (".github/workflows", "GitHub runs its workflows, with the repository's secrets, on push"),
    (".gitlab-ci.yml", "GitLab runs its jobs, with the project's secrets, on push"),
    ("mise.toml", "mise remembers trust by path: its tasks and hooks run on the next cd"),
    (".mise.toml", "mise remembers trust by path: its tasks and hooks run on the next cd"),
];

/// A git directory's files that make git run code, relative to the common
/// git directory (`.git`, or a linked worktree's main `.git`), and why.
pub const GIT_DEFAULTS: &[(&str, &str)] = &[
    ("hooks", "git runs its hooks on commit, checkout, merge and push"),
    (
        "config",
        "git runs what it names (core.hooksPath, core.fsmonitor, core.sshCommand, aliases, filters, pagers, editors)",
    ),
    ("config.worktree", "read as git's configuration, like config"),
    ("info/attributes", "selects git's filter and diff drivers, which run programs"),
];

/// One protected path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    /// Canonical where it exists (its nearest existing ancestor resolved and
    /// the rest appended).
    pub path: PathBuf,
    /// Why it is protected.
    pub why: String,
    pub source: Source,
}

/// A default protection lifted, and by what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifted {
    pub path: PathBuf,
    pub why: String,
    pub by: Source,
    /// The path of the rule that lifted it.
    pub by_path: PathBuf,
}

/// The protected paths of a policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protection {
    pub protected: Vec<Protected>,
    pub lifted: Vec<Lifted>,
}

/// How an entry is changed, for [`Protection::refuses`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Written, truncated, its metadata changed (an existing entry).
    Write,
    /// A new directory made there.
    MakeDir,
    /// A new file, link, symlink, fifo or socket made there, or something
    /// renamed onto it.
    Make,
    /// Removed.
    Remove,
    /// Renamed away (or exchanged).
    RenameAway,
}

impl Protection {
    /// Whether any path is protected.
    pub fn is_empty(&self) -> bool {
        self.protected.is_empty()
    }

    /// The protected path that refuses `change` at `entry` (canonical: its
    /// directory resolved, the name appended), if any: one that is the
    /// entry or holds it; or, for what would bring other content to a
    /// protected path (making a non-directory there, renaming onto it or
    /// away from it), one the entry holds — so `.git` cannot be replaced
    /// by a prepared tree, nor moved away to be edited. A new empty
    /// directory on the way to a protected path is fine, as is removing an
    /// empty one.
    pub fn refuses(&self, entry: &Path, change: Change) -> Option<&Protected> {
        let replaces = matches!(change, Change::Make | Change::RenameAway);
        self.protected
            .iter()
            .find(|p| beneath_any_case(entry, &p.path) || (replaces && beneath_any_case(&p.path, entry)))
    }

    /// The write rules' trees that hold a protected path (or are one):
    /// the command may not write there itself.
    pub fn supervised_trees(&self, rules: &[PathRule]) -> Vec<PathBuf> {
        rules
            .iter()
            .filter(|r| r.access == Access::Write && r.is_dir)
            .filter(|r| self.protected.iter().any(|p| p.path.starts_with(&r.path)))
            .map(|r| r.path.clone())
            .collect()
    }
}

/// Whether `path` is `base` or lies beneath it, for canonical absolute
/// paths (no `.`, `..`, repeated or trailing slashes): by bytes, so that
/// the supervisor's check on every call costs a comparison, not a walk
/// over components.
pub fn beneath(path: &Path, base: &Path) -> bool {
    let (path, base) = (path.as_os_str().as_encoded_bytes(), base.as_os_str().as_encoded_bytes());
    path.starts_with(base) && (path.len() == base.len() || path[base.len()] == b'/' || base == b"/")
}

/// [`beneath`], with ASCII letters of either case alike: a directory
/// that folds case (ext4 and f2fs `casefold`) opens `.git/CONFIG` as
/// `.git/config`, so a protection holds for every spelling.
pub fn beneath_any_case(path: &Path, base: &Path) -> bool {
    let (path, base) = (path.as_os_str().as_encoded_bytes(), base.as_os_str().as_encoded_bytes());
    path.len() >= base.len()
        && path[..base.len()].eq_ignore_ascii_case(base)
        && (path.len() == base.len() || path[base.len()] == b'/' || base == b"/")
}

/// `path` made canonical where it exists: its nearest existing ancestor
/// resolved and the rest appended (nothing is created).
pub fn canonical_lenient(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    while !existing.exists() {
        let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else { break };
        rest.push(name.to_owned());
        existing = parent;
    }
    let mut canonical = paths::resolve(existing).map(|r| r.path).unwrap_or_else(|_| existing.to_path_buf());
    for name in rest.iter().rev() {
        canonical.push(name);
    }
    canonical
}

/// Whether `path` lies inside a write rule of `rules` (a directory rule's
/// tree, or a file rule's very file).
fn writable(path: &Path, rules: &[PathRule]) -> bool {
    rules
        .iter()
        .filter(|r| r.access == Access::Write)
        .any(|r| if r.is_dir { path.starts_with(&r.path) } else { path == r.path })
}

/// The git work tree top at or above `dir`: the nearest directory with a
/// `.git` entry.
fn work_tree_top(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok()).map(Path::to_path_buf)
}

/// A work tree's git directories: (`.git` itself when it is a file — a
/// linked worktree's pointer —, the git directory, the common directory).
fn git_dirs(top: &Path) -> Option<(Option<PathBuf>, PathBuf, PathBuf)> {
    let dotgit = top.join(".git");
    let meta = std::fs::symlink_metadata(&dotgit).ok()?;
    let (pointer, gitdir) = if meta.is_dir() {
        (None, dotgit)
    } else {
        let text = std::fs::read_to_string(&dotgit).ok()?;
        let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
        (Some(dotgit), top.join(target))
    };
    let common = match std::fs::read_to_string(gitdir.join("commondir")) {
        Ok(text) => gitdir.join(text.trim()),
        Err(_) => gitdir.clone(),
    };
    Some((pointer, canonical_lenient(&gitdir), canonical_lenient(&common)))
}

/// The git directories (those with a `HEAD`) at or below `dir`, down to
/// `depth` levels (submodule names may hold slashes).
fn git_dirs_below(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if path.join("HEAD").is_file() {
            out.push(path.clone());
            out.extend(git_dirs_below(&path.join("modules"), depth.saturating_sub(1)));
        } else if depth > 1 {
            out.extend(git_dirs_below(&path, depth - 1));
        }
    }
    out
}

/// The `path` values of a work tree's `.gitmodules`.
fn submodule_paths(top: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(top.join(".gitmodules")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().split_once('='))
        .filter(|(k, _)| k.trim() == "path")
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty() && !v.split('/').any(|c| c == ".."))
        .collect()
}

/// The values of `core.hooksPath` and of `include.path` /
/// `includeIf.*.path` in a git configuration file's text: other files git
/// would take hooks or configuration from.
pub fn git_config_paths(text: &str) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            let name = header.split([']', ' ', '"']).next().unwrap_or("");
            section = name.to_ascii_lowercase();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = key.trim().to_ascii_lowercase();
        let value = value.split([';', '#']).next().unwrap_or("").trim().trim_matches('"').to_owned();
        if value.is_empty() {
            continue;
        }
        match (section.as_str(), key.as_str()) {
            ("core", "hookspath") => out.push((value, "git runs the hooks in core.hooksPath")),
            ("include" | "includeif", "path") => out.push((value, "git reads it as configuration (include.path)")),
            _ => {}
        }
    }
    out
}

/// Resolves the protections `request` asks for (and the defaults) against
/// the policy's path `rules`, in `ctx`. Only what a write rule covers is
/// kept: elsewhere the command cannot write anyway.
pub fn resolve(request: &Request, rules: &[PathRule], deny_write: bool, ctx: &Surroundings) -> Result<Protection> {
    if !deny_write {
        if let Some(first) = request.protect.first() {
            bail!(
                "{}: protecting a path carves it out of the writable paths, but writing is not restricted; add \
                 --deny-write --allow-write=DIR for the tree the command may write (e.g. --deny-write \
                 --allow-write=.)",
                first.source.entry(&paths::show(&first.value))
            );
        }
        return Ok(Protection::default());
    }
    let home = ctx.home();
    let mut out = Protection::default();
    let explicit_writes: Vec<&PathRule> =
        rules.iter().filter(|r| r.access == Access::Write && !matches!(r.source, Source::Default(_))).collect();
    for Sourced { value, source } in &request.protect {
        let path = canonical_lenient(value);
        if let Some(w) = explicit_writes.iter().find(|w| w.path.starts_with(&path)) {
            bail!(
                "{} and {} contradict each other: a path cannot be both protected and writable; drop one",
                source.entry(&paths::show(value)),
                w.source.entry(&paths::show(&w.path))
            );
        }
        if !writable(&path, rules) {
            eprintln!(
                "sbx: warning: {}: no write rule reaches it, so it is read-only anyway",
                source.entry(&paths::show(value))
            );
            continue;
        }
        out.protected.push(Protected { path, why: "asked for".into(), source: source.clone() });
    }
    let unprotect: Vec<(PathBuf, &Source)> =
        request.unprotect.iter().map(|u| (canonical_lenient(&u.value), &u.source)).collect();
    let mut defaults: Vec<(PathBuf, String, &'static str)> = Vec::new();
    let mut candidates: Vec<PathBuf> = explicit_writes.iter().filter(|r| r.is_dir).map(|r| r.path.clone()).collect();
    candidates.push(canonical_lenient(&ctx.cwd));
    let mut tops: Vec<PathBuf> = Vec::new();
    for dir in candidates {
        let top = match work_tree_top(&dir) {
            Some(top) => Some(top),
            None if dir.join(crate::config::PROJECT_FILE).exists() => Some(dir),
            None => None,
        };
        if let Some(top) = top.filter(|t| !tops.contains(t) && home.as_deref() != Some(t.as_path())) {
            tops.push(top);
        }
    }
    for top in &tops {
        for (rel, why) in PROJECT_DEFAULTS {
            defaults.push((top.join(rel), (*why).to_owned(), "a project's file that runs code"));
        }
        let Some((pointer, gitdir, common)) = git_dirs(top) else { continue };
        if let Some(pointer) = pointer {
            defaults.push((
                canonical_lenient(&pointer),
                "a linked worktree's pointer to its git directory (whose hooks and configuration git uses)".into(),
                "a git file that runs code",
            ));
        }
        for (rel, why) in GIT_DEFAULTS {
            defaults.push((common.join(rel), (*why).to_owned(), "a git file that runs code"));
        }
        if gitdir != common {
            defaults.push((
                gitdir.join("config.worktree"),
                "read as git's configuration".into(),
                "a git file that runs code",
            ));
            defaults.push((
                gitdir.join("commondir"),
                "names the git directory whose hooks git runs".into(),
                "a git file that runs code",
            ));
        }
        // Submodules' git directories (`.git/modules/NAME`, nested): their
        // hooks and configuration run in `git submodule` commands and in
        // the submodule's work tree; and each submodule's `.git` pointer.
        for module in git_dirs_below(&common.join("modules"), 4) {
            for (rel, why) in GIT_DEFAULTS {
                defaults.push((module.join(rel), format!("a submodule's: {why}"), "a git file that runs code"));
            }
        }
        for sub in submodule_paths(top) {
            let pointer = top.join(&sub).join(".git");
            if std::fs::symlink_metadata(&pointer).is_ok_and(|m| m.is_file()) {
                defaults.push((
                    canonical_lenient(&pointer),
                    "a submodule's pointer to its git directory (whose hooks and configuration git uses)".into(),
                    "a git file that runs code",
                ));
            }
        }
        let config = std::fs::read_to_string(common.join("config")).unwrap_or_default();
        for (value, why) in git_config_paths(&config) {
            let raw = OsStr::new(&value);
            let path = paths::absolute(raw, home.as_deref(), top);
            defaults.push((canonical_lenient(&path), why.to_owned(), "a file git's configuration names"));
        }
    }
    for (path, why, what) in defaults {
        if !writable(&path, rules) || out.protected.iter().any(|p| p.path == path) {
            continue;
        }
        if let Some((by_path, by)) = unprotect.iter().find(|(u, _)| path.starts_with(u)) {
            out.lifted.push(Lifted { path, why, by: (*by).clone(), by_path: by_path.clone() });
            continue;
        }
        if let Some(w) = explicit_writes.iter().find(|w| w.path.starts_with(&path)) {
            out.lifted.push(Lifted { path, why, by: w.source.clone(), by_path: w.path.clone() });
            continue;
        }
        out.protected.push(Protected { path, why, source: Source::Default(what) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protection(paths: &[&str]) -> Protection {
        Protection {
            protected: paths
                .iter()
                .map(|p| Protected { path: PathBuf::from(p), why: String::new(), source: Source::Default("t") })
                .collect(),
            lifted: Vec::new(),
        }
    }

    #[test]
    fn a_protected_path_refuses_every_change_in_it_and_its_replacement() {
        let p = protection(&["/p/.git/hooks", "/p/.git/config"]);
        for change in [Change::Write, Change::MakeDir, Change::Make, Change::Remove, Change::RenameAway] {
            assert!(p.refuses(Path::new("/p/.git/hooks"), change).is_some(), "{change:?}");
            assert!(p.refuses(Path::new("/p/.git/hooks/pre-commit"), change).is_some(), "{change:?}");
            assert!(p.refuses(Path::new("/p/.git/config"), change).is_some(), "{change:?}");
        }
        // `.git` holds protected paths: not replaced, not moved away...
        assert!(p.refuses(Path::new("/p/.git"), Change::Make).is_some());
        assert!(p.refuses(Path::new("/p/.git"), Change::RenameAway).is_some());
        // ...but a new empty one may be made, an empty one removed.
        assert!(p.refuses(Path::new("/p/.git"), Change::MakeDir).is_none());
        assert!(p.refuses(Path::new("/p/.git"), Change::Remove).is_none());
        // Git's own files stay writable; names are compared by component.
        for free in ["/p/.git/index", "/p/.git/config.lock", "/p/.git/hooksx", "/p/src/main.rs"] {
            for change in [Change::Write, Change::Make, Change::Remove, Change::RenameAway] {
                assert!(p.refuses(Path::new(free), change).is_none(), "{free} {change:?}");
            }
        }
    }

    #[test]
    fn beneath_compares_whole_components() {
        assert!(beneath(Path::new("/p/.git"), Path::new("/p/.git")));
        assert!(beneath(Path::new("/p/.git/hooks"), Path::new("/p/.git")));
        assert!(beneath(Path::new("/p"), Path::new("/")));
        assert!(!beneath(Path::new("/p/.gitx"), Path::new("/p/.git")));
        assert!(!beneath(Path::new("/p"), Path::new("/p/.git")));
        assert!(beneath_any_case(Path::new("/p/.GIT/Config"), Path::new("/p/.git/config")));
        assert!(!beneath(Path::new("/p/.GIT/Config"), Path::new("/p/.git/config")));
    }

    #[test]
    fn supervised_trees_are_the_write_rules_that_hold_a_protected_path() {
        let rule = |path: &str, access, is_dir| PathRule {
            path: PathBuf::from(path),
            is_dir,
            access,
            source: Source::Flag("--allow-write"),
        };
        let rules = vec![
            rule("/tmp", Access::Write, true),
            rule("/tmp/p", Access::Write, true),
            rule("/tmp/p/target", Access::Write, true),
            rule("/usr", Access::Read, true),
            rule("/dev/null", Access::Write, false),
        ];
        let p = protection(&["/tmp/p/.git/hooks"]);
        assert_eq!(p.supervised_trees(&rules), vec![PathBuf::from("/tmp"), PathBuf::from("/tmp/p")]);
    }

    #[test]
    fn git_configuration_names_hooks_and_includes() {
        let text = "[core]\n\trepositoryformatversion = 0\n\thooksPath = .githooks ; comment\n[include]\n\tpath = \
                    ../shared.gitconfig\n[includeIf \"gitdir:~/w/\"]\n\tpath = \"/etc/w.gitconfig\"\n[alias]\n\tpath = \
                    x\n";
        let found: Vec<String> = git_config_paths(text).into_iter().map(|(v, _)| v).collect();
        assert_eq!(found, [".githooks", "../shared.gitconfig", "/etc/w.gitconfig"]);
    }
}

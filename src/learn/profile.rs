//! Observations → the smallest profile that lets the command pass, pure
//! (the file system is asked only through [`Fs`]), and its TOML text.
//!
//! Guarantees: every entry comes from something observed and says what in a
//! comment; reads and writes the built-in defaults already cover are left
//! out; paths are collapsed into roots only below the home directory's own
//! children (never `~` or above) and never into a root holding a path that
//! looks like a credential; such paths are held back ([`Held`]), never
//! allowed silently; the text is valid TOML that sbx's configuration loader
//! accepts.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::{Component, Path, PathBuf};

use super::{FileUse, NetUse, Observations};
use crate::policy::net::{self, NetRule};

/// What the builder needs to know about the run's surroundings.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The command's working directory (canonical).
    pub cwd: PathBuf,
    /// The home directory (canonical), if any.
    pub home: Option<PathBuf>,
    /// What stays readable by default under `deny = ["read"]`: canonical
    /// paths; a directory covers everything beneath it.
    pub default_read: Vec<PathBuf>,
    /// What stays writable by default under `deny = ["write"]`.
    pub default_write: Vec<PathBuf>,
    /// Names of the environment variables set while learning, sorted.
    pub env: Vec<String>,
    /// The value of `SSH_AUTH_SOCK`, if set (its socket is sensitive).
    pub ssh_auth_sock: Option<PathBuf>,
    /// Package managers' cache directories (canonical where they exist; see
    /// [`cache_dirs`]): a use anywhere beneath one is learned as the whole
    /// directory, writable if anything in it was written.
    pub cache_dirs: Vec<PathBuf>,
    /// Write paths beneath this directory relative to it (`.`, `target`):
    /// the directory of the file the profile goes to. `None`: absolute
    /// paths (`~/…` beneath the home directory).
    pub relative_to: Option<PathBuf>,
}

/// An existing path, every symlink resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub canonical: PathBuf,
    pub is_dir: bool,
}

/// The file system as the builder sees it (faked in tests).
pub trait Fs {
    /// `path` canonical, or `None` if it does not exist (now).
    fn lookup(&self, path: &Path) -> Option<Found>;
}

/// The real file system.
pub struct RealFs;

impl Fs for RealFs {
    fn lookup(&self, path: &Path) -> Option<Found> {
        crate::paths::resolve(path).ok().map(|r| Found { canonical: r.path, is_dir: r.is_dir })
    }
}

/// One entry of an allow list: its value as written in the file, and why
/// it is there (the comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub why: String,
}

/// A path or variable that was needed but looks like a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The key it would go to: `allow_read`, `allow_write`, `allow_unix`, `allow_env`.
    pub key: &'static str,
    pub value: String,
    pub why: String,
    /// An entry that reaches it anyway (Landlock cannot carve a file out of
    /// an allowed directory), as written in the file.
    pub covered_by: Option<String>,
}

/// The learned profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    /// The profiles it extends (`--extends`), whose grants it leaves out.
    pub extends: Vec<String>,
    pub allow_read: Vec<Entry>,
    pub allow_write: Vec<Entry>,
    pub allow_net: Vec<Entry>,
    pub allow_unix: Vec<Entry>,
    pub allow_env: Vec<Entry>,
    pub held: Vec<Held>,
    /// Remarks for the comments (looked-up names never connected to, binds
    /// that need `*`, what could not be observed or written).
    pub notes: Vec<String>,
}

const READ: &str = "allow_read";
const WRITE: &str = "allow_write";
const UNIX: &str = "allow_unix";
const ENV: &str = "allow_env";
const NET: &str = "allow_net";

/// A directory collapses the points beneath it into itself from this many on.
const COLLAPSE_AT: usize = 4;
/// Program names and addresses a comment names at most.
const NAMED_AT_MOST: usize = 3;

/// Builds the smallest profile `obs` needs.
pub fn learn(obs: &Observations, ctx: &Context, fs: &dyn Fs) -> Learned {
    let mut learned = Learned { notes: obs.gaps.iter().map(|g| clean(g)).collect(), ..Learned::default() };
    let mut later_notes = Vec::new();
    learn_files(obs, ctx, fs, &mut learned, &mut later_notes);
    learn_net(obs, &mut learned, &mut later_notes);
    learn_unix(obs, ctx, fs, &mut learned, &mut later_notes);
    learn_env(ctx, &mut learned, &mut later_notes);
    later_notes.sort();
    later_notes.dedup();
    for note in later_notes {
        if !learned.notes.contains(&note) {
            learned.notes.push(note);
        }
    }
    for list in [
        &mut learned.allow_read,
        &mut learned.allow_write,
        &mut learned.allow_net,
        &mut learned.allow_unix,
        &mut learned.allow_env,
    ] {
        list.sort_by(|a, b| a.value.cmp(&b.value));
    }
    let rank = |key: &str| [READ, WRITE, UNIX, ENV].iter().position(|k| *k == key).unwrap_or(usize::MAX);
    learned.held.sort_by(|a, b| (rank(a.key), &a.value).cmp(&(rank(b.key), &b.value)));
    learned
}

// ---------------------------------------------------------------------------
// Files

/// One observed use of a path, as it counts in a comment.
#[derive(Debug, Clone)]
struct Use {
    usage: FileUse,
    /// A directory read: it was listed.
    listed: bool,
    /// The path used (canonical where it exists).
    path: PathBuf,
    program: String,
}

/// Points (paths an entry would name) and the uses that made them.
type Points = BTreeMap<PathBuf, Vec<Use>>;

/// A path held back, with what needed it and why it looks sensitive.
struct HeldPath {
    reason: String,
    uses: Vec<Use>,
}

#[derive(Default)]
struct Gathered {
    writes: Points,
    reads: Points,
    /// Uses beneath a cache directory, by the directory: whether one wrote,
    /// and the uses.
    caches: BTreeMap<PathBuf, (bool, Vec<Use>)>,
    /// By (key, canonical path).
    held: BTreeMap<(&'static str, PathBuf), HeldPath>,
}

impl Gathered {
    /// Adds a read (`write == false`) or write point, unless a default
    /// covers it; a sensitive or too broad one is held instead.
    fn add(&mut self, ctx: &Context, write: bool, point: PathBuf, named: Option<&Path>, usage: Use) {
        let default = if write { covered(&ctx.default_write, &point) } else { covered_by_defaults(ctx, &point) };
        if default {
            return;
        }
        let key = if write { WRITE } else { READ };
        let home = ctx.home.as_deref();
        let sensitive = is_sensitive(&point, home).or_else(|| named.and_then(|n| is_sensitive(n, home)));
        if let Some(cache) = ctx.cache_dirs.iter().find(|c| point.starts_with(c)) {
            // The whole cache, whatever part of it this run used: another
            // run fetches other packages. A file in it that looks like a
            // credential is still told about (the cache reaches it).
            if let Some(reason) = sensitive {
                self.hold(key, point, reason.to_owned(), usage.clone());
            }
            let (wrote, uses) = self.caches.entry(cache.clone()).or_default();
            *wrote |= write;
            uses.push(usage);
            return;
        }
        let reason = sensitive.map(str::to_owned).or_else(|| too_broad(&point, ctx));
        match reason {
            Some(reason) => self.hold(key, point, reason, usage),
            None => {
                let points = if write { &mut self.writes } else { &mut self.reads };
                points.entry(point).or_default().push(usage);
            }
        }
    }

    fn hold(&mut self, key: &'static str, path: PathBuf, reason: String, usage: Use) {
        self.held.entry((key, path)).or_insert_with(|| HeldPath { reason, uses: Vec::new() }).uses.push(usage);
    }

    /// Every held path (all keys): no collapsed root may contain one.
    fn held_paths(&self) -> Vec<PathBuf> {
        self.held.keys().map(|(_, p)| p.clone()).collect()
    }
}

fn learn_files(obs: &Observations, ctx: &Context, fs: &dyn Fs, learned: &mut Learned, notes: &mut Vec<String>) {
    let mut gathered = Gathered::default();
    for event in &obs.files {
        if !event.path.is_absolute() || ignored(&event.path) {
            continue;
        }
        let program = clean_program(&event.program);
        match event.usage {
            FileUse::Read | FileUse::Exec => {
                // Not there now: a failed probe, which needs nothing.
                let Some(found) = fs.lookup(&event.path) else { continue };
                if ignored(&found.canonical) {
                    continue;
                }
                let listed = found.is_dir && event.usage == FileUse::Read;
                let usage = Use { usage: event.usage, listed, path: found.canonical.clone(), program };
                gathered.add(ctx, false, found.canonical, Some(&event.path), usage);
            }
            FileUse::Write | FileUse::MadeDir | FileUse::Entry => {
                let existing = match event.usage {
                    FileUse::Entry => None,
                    _ => fs.lookup(&event.path).filter(|f| event.usage == FileUse::Write || f.is_dir),
                };
                if let Some(found) = existing {
                    // The file written, or the directory made (sbx creates
                    // missing allow_write directories, so its parent need
                    // not be writable).
                    if ignored(&found.canonical) {
                        continue;
                    }
                    let usage = Use { usage: event.usage, listed: false, path: found.canonical.clone(), program };
                    gathered.add(ctx, true, found.canonical, Some(&event.path), usage);
                    continue;
                }
                // An entry made or removed, or a file or directory that is
                // gone again: what changed is the directory it was in.
                let Some((dir, path)) = changed_in(&event.path, fs) else { continue };
                if ignored(&dir) || covered(&ctx.default_write, &dir) {
                    continue;
                }
                let usage = if event.usage == FileUse::MadeDir { FileUse::Entry } else { event.usage };
                let usage = Use { usage, listed: false, path: path.clone(), program };
                let home = ctx.home.as_deref();
                if let Some(reason) = is_sensitive(&path, home).or_else(|| is_sensitive(&event.path, home)) {
                    // Told about; the directory is still needed (and, if
                    // allowed, reaches it: see `covered_by`).
                    gathered.hold(WRITE, path.clone(), reason.to_owned(), usage.clone());
                }
                gathered.add(ctx, true, dir, None, usage);
            }
        }
    }

    // A cache is writable if anything in it was written, else readable.
    for (cache, (wrote, uses)) in std::mem::take(&mut gathered.caches) {
        let points = if wrote { &mut gathered.writes } else { &mut gathered.reads };
        points.entry(cache).or_default().extend(uses);
    }
    let held_paths = gathered.held_paths();
    let writes = collapse(std::mem::take(&mut gathered.writes), ctx, &held_paths);
    let mut reads = std::mem::take(&mut gathered.reads);
    reads.retain(|point, _| beneath_a_point(&writes, point).is_none());
    let reads = collapse(reads, ctx, &held_paths);

    let mut write_entries = BTreeMap::new();
    let mut read_entries = BTreeMap::new();
    for (points, key, out) in [(&writes, WRITE, &mut write_entries), (&reads, READ, &mut read_entries)] {
        for (path, uses) in points {
            let why = describe(path, uses);
            let why = if ctx.cache_dirs.contains(path) { format!("package cache, allowed whole: {why}") } else { why };
            match value_of(path, ctx) {
                Ok(value) => {
                    out.insert(path.clone(), Entry { value, why });
                }
                Err(problem) => notes.push(not_written(key, &format!("{path:?}"), &why, problem)),
            }
        }
    }
    for ((key, path), held) in gathered.held {
        let reach = |entries: &BTreeMap<PathBuf, Entry>| {
            beneath_a_point(entries, &path).and_then(|p| entries.get(p)).map(|e| e.value.clone())
        };
        let covered_by = match key {
            WRITE => reach(&write_entries),
            _ => reach(&write_entries).or_else(|| reach(&read_entries)),
        };
        let value = value_of(&path, ctx).unwrap_or_else(|_| path.to_string_lossy().into_owned());
        let why = format!("{} — {}", describe(&path, &held.uses), held.reason);
        learned.held.push(Held { key, value, why, covered_by });
    }
    learned.allow_write = write_entries.into_values().collect();
    learned.allow_read = read_entries.into_values().collect();
}

/// The cache directories of npm, pip, cargo, go, gradle and maven, where
/// `var` (the environment) and `home` put them: `$npm_config_cache` or
/// `~/.npm`; `$PIP_CACHE_DIR` or `$XDG_CACHE_HOME/pip` or `~/.cache/pip`;
/// `$CARGO_HOME/{registry,git}` or `~/.cargo/…`; `$GOMODCACHE` or
/// `$GOPATH/pkg/mod` (its first entry) or `~/go/pkg/mod`; `$GOCACHE` or
/// `$XDG_CACHE_HOME/go-build` or `~/.cache/go-build`;
/// `$GRADLE_USER_HOME/caches` or `~/.gradle/caches`; `~/.m2/repository`.
/// Relative values are ignored (the tools would not agree on what they are
/// relative to); so is a directory that would reach too far ([`too_broad`]
/// with `home`: `/`, the home directory or above it, a place of credentials).
pub fn cache_dirs(home: Option<&Path>, var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<PathBuf> {
    let path = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let in_home = |rest: &str| home.map(|h| h.join(rest));
    let xdg_cache =
        |tool: &str| path("XDG_CACHE_HOME").map(|c| c.join(tool)).or_else(|| in_home(&format!(".cache/{tool}")));
    let cargo_home = path("CARGO_HOME").or_else(|| in_home(".cargo"));
    let gopath = var("GOPATH")
        .and_then(|v| std::env::split_paths(&v).next())
        .filter(|p| p.is_absolute())
        .map(|p| p.join("pkg/mod"));
    let dirs = [
        path("npm_config_cache").or_else(|| path("NPM_CONFIG_CACHE")).or_else(|| in_home(".npm")),
        path("PIP_CACHE_DIR").or_else(|| xdg_cache("pip")),
        cargo_home.as_ref().map(|c| c.join("registry")),
        cargo_home.as_ref().map(|c| c.join("git")),
        path("GOMODCACHE").or(gopath).or_else(|| in_home("go/pkg/mod")),
        path("GOCACHE").or_else(|| xdg_cache("go-build")),
        path("GRADLE_USER_HOME").or_else(|| in_home(".gradle")).map(|g| g.join("caches")),
        in_home(".m2/repository"),
    ];
    let ctx = Context { home: home.map(Path::to_owned), ..Context::default() };
    let mut out: Vec<PathBuf> = dirs
        .into_iter()
        .flatten()
        .map(|d| d.components().collect::<PathBuf>())
        .filter(|d| depth(d) >= 2 && too_broad(d, &ctx).is_none() && is_sensitive(d, home).is_none())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The command's own open files and the kernel's view of processes: never
/// an entry.
fn ignored(path: &Path) -> bool {
    path.starts_with("/proc")
        || path.starts_with("/dev/fd")
        || ["/dev/stdin", "/dev/stdout", "/dev/stderr"].iter().any(|p| path == Path::new(p))
}

/// For a path that was created or removed (or is gone): the canonical
/// directory it was in — the nearest one that exists now — and the path
/// re-rooted there.
fn changed_in(path: &Path, fs: &dyn Fs) -> Option<(PathBuf, PathBuf)> {
    let mut child = path;
    loop {
        let parent = child.parent()?;
        // `x/..` has no name in its parent: nothing to say about it.
        child.file_name()?;
        if let Some(found) = fs.lookup(parent) {
            let rest = path.strip_prefix(parent).ok()?;
            return Some((found.canonical.clone(), found.canonical.join(rest)));
        }
        child = parent;
    }
}

/// The key of `points` that `path` is or is beneath, if any.
fn beneath_a_point<'a, V>(points: &'a BTreeMap<PathBuf, V>, path: &Path) -> Option<&'a Path> {
    path.ancestors().find_map(|a| points.get_key_value(a)).map(|(k, _)| k.as_path())
}

/// Whether `path` is one of `roots` or beneath one.
fn covered(roots: &[PathBuf], path: &Path) -> bool {
    roots.iter().any(|r| path.starts_with(r))
}

/// Readable by default (what is writable is readable too).
fn covered_by_defaults(ctx: &Context, path: &Path) -> bool {
    covered(&ctx.default_read, path) || covered(&ctx.default_write, path)
}

/// The number of named components (`/a/b` is 2).
fn depth(path: &Path) -> usize {
    path.components().filter(|c| matches!(c, Component::Normal(_))).count()
}

/// Why an entry for the directory `path` would reach too far: it is `/`,
/// the home directory or above it, or holds a known place of credentials.
fn too_broad(path: &Path, ctx: &Context) -> Option<String> {
    if path == Path::new("/") {
        return Some("would open the whole file system".into());
    }
    let home = ctx.home.as_deref()?;
    if home.starts_with(path) {
        return Some("would open the whole home directory".into());
    }
    let secret = crate::secrets::SECRETS.iter().find(|s| home.join(s.path).starts_with(path))?;
    Some(format!("would open ~/{} too", secret.path))
}

/// Whether the points beneath `dir` may be replaced by `dir`.
fn collapsible(dir: &Path, ctx: &Context, held: &[PathBuf]) -> bool {
    if depth(dir) < 2 {
        return false;
    }
    if let Some(home) = ctx.home.as_deref() {
        if home.starts_with(dir) {
            return false;
        }
        if dir.starts_with(home) && depth(dir) < depth(home) + 2 {
            // `~/proj` as the project directory is fine; the home directory
            // as the project directory does not make `~/.cache` fine.
            let in_project = dir.starts_with(&ctx.cwd) && !home.starts_with(&ctx.cwd);
            if !in_project {
                return false;
            }
        }
    }
    is_sensitive(dir, ctx.home.as_deref()).is_none()
        && too_broad(dir, ctx).is_none()
        && !held.iter().any(|h| h.starts_with(dir))
}

/// Drops points beneath other points (their uses go to the point above).
fn remove_nested(points: Points) -> Points {
    let mut out: Points = BTreeMap::new();
    // In path order a directory comes right before everything beneath it.
    let mut last: Option<PathBuf> = None;
    for (path, uses) in points {
        if let Some(top) = last.as_ref().filter(|top| path.starts_with(top)) {
            if let Some(list) = out.get_mut(top) {
                list.extend(uses);
            }
            continue;
        }
        last = Some(path.clone());
        out.insert(path, uses);
    }
    out
}

/// Bottom-up, a collapsible directory with [`COLLAPSE_AT`] or more points
/// beneath it replaces them.
fn collapse(points: Points, ctx: &Context, held: &[PathBuf]) -> Points {
    let mut points = remove_nested(points);
    let mut candidates: BTreeSet<(std::cmp::Reverse<usize>, PathBuf)> = BTreeSet::new();
    for path in points.keys() {
        for dir in path.ancestors().skip(1) {
            candidates.insert((std::cmp::Reverse(depth(dir)), dir.to_path_buf()));
        }
    }
    for (_, dir) in candidates {
        let beneath: Vec<PathBuf> = points
            .range::<Path, _>((Bound::Excluded(dir.as_path()), Bound::Unbounded))
            .map(|(p, _)| p)
            .take_while(|p| p.starts_with(&dir))
            .cloned()
            .collect();
        if beneath.len() < COLLAPSE_AT || !collapsible(&dir, ctx, held) {
            continue;
        }
        let mut uses = Vec::new();
        for path in beneath {
            uses.extend(points.remove(&path).unwrap_or_default());
        }
        points.insert(dir, uses);
    }
    remove_nested(points)
}

/// The comment of a file entry: the uses and how many, and who.
fn describe(point: &Path, uses: &[Use]) -> String {
    let distinct: BTreeSet<(FileUse, bool, &Path)> =
        uses.iter().map(|u| (u.usage, u.listed, u.path.as_path())).collect();
    let who = programs(uses.iter().map(|u| u.program.as_str()));
    let self_made = distinct.iter().any(|(u, _, p)| *u == FileUse::MadeDir && *p == point);
    if let [(usage, listed, path)] = distinct.iter().collect::<Vec<_>>()[..] {
        if *path == point && !self_made {
            let verb = match usage {
                FileUse::Read if *listed => "listed",
                FileUse::Read => "read",
                FileUse::Exec => "executed",
                FileUse::Write => "written",
                FileUse::Entry => "created or removed",
                FileUse::MadeDir => "made",
            };
            return if who.is_empty() { verb.to_owned() } else { format!("{verb} by {who}") };
        }
    }
    let count = |usage: FileUse, listed: bool| {
        distinct
            .iter()
            .filter(|(u, l, p)| *u == usage && *l == listed && !(*u == FileUse::MadeDir && *p == point))
            .count()
    };
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    let counted = [
        (FileUse::Write, false, "wrote", "file", "files"),
        (FileUse::Entry, false, "created or removed", "", ""),
        (FileUse::MadeDir, false, "made", "directory", "directories"),
        (FileUse::Exec, false, "executed", "file", "files"),
        (FileUse::Read, false, "read", "file", "files"),
        (FileUse::Read, true, "listed", "directory", "directories"),
    ];
    for (usage, listed, verb, one, many) in counted {
        let n = count(usage, listed);
        if n > 0 {
            parts.push(format!("{verb} {}", plural(n, one, many).trim_end()));
        }
    }
    let body = parts.join(", ");
    let text = match (self_made, body.is_empty()) {
        (true, true) => "made directory".to_owned(),
        (true, false) => format!("made directory; {body}"),
        (false, _) => body,
    };
    if who.is_empty() { text } else { format!("{text} ({who})") }
}

// ---------------------------------------------------------------------------
// Sensitive paths

/// Why `path` looks like it holds a credential, if it does: SSH, cloud and
/// package-registry credentials, private keys, `.env` files, names with
/// `token`, `secret`, `credential`, `password` or `passwd` in them.
/// System software trees do not trip the name rule (`/usr/bin/passwd`,
/// `/etc/passwd`), nor do installed libraries (`site-packages/…/credentials.py`).
pub fn is_sensitive(path: &Path, home: Option<&Path>) -> Option<&'static str> {
    use crate::secrets::SECRETS;
    const SYSTEM: &[(&str, &str)] = &[("/etc/shadow", "password hashes"), ("/etc/gshadow", "password hashes")];
    if let Some(rest) = home.and_then(|h| path.strip_prefix(h).ok()) {
        if let Some(secret) = SECRETS.iter().find(|s| rest.starts_with(s.path)) {
            return Some(secret.holds);
        }
    }
    if let Some((_, why)) = SYSTEM.iter().find(|(p, _)| path.starts_with(p)) {
        return Some(why);
    }
    let names: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_string_lossy().to_lowercase()),
            _ => None,
        })
        .collect();
    if let Some(secret) = SECRETS.iter().filter(|s| s.anywhere).find(|s| names.iter().any(|n| n == s.path)) {
        return Some(secret.holds);
    }
    if let Some(file) = names.last() {
        if let Some(why) = sensitive_file_name(file) {
            return Some(why);
        }
    }
    if exempt_from_name_rule(path) {
        return None;
    }
    // Installed libraries are code (`google/auth/credentials.py`,
    // `js-tokens`): the name rule applies only above them.
    let library = names.iter().enumerate().position(|(i, n)| is_library_root(&names[..i], n));
    const WORDS: &[&str] = &["token", "secret", "credential", "password", "passwd"];
    let secret_name = names[..library.unwrap_or(names.len())].iter().any(|name| {
        // `tokenizer`, `tokenization`: text processing, not a secret.
        let name = name.replace("tokeniz", "").replace("tokenis", "");
        WORDS.iter().any(|w| name.contains(w))
    });
    secret_name.then_some("its name suggests a secret")
}

/// The rules on a file's own (lower-case) name.
fn sensitive_file_name(file: &str) -> Option<&'static str> {
    // Bundles of public CA certificates (certifi's `cacert.pem`).
    const CA_BUNDLES: &[&str] = &["cacert", "ca-cert", "ca_cert", "ca-bundle", "ca_bundle", "cabundle"];
    if file.ends_with(".pem") && !CA_BUNDLES.iter().any(|b| file.contains(b)) {
        return Some("a PEM file (may hold a private key)");
    }
    if [".key", ".p12", ".pfx"].iter().any(|ext| file.ends_with(ext)) {
        return Some("a private key");
    }
    if ["id_rsa", "id_ed25519", "id_ecdsa", "id_dsa"].iter().any(|p| file.starts_with(p)) {
        return Some("an SSH key");
    }
    if file == ".env" || file.starts_with(".env.") {
        return Some("an environment file (often holds secrets)");
    }
    None
}

/// System software and account files, whose names may contain the words of
/// the name rule without being secrets.
fn exempt_from_name_rule(path: &Path) -> bool {
    const TREES: &[&str] = &[
        "/usr",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/bin",
        "/sbin",
        "/nix/store",
        "/snap",
        "/etc/pam.d",
        "/System",
        "/private/etc/pam.d",
    ];
    const FILES: &[&str] = &["/etc/passwd", "/etc/passwd-", "/private/etc/passwd"];
    TREES.iter().any(|t| path.starts_with(t)) || FILES.iter().any(|f| path == Path::new(f))
}

/// Whether `name`, after the components `before`, is where installed
/// libraries live.
fn is_library_root(before: &[String], name: &str) -> bool {
    const ROOTS: &[&str] = &["node_modules", "site-packages", "dist-packages"];
    const PAIRS: &[(&str, &str)] =
        &[("pkg", "mod"), (".cargo", "registry"), (".rustup", "toolchains"), (".m2", "repository")];
    ROOTS.contains(&name) || before.last().is_some_and(|prev| PAIRS.iter().any(|(a, b)| prev == a && name == *b))
}

// ---------------------------------------------------------------------------
// Network and unix sockets

fn learn_net(obs: &Observations, learned: &mut Learned, notes: &mut Vec<String>) {
    // value → (programs, addresses)
    let mut wanted: BTreeMap<String, (Vec<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut connected_names = BTreeSet::new();
    let mut listening: BTreeMap<String, (Vec<String>, BTreeSet<String>)> = BTreeMap::new();
    for event in &obs.net {
        let names: Vec<String> = event.names.iter().map(|n| normal_name(n)).filter(|n| !n.is_empty()).collect();
        connected_names.extend(names.iter().cloned());
        let addr = net::suggestion(event.addr);
        let program = clean_program(&event.program);
        match event.usage {
            NetUse::Connect => {
                let values = if names.is_empty() {
                    vec![addr.clone()]
                } else {
                    names.iter().map(|n| format!("{n}:{}", event.addr.port())).collect()
                };
                for value in values {
                    let (programs, addrs) = wanted.entry(value).or_default();
                    programs.push(program.clone());
                    addrs.insert(addr.clone());
                }
            }
            NetUse::Bind => {
                if net::is_loopback(event.addr.ip()) || event.addr.port() == 0 {
                    continue;
                }
                // A listening entry: that port, on every interface.
                let value = format!("0.0.0.0:{}", event.addr.port());
                let (programs, addrs) = listening.entry(value).or_default();
                programs.push(program.clone());
                addrs.insert(addr.clone());
            }
        }
    }
    let entries = wanted.into_iter().map(|e| ("connected", e)).chain(listening.into_iter().map(|e| ("listened", e)));
    for (verb, (value, (programs_seen, addrs))) in entries {
        let who = programs(programs_seen.iter().map(String::as_str));
        let by = if who.is_empty() { String::new() } else { format!(" by {who}") };
        let why = format!("{verb}{by} ({})", first_few(addrs.iter().cloned().collect()));
        match NetRule::parse(&value) {
            Ok(_) => learned.allow_net.push(Entry { value, why }),
            Err(problem) => notes.push(not_written(NET, &format!("{value:?}"), &why, &problem)),
        }
    }
    let looked_up: BTreeSet<String> = obs.lookups.iter().map(|n| normal_name(n)).filter(|n| !n.is_empty()).collect();
    for name in looked_up.difference(&connected_names) {
        notes.push(format!(
            "looked up {name} but connected to none of its addresses: not allowed (it will not resolve under this \
             profile); add \"{name}\" if the command needs the lookup"
        ));
    }
}

/// A DNS name as entries write it: lower case, no trailing dot, no
/// characters that cannot be in a comment.
fn normal_name(name: &str) -> String {
    clean(name.trim_end_matches('.')).to_lowercase()
}

fn learn_unix(obs: &Observations, ctx: &Context, fs: &dyn Fs, learned: &mut Learned, notes: &mut Vec<String>) {
    // canonical → (programs, paths as named)
    let mut used: BTreeMap<PathBuf, (Vec<String>, Vec<PathBuf>)> = BTreeMap::new();
    for event in obs.unix.iter().filter(|e| !e.bound && e.path.is_absolute()) {
        let program = clean_program(&event.program);
        let canonical = match fs.lookup(&event.path) {
            Some(found) => Some(found.canonical),
            None => match (event.path.parent(), event.path.file_name()) {
                (Some(parent), Some(name)) => fs.lookup(parent).map(|f| f.canonical.join(name)),
                _ => None,
            },
        };
        let Some(canonical) = canonical else {
            let why = connected_by(&[program]);
            notes.push(format!(
                "not written: {UNIX} {:?} ({why}): neither it nor its directory exists now — add it by hand once it \
                 does",
                event.path
            ));
            continue;
        };
        let (programs, named) = used.entry(canonical).or_default();
        programs.push(program);
        named.push(event.path.clone());
    }
    let agent = ctx.ssh_auth_sock.as_ref().map(|sock| {
        let canonical = fs.lookup(sock).map(|f| f.canonical);
        (sock.clone(), canonical)
    });
    for (path, (programs_seen, named)) in used {
        let why = connected_by(&programs_seen);
        let is_agent = agent.as_ref().is_some_and(|(sock, canonical)| {
            path == *sock || canonical.as_ref() == Some(&path) || named.iter().any(|n| n == sock)
        });
        let reason = if is_agent {
            Some("the SSH agent (SSH_AUTH_SOCK)")
        } else {
            std::iter::once(&path).chain(&named).find_map(|p| sensitive_socket(p, ctx.home.as_deref()))
        };
        match (reason, value_of(&path, ctx)) {
            (Some(reason), value) => learned.held.push(Held {
                key: UNIX,
                value: value.unwrap_or_else(|_| path.to_string_lossy().into_owned()),
                why: format!("{why} — {reason}"),
                covered_by: None,
            }),
            (None, Ok(value)) => learned.allow_unix.push(Entry { value, why }),
            (None, Err(problem)) => notes.push(not_written(UNIX, &format!("{path:?}"), &why, problem)),
        }
    }
}

fn connected_by(programs_seen: &[String]) -> String {
    let who = programs(programs_seen.iter().map(String::as_str));
    if who.is_empty() { "connected".into() } else { format!("connected by {who}") }
}

/// Why a unix socket is sensitive: agents that hold keys, container engines
/// (root on the host), or a sensitive path.
fn sensitive_socket(path: &Path, home: Option<&Path>) -> Option<&'static str> {
    let lower = |p: Option<&std::ffi::OsStr>| p.map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let name = lower(path.file_name());
    let dir = lower(path.parent().and_then(Path::file_name));
    if name.starts_with("agent.") && (dir == ".ssh" || dir.starts_with("ssh-"))
        || name.contains("ssh-agent")
        || name.contains("ssh_agent")
        || (dir == "keyring" && name == "ssh")
    {
        return Some("an SSH agent");
    }
    if ["docker.sock", "containerd.sock", "podman.sock"].contains(&name.as_str()) {
        return Some("a container engine (root on the host)");
    }
    if name.starts_with("s.gpg-agent") {
        return Some("the GnuPG agent");
    }
    is_sensitive(path, home)
}

// ---------------------------------------------------------------------------
// Environment

/// Variables that describe where this run was started rather than what the
/// command needs: their values belong to one shell, terminal, login,
/// connection, desktop session or service instance, or to this machine's
/// image, and are wrong (or meaningless) the next time. Names ending in `*`
/// are prefixes. Left out of `allow_env` and named in a note, so one the
/// command does need is a line to add.
pub const SESSION_VARS: &[&str] = &[
    // The shell's own state.
    "_",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PROMPT_COMMAND",
    "HISTFILE",
    "HISTSIZE",
    "HISTFILESIZE",
    "HISTCONTROL",
    "HISTIGNORE",
    "HISTTIMEFORMAT",
    "LINES",
    "COLUMNS",
    "MAIL",
    "MAILCHECK",
    "MAILPATH",
    // The terminal and the multiplexer.
    "TERM_PROGRAM",
    "TERM_PROGRAM_VERSION",
    "TERM_SESSION_ID",
    "TERMINAL_EMULATOR",
    "COLORFGBG",
    "VTE_VERSION",
    "WINDOWID",
    "WT_SESSION",
    "WT_PROFILE_ID",
    "LC_TERMINAL",
    "LC_TERMINAL_VERSION",
    "TMUX",
    "TMUX_PANE",
    "STY",
    "WINDOW",
    "ITERM_*",
    "KITTY_*",
    "KONSOLE_*",
    "GNOME_TERMINAL_*",
    "ALACRITTY_*",
    "WEZTERM_*",
    "VSCODE_*",
    // The login and the connection it came over.
    "SSH_CLIENT",
    "SSH_CONNECTION",
    "SSH_TTY",
    "SSH_AGENT_PID",
    "GPG_TTY",
    "GPG_AGENT_INFO",
    "MOTD_SHOWN",
    "XDG_SESSION_*",
    "XDG_SEAT",
    "XDG_VTNR",
    // The desktop session.
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "DBUS_SESSION_BUS_ADDRESS",
    "SESSION_MANAGER",
    "DESKTOP_SESSION",
    "GDMSESSION",
    "XDG_CURRENT_DESKTOP",
    // The service manager's instance (systemd).
    "INVOCATION_ID",
    "JOURNAL_STREAM",
    "SYSTEMD_EXEC_PID",
    "MANAGERPID",
    "NOTIFY_SOCKET",
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
    // This machine: its name and type, and the cloud SDK set up in its image.
    "HOSTNAME",
    "HOSTTYPE",
    "MACHTYPE",
    "OSTYPE",
    "CLOUDSDK_*",
    "CLOUD_SDK_*",
];

/// Whether `name` is one of [`SESSION_VARS`].
pub fn session_var(name: &str) -> bool {
    SESSION_VARS.iter().any(|v| match v.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *v,
    })
}

fn learn_env(ctx: &Context, learned: &mut Learned, notes: &mut Vec<String>) {
    let names: BTreeSet<&str> =
        ctx.env.iter().map(String::as_str).filter(|n| !n.is_empty() && !crate::env::BASE_VARS.contains(n)).collect();
    let (session, names): (Vec<&str>, Vec<&str>) = names.into_iter().partition(|n| session_var(n));
    let session: Vec<&str> = session.into_iter().filter(|n| *n != "_").collect();
    if !session.is_empty() {
        notes.push(format!(
            "left out of {ENV}, as they belong to the shell, terminal, login, desktop or machine learning ran in \
             (add one the command needs): {}",
            session.join(", ")
        ));
    }
    const WHY: &str = "set when learning";
    for name in names {
        if secret_var(name) {
            learned.held.push(Held {
                key: ENV,
                value: name.to_owned(),
                why: format!("{WHY} — its name suggests a secret"),
                covered_by: None,
            });
        } else if name.contains(['*', '?']) || name.chars().any(char::is_control) {
            // allow_env entries are patterns: this one would match others.
            notes.push(not_written(ENV, &format!("{name:?}"), WHY, "it would be read as a pattern"));
        } else {
            learned.allow_env.push(Entry { value: name.to_owned(), why: WHY.into() });
        }
    }
}

/// Whether an environment variable's name says it holds a secret.
fn secret_var(name: &str) -> bool {
    const PARTS: &[&str] = &[
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "_AUTH_",
        "JWT",
        "COOKIE",
    ];
    const PREFIXES: &[&str] = &["AWS_", "AZURE_", "GOOGLE_APPLICATION_CREDENTIALS"];
    const SUFFIXES: &[&str] = &["_KEY", "_AUTH", "_DSN", "_PAT"];
    const NAMES: &[&str] = &["SSH_AUTH_SOCK", "DATABASE_URL", "KRB5CCNAME"];
    let name = name.to_ascii_uppercase();
    PARTS.iter().any(|p| name.contains(p))
        || PREFIXES.iter().any(|p| name.starts_with(p))
        || SUFFIXES.iter().any(|s| name.ends_with(s))
        || NAMES.contains(&name.as_str())
}

// ---------------------------------------------------------------------------
// Values and comments

/// How `path` is written in the file: relative beneath `ctx.relative_to`,
/// `~/…` beneath the home directory, else absolute; or why it cannot be.
fn value_of(path: &Path, ctx: &Context) -> Result<String, &'static str> {
    let text = |p: &Path| p.to_str().map(str::to_owned).ok_or("not UTF-8");
    let value = match (&ctx.relative_to, &ctx.home) {
        (Some(base), _) if path.starts_with(base) => {
            let rest = text(path.strip_prefix(base).unwrap_or(path))?;
            match rest.as_str() {
                "" => ".".to_owned(),
                r if r.starts_with('~') => format!("./{r}"),
                _ => rest,
            }
        }
        (_, Some(home)) if path.starts_with(home) => match text(path.strip_prefix(home).unwrap_or(path))?.as_str() {
            "" => "~".to_owned(),
            rest => format!("~/{rest}"),
        },
        _ => text(path)?,
    };
    if value.contains("${") {
        return Err("contains ${, which the loader would expand");
    }
    Ok(value)
}

fn not_written(key: &str, shown: &str, why: &str, problem: &str) -> String {
    let fix = match key {
        ENV => "add a pattern that matches it by hand".to_owned(),
        NET => "a profile cannot name it; give it on the command line (--allow-net=HOST)".to_owned(),
        _ => format!("a profile cannot name it; give it on the command line (--{}=PATH)", key.replace('_', "-")),
    };
    format!("not written: {key} {shown} ({why}): {problem} — {fix}")
}

/// Text from the command made fit for a one-line comment: no control or
/// direction-changing characters.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\t' | '\n' | '\r') {
            out.push(' ');
        } else if !invisible(c) {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// Characters that must not reach a comment: control characters, line and
/// paragraph separators, and those that change the text's direction.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A program name for comments (`comm` is at most 15 bytes; a longer one is cut).
fn clean_program(program: &str) -> String {
    clean(program).chars().take(32).collect()
}

/// Up to [`NAMED_AT_MOST`] program names, the busiest first.
fn programs<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names.filter(|n| !n.is_empty()) {
        *counts.entry(name).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    first_few(ranked.into_iter().map(|(n, _)| n.to_owned()).collect())
}

/// `a, b, c` or `a, b, c and 2 more`.
fn first_few(items: Vec<String>) -> String {
    let more = items.len().saturating_sub(NAMED_AT_MOST);
    let shown = items.into_iter().take(NAMED_AT_MOST).collect::<Vec<_>>().join(", ");
    if more > 0 { format!("{shown} and {more} more") } else { shown }
}

/// `value` as a TOML basic string; characters that cannot stand in one (or
/// would hide in a comment) escaped.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if invisible(c) => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The profile as a `[profile.NAME]` table, `header` lines as comments above it.
pub fn render(name: &str, learned: &Learned, header: &[String]) -> String {
    let mut out = String::new();
    for line in header {
        out.push_str(&comment_line(line));
    }
    let table = if crate::config::check_profile_name(name).is_ok() { name.to_owned() } else { quote(name) };
    out.push_str(&format!("[profile.{table}]\n"));
    if !learned.extends.is_empty() {
        let bases: Vec<String> = learned.extends.iter().map(|b| quote(b)).collect();
        out.push_str(&format!("extends = [{}]\n", bases.join(", ")));
    }
    out.push_str("deny = [\"read\", \"write\", \"net\", \"env\"]\n");
    let lists = [
        (READ, &learned.allow_read),
        (WRITE, &learned.allow_write),
        (NET, &learned.allow_net),
        (UNIX, &learned.allow_unix),
        (ENV, &learned.allow_env),
    ];
    for (key, entries) in lists {
        if entries.is_empty() {
            continue;
        }
        // One comment for the whole list when every entry has the same
        // reason (the environment: "set when learning").
        let shared = match entries.first() {
            Some(first) if key == ENV && entries.iter().all(|e| e.why == first.why) => Some(clean(&first.why)),
            _ => None,
        };
        match shared.as_deref() {
            Some(why) if !why.is_empty() => out.push_str(&format!("{key} = [  # {why}\n")),
            _ => out.push_str(&format!("{key} = [\n")),
        }
        for entry in entries {
            let why = clean(&entry.why);
            if shared.is_some() || why.is_empty() {
                out.push_str(&format!("    {},\n", quote(&entry.value)));
            } else {
                out.push_str(&format!("    {},  # {why}\n", quote(&entry.value)));
            }
        }
        out.push_str("]\n");
    }
    if !learned.held.is_empty() {
        out.push_str("# Needed but sensitive — add by hand if you mean it:\n");
        for held in &learned.held {
            let mut line = format!("  {} {}: {}", held.key, quote(&held.value), clean(&held.why));
            if let Some(by) = &held.covered_by {
                let key = [(WRITE, &learned.allow_write), (READ, &learned.allow_read)]
                    .iter()
                    .find(|(_, list)| list.iter().any(|e| e.value == *by))
                    .map_or(held.key, |(k, _)| k);
                line.push_str(&format!(" (reached anyway through {key} {})", quote(by)));
            }
            out.push_str(&comment_line(&line));
        }
    }
    if !learned.notes.is_empty() {
        out.push_str("# Notes:\n");
        for note in &learned.notes {
            out.push_str(&comment_line(&format!("  {note}")));
        }
    }
    out
}

/// `text` as one comment line (a leading run of spaces kept for indenting).
fn comment_line(text: &str) -> String {
    let indent = text.len() - text.trim_start_matches(' ').len();
    let body = clean(text);
    if body.is_empty() { "#\n".to_owned() } else { format!("#{}{body}\n", " ".repeat(indent + 1)) }
}

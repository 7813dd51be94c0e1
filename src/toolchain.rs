//! Package registries as the package tool itself is configured: the hosts
//! npm, pip and cargo fetch from, read from their own configuration files
//! and environment variables when a profile with `allow_registries` is used,
//! so private registries and mirrors work without editing a profile. Only
//! when the files name no registry (the tool's built-in default) is the tool
//! asked (`npm config get registry`, pip's default index from python); sbx
//! itself names no registry.
//!
//! Guarantees: from a file only the keys that name registries are kept;
//! every other line — credentials (`_authToken`, `_password`, …) included —
//! is dropped as it is read, never stored, logged or shown, and a URL's user
//! information is dropped before anything keeps it. Every host comes with
//! where it was found. What cannot be determined is said, with what was
//! looked at and what to add; nothing is guessed.

mod ask;
mod cargo;
mod ini;
mod npm;
mod pip;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::policy::{NetRule, Surroundings};

/// A package tool whose registries a profile can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Npm,
    Pip,
    Cargo,
}

impl Tool {
    pub const ALL: [Tool; 3] = [Tool::Npm, Tool::Pip, Tool::Cargo];

    /// Its name, as `allow_registries` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Npm => "npm",
            Tool::Pip => "pip",
            Tool::Cargo => "cargo",
        }
    }

    /// What to add when its registries cannot be determined.
    pub fn fix(self) -> &'static str {
        match self {
            Tool::Npm => {
                "set the registry where npm reads it (registry=https://registry.example.com/ in ~/.npmrc or the \
                 project's .npmrc, or npm_config_registry), or allow it with \
                 --allow-net=https://registry.example.com/ (your registry's URL)"
            }
            Tool::Pip => {
                "set the index where pip reads it (index-url = https://registry.example.com/simple/ under [global] \
                 in ~/.config/pip/pip.conf, or PIP_INDEX_URL), or allow the index and the host that serves its \
                 files with --allow-net=HOST for each"
            }
            Tool::Cargo => {
                "sbx does not name the hosts of cargo's built-in registry (crates-io): put a mirror in \
                 ~/.cargo/config.toml ([source.crates-io] replace-with = \"mirror\" and [source.mirror] registry = \
                 \"sparse+https://registry.example.com/index/\"), or allow that registry's index and download hosts \
                 with --allow-net=HOST for each"
            }
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One host the tool fetches from: an `--allow-net` entry (`HOST:PORT`)
/// and where it was found (`~/.npmrc: registry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub entry: String,
    pub from: String,
}

/// What looking up a tool's registries found.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub tool: Tool,
    /// Each host once, the first place it was found.
    pub hosts: Vec<Found>,
    /// Whether every registry the tool uses is known (a tool whose only
    /// source is a local directory needs no host).
    pub known: bool,
    /// The files and variables read, and the tool asked, in order.
    pub looked_at: Vec<String>,
    /// Entries skipped and why (a value that is no URL, an unset variable),
    /// and why asking the tool failed.
    pub notes: Vec<String>,
}

/// Looks up `tool`'s registries in `ctx`: its configuration files and
/// variables, then — only if they name no registry — the tool itself.
pub fn lookup(tool: Tool, ctx: &Surroundings) -> Lookup {
    lookup_in(tool, ctx, Path::new("/"))
}

/// [`lookup`] with the system-wide files (`/etc/pip.conf`, …) under `root`.
fn lookup_in(tool: Tool, ctx: &Surroundings, root: &Path) -> Lookup {
    let mut c = Collector::new(tool, ctx, root);
    match tool {
        Tool::Npm => npm::lookup(&mut c),
        Tool::Pip => pip::lookup(&mut c),
        Tool::Cargo => cargo::lookup(&mut c),
    }
    c.lookup
}

/// The `--allow-net` entry (`HOST:PORT`) for a registry URL. Cargo's
/// `sparse+` and `registry+` prefixes are taken off; the user information
/// (`user:token@`), path, query and fragment are dropped before anything
/// else, so no error or entry can show a credential.
pub fn url_entry(url: &str) -> Result<String, String> {
    let url = url.trim();
    let url = ["sparse+", "registry+", "git+"].iter().find_map(|p| url.strip_prefix(p)).unwrap_or(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("not a URL (SCHEME://HOST/…)".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if scheme.eq_ignore_ascii_case("file") {
        return Err("a local path, no host".into());
    }
    let clean = format!("{scheme}://{host}/");
    NetRule::parse(&clean).map(|rule| rule.to_string()).map_err(|why| format!("{clean}: {why}"))
}

/// Collects a lookup's hosts, what it read and what it skipped.
struct Collector<'a> {
    ctx: &'a Surroundings,
    /// Where the system-wide files are: `/` but in tests.
    root: &'a Path,
    home: Option<PathBuf>,
    lookup: Lookup,
}

impl<'a> Collector<'a> {
    fn new(tool: Tool, ctx: &'a Surroundings, root: &'a Path) -> Self {
        Self {
            ctx,
            root,
            home: ctx.home(),
            lookup: Lookup { tool, hosts: Vec::new(), known: false, looked_at: Vec::new(), notes: Vec::new() },
        }
    }

    /// The system-wide file `path` (absolute), under [`Collector::root`].
    fn system(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// `path` for messages: `~/…` under the home directory.
    fn show(&self, path: &Path) -> String {
        match self.home.as_deref().and_then(|home| path.strip_prefix(home).ok()) {
            Some(rest) if rest.as_os_str().is_empty() => "~".to_owned(),
            Some(rest) => format!("~/{}", rest.display()),
            None => path.display().to_string(),
        }
    }

    /// The text of the file at `path`, noting it as looked at; `None` if it
    /// does not exist or cannot be read (noted).
    fn read(&mut self, path: &Path) -> Option<String> {
        let shown = self.show(path);
        match std::fs::read(path) {
            Ok(bytes) => {
                self.lookup.looked_at.push(shown);
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                self.lookup.looked_at.push(format!("{shown} (none)"));
                None
            }
            Err(err) => {
                self.lookup.looked_at.push(format!("{shown} (unreadable)"));
                self.lookup.notes.push(format!("{shown}: cannot read it ({err})"));
                None
            }
        }
    }

    /// A variable's value, noting it as looked at.
    fn var(&mut self, name: &str) -> Option<String> {
        self.lookup.looked_at.push(name.to_owned());
        self.ctx.var(name).map(|v| v.to_string_lossy().into_owned()).filter(|v| !v.is_empty())
    }

    /// The variables for which `key(name)` gives a key, as (name, key,
    /// value), sorted; `label` is what messages call them.
    fn vars(&mut self, label: &str, key: impl Fn(&str) -> Option<String>) -> Vec<(String, String, String)> {
        self.lookup.looked_at.push(label.to_owned());
        let mut out: Vec<(String, String, String)> = self
            .ctx
            .vars
            .iter()
            .filter_map(|(name, value)| {
                let name = name.to_str()?;
                Some((name.to_owned(), key(name)?, value.to_string_lossy().into_owned()))
            })
            .collect();
        out.sort();
        out
    }

    /// Adds the host of the registry URL `url`, found at `from`.
    fn url(&mut self, url: &str, from: String) {
        match url_entry(url) {
            Ok(entry) => self.entry(entry, from),
            Err(why) => self.lookup.notes.push(format!("{from}: skipped, {why}")),
        }
    }

    /// Adds `HOST[:PORT]` (pip's `trusted-host`), found at `from`.
    fn host(&mut self, host: &str, from: String) {
        match NetRule::parse(host) {
            Ok(rule) if rule.host != crate::policy::net::Host::Any && !rule.is_listen() => {
                self.entry(rule.to_string(), from)
            }
            Ok(_) => self.lookup.notes.push(format!("{from}: skipped {host:?}, not one host")),
            Err(why) => self.lookup.notes.push(format!("{from}: skipped {host:?}, {why}")),
        }
    }

    fn entry(&mut self, entry: String, from: String) {
        if !self.lookup.hosts.iter().any(|f| f.entry == entry) {
            self.lookup.hosts.push(Found { entry, from });
        }
    }

    /// Runs `program args…` (found on the caller's PATH) and returns the
    /// lines it printed, noting it as looked at; `None` (noted) if it fails.
    /// `shown` is how messages name the command.
    fn ask(&mut self, program: &str, args: &[&str], shown: &str) -> Option<Vec<String>> {
        self.lookup.looked_at.push(format!("`{shown}`"));
        match ask::run(program, args, self.ctx) {
            Ok(lines) => Some(lines),
            Err(why) => {
                self.lookup.notes.push(format!("`{shown}` {why}"));
                None
            }
        }
    }

    /// `${NAME}` in `value` replaced with the variable (npm's `${NAME?}`:
    /// empty when unset); `Err` names a variable that is not set.
    fn expand(&self, value: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = value;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[at..]);
                return Ok(out);
            };
            let (name, optional) = match after[..end].strip_suffix('?') {
                Some(name) => (name, true),
                None => (&after[..end], false),
            };
            match self.ctx.var(name) {
                Some(v) => out.push_str(&v.to_string_lossy()),
                None if optional => {}
                None => return Err(format!("${{{name}}} is not set")),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The first directory on the caller's PATH that has `program`.
    fn on_path(&self, program: &str) -> Option<PathBuf> {
        let path = self.ctx.var("PATH")?;
        std::env::split_paths(path).map(|dir| dir.join(program)).find(|p| p.is_file())
    }
}

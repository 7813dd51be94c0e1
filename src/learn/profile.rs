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

use std::path::{Path, PathBuf};

use super::Observations;

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

/// Builds the smallest profile `obs` needs.
pub fn learn(obs: &Observations, ctx: &Context, fs: &dyn Fs) -> Learned {
    let _ = (obs, ctx, fs);
    Learned::default()
}

/// The profile as a `[profile.NAME]` table, `header` lines as comments above it.
pub fn render(name: &str, learned: &Learned, header: &[String]) -> String {
    let _ = learned;
    let mut out = String::new();
    for line in header {
        out.push_str(&format!("# {line}\n"));
    }
    out.push_str(&format!("[profile.{name}]\ndeny = [\"read\", \"write\", \"net\", \"env\"]\n"));
    out
}

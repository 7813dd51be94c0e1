//! The protocol between an sbx and an sbx started inside its sandbox (the
//! Linux side is `linux::nested`): what the inner one asks the outer one to
//! decide for its sandbox, and what the outer one's supervisor covers.
//! Plain data, shared by the platform-neutral `--explain` and `--doctor`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The protocol's version: both sides must speak the same.
pub const VERSION: u32 = 1;

/// What an inner sbx asks the outer one to decide for its sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub version: u32,
    /// Under --deny-write: the writable trees (metadata calls).
    pub writable: Option<Vec<PathBuf>>,
    /// Where truncate(2) may be performed (no Landlock TRUNCATE).
    pub truncatable: Option<Vec<PathBuf>>,
    /// Under --deny-read: what may be read (path, is a directory), for
    /// inotify watches.
    pub readable: Option<Vec<(PathBuf, bool)>>,
    /// The network rules: `None` unrestricted, `Some([])` denied, else the
    /// --allow-net entries (addresses only: names are refused before).
    pub net: Option<Vec<String>>,
    /// --allow-unix paths.
    pub unix_allow: Vec<PathBuf>,
    /// Only ask what would be covered (`--explain`, `--doctor`): nothing is
    /// recorded.
    #[serde(default)]
    pub dry_run: bool,
}

/// What the outer sbx's supervisor decides for a delegated sandbox: the
/// calls its own filter hands to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Covers {
    pub version: u32,
    /// The outer sbx's pid.
    pub outer: i32,
    /// chmod, chown, utimes, xattrs (the outer has --deny-write).
    pub metadata: bool,
    /// truncate(2) (the outer has --deny-write below Landlock ABI 3).
    pub truncate: bool,
    /// inotify watches (the outer has --deny-read and takes fds).
    pub watches: bool,
    /// Signals and signal owners (below Landlock ABI 6).
    pub signals: bool,
    /// Priority, limits and scheduling of other processes (every run).
    pub pid_calls: bool,
    /// connect, bind and sends (the outer restricts the network).
    pub sockets: bool,
    /// Abstract unix sockets (below Landlock ABI 6, network restricted).
    pub abstract_sockets: bool,
    /// New pseudo-terminals' slaves are opened for the command.
    pub pty_peers: bool,
}

impl Covers {
    /// Why this sbx has no supervisor of its own, inside the enclosing one.
    pub fn why_no_supervisor(&self) -> String {
        self.no_supervisor().text()
    }

    /// [`Covers::why_no_supervisor`]'s cause and fix.
    pub fn no_supervisor(&self) -> crate::support::Limit {
        crate::support::Limit {
            cause: format!(
                "the enclosing sbx (pid {}) holds the one seccomp listener the kernel allows per process, and \
                 decides for this sandbox only the calls its own policy has it mediate",
                self.outer
            ),
            fix: "run it with the restriction too: --deny-write for metadata, --deny-net or --allow-net for the \
                  network"
                .into(),
        }
    }

    /// The text a plan shows for what the outer sbx decides.
    pub fn how(&self) -> String {
        format!("the enclosing sbx's supervisor (pid {}), on this sandbox's behalf", self.outer)
    }
}

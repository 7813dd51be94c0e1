//! `sbx learn`: run a command once, unrestricted, while the platform backend
//! observes what it touches ([`Observations`]); turn that into the smallest
//! `[profile.NAME]` that lets it pass ([`profile`]); optionally run the
//! command again under the learned profile and call the profile verified
//! only if it ends the same way.
//!
//! Guarantees: nothing is enforced while learning (the backend lets every
//! observed call continue as made), so what is learned is what the command
//! did; paths that look like credentials never enter an allow list silently;
//! a profile is marked verified only after a second run under exactly the
//! text written ended with the learning run's exit status.

pub mod profile;

use std::net::SocketAddr;
use std::path::PathBuf;

/// How the command used a file system path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileUse {
    /// Opened for reading (a file) or for listing (a directory).
    Read,
    /// Executed (execve).
    Exec,
    /// Opened for writing or truncated, or its mode, owner, times or
    /// extended attributes changed.
    Write,
    /// Created, removed, renamed or linked at this path (a file, a socket,
    /// a symlink, a directory removed): the directory `path.parent()` is
    /// what changed.
    Entry,
    /// A directory made at this path (mkdir).
    MadeDir,
}

impl FileUse {
    /// For comments: "read", "executed", "wrote", "created or removed", "made directory".
    pub fn verb(self) -> &'static str {
        match self {
            FileUse::Read => "read",
            FileUse::Exec => "executed",
            FileUse::Write => "wrote",
            FileUse::Entry => "created or removed",
            FileUse::MadeDir => "made directory",
        }
    }
}

/// One observed file system use. `path` is absolute as the command named it
/// (relative names already joined to its cwd or dirfd), not canonicalized:
/// it may not exist any more, or never have existed (a failed probe).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileEvent {
    pub path: PathBuf,
    pub usage: FileUse,
    /// The program that did it (its `comm`, e.g. `cc1`, `make`).
    pub program: String,
}

/// How the command used an IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetUse {
    /// connect(), or a send with a destination.
    Connect,
    /// bind() to an address with a fixed port.
    Bind,
}

/// One observed use of an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetEvent {
    pub addr: SocketAddr,
    /// The names the command looked up that resolved to this address (from
    /// the DNS answers it got, and /etc/hosts), lower case, no trailing dot.
    pub names: Vec<String>,
    pub usage: NetUse,
    pub program: String,
}

/// One observed use of a pathname unix socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnixEvent {
    /// Absolute, as named (joined to the command's cwd if relative).
    pub path: PathBuf,
    /// The command bound it itself (such sockets need no entry).
    pub bound: bool,
    pub program: String,
}

/// Everything a learning run observed, deduplicated by the backend (one
/// event per path and use, per address and use, per socket).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observations {
    pub files: Vec<FileEvent>,
    pub net: Vec<NetEvent>,
    pub unix: Vec<UnixEvent>,
    /// Names the command looked up through DNS, whether or not it then
    /// connected to one of their addresses.
    pub lookups: Vec<String>,
    /// What could not be observed, for the profile's comments (e.g. calls
    /// made through the 32-bit entry).
    pub gaps: Vec<String>,
}

use anyhow::Result;

use crate::cli::LearnArgs;
use crate::exit::Outcome;
use crate::policy::Surroundings;

/// `sbx learn`: learn, render, write, and with `--verify` run again.
pub fn run(args: &LearnArgs, ctx: &Surroundings) -> Result<Outcome> {
    let _ = (args, ctx);
    anyhow::bail!("sbx learn is not built yet")
}

//! The parent after fork: forwards signals to the child and waits for it.
//! Signals are blocked before fork and read from a signalfd, so none is lost
//! between fork and the wait loop. SIGINT and SIGQUIT are not forwarded: the
//! child is in the caller's process group and gets them from the terminal.
//!
//! With a network supervisor ([`Mediator`](super::mediate::Mediator)), receiver threads
//! ([`workers`]) serve the seccomp listener while this loop keeps forwarding
//! signals; a blocking connect never delays signals or other calls. sbx is
//! then the sandbox's child subreaper and reaps every orphan. If sbx dies,
//! the listener closes and every pending or later mediated call fails in the
//! sandbox (ENOSYS): nothing runs unchecked.

use std::os::fd::{AsFd, OwnedFd};

use anyhow::{Context, Result};

use super::sys::{self, ChildEnd};
use super::workers;
use crate::exit::Outcome;

/// Signals sbx forwards to the child.
const FORWARDED: &[i32] = &[libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH, libc::SIGALRM];

/// Signals sbx ignores while it waits (the terminal delivers them to the child).
const IGNORED: &[i32] = &[libc::SIGINT, libc::SIGQUIT];

/// Blocked signals and the signalfd that receives them.
pub struct Signals {
    fd: OwnedFd,
    original_mask: libc::sigset_t,
}

impl Signals {
    /// Blocks the forwarded and ignored signals and SIGCHLD.
    pub fn block() -> Result<Self> {
        let all: Vec<i32> = FORWARDED.iter().chain(IGNORED).copied().chain([libc::SIGCHLD]).collect();
        let original_mask = sys::block_signals(&all);
        let fd = sys::signalfd(&all).context("creating a signalfd")?;
        Ok(Self { fd, original_mask })
    }

    /// The caller's signal mask, for the child to restore.
    pub fn original_mask(&self) -> libc::sigset_t {
        self.original_mask
    }

    /// Starts serving `server` (the [`Mediator`](super::mediate::Mediator)
    /// or `sbx learn`'s observer) on receiver threads, before the command
    /// runs; returns whether there is one (then sbx reaps orphans too).
    pub fn serve<S: workers::Serve>(&self, server: Option<S>) -> Result<bool> {
        match server {
            Some(server) => {
                workers::start(server).context("starting the supervisor's threads")?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Forwards signals until `child` ends (reaping orphans as well when
    /// sbx supervises: it is the sandbox's subreaper); returns how it ended.
    pub fn supervise(self, child: libc::pid_t, reap_orphans: bool) -> Result<Outcome> {
        loop {
            if let Some(end) = reap(child, reap_orphans).context("waiting for the command")? {
                return Ok(match end {
                    ChildEnd::Exited(code) => Outcome::Code(code),
                    ChildEnd::Signaled(signal) => Outcome::Signal(signal),
                });
            }
            let signal = sys::read_signal(self.fd.as_fd()).context("reading signals")?;
            if FORWARDED.contains(&signal) {
                tracing::debug!(signal, "forwarding signal to the command");
                sys::kill(child, signal);
            }
        }
    }
}

/// How `child` ended, if it has; with `orphans`, every other ended child is
/// reaped along the way.
fn reap(child: libc::pid_t, orphans: bool) -> Result<Option<ChildEnd>, nix::errno::Errno> {
    if !orphans {
        return sys::try_wait(child);
    }
    while let Some((pid, end)) = sys::wait_any()? {
        if pid == child {
            return Ok(Some(end));
        }
    }
    Ok(None)
}

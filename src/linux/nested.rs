//! An sbx inside another sbx. The kernel gives one seccomp listener per
//! filter chain, and the outer sbx holds it (its supervisor runs on every
//! run), so an inner sbx cannot supervise its own command. It can still
//! stack its own Landlock ruleset and seccomp filter; for the rest it asks
//! the outer sbx, whose supervisor already sees those calls, to decide them
//! for the inner sandbox too: a *delegation*.
//!
//! - The request travels as a system call no driver answers,
//!   `ioctl(-1, REGISTER, &args)`, which every supervising sbx's filter
//!   hands to its supervisor: no descriptor or variable is passed down, and
//!   the kernel says who asks. Without an sbx above, the kernel answers
//!   EBADF: nobody to ask.
//! - The outer supervisor copies the [`Request`] from the caller's memory,
//!   records it, and writes back what its own filter hands to it
//!   ([`Covers`]): only those calls can be decided for the inner sandbox;
//!   the inner sbx refuses (or with --best-effort names) the rest.
//! - From then on, for a call from the inner sandbox — the caller's
//!   descendants — the outer supervisor applies both policies: a chmod only
//!   inside both writable sets, a signal only to a process inside both
//!   sandboxes, a connect only where both allow.
//! - A delegation can only add restrictions, and only for the caller's own
//!   descendants: any process of the outer sandbox may ask for one.
//! - It lasts as long as the inner sbx: when its command ends, the inner sbx
//!   ends what is left of its sandbox, then says so (`ioctl(-1, DONE)`). If
//!   it ends without (killed from outside — its own sandbox can neither
//!   signal nor trace it), its sandbox's processes would slip out of the
//!   delegation: the outer sbx then ends its whole sandbox, failing closed.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use nix::errno::Errno;

pub use crate::nesting::{Covers, Request, VERSION};

use super::sys;

/// `ioctl(-1, REGISTER, &[request, request_len, answer, answer_cap])`:
/// the answer's length, the answer (JSON `Result<Covers, String>`) written
/// at `answer`.
pub const REGISTER: u64 = 0x5342_5801;

/// `ioctl(-1, DONE, 0)`: the caller's sandbox has ended.
pub const DONE: u64 = 0x5342_5802;

/// At most this many live delegations per outer sbx.
pub const MAX_DELEGATIONS: usize = 64;

/// The largest request (paths included).
pub const MAX_REQUEST: u64 = 256 * 1024;

/// Room for the answer.
const MAX_ANSWER: usize = 4096;

/// A registration on the inner side.
#[derive(Debug)]
pub struct Registration {
    pub covers: Covers,
}

impl Registration {
    /// Tells the outer sbx the inner sandbox has ended (after the inner sbx
    /// ended what was left of it).
    pub fn done(self) {
        let _ = sys::nested_call(DONE, 0);
    }
}

/// Asks the enclosing sbx to decide `request` for this process's
/// descendants. `Ok(None)`: there is no enclosing sbx to ask.
pub fn register(request: &Request) -> Result<Option<Registration>> {
    let body = serde_json::to_vec(request)?;
    let mut answer = vec![0u8; MAX_ANSWER];
    let args = [body.as_ptr() as u64, body.len() as u64, answer.as_mut_ptr() as u64, answer.len() as u64];
    let n = match sys::nested_call(REGISTER, args.as_ptr() as u64) {
        Ok(n) => n as usize,
        // The kernel's answer for fd -1: no sbx above handed it on.
        Err(Errno::EBADF) => return Ok(None),
        Err(e) => bail!("asking it failed: {} ({e:?})", e.desc()),
    };
    let answer: std::result::Result<Covers, String> = serde_json::from_slice(&answer[..n.min(MAX_ANSWER)])
        .map_err(|e| anyhow::anyhow!("its answer is unreadable: {e}"))?;
    let covers = answer.map_err(|why| anyhow::anyhow!("it refused: {why}"))?;
    if covers.version != VERSION {
        bail!("it speaks another version of the nested-sbx protocol (use the same sbx for both)");
    }
    Ok(Some(Registration { covers }))
}

/// On the outer side: reads a [`REGISTER`] call's request from thread
/// `tid`'s memory (`args` is the call's pointer), and returns it with where
/// to write the answer (address, room).
pub fn read_request(tid: i32, args: u64) -> std::result::Result<(Request, u64, u64), Errno> {
    let mut raw = [0u8; 32];
    sys::read_memory(tid, &[(args, 32)], &mut raw)?;
    let word = |i: usize| u64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let (at, len, answer, room) = (word(0), word(1), word(2), word(3));
    if len > MAX_REQUEST {
        return Err(Errno::E2BIG);
    }
    let mut body = vec![0u8; len as usize];
    sys::read_memory(tid, &[(at, len)], &mut body)?;
    let request: Request = serde_json::from_slice(&body).map_err(|_| Errno::EINVAL)?;
    Ok((request, answer, room))
}

/// Writes the answer for a [`REGISTER`] call; its length (the call's value).
pub fn write_answer(
    tid: i32,
    answer: u64,
    room: u64,
    covers: &std::result::Result<Covers, String>,
) -> std::result::Result<i64, Errno> {
    let body = serde_json::to_vec(covers).map_err(|_| Errno::EINVAL)?;
    if body.len() as u64 > room {
        return Err(Errno::ENOSPC);
    }
    sys::write_memory(tid, answer, &body)?;
    Ok(body.len() as i64)
}

/// Ends every process below `root` (its descendants by parent links;
/// `root` itself stays): SIGKILL through pidfds, round after round until
/// none is left (or a bound is reached). For an sbx that is its sandbox's
/// subreaper, orphans come back to it, so the rounds end everything below.
pub fn end_descendants(root: i32) {
    for _ in 0..64 {
        let below = descendants(root);
        if below.is_empty() {
            return;
        }
        for pid in below {
            if let Ok(pidfd) = sys::pidfd_open(pid) {
                let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL, None, 0);
            }
        }
        // Give the kernel a moment to hand the orphans on.
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Every live process whose parent chain reaches `root`.
fn descendants(root: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let parents: Vec<(i32, i32)> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, ppid_of(pid)?)))
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|&&(pid, ppid)| ppid == parent && pid != root).map(|&(pid, _)| pid));
        i += 1;
    }
    found.remove(0);
    found
}

fn ppid_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

/// A delegation the outer sbx holds: the inner sandbox is the descendants
/// of `pid`, an inner sbx that is alive (pinned by `pidfd`).
#[derive(Debug)]
pub struct Delegation {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub writable: Option<Vec<PathBuf>>,
    pub truncatable: Option<Vec<PathBuf>>,
    pub readable: Option<Vec<(PathBuf, bool)>>,
    pub net: Option<super::notify::Mode>,
    pub unix_allow: Vec<PathBuf>,
}

impl Delegation {
    /// From a request of process `pid`, pinning it. `Err` says why the
    /// request is refused.
    pub fn new(pid: i32, request: Request) -> std::result::Result<Self, String> {
        if request.version != VERSION {
            return Err("another version of the nested-sbx protocol (use the same sbx for both)".into());
        }
        let pidfd = sys::pidfd_open(pid).map_err(|e| format!("the caller (pid {pid}) is gone: {}", e.desc()))?;
        let net = match &request.net {
            None => None,
            Some(entries) => {
                let mut rules = Vec::new();
                for entry in entries {
                    let rule = crate::policy::net::NetRule::parse(entry).map_err(|e| format!("{entry}: {e}"))?;
                    // Host names are not decided here (the outer sbx's DNS
                    // filter decides which names resolve): left out, which
                    // only narrows; the inner sbx names the loss.
                    if !rule.is_name() {
                        rules.push(rule);
                    }
                }
                let net = if rules.is_empty() { crate::policy::Net::Denied } else { crate::policy::Net::Allow(rules) };
                super::notify::Mode::from_policy(&net)
            }
        };
        Ok(Self {
            pid,
            pidfd,
            writable: request.writable,
            truncatable: request.truncatable,
            readable: request.readable,
            net,
            unix_allow: request.unix_allow,
        })
    }
}

/// Calls `ended` on a thread once the process behind `pidfd` has ended.
pub fn when_ended(pidfd: OwnedFd, ended: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new().name("sbx-nested-watch".into()).stack_size(64 * 1024).spawn(move || {
        let mut fds = [nix::poll::PollFd::new(pidfd.as_fd(), nix::poll::PollFlags::POLLIN)];
        while let Err(Errno::EINTR) = nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {}
        ended();
    })?;
    Ok(())
}

/// The answer a supervising sbx starts from.
pub fn covers(outer: i32) -> Covers {
    Covers { version: VERSION, outer, ..Covers::default() }
}

/// Asks the enclosing sbx what it would decide for a sandbox of this
/// process, recording nothing (`--explain`, `--doctor`).
pub fn ask() -> Option<Covers> {
    register(&Request { dry_run: true, ..request() }).ok().flatten().map(|r| r.covers)
}

/// A request, to fill in.
pub fn request() -> Request {
    Request { version: VERSION, ..Request::default() }
}

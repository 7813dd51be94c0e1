//! Acting on one seccomp notification: copy what the call refers to out of
//! the command's memory, confirm the notification is still live (so the pid,
//! fds and memory read belong to the waiting thread), decide on the copy
//! ([`super::notify`]), then perform the call on the command's behalf — on a
//! duplicate of its socket, with sbx's copy of the address and data — and
//! answer with the real result.
//!
//! Guarantees: a checked call is never let through to run on the command's
//! memory (no SECCOMP_USER_NOTIF_FLAG_CONTINUE), so rewriting the address
//! after the check or swapping the fd changes nothing; a pathname unix
//! socket is reached only through the exact inode that was checked (opened
//! with O_PATH, connected via `/proc/self/fd/N`); a unix socket counts as
//! "bound inside the sandbox" only if sbx bound it and the kernel
//! (sock_diag) confirms that socket still owns that file; anything that
//! cannot be read or interpreted fails the call instead of passing.

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use anyhow::{Context, Result};
use libseccomp::{ScmpArch, ScmpSyscall};
use nix::errno::Errno;

use super::nested;
use super::notify::{self, CmsgFix, Mode, MsgHdr, Op, Target};
use super::sys::{self, Notification};
use crate::dns::{NameFilter, QueryVerdict};

mod dnssource;
mod intent;
pub use intent::{WRITE_FLAGS, WRITE_INTENT};
mod meta;
mod process;
pub mod protect;

pub(crate) use meta::read_cstr;
pub use process::Scope;

/// `MSG_BATCH`: more messages of a sendmmsg batch follow.
const MSG_BATCH: i32 = 0x40000;

/// Most bytes sbx copies for one send on a stream socket (the rest is left
/// for the command's next call, as a short write).
const STREAM_CAP: usize = 256 * 1024;
/// Most bytes of one datagram (larger ones fail with EMSGSIZE).
const DGRAM_CAP: usize = 256 * 1024;
/// Most control bytes of one message (more fail with ENOBUFS).
const CONTROL_CAP: usize = 64 * 1024;

/// The audit architecture of native (and x32) calls.
#[cfg(target_arch = "x86_64")]
pub(crate) const NATIVE_AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
pub(crate) const NATIVE_AUDIT_ARCH: u32 = 0xc000_00b7;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) const NATIVE_AUDIT_ARCH: u32 = u32::MAX;

/// The user, groups and capabilities of a thread, as /proc shows them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Creds {
    uid: String,
    gid: String,
    groups: String,
    cap_eff: String,
}

impl Creds {
    /// Real, effective, saved and filesystem user ids.
    fn ids(&self) -> [u32; 4] {
        let mut ids = [u32::MAX; 4];
        for (slot, word) in ids.iter_mut().zip(self.uid.split_whitespace()) {
            *slot = word.parse().unwrap_or(u32::MAX);
        }
        ids
    }

    /// These credentials to act with in a process of sbx's own; `None` if
    /// /proc's fields do not read as ids.
    fn act_as(&self) -> Option<sys::ActAs> {
        let three = |field: &str| -> Option<[u32; 3]> {
            let ids: Vec<u32> = field.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
            Some([*ids.first()?, *ids.get(1)?, *ids.get(2)?])
        };
        let groups = self.groups.split_whitespace().map(str::parse).collect::<Result<Vec<u32>, _>>().ok()?;
        Some(sys::ActAs { uids: three(&self.uid)?, gids: three(&self.gid)?, groups, cap_eff: self.cap_eff_bits() })
    }

    /// The effective capabilities as a bit set.
    fn cap_eff_bits(&self) -> u64 {
        u64::from_str_radix(&self.cap_eff, 16).unwrap_or(0)
    }

    #[cfg(test)]
    fn for_test(uid: &str) -> Self {
        Self { uid: uid.into(), gid: uid.into(), groups: String::new(), cap_eff: "0".into() }
    }
}

/// What sbx needs from /proc/TID/status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    pub tgid: i32,
    pub creds: Creds,
    pub umask: u32,
    /// How many seccomp filters the thread runs under.
    pub filters: u32,
}

/// Parses /proc/PID/status; `None` if a field is missing. By line
/// prefix: the supervisor parses it on every call it performs.
pub fn parse_status(text: &str) -> Option<Status> {
    let mut st = Status { umask: 0o022, ..Status::default() };
    let mut seen = 0;
    // The fields' words, single-spaced.
    let words = |value: &str| value.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
    for line in text.split('\n') {
        let Some(first) = line.as_bytes().first() else { continue };
        if !matches!(first, b'T' | b'U' | b'G' | b'C' | b'S') {
            continue;
        }
        let Some((key, value)) = line.split_once(":\t") else { continue };
        match key {
            "Tgid" => {
                st.tgid = value.trim().parse().ok()?;
                seen += 1;
            }
            "Uid" => {
                st.creds.uid = words(value);
                seen += 1;
            }
            "Gid" => {
                st.creds.gid = words(value);
                seen += 1;
            }
            "Groups" => {
                st.creds.groups = words(value);
                seen += 1;
            }
            "CapEff" => {
                st.creds.cap_eff = value.trim().to_string();
                seen += 1;
            }
            "Umask" => st.umask = u32::from_str_radix(value.trim(), 8).ok()?,
            "Seccomp_filters" => st.filters = value.trim().parse().ok()?,
            _ => {}
        }
    }
    (seen == 5).then_some(st)
}

pub(crate) fn read_status(pid: i32) -> Option<Status> {
    use std::io::Read;
    // One read into a page: procfs makes the whole file on the first
    // read, and the supervisor reads it on every call it performs.
    let mut file = std::fs::File::open(format!("/proc/{pid}/status")).ok()?;
    let mut buf = [0u8; 8192];
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    parse_status(std::str::from_utf8(&buf[..len]).ok()?)
}

/// A unix bind to perform on the binder thread.
struct BindJob {
    sock: OwnedFd,
    addr: Vec<u8>,
    cwd: OwnedFd,
    umask: u32,
    reply: mpsc::SyncSender<Result<i64, Errno>>,
}

/// Why the unix-bind thread could not be prepared: the step and its errno.
struct BinderSetupError(&'static str, Errno);

/// Starts the thread that performs unix binds: it has its own cwd and umask
/// (unshare(CLONE_FS)) set to the command's for each bind, and is confined
/// by the command's own Landlock ruleset, so a bind creates a socket file
/// only where the command could.
fn start_binder(
    ruleset: Option<OwnedFd>,
    caps: Option<(u64, u64, u64)>,
) -> Result<mpsc::Sender<BindJob>, BinderSetupError> {
    let (jobs_tx, jobs_rx) = mpsc::channel::<BindJob>();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), BinderSetupError>>();
    let spawned = std::thread::Builder::new().name("sbx-binder".into()).stack_size(128 * 1024).spawn(move || {
        let setup = (|| {
            if let Some((effective, permitted, inheritable)) = caps {
                sys::set_capabilities(effective, permitted, inheritable).map_err(|e| BinderSetupError("capset", e))?;
            }
            sys::unshare_fs().map_err(|e| BinderSetupError("unshare(CLONE_FS)", e))?;
            sys::set_no_new_privs().map_err(|e| BinderSetupError("no_new_privs", e))?;
            if let Some(ruleset) = &ruleset {
                sys::landlock_restrict_self(ruleset.as_fd(), 0)
                    .map_err(|e| BinderSetupError("applying the Landlock ruleset", e))?;
            }
            Ok(())
        })();
        drop(ruleset);
        let ok = setup.is_ok();
        let _ = ready_tx.send(setup);
        if !ok {
            return;
        }
        for job in jobs_rx {
            let result = sys::fchdir(job.cwd.as_fd()).and_then(|()| {
                sys::set_umask(job.umask);
                sys::bind(job.sock.as_fd(), &job.addr)
            });
            let _ = job.reply.send(result);
        }
    });
    if spawned.is_err() {
        return Err(BinderSetupError("starting the thread", Errno::EAGAIN));
    }
    match ready_rx.recv() {
        Ok(result) => result.map(|()| jobs_tx),
        Err(_) => Err(BinderSetupError("setting the thread up", Errno::EIO)),
    }
}

/// Where unix binds are made for the command.
enum Binder {
    /// Not needed yet.
    NotStarted,
    /// On the unix-bind thread.
    Running(mpsc::Sender<BindJob>),
    /// A thread cannot have a cwd of its own here (`unshare(CLONE_FS)`
    /// refused, e.g. by a container's seccomp profile): each bind is made in
    /// a short-lived child process ([`sys::bind_in_child`]).
    PerBind,
    /// Could not be prepared (reported once): unix binds fail.
    Failed,
}

/// A socket bound inside the sandbox: the inode of the socket, and the
/// delegations (inner sbx's sandboxes) its binder was in.
type Bound = (u64, Vec<usize>);

/// The supervisor's state, shared by the worker threads.
pub struct Mediator {
    listener: OwnedFd,
    /// The network mode; `None` when only metadata writes are mediated.
    mode: Option<Mode>,
    /// Under --deny-write: the writable trees (canonical), where metadata
    /// writes are performed for the command.
    writable: Option<Vec<PathBuf>>,
    /// Without Landlock's TRUNCATE right: every tree a write rule grants
    /// (the /dev defaults too), where truncate(2) is performed.
    truncatable: Option<Vec<PathBuf>>,
    /// Under --deny-read: what the command may read (path, is a directory),
    /// where inotify watches are added for it.
    readable: Option<Vec<(PathBuf, bool)>>,
    /// Open new pseudo-terminals' slaves for the command (TIOCGPTPEER).
    pty_peers: bool,
    /// Under --deny-write (unless -q): every tree and file a write rule
    /// grants, to name the write intents the sandbox refuses.
    intent_trees: Option<Vec<PathBuf>>,
    /// Raw syscall number → the write-intent call (native numbers).
    intent_calls: Vec<(i32, &'static str, intent::Targets)>,
    /// Trees that hold protected paths, where sbx performs the writes.
    protect: Option<protect::Trees>,
    /// The seccomp filters the command started under (sbx's and those sbx
    /// itself runs under): a thread under more is in a further sandbox.
    filters_at_start: u32,
    /// The home directory, to show paths as `~/…`.
    home: Option<PathBuf>,
    /// pidfd_getfd works: act on the command's own descriptions. Without,
    /// reach the files behind its fds through /proc/PID/fd.
    takes_fds: bool,
    /// The process scope's calls, by syscall number.
    process: process::Table,
    /// Below Landlock ABI 6 under a network restriction: abstract unix
    /// sockets are reached only if bound inside the sandbox.
    abstract_check: bool,
    /// Abstract names bound inside the sandbox → the inode of the socket
    /// sbx bound (or saw bound) there, and the delegations the binder was in.
    abstract_bound: Mutex<HashMap<Vec<u8>, Bound>>,
    /// Ports the kernel chose for the command's inet binds to port 0: a
    /// refused connect to one on loopback is to its own server (the hint
    /// is `localhost`, not the port of this run).
    chosen_ports: Mutex<HashSet<u16>>,
    /// Raw syscall number → metadata call (native numbers).
    meta_calls: Vec<(i32, meta::Meta)>,
    /// The DNS filter, when `--allow-net` has name entries.
    names: Option<Arc<NameFilter>>,
    /// The sockets sbx connected to the DNS proxy instead of a nameserver.
    dns_sources: dnssource::Sources,
    unix_allow: Vec<PathBuf>,
    quiet: bool,
    /// Socket files bound inside the sandbox: (st_dev, st_ino) → the inode
    /// of the socket that sbx bound there, and the delegations the binder
    /// was in.
    bound: Mutex<HashMap<(u64, u64), Bound>>,
    creds: Creds,
    /// The unix-bind thread, started on the first unix bind (most commands
    /// never bind one; starting it costs a thread and a round trip).
    binder: Mutex<Binder>,
    /// The command's Landlock ruleset, for unix binds (the binder thread,
    /// or [`sys::bind_in_child`]).
    ruleset: Option<OwnedFd>,
    /// Raw syscall number → operation (native and x32 numbers).
    syscalls: Vec<(i32, Op)>,
    /// This process's root (dev, ino) and mount namespace inode.
    root: (u64, u64, u64),
    /// The command's effective capabilities, when sbx dropped some.
    command_effective_caps: Option<u64>,
    /// The process scope's calls that come here (for nested sbx's answer).
    scope: Scope,
    /// Inner sbx's sandboxes this supervisor decides for too, by id.
    delegations: RwLock<Vec<(usize, Arc<nested::Delegation>)>>,
    next_delegation: AtomicUsize,
    /// An inner sbx went away without ending its sandbox: sbx ended it all
    /// (held while it does, so sbx does not exit halfway).
    lost: Mutex<bool>,
    /// This mediator, for the threads that watch inner sbx.
    me: std::sync::Weak<Mediator>,
}

/// What the supervisor mediates, and what it needs for it.
pub struct Setup {
    pub listener: OwnedFd,
    /// The network mode; `None` when the network is not mediated.
    pub mode: Option<Mode>,
    /// Under --deny-write: the trees where metadata writes are performed.
    pub writable: Option<Vec<PathBuf>>,
    /// When the supervisor keeps truncation (no Landlock TRUNCATE): the
    /// trees where truncate(2) is performed.
    pub truncatable: Option<Vec<PathBuf>>,
    /// Under --deny-read: what the command may read, for inotify watches.
    pub readable: Option<Vec<(PathBuf, bool)>>,
    /// Open new pseudo-terminals' slaves for the command (TIOCGPTPEER).
    pub pty_peers: bool,
    /// Name refused write intents: every tree and file a write rule grants.
    pub intent_trees: Option<Vec<PathBuf>>,
    /// Trees that hold protected paths (see [`protect`]).
    pub protect: Option<protect::Trees>,
    /// The home directory, to show paths as `~/…`.
    pub home: Option<PathBuf>,
    /// pidfd_getfd works here (else files are reached through /proc).
    pub takes_fds: bool,
    pub process: Scope,
    /// Decide abstract unix destinations here (no Landlock scope).
    pub abstract_check: bool,
    /// The DNS filter, when `--allow-net` has name entries.
    pub names: Option<Arc<NameFilter>>,
    pub unix_allow: Vec<PathBuf>,
    pub quiet: bool,
    /// The command's Landlock ruleset (for the unix-bind thread).
    pub ruleset: Option<OwnedFd>,
    /// The command's effective capabilities when sbx dropped some (root):
    /// sbx's threads act with these, and only for a command that has them.
    pub command_effective_caps: Option<u64>,
}

impl Mediator {
    /// Sets up the supervisor described by `setup`.
    pub fn new(setup: Setup) -> Result<Arc<Self>> {
        let Setup {
            listener,
            mode,
            writable,
            truncatable,
            readable,
            pty_peers,
            intent_trees,
            protect,
            home,
            takes_fds,
            process,
            abstract_check,
            names,
            unix_allow,
            quiet,
            ruleset,
            command_effective_caps,
        } = setup;
        let mut me = read_status(std::process::id() as i32).context("reading sbx's own /proc/self/status")?;
        // The command's credentials are sbx's, but for what it dropped.
        if let Some(effective) = command_effective_caps {
            me.creds.cap_eff = format!("{effective:016x}");
        }
        let mut syscalls = Vec::new();
        let mut arches = vec![ScmpArch::native()];
        if cfg!(target_arch = "x86_64") {
            arches.push(ScmpArch::X32);
        }
        for arch in arches {
            for (name, op) in [
                ("connect", Op::Connect),
                ("bind", Op::Bind),
                ("sendto", Op::Sendto),
                ("sendmsg", Op::Sendmsg),
                ("sendmmsg", Op::Sendmmsg),
            ] {
                if arch == ScmpArch::X32 && matches!(op, Op::Sendmsg | Op::Sendmmsg) {
                    continue;
                }
                let nr = ScmpSyscall::from_name_by_arch(name, arch)
                    .with_context(|| format!("libseccomp does not know {name} on {arch:?}"))?;
                syscalls.push((nr.as_raw_syscall(), op));
            }
        }
        let mut meta_calls = Vec::new();
        if writable.is_some() {
            for &(name, _) in super::seccomp::METADATA {
                if let (Some(nr), Some(call)) = (super::seccomp::native_number(name), meta::Meta::from_name(name)) {
                    meta_calls.push((nr, call));
                }
            }
        }
        if truncatable.is_some() {
            if let Some(nr) = super::seccomp::native_number("truncate") {
                meta_calls.push((nr, meta::Meta::Truncate));
            }
        }
        let mut intent_calls = Vec::new();
        if intent_trees.is_some() || protect.is_some() {
            for &(name, targets) in intent::WRITE_INTENT {
                if let Some(nr) = super::seccomp::native_number(name) {
                    intent_calls.push((nr, name, targets));
                }
            }
        }
        let root = root_of("/proc/self").context("reading sbx's own root directory")?;
        if let Err(e) = sys::notif_sync_wake_up(listener.as_fd()) {
            tracing::debug!("seccomp: no synchronous wake-ups for the supervisor ({}): Linux before 6.6", e.desc());
        }
        Ok(Arc::new_cyclic(|this| Self {
            listener,
            mode,
            writable,
            truncatable,
            readable,
            pty_peers,
            intent_trees,
            intent_calls,
            protect,
            filters_at_start: me.filters + 1,
            home,
            takes_fds,
            process: process::Table::new(process),
            abstract_check,
            abstract_bound: Mutex::new(HashMap::new()),
            chosen_ports: Mutex::new(HashSet::new()),
            meta_calls,
            names,
            dns_sources: dnssource::Sources::new(),
            unix_allow,
            quiet,
            bound: Mutex::new(HashMap::new()),
            creds: me.creds,
            ruleset,
            binder: Mutex::new(Binder::NotStarted),
            syscalls,
            root,
            command_effective_caps,
            scope: process,
            delegations: RwLock::new(Vec::new()),
            next_delegation: AtomicUsize::new(0),
            lost: Mutex::new(false),
            me: this.clone(),
        }))
    }

    /// What this supervisor decides, as answered to an inner sbx: the calls
    /// its own filter hands to it.
    pub fn covers(&self) -> nested::Covers {
        nested::Covers {
            metadata: self.writable.is_some(),
            truncate: self.truncatable.is_some(),
            watches: self.readable.is_some() && self.takes_fds,
            signals: self.scope.signals,
            pid_calls: self.scope.pid_calls,
            sockets: self.mode.is_some(),
            abstract_sockets: self.abstract_check,
            pty_peers: self.pty_peers,
            ..nested::covers(std::process::id() as i32)
        }
    }

    /// `ioctl(-1, REGISTER | DONE, …)` from an sbx inside the sandbox (see
    /// [`nested`]).
    fn serve_nested(&self, req: &Notification) -> Reply {
        let tid = req.pid as i32;
        let Some(status) = read_status(tid) else { return self.fail(req.id, Errno::EPERM) };
        if req.args[1] & 0xffff_ffff == nested::DONE {
            let mut all = self.delegations.write().unwrap_or_else(PoisonError::into_inner);
            all.retain(|(_, d)| d.pid != status.tgid);
            return Reply::Value(0);
        }
        let (request, answer, room) = match nested::read_request(tid, req.args[2]) {
            Ok(r) => r,
            Err(e) => return self.fail(req.id, e),
        };
        if !self.still_valid(req.id) {
            return Reply::Gone;
        }
        if request.dry_run {
            let covers = nested::Delegation::new(status.tgid, request).map(|_| self.covers());
            return match nested::write_answer(tid, answer, room, &covers) {
                Ok(len) => Reply::Value(len),
                Err(e) => Reply::Error(e),
            };
        }
        let accepted = nested::Delegation::new(status.tgid, request).and_then(|d| self.accept(d));
        let covers = accepted.as_ref().map(|&(covers, _)| covers).map_err(Clone::clone);
        let written = nested::write_answer(tid, answer, room, &covers);
        if let Ok((_, id)) = accepted {
            let watched = written.is_ok()
                && self.me.upgrade().zip(sys::pidfd_open(status.tgid).ok()).is_some_and(|(me, pidfd)| {
                    nested::when_ended(pidfd, move || {
                        // Gone while still registered: it did not end its sandbox.
                        if me.release(id) {
                            me.lose(status.tgid);
                        }
                    })
                    .is_ok()
                });
            if !watched {
                // It is not told, or cannot be watched: it does not count on it.
                self.release(id);
            }
        }
        match written {
            Ok(len) => Reply::Value(len),
            Err(e) => Reply::Error(e),
        }
    }

    /// Records an inner sbx's sandbox (see [`nested`]); its id, to release it.
    pub fn accept(&self, delegation: nested::Delegation) -> Result<(nested::Covers, usize), String> {
        let mut all = self.delegations.write().unwrap_or_else(PoisonError::into_inner);
        if all.len() >= nested::MAX_DELEGATIONS {
            return Err(format!("{} nested sbx at once is the limit", nested::MAX_DELEGATIONS));
        }
        let id = self.next_delegation.fetch_add(1, Ordering::SeqCst);
        tracing::debug!(pid = delegation.pid, id, "deciding for an inner sbx's sandbox too");
        all.push((id, Arc::new(delegation)));
        Ok((self.covers(), id))
    }

    /// Forgets delegation `id`; whether it was still there.
    pub fn release(&self, id: usize) -> bool {
        let mut all = self.delegations.write().unwrap_or_else(PoisonError::into_inner);
        let before = all.len();
        all.retain(|(i, _)| *i != id);
        all.len() != before
    }

    /// An inner sbx (pid `pid`) went away without ending its sandbox, whose
    /// processes would now slip out of its restrictions: ends this whole
    /// sandbox (fails closed).
    pub fn lose(&self, pid: i32) {
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        *lost = true;
        eprintln!(
            "sbx: the sbx inside this sandbox (pid {pid}), whose restrictions this sbx enforced for its command, \
             ended without ending its sandbox; ending this sandbox, whose processes could otherwise slip out of \
             those restrictions"
        );
        nested::end_descendants(std::process::id() as i32);
    }

    /// Whether [`Mediator::lose`] ended the sandbox (waiting until it has).
    pub fn lost(&self) -> bool {
        *self.lost.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The delegations whose sandbox process `tgid` is in (it descends from
    /// their live inner sbx).
    fn delegations_of(&self, tgid: i32) -> Vec<(usize, Arc<nested::Delegation>)> {
        let all = self.delegations.read().unwrap_or_else(PoisonError::into_inner).clone();
        if all.is_empty() {
            return all;
        }
        let Ok(pinned) = process::pin(tgid) else {
            // Gone, or unreadable: under every delegation (stricter).
            return all;
        };
        all.into_iter()
            .filter(|(_, d)| {
                // A live inner sbx (it ends its sandbox before it goes), or
                // an unreadable chain: counted in (stricter).
                sys::pidfd_alive(d.pidfd.as_fd()) && process::descends_from(&pinned, d.pid).unwrap_or(true)
            })
            .collect()
    }

    /// Makes the calling thread act with the command's capabilities, plus
    /// CAP_SYS_PTRACE to go on reading a command that changed its user (and
    /// then refuse it by its credentials): no call sbx makes for the command
    /// is decided by that one. Its permitted set stays sbx's.
    fn act_as_the_command(&self) {
        const CAP_SYS_PTRACE: u64 = 1 << 19;
        if let Some(effective) = self.command_effective_caps {
            if let Ok((_, permitted, inheritable)) = sys::capabilities() {
                let effective = (effective | CAP_SYS_PTRACE) & permitted;
                if let Err(e) = sys::set_capabilities(effective, permitted, inheritable) {
                    tracing::warn!("cannot lower a supervisor thread's capabilities: {}", e.desc());
                }
            }
        }
    }

    /// A supervisor with nothing to mediate and no listener worth the name,
    /// for unit tests of its decisions.
    #[cfg(test)]
    pub(crate) fn for_test() -> Arc<Self> {
        let listener = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let setup = Setup {
            listener,
            mode: None,
            writable: None,
            truncatable: None,
            readable: None,
            pty_peers: false,
            intent_trees: None,
            protect: None,
            home: None,
            takes_fds: true,
            process: Scope::default(),
            abstract_check: false,
            names: None,
            unix_allow: Vec::new(),
            quiet: true,
            ruleset: None,
            command_effective_caps: None,
        };
        Self::new(setup).unwrap()
    }

    /// Decides and performs `req`, then answers it.
    pub fn handle(&self, req: Notification) {
        let reply = self.serve(&req);
        tracing::trace!(pid = req.pid, nr = req.nr, ?reply, "notification");
        let result = match reply {
            Reply::Value(v) => Ok(v),
            Reply::Error(e) => Err(e),
            Reply::Continue => {
                // Fails only if the thread is gone (killed) meanwhile.
                let _ = sys::notif_continue(self.listener.as_fd(), req.id);
                return;
            }
            Reply::Gone => return,
        };
        // Fails only if the thread is gone (killed) meanwhile.
        let _ = sys::notif_respond(self.listener.as_fd(), req.id, result);
    }

    fn still_valid(&self, id: u64) -> bool {
        sys::notif_id_valid(self.listener.as_fd(), id)
    }

    /// Fails the call with `e` if the notification is still live.
    fn fail(&self, id: u64, e: Errno) -> Reply {
        if self.still_valid(id) { Reply::Error(e) } else { Reply::Gone }
    }

    fn report(&self, line: String) {
        tracing::debug!("{line}");
        // Counted for the summary at the end, printed the first time.
        if crate::summary::record(&line) && !self.quiet {
            eprintln!("{line}");
        }
    }

    /// Under --deny-net: a UDP socket is made (so the command's lookups
    /// reach sbx's DNS filter and are named; every use of it comes here and
    /// is refused); any other inet socket is named and refused. Decided on
    /// the call's registers, which the continued call uses unchanged.
    fn serve_denied_socket(&self, req: &Notification) -> Reply {
        let udp_type = req.args[1] & 0xf == libc::SOCK_DGRAM as u64;
        if udp_type && [0, libc::IPPROTO_UDP as u64].contains(&req.args[2]) {
            return Reply::Continue;
        }
        let family = if req.args[0] == libc::AF_INET6 as u64 { "IPv6" } else { "IPv4" };
        let kind = match req.args[1] & 0xf {
            t if t == libc::SOCK_STREAM as u64 => "TCP",
            t if t == libc::SOCK_DGRAM as u64 => "datagram",
            t if t == libc::SOCK_RAW as u64 => "raw",
            _ => "other",
        };
        let program = std::fs::read_to_string(format!("/proc/{}/comm", req.pid)).unwrap_or_default();
        if self.still_valid(req.id) {
            self.report(format!(
                "sbx: blocked an {family} {kind} socket of {} — no network under --deny-net; a server on loopback \
                 (as test suites start) needs --allow-net=localhost; `sbx learn` lists the hosts a command reaches",
                program.trim()
            ));
        }
        Reply::Error(Errno::EPERM)
    }

    fn serve(&self, req: &Notification) -> Reply {
        if req.arch == NATIVE_AUDIT_ARCH
            && Some(req.nr) == super::seccomp::native_number("ioctl")
            && [nested::REGISTER, nested::DONE].contains(&(req.args[1] & 0xffff_ffff))
        {
            return self.serve_nested(req);
        }
        if req.arch == NATIVE_AUDIT_ARCH
            && self.pty_peers
            && Some(req.nr) == super::seccomp::native_number("ioctl")
            && req.args[1] & 0xffff_ffff == super::seccomp::TIOCGPTPEER
        {
            return self.serve_pty_peer(req);
        }
        if self.process.handles(req) {
            return self.serve_process(req);
        }
        if req.arch == NATIVE_AUDIT_ARCH {
            if let Some(read) = self.dns_sources.call(req.nr) {
                return self.serve_dns_source(req, read);
            }
            if let Some(&(_, call)) = self.meta_calls.iter().find(|(n, _)| *n == req.nr) {
                return self.serve_meta(req, call);
            }
            if self.readable.is_some() && Some(req.nr) == super::seccomp::native_number("inotify_add_watch") {
                return self.serve_watch(req);
            }
            if let Some(&(_, name, targets)) = self.intent_calls.iter().find(|(n, ..)| *n == req.nr) {
                return self.serve_intent(req, name, targets);
            }
            if self.mode == Some(Mode::Denied) && Some(req.nr) == super::seccomp::native_number("socket") {
                return self.serve_denied_socket(req);
            }
        }
        if self.mode.is_none() {
            return self.fail(req.id, Errno::ENOSYS);
        }
        let Some(op) = self.syscalls.iter().find(|(n, _)| *n == req.nr).map(|(_, op)| *op) else {
            return self.fail(req.id, Errno::ENOSYS);
        };
        if req.arch != NATIVE_AUDIT_ARCH {
            return self.fail(req.id, Errno::ENOSYS);
        }
        let tid = req.pid as i32;
        let mut status = None;
        // A pidfd for the thread itself (Linux 6.9), else for its process.
        let pidfd = match sys::pidfd_open_thread(tid) {
            Ok(fd) => fd,
            Err(_) => {
                let Some(st) = read_status(tid) else { return self.fail(req.id, Errno::EPERM) };
                let fd = sys::pidfd_open(st.tgid);
                status = Some(st);
                match fd {
                    Ok(fd) => fd,
                    Err(e) => return self.fail(req.id, e),
                }
            }
        };
        let call = Call { req, op, tid };
        let mut gathered = match self.gather(&call, &pidfd) {
            Ok(g) => g,
            Err(e) => return self.fail(req.id, e),
        };
        // Credentials matter where the kernel checks or records them for
        // whoever performs the call: binding, every unix socket call (file
        // permissions, peer credentials), control messages. There sbx acts
        // only for a thread with its own. An inet connect or plain send is
        // the same whoever makes it.
        let needs_status = op == Op::Bind
            || gathered.domain == libc::AF_UNIX
            || gathered.messages.iter().any(|m| !m.control.is_empty());
        if needs_status && status.is_none() {
            status = read_status(tid);
            if status.is_none() {
                return self.fail(req.id, Errno::EPERM);
            }
        }
        if let Some(st) = &status {
            // A connect or bind of a thread that changed its user (apt's
            // methods as `_apt`, `su`, `setpriv`) is made as that user, by
            // the same rules; a send with control messages or on a unix
            // socket is not (its result is a length a process of sbx's own
            // cannot hand back soundly here).
            let acted = needs_status && st.creds != self.creds && matches!(op, Op::Connect | Op::Bind);
            if acted {
                gathered.act_as = st.creds.act_as();
            }
            if needs_status && st.creds != self.creds && gathered.act_as.is_none() {
                if !self.still_valid(req.id) {
                    return Reply::Gone;
                }
                self.report(format!(
                    "sbx: blocked {} — the command changed its user, groups or capabilities, and sbx acts on its \
                     behalf only with its own",
                    op.name()
                ));
                return Reply::Error(op.denied_errno());
            }
            for m in &mut gathered.messages {
                m.fix_credentials(st.tgid);
            }
        }
        // Everything read so far belongs to the waiting thread only if the
        // notification is still live now.
        if !self.still_valid(req.id) {
            return Reply::Gone;
        }
        let umask = status.as_ref().map_or(0o022, |st| st.umask);
        match self.act(&call, gathered, umask) {
            Ok(v) => Reply::Value(v),
            Err(e) => Reply::Error(e),
        }
    }

    /// Copies everything the call refers to. Nothing here is trusted until
    /// the notification is confirmed live afterwards.
    fn gather(&self, call: &Call<'_>, pidfd: &OwnedFd) -> Result<Gathered, Errno> {
        let args = call.req.args;
        let sock = sys::pidfd_getfd(pidfd.as_fd(), args[0] as i32)?;
        let (domain, ty) = sys::socket_kind(sock.as_fd())?;
        let stream = ty == libc::SOCK_STREAM;
        let mut messages = Vec::new();
        match call.op {
            Op::Connect | Op::Bind => {
                let addr = read_sockaddr(call.tid, args[1], args[2])?;
                messages.push(Message { name: addr, ..Message::default() });
            }
            Op::Sendto => {
                let name = read_sockaddr(call.tid, args[4], args[5])?;
                let data = read_data(call.tid, &[(args[1], args[2])], stream)?;
                messages.push(Message { name, data, ..Message::default() });
            }
            Op::Sendmsg => messages.push(read_message(call.tid, pidfd, args[1], stream)?),
            Op::Sendmmsg => {
                let count = args[2].min(notify::UIO_MAXIOV);
                let mut total = 0usize;
                for i in 0..count {
                    let m = read_message(call.tid, pidfd, args[1] + i * notify::MMSGHDR_LEN as u64, stream);
                    match m {
                        Ok(m) => {
                            total += m.data.len();
                            messages.push(m);
                            if total >= STREAM_CAP {
                                break;
                            }
                        }
                        // A later bad message fails the batch there, as the kernel does.
                        Err(e) if messages.is_empty() => return Err(e),
                        Err(_) => break,
                    }
                }
            }
        }
        // The command's cwd and root, to resolve unix paths as it would.
        let mut unix = None;
        for m in &mut messages {
            m.target = notify::target(call.op, domain, &m.name);
            if matches!(m.target, Target::UnixPath(_)) && unix.is_none() {
                unix = Some(UnixCtx::of(call.tid)?);
            }
        }
        let tgid = read_status(call.tid).map_or(call.tid, |st| st.tgid);
        Ok(Gathered { sock, domain, stream, messages, unix, inner: self.delegations_of(tgid), act_as: None })
    }

    fn act(&self, call: &Call<'_>, g: Gathered, umask: u32) -> Result<i64, Errno> {
        let flags = match call.op {
            Op::Sendto => call.req.args[3] as i32,
            Op::Sendmsg => call.req.args[2] as i32,
            Op::Sendmmsg => call.req.args[3] as i32,
            Op::Connect | Op::Bind => 0,
        };
        if call.op == Op::Connect {
            // Connected anew: redirected again below, or no longer.
            self.dns_sources.forget(g.sock.as_fd());
        }
        let mut sent = 0usize;
        let mut result: Result<i64, Errno> = Ok(0);
        let count = g.messages.len();
        for (i, m) in g.messages.iter().enumerate() {
            let one = self.act_one(call, &g, m, flags, i + 1 < count, umask);
            match one {
                Ok(v) => {
                    result = Ok(v);
                    if call.op == Op::Sendmmsg {
                        let at = call.req.args[1] + (i * notify::MMSGHDR_LEN) as u64 + notify::MSGHDR_LEN as u64;
                        if let Err(e) = sys::write_memory(call.tid, at, &(v as u32).to_ne_bytes()) {
                            result = Err(e);
                            break;
                        }
                        sent += 1;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if call.op == Op::Sendmmsg {
            // As the kernel: how many were sent, or the first one's error.
            return if sent > 0 { Ok(sent as i64) } else { result.map(|_| 0) };
        }
        result
    }

    fn act_one(
        &self,
        call: &Call<'_>,
        g: &Gathered,
        m: &Message,
        flags: i32,
        more: bool,
        umask: u32,
    ) -> Result<i64, Errno> {
        let op = call.op;
        let sock = g.sock.as_fd();
        // The name the kernel will get: the command's, or for a checked unix
        // path, /proc/self/fd/N of the inode that was checked.
        let mut held: Option<OwnedFd> = None;
        // An allowed DNS query sent straight to a nameserver: the name to
        // look up once it is sent.
        let mut shadow: Option<String> = None;
        let name: Vec<u8> = match &m.target {
            Target::Invalid(e) => return Err(*e),
            Target::OtherDomain => return Err(op.denied_errno()),
            Target::None => m.name.clone(),
            Target::UnixOther => {
                if let Some(name) = abstract_name(&m.name).filter(|_| self.abstract_check && op != Op::Bind) {
                    if !self.abstract_bound_inside(name, &g.inner) {
                        // As Landlock's scope: a name nobody holds is refused
                        // as by the kernel, one held outside with EPERM.
                        if !sys::abstract_name_in_use(name).unwrap_or(true) {
                            return Err(Errno::ECONNREFUSED);
                        }
                        self.report(format!(
                            "sbx: blocked {} to abstract unix socket @{} — only those bound inside the sandbox are \
                             reachable",
                            op.name(),
                            String::from_utf8_lossy(&name[1..]).escape_debug()
                        ));
                        return Err(Errno::EPERM);
                    }
                }
                m.name.clone()
            }
            Target::Inet(addr) => {
                let (name, lookup) = self.inet_destination(op, g, m, *addr)?;
                shadow = lookup;
                name
            }
            Target::UnixPath(path) => {
                let Some(unix) = &g.unix else { return Err(Errno::EIO) };
                if op == Op::Bind {
                    return self.bind_unix(g, unix, path, &m.name, umask);
                }
                let fd = unix.open(path, 0)?;
                if !self.unix_allowed(fd.as_fd(), &g.inner)? {
                    let shown = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| String::from_utf8_lossy(path).into_owned());
                    if self.names.is_some() && crate::policy::RESOLVER_SOCKETS.contains(&shown.as_str()) {
                        // glibc tries nscd (and nss-resolve systemd-resolved)
                        // first, then falls back to DNS, which is filtered:
                        // no report to act on.
                        tracing::debug!("DNS filter: refused {} to the resolver socket {shown}", op.name());
                    } else {
                        self.report(notify::unix_report(op, &shown));
                    }
                    return Err(op.denied_errno());
                }
                let name = proc_fd_sockaddr(fd.as_raw_fd());
                held = Some(fd);
                name
            }
        };
        let result = match (op, &g.act_as) {
            (Op::Connect | Op::Bind, Some(who)) => self.as_user(g, who, &name, op == Op::Connect, umask, None),
            (Op::Connect, None) => sys::connect(sock, &name),
            (Op::Bind, None) => sys::bind(sock, &name),
            (Op::Sendto, _) => sys::sendto(sock, &m.data, flags, &name),
            (Op::Sendmsg | Op::Sendmmsg, _) => {
                // sendmmsg tells the protocol more messages follow.
                let flags = if more { flags | MSG_BATCH } else { flags };
                sys::sendmsg(sock, &name, &[&m.data], &m.control, flags)
            }
        };
        drop(held);
        tracing::trace!(op = op.name(), target = ?m.target, ?result, "performed");
        if self.abstract_check && g.domain == libc::AF_UNIX && result.is_ok() {
            self.record_abstract(sock, &g.inner);
        }
        if let (Op::Bind, Target::Inet(asked), Ok(_)) = (op, &m.target, &result) {
            if asked.port() == 0 {
                self.record_chosen_port(sock, g.domain);
            }
        }
        if let (Some(qname), Ok(_), Some(names)) = (shadow, &result, &self.names) {
            names.shadow(&qname);
        }
        result
    }

    /// The address to perform `op` with for the IP destination `addr` (the
    /// command's, or the DNS proxy's), and the name to look up afterwards;
    /// or the errno that refuses it.
    fn inet_destination(
        &self,
        op: Op,
        g: &Gathered,
        m: &Message,
        addr: std::net::SocketAddr,
    ) -> Result<(Vec<u8>, Option<String>), Errno> {
        for (_, d) in restricting(&g.inner) {
            if !d.net.as_ref().is_some_and(|mode| notify::inet_allowed(mode, op, addr)) {
                self.report(format!(
                    "sbx: blocked {} to {} — the sbx inside this sandbox (pid {}) does not allow it",
                    op.name(),
                    notify::show_inet(addr),
                    d.pid
                ));
                return Err(op.denied_errno());
            }
        }
        if let (Op::Bind, Some(names)) = (op, &self.names) {
            // A socket of the command on a nameserver's DNS port would get
            // the queries sbx's forwarder sends there (and answer them).
            let ip = addr.ip().to_canonical();
            if names
                .nameservers()
                .iter()
                .any(|ns| ns.port() == addr.port() && (ns.ip().to_canonical() == ip || ip.is_unspecified()))
            {
                self.report(format!(
                    "sbx: blocked bind to {} — a nameserver's address: DNS goes through sbx's filter",
                    notify::show_inet(addr)
                ));
                return Err(Errno::EACCES);
            }
        }
        let names = self.names.as_ref().filter(|_| op != Op::Bind);
        if let Some(names) = names {
            if names.is_nameserver(addr) {
                return self.dns_destination(op, g, m, addr, names);
            }
        }
        if self.mode.as_ref().is_some_and(|mode| notify::inet_allowed(mode, op, addr)) {
            return Ok((m.name.clone(), None));
        }
        let own_server = self.chosen_ports.lock().unwrap_or_else(PoisonError::into_inner).contains(&addr.port());
        let Some(names) = names else {
            self.report(notify::inet_report(op, addr, own_server));
            return Err(op.denied_errno());
        };
        if names.allows(addr) {
            return Ok((m.name.clone(), None));
        }
        let known = names.names_of(addr.ip());
        let line = match known.first() {
            Some(name) if !own_server => {
                let has_port = names.rules().ports_for(name).is_some_and(|ports| ports.contains(addr.port()));
                notify::inet_report_named(op, addr, name, has_port)
            }
            _ => notify::inet_report(op, addr, own_server),
        };
        self.report(line);
        Err(op.denied_errno())
    }

    /// DNS traffic to a nameserver while names are filtered. A connect, and
    /// anything on a TCP socket, goes to the proxy instead; a datagram sent
    /// to the nameserver from a socket not connected to it (musl, dig) is
    /// read: an allowed query goes to the nameserver as sent (the answer
    /// must come from there), and sbx looks the name up itself afterwards
    /// to learn its addresses; any other datagram is refused.
    fn dns_destination(
        &self,
        op: Op,
        g: &Gathered,
        m: &Message,
        addr: std::net::SocketAddr,
        names: &Arc<NameFilter>,
    ) -> Result<(Vec<u8>, Option<String>), Errno> {
        // What the kernel answers for an IPv6 address on an IPv4 socket.
        if g.domain == libc::AF_INET && notify::family_of(&m.name) == libc::AF_INET6 {
            return Err(Errno::EAFNOSUPPORT);
        }
        if g.stream || op == Op::Connect {
            let to = names.redirect(g.stream, g.domain == libc::AF_INET6);
            tracing::debug!("DNS filter: {} to nameserver {addr} goes to the proxy at {to}", op.name());
            self.dns_sources.record(g.sock.as_fd(), &m.name, addr, to);
            return Ok((notify::inet_sockaddr(to, g.domain), None));
        }
        match names.screen(&m.data) {
            QueryVerdict::Allowed(qname) => Ok((m.name.clone(), Some(qname))),
            // Reported by the filter, once per name.
            QueryVerdict::Denied(_) => Err(op.denied_errno()),
            QueryVerdict::Unreadable(why) => {
                tracing::debug!("DNS filter: refused a datagram to {addr}: {why}");
                self.report(format!(
                    "sbx: blocked {} to nameserver {} — not a DNS query sbx can read",
                    op.name(),
                    notify::show_inet(addr)
                ));
                Err(op.denied_errno())
            }
        }
    }

    /// Records the port the kernel chose for a bind to port 0 ([`Mediator::chosen_ports`]).
    fn record_chosen_port(&self, sock: BorrowedFd<'_>, domain: i32) {
        let Ok(addr) = sys::getsockname(sock) else { return };
        if let Target::Inet(bound) = notify::target(Op::Bind, domain, &addr) {
            self.chosen_ports.lock().unwrap_or_else(PoisonError::into_inner).insert(bound.port());
        }
    }

    /// Whether abstract `name` is bound, now, by a socket the sandbox bound.
    /// (And, for a caller in inner sbx's sandboxes, bound inside each.)
    fn abstract_bound_inside(&self, name: &[u8], inner: &[(usize, Arc<nested::Delegation>)]) -> bool {
        let mut bound = self.abstract_bound.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((ino, ids)) = bound.get(name) else { return false };
        if sys::unix_socket_name(*ino).ok().flatten().as_deref() == Some(name) {
            return restricting(inner).all(|(id, _)| ids.contains(id));
        }
        bound.remove(name);
        false
    }

    /// Records the abstract name `sock` is bound to now (an explicit bind,
    /// or an autobind the kernel made during a call sbx performed), as the
    /// sandbox's.
    fn record_abstract(&self, sock: BorrowedFd<'_>, inner: &[(usize, Arc<nested::Delegation>)]) {
        let Ok(addr) = sys::getsockname(sock) else { return };
        let Some(name) = abstract_name(&addr) else { return };
        let Ok(st) = sys::fstat(sock) else { return };
        let ids = inner.iter().map(|(id, _)| *id).collect();
        self.abstract_bound.lock().unwrap_or_else(PoisonError::into_inner).insert(name.to_vec(), (st.st_ino, ids));
    }

    /// Whether the socket file `fd` (O_PATH) may be reached: bound inside
    /// the sandbox (and still owned by that socket) or listed with --allow-unix.
    /// For a caller in inner sbx's sandboxes, each of them must allow it
    /// too (its own --allow-unix, or bound by a process in it).
    fn unix_allowed(&self, fd: BorrowedFd<'_>, inner: &[(usize, Arc<nested::Delegation>)]) -> Result<bool, Errno> {
        let st = sys::fstat(fd)?;
        if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
            // What the kernel says for a path that is no socket.
            return Err(Errno::ECONNREFUSED);
        }
        let key = (st.st_dev, st.st_ino);
        let listed = |paths: &[PathBuf]| {
            paths.iter().any(|path| std::fs::metadata(path).is_ok_and(|meta| (meta.dev(), meta.ino()) == key))
        };
        let binders = {
            let mut bound = self.bound.lock().unwrap_or_else(PoisonError::into_inner);
            match bound.get(&key) {
                Some((sock_ino, ids)) if sys::unix_socket_file(*sock_ino) == Ok(Some((key.0, key.1 as u32))) => {
                    Some(ids.clone())
                }
                Some(_) => {
                    bound.remove(&key);
                    None
                }
                None => None,
            }
        };
        if !listed(&self.unix_allow) && binders.is_none() {
            return Ok(false);
        }
        Ok(restricting(inner)
            .all(|(id, d)| listed(&d.unix_allow) || binders.as_ref().is_some_and(|ids| ids.contains(id))))
    }

    /// Binds a pathname unix socket as the command would (its cwd, umask and
    /// Landlock rules), then records the socket file as the sandbox's.
    /// A connect or bind made as the calling thread's own user `who`, in a
    /// process of sbx's own (with the command's cwd and umask; `ruleset`
    /// for a unix bind, which creates a file).
    fn as_user(
        &self,
        g: &Gathered,
        who: &sys::ActAs,
        addr: &[u8],
        connect: bool,
        umask: u32,
        ruleset: Option<BorrowedFd<'_>>,
    ) -> Result<i64, Errno> {
        let root;
        let cwd = match &g.unix {
            Some(unix) => unix.cwd.as_fd(),
            None => {
                root = std::fs::File::open("/").map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
                root.as_fd()
            }
        };
        let job = sys::BindInChild {
            sock: g.sock.as_fd(),
            addr,
            connect,
            cwd,
            umask,
            ruleset,
            caps: None,
            act_as: Some(who),
        };
        sys::bind_in_child(&job)
    }

    fn bind_unix(&self, g: &Gathered, unix: &UnixCtx, path: &[u8], addr: &[u8], umask: u32) -> Result<i64, Errno> {
        if path.first() == Some(&b'/') && unix.root != self.root {
            self.report(format!(
                "sbx: blocked bind to {} — the command changed its root directory or mount namespace",
                String::from_utf8_lossy(path)
            ));
            return Err(Errno::EACCES);
        }
        if let Some(who) = &g.act_as {
            let result = self.as_user(g, who, addr, false, umask, self.ruleset.as_ref().map(|r| r.as_fd()))?;
            self.record_bound(g.sock.as_fd(), unix, path, &g.inner);
            return Ok(result);
        }
        // What the binder acts with: the command's capabilities (when sbx
        // dropped some), asked for only where a binder is set up.
        let caps = || {
            self.command_effective_caps.map(|effective| {
                let (_, permitted, inheritable) = sys::capabilities().unwrap_or((0, 0, 0));
                (effective, permitted, inheritable)
            })
        };
        let reply_rx = {
            let mut binder = self.binder.lock().unwrap_or_else(PoisonError::into_inner);
            if let Binder::NotStarted = &*binder {
                let for_thread = match &self.ruleset {
                    Some(fd) => Some(fd.try_clone().map_err(|_| Errno::EMFILE)?),
                    None => None,
                };
                *binder = match start_binder(for_thread, caps()) {
                    Ok(jobs) => Binder::Running(jobs),
                    Err(BinderSetupError("unshare(CLONE_FS)", Errno::EPERM)) => {
                        tracing::debug!("unshare(CLONE_FS) refused: unix binds are made in a child process each");
                        Binder::PerBind
                    }
                    Err(BinderSetupError(step, errno)) => {
                        // Fails closed: no unix bind is made for the command.
                        eprintln!(
                            "sbx: preparing the unix-bind thread failed: {step}: {}; unix socket binds in the sandbox fail",
                            errno.desc()
                        );
                        Binder::Failed
                    }
                };
            }
            match &*binder {
                Binder::Running(jobs) => {
                    let sock =
                        g.sock.try_clone().map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
                    let cwd =
                        unix.cwd.try_clone().map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
                    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
                    let job = BindJob { sock, addr: addr.to_vec(), cwd, umask, reply: reply_tx };
                    if jobs.send(job).is_err() {
                        return Err(Errno::EIO);
                    }
                    reply_rx
                }
                Binder::PerBind => {
                    let job = sys::BindInChild {
                        sock: g.sock.as_fd(),
                        addr,
                        cwd: unix.cwd.as_fd(),
                        umask,
                        ruleset: self.ruleset.as_ref().map(|r| r.as_fd()),
                        caps: caps(),
                        connect: false,
                        act_as: None,
                    };
                    let result = sys::bind_in_child(&job)?;
                    drop(binder);
                    self.record_bound(g.sock.as_fd(), unix, path, &g.inner);
                    return Ok(result);
                }
                _ => return Err(Errno::EACCES),
            }
        };
        let result = reply_rx.recv().unwrap_or(Err(Errno::EIO))?;
        self.record_bound(g.sock.as_fd(), unix, path, &g.inner);
        Ok(result)
    }

    fn record_bound(
        &self,
        sock: BorrowedFd<'_>,
        unix: &UnixCtx,
        path: &[u8],
        inner: &[(usize, Arc<nested::Delegation>)],
    ) {
        let Ok(st) = sys::fstat(sock) else { return };
        let Ok(Some((dev, ino32))) = sys::unix_socket_file(st.st_ino) else { return };
        // The socket file by path, not following a final symlink; it must be
        // the very file the kernel says the socket is bound to.
        let Ok(file) = unix.open(path, libc::O_NOFOLLOW) else { return };
        let Ok(fst) = sys::fstat(file.as_fd()) else { return };
        if fst.st_mode & libc::S_IFMT == libc::S_IFSOCK && fst.st_dev == dev && fst.st_ino as u32 == ino32 {
            let ids = inner.iter().map(|(id, _)| *id).collect();
            self.bound
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert((fst.st_dev, fst.st_ino), (st.st_ino, ids));
            tracing::debug!(path = %String::from_utf8_lossy(path), "recorded a unix socket bound inside the sandbox");
        }
    }
}

/// The delegations among `inner` that restrict the network.
fn restricting(inner: &[(usize, Arc<nested::Delegation>)]) -> impl Iterator<Item = &(usize, Arc<nested::Delegation>)> {
    inner.iter().filter(|(_, d)| d.net.is_some())
}

impl super::workers::Serve for Arc<Mediator> {
    fn thread_start(&self) {
        self.act_as_the_command();
    }

    fn receive(&self) -> Result<Option<Notification>, Errno> {
        super::workers::receive_from(self.listener.as_fd())
    }

    fn handle(&self, req: Notification) {
        Mediator::handle(self, req)
    }
}

/// How a notification is answered.
#[derive(Debug)]
enum Reply {
    Value(i64),
    Error(Errno),
    /// Let the call run as made: only where nothing outside the command
    /// can be reached whatever its arguments say (its target is itself).
    Continue,
    /// The waiting thread is gone: nothing to answer.
    Gone,
}

struct Call<'a> {
    req: &'a Notification,
    op: Op,
    tid: i32,
}

/// One message to send (or the address of a connect/bind), copied.
#[derive(Default)]
struct Message {
    name: Vec<u8>,
    data: Vec<u8>,
    /// Control bytes with fds and credentials already translated.
    control: Vec<u8>,
    /// The fds SCM_RIGHTS refers to, duplicated into sbx (kept open until sent).
    _fds: Vec<OwnedFd>,
    /// Where SCM_CREDENTIALS structs sit in `control`.
    credentials: Vec<usize>,
    target: Target,
}

impl Message {
    /// The kernel checks SCM_CREDENTIALS against the sender, which is sbx:
    /// the command's own pid becomes sbx's (other values stay, and fail
    /// unless sbx may claim them).
    fn fix_credentials(&mut self, tgid: i32) {
        for &at in &self.credentials {
            let pid = i32::from_ne_bytes([
                self.control[at],
                self.control[at + 1],
                self.control[at + 2],
                self.control[at + 3],
            ]);
            if pid == tgid {
                self.control[at..at + 4].copy_from_slice(&(std::process::id() as i32).to_ne_bytes());
            }
        }
    }
}

struct Gathered {
    sock: OwnedFd,
    domain: i32,
    /// A SOCK_STREAM socket (else datagram).
    stream: bool,
    messages: Vec<Message>,
    unix: Option<UnixCtx>,
    /// The inner sbx's sandboxes the caller is in, whose rules apply too.
    inner: Vec<(usize, Arc<nested::Delegation>)>,
    /// The caller's credentials, when they are not sbx's (a thread that
    /// changed its user): a connect or bind is then made as that user.
    act_as: Option<sys::ActAs>,
}

/// The command's cwd and root, opened from /proc/TID.
struct UnixCtx {
    cwd: OwnedFd,
    rootfd: OwnedFd,
    root: (u64, u64, u64),
}

impl UnixCtx {
    fn of(tid: i32) -> Result<Self, Errno> {
        let proc = format!("/proc/{tid}");
        let dir = |name: &str| -> Result<OwnedFd, Errno> {
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
                .open(format!("{proc}/{name}"))
                .map(OwnedFd::from)
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::ESRCH)))
        };
        let cwd = dir("cwd")?;
        let rootfd = dir("root")?;
        let root = root_of(&proc).map_err(|_| Errno::ESRCH)?;
        Ok(Self { cwd, rootfd, root })
    }

    /// Opens `path` (O_PATH) as the command would resolve it: absolute paths
    /// inside its root, relative ones from its cwd; no magic links.
    fn open(&self, path: &[u8], extra: i32) -> Result<OwnedFd, Errno> {
        let c = CString::new(path).map_err(|_| Errno::EINVAL)?;
        if path.first() == Some(&b'/') {
            sys::open_path_at(self.rootfd.as_fd(), &c, extra, sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS)
        } else {
            sys::open_path_at(self.cwd.as_fd(), &c, extra, sys::RESOLVE_NO_MAGICLINKS)
        }
    }
}

/// (dev, ino) of PROC/root and the inode of PROC/ns/mnt.
fn root_of(proc: &str) -> std::io::Result<(u64, u64, u64)> {
    let root = std::fs::metadata(format!("{proc}/root"))?;
    let ns = std::fs::metadata(format!("{proc}/ns/mnt"))?;
    Ok((root.dev(), root.ino(), ns.ino()))
}

/// The abstract name in a unix address (the bytes after the family,
/// starting with a NUL), if it is one.
fn abstract_name(addr: &[u8]) -> Option<&[u8]> {
    (addr.len() > 2 && addr[2] == 0).then(|| &addr[2..])
}

/// `sockaddr_un` for `/proc/self/fd/FD`.
fn proc_fd_sockaddr(fd: RawFd) -> Vec<u8> {
    let mut addr = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    addr.extend_from_slice(format!("/proc/self/fd/{fd}").as_bytes());
    addr.push(0);
    addr
}

/// Copies an address argument: EINVAL for lengths the kernel refuses.
pub(crate) fn read_sockaddr(tid: i32, ptr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    let len = len as i32;
    if len < 0 || len as usize > notify::SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    if ptr == 0 {
        return Err(Errno::EFAULT);
    }
    let mut buf = vec![0u8; len as usize];
    sys::read_memory(tid, &[(ptr, len as u64)], &mut buf)?;
    Ok(buf)
}

/// Copies the data of `iov` (capped: a stream send becomes short, a larger
/// datagram fails with EMSGSIZE).
fn read_data(tid: i32, iov: &[(u64, u64)], stream: bool) -> Result<Vec<u8>, Errno> {
    let total: u64 = iov.iter().map(|&(_, l)| l).fold(0u64, u64::saturating_add);
    let cap = if stream { STREAM_CAP } else { DGRAM_CAP };
    if !stream && total > cap as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut left = (total as usize).min(cap);
    let mut ranges = Vec::new();
    for &(base, len) in iov {
        if left == 0 {
            break;
        }
        let take = (len as usize).min(left);
        if take > 0 {
            ranges.push((base, take as u64));
        }
        left -= take;
    }
    let want: usize = ranges.iter().map(|&(_, l)| l as usize).sum();
    let mut buf = vec![0u8; want];
    sys::read_memory(tid, &ranges, &mut buf)?;
    Ok(buf)
}

/// Copies a `struct msghdr` at `at` and everything it points to, translating
/// SCM_RIGHTS fds into sbx's fd table (from the table of the thread behind
/// `pidfd`) and noting where SCM_CREDENTIALS sit.
fn read_message(tid: i32, pidfd: &OwnedFd, at: u64, stream: bool) -> Result<Message, Errno> {
    let mut raw = [0u8; notify::MSGHDR_LEN];
    sys::read_memory(tid, &[(at, notify::MSGHDR_LEN as u64)], &mut raw)?;
    let hdr = MsgHdr::parse(&raw);
    let name_len = hdr.name_len()?;
    let name = if name_len > 0 { read_sockaddr(tid, hdr.name, name_len as u64)? } else { Vec::new() };
    if hdr.iovlen > notify::UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let iov = if hdr.iovlen > 0 {
        let mut b = vec![0u8; hdr.iovlen as usize * notify::IOVEC_LEN];
        sys::read_memory(tid, &[(hdr.iov, b.len() as u64)], &mut b)?;
        notify::parse_iovecs(&b)?
    } else {
        Vec::new()
    };
    let data = read_data(tid, &iov, stream)?;
    let mut message = Message { name, data, ..Message::default() };
    if hdr.control != 0 && hdr.controllen > 0 {
        if hdr.controllen > CONTROL_CAP as u64 {
            return Err(Errno::ENOBUFS);
        }
        let mut control = vec![0u8; hdr.controllen as usize];
        sys::read_memory(tid, &[(hdr.control, hdr.controllen)], &mut control)?;
        for fix in notify::walk_cmsgs(&control)? {
            match fix {
                CmsgFix::Rights { at, count } => {
                    for k in 0..count {
                        let slot = at + 4 * k;
                        let theirs = i32::from_ne_bytes([
                            control[slot],
                            control[slot + 1],
                            control[slot + 2],
                            control[slot + 3],
                        ]);
                        let ours = sys::pidfd_getfd(pidfd.as_fd(), theirs)?;
                        control[slot..slot + 4].copy_from_slice(&ours.as_raw_fd().to_ne_bytes());
                        message._fds.push(ours);
                    }
                }
                CmsgFix::Credentials { at } => message.credentials.push(at),
            }
        }
        message.control = control;
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delegation_covers_the_inner_sbx_descendants_and_nothing_else() {
        let m = Mediator::for_test();
        // An "inner sbx" (sh) with a child (sleep).
        let (mut inner, below) = process::tests::child_with_grandchild();
        let request = nested::Request { writable: Some(vec![PathBuf::from("/nowhere")]), ..nested::request() };
        let delegation = nested::Delegation::new(inner.id() as i32, request).unwrap();
        let (covers, id) = m.accept(delegation).unwrap();
        assert_eq!(covers.outer, std::process::id() as i32);
        assert!(!covers.metadata, "a supervisor without --deny-write decides no metadata call");
        assert_eq!(m.delegations_of(below).len(), 1, "the inner sbx's descendant is in its sandbox");
        assert!(m.delegations_of(inner.id() as i32).is_empty(), "the inner sbx itself is not");
        assert!(m.delegations_of(std::process::id() as i32).is_empty(), "nor is anything above it");
        assert!(m.release(id));
        assert!(m.delegations_of(below).is_empty());
        assert!(!m.release(id), "released once");
        sys::kill(below, libc::SIGKILL);
        let _ = inner.wait();
    }

    #[test]
    fn host_names_are_left_out_of_a_delegation_which_only_narrows() {
        let me = std::process::id() as i32;
        let names_only = nested::Request { net: Some(vec!["example.com:443".into()]), ..nested::request() };
        assert_eq!(nested::Delegation::new(me, names_only).unwrap().net, Some(Mode::Denied));
        let request =
            nested::Request { net: Some(vec!["example.com:443".into(), "127.0.0.1:80".into()]), ..nested::request() };
        let Some(Mode::Allow(rules)) = nested::Delegation::new(me, request).unwrap().net else { panic!() };
        assert_eq!(rules.iter().map(ToString::to_string).collect::<Vec<_>>(), ["127.0.0.1:80"]);
    }

    #[test]
    fn status_is_parsed() {
        let text = "Name:\tcat\nUmask:\t0027\nState:\tR\nTgid:\t42\nPid:\t43\nUid:\t1000\t1000\t1000\t1000\n\
                    Gid:\t100\t100\t100\t100\nGroups:\t100 27 \nCapEff:\t0000000000000000\n";
        let st = parse_status(text).unwrap();
        assert_eq!((st.tgid, st.umask), (42, 0o027));
        assert_eq!(st.creds.uid, "1000 1000 1000 1000");
        assert_eq!(st.creds.groups, "100 27");
        let other = parse_status(&text.replace("Uid:\t1000\t1000\t1000\t1000", "Uid:\t1000\t0\t1000\t1000")).unwrap();
        assert_ne!(st.creds, other.creds);
        assert!(parse_status("Name:\tx\n").is_none());
    }

    #[test]
    fn proc_fd_names_fit_a_sockaddr_un() {
        let a = proc_fd_sockaddr(1_000_000);
        assert!(a.len() <= notify::SOCKADDR_UN_LEN);
        assert_eq!(&a[2..], b"/proc/self/fd/1000000\0");
    }

    #[test]
    fn own_root_is_readable() {
        let (_, ino, ns) = root_of("/proc/self").unwrap();
        assert!(ino > 0 && ns > 0);
    }
}

//! `sbx learn` on Linux: run the command under the baseline filter plus
//! user notification for every call in [`seccomp::OBSERVED`], record what
//! each one names (paths resolved against the thread's cwd or dirfd,
//! destination addresses with the names the command looked them up as), and
//! let the call continue unchanged.
//!
//! Nothing is enforced here, which is why `SECCOMP_USER_NOTIF_FLAG_CONTINUE`
//! is acceptable: a racing thread can make sbx record something other than
//! what the kernel then does, which only makes the learned profile wrong —
//! and `--verify` exists to catch a wrong profile. The one call sbx performs
//! itself is a connect to a nameserver: it goes to a DNS proxy that forwards
//! every query and records the answers, so addresses map back to names.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;

use super::child::ExecPlan;
use super::mediate::{read_cstr, read_sockaddr, read_status};
use super::notify::{self, MsgHdr, Op, Target};
use super::sys::{self, Notification};
use super::{probe, seccomp, supervisor, workers};
use crate::dns::NameFilter;
use crate::exit::Outcome;
use crate::learn::{FileEvent, FileUse, Lost, NetEvent, NetUse, Observations, UnixEvent, Unobserved};
use crate::policy::Policy;
use crate::support::Limit;

/// Longest path the kernel accepts, with its NUL.
const PATH_MAX: usize = 4096;
/// Most (path, use) pairs recorded: a bound on sbx's memory.
const MAX_FILES: usize = 1_000_000;
/// Most destinations, and most unix sockets, recorded.
const MAX_PEERS: usize = 100_000;
/// Most messages of one sendmmsg whose destinations are read.
const MMSG_READ: u64 = 64;

/// A path argument: which argument holds the pointer, which the dirfd
/// (`None`: relative to the cwd), and what the call does to the path.
#[derive(Debug, Clone, Copy)]
struct PathArg {
    dirfd: Option<usize>,
    path: usize,
    usage: FileUse,
}

const fn at(dirfd: usize, path: usize, usage: FileUse) -> PathArg {
    PathArg { dirfd: Some(dirfd), path, usage }
}

const fn cwd(path: usize, usage: FileUse) -> PathArg {
    PathArg { dirfd: None, path, usage }
}

/// Where an open's flags are.
#[derive(Debug, Clone, Copy)]
enum Flags {
    Arg(usize),
    /// In `struct open_how` (openat2), at this argument.
    How(usize),
    /// creat(): O_CREAT | O_WRONLY | O_TRUNC.
    Creat,
}

/// An observed call.
#[derive(Debug, Clone, Copy)]
enum Call {
    Open {
        path: PathArg,
        flags: Flags,
    },
    /// One path, or two (rename).
    Paths(PathArg, Option<PathArg>),
    /// A metadata write on an open file.
    Fd(usize),
    Net(Op),
}

use FileUse::{Entry, Exec, MadeDir, Write};

/// The native calls of [`seccomp::OBSERVED`] and what they name.
fn call_of(name: &str) -> Option<Call> {
    Some(match name {
        "open" => Call::Open { path: cwd(0, FileUse::Read), flags: Flags::Arg(1) },
        "openat" => Call::Open { path: at(0, 1, FileUse::Read), flags: Flags::Arg(2) },
        "openat2" => Call::Open { path: at(0, 1, FileUse::Read), flags: Flags::How(2) },
        "creat" => Call::Open { path: cwd(0, FileUse::Read), flags: Flags::Creat },
        "execve" => Call::Paths(cwd(0, Exec), None),
        "execveat" => Call::Paths(at(0, 1, Exec), None),
        "mkdir" => Call::Paths(cwd(0, MadeDir), None),
        "mkdirat" => Call::Paths(at(0, 1, MadeDir), None),
        "mknod" | "unlink" | "rmdir" => Call::Paths(cwd(0, Entry), None),
        "mknodat" | "unlinkat" => Call::Paths(at(0, 1, Entry), None),
        "rename" => Call::Paths(cwd(0, Entry), Some(cwd(1, Entry))),
        "renameat" | "renameat2" => Call::Paths(at(0, 1, Entry), Some(at(2, 3, Entry))),
        "link" | "symlink" => Call::Paths(cwd(1, Entry), None),
        "linkat" => Call::Paths(at(2, 3, Entry), None),
        "symlinkat" => Call::Paths(at(1, 2, Entry), None),
        "truncate" | "chmod" | "chown" | "lchown" | "utime" | "utimes" | "setxattr" | "lsetxattr" | "removexattr"
        | "lremovexattr" => Call::Paths(cwd(0, Write), None),
        // utimensat with a NULL path is futimens on the dirfd: resolved the same way.
        "fchmodat" | "fchmodat2" | "fchownat" | "futimesat" | "utimensat" => Call::Paths(at(0, 1, Write), None),
        "fchmod" | "fchown" | "fsetxattr" | "fremovexattr" => Call::Fd(0),
        "connect" => Call::Net(Op::Connect),
        "bind" => Call::Net(Op::Bind),
        "sendto" => Call::Net(Op::Sendto),
        "sendmsg" => Call::Net(Op::Sendmsg),
        "sendmmsg" => Call::Net(Op::Sendmmsg),
        _ => return None,
    })
}

/// What the observer has seen so far, deduplicated.
#[derive(Debug, Default)]
struct Log {
    files: HashMap<(PathBuf, FileUse), String>,
    net: HashMap<(SocketAddr, NetUse), (Vec<String>, String)>,
    unix: HashMap<PathBuf, (bool, String)>,
    /// Abstract unix socket names: bound by the command, and reached
    /// (with the program that reached it).
    abstract_bound: BTreeSet<Vec<u8>>,
    abstract_reached: BTreeMap<Vec<u8>, String>,
    gaps: BTreeSet<String>,
    /// Calls that could not be observed, counted by why.
    lost: BTreeMap<Limit, BTreeMap<Unobserved, usize>>,
}

/// The observer, shared by the receiver threads.
pub struct Observer {
    listener: OwnedFd,
    /// The DNS proxy every lookup goes through, if it could start.
    names: Option<Arc<NameFilter>>,
    calls: Vec<(i32, Call)>,
    log: Mutex<Log>,
    /// Why sbx cannot take the command's sockets here (`None`: it can):
    /// then destinations are read from its memory alone, and a connect to
    /// the nameserver cannot go through the recording proxy.
    no_fd_taking: Option<Limit>,
    /// Why a read of the command's memory or /proc files failed, by errno
    /// (classified once each).
    causes: Mutex<HashMap<(i32, probe::Call), Option<Limit>>>,
}

impl Observer {
    fn new(listener: OwnedFd, names: Option<Arc<NameFilter>>, no_fd_taking: Option<Limit>) -> Self {
        let calls =
            seccomp::OBSERVED.iter().filter_map(|name| Some((seccomp::native_number(name)?, call_of(name)?))).collect();
        Self {
            listener,
            names,
            calls,
            log: Mutex::new(Log::default()),
            no_fd_taking,
            causes: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a call of `kind` that could not be observed, for `why`.
    fn lose(&self, kind: Unobserved, why: Limit) {
        *self.log().lost.entry(why).or_default().entry(kind).or_insert(0) += 1;
    }

    /// Counts a call of `kind` as not observed when `errno` (from `call` on
    /// the command) says sbx was kept from it, not that the call itself
    /// fails or its thread is gone.
    fn failed(&self, kind: Unobserved, call: probe::Call, errno: Errno) {
        let why = self
            .causes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((errno as i32, call))
            .or_insert_with(|| probe::access_failure(call, errno))
            .clone();
        if let Some(why) = why {
            self.lose(kind, why);
        }
    }

    /// What `read` got from the command's memory; a failure is counted.
    fn read<T>(&self, kind: Unobserved, read: Result<T, Errno>) -> Option<T> {
        read.map_err(|errno| self.failed(kind, probe::Call::ProcMem, errno)).ok()
    }

    /// The destination of the `msghdr` at `at` (empty: none).
    fn message_name(&self, tid: i32, at: u64) -> Option<Vec<u8>> {
        let mut raw = [0u8; notify::MSGHDR_LEN];
        self.read(Unobserved::Send, sys::read_memory(tid, &[(at, raw.len() as u64)], &mut raw))?;
        let hdr = MsgHdr::parse(&raw);
        let len = hdr.name_len().ok()?;
        self.read(Unobserved::Send, read_sockaddr(tid, hdr.name, len as u64))
    }

    /// Socket `fd` of thread `tid`, taken with pidfd_getfd where sbx may
    /// (`Ok(Err(why))` where it may not); `Err(())` when there is nothing
    /// to observe (the thread is gone, `fd` is no open descriptor).
    fn socket(&self, tid: i32, fd: i32) -> Result<Result<OwnedFd, Limit>, ()> {
        if let Some(why) = &self.no_fd_taking {
            return Ok(Err(why.clone()));
        }
        let pidfd = match sys::pidfd_open_thread(tid) {
            Ok(fd) => fd,
            Err(_) => sys::pidfd_open(read_status(tid).ok_or(())?.tgid).map_err(drop)?,
        };
        match sys::pidfd_getfd(pidfd.as_fd(), fd) {
            Ok(sock) => Ok(Ok(sock)),
            Err(errno) => probe::access_failure(probe::Call::PidfdGetfd, errno).map(Err).ok_or(()),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn serve(&self, req: &Notification) -> Option<Result<i64, Errno>> {
        let tid = req.pid as i32;
        if req.arch != super::mediate::NATIVE_AUDIT_ARCH {
            let program = comm(tid);
            self.log().gaps.insert(format!(
                "{program} is a 32-bit (or x32) program: what it did was not observed; verify the profile"
            ));
            return None;
        }
        let call = self.calls.iter().find(|(nr, _)| *nr == req.nr).map(|&(_, call)| call)?;
        match call {
            Call::Open { path, flags } => {
                let flags = match flags {
                    Flags::Arg(n) => req.args[n] as i32,
                    Flags::How(n) => read_u64(tid, req.args[n]).map_or(0, |f| f as i32),
                    Flags::Creat => libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
                };
                if flags & libc::O_PATH != 0 {
                    return None;
                }
                let file = self.path_of(tid, req, path)?;
                let writes = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
                let creates = flags & libc::O_CREAT != 0 && std::fs::symlink_metadata(&file).is_err();
                if creates {
                    self.record_file(tid, file.clone(), Entry);
                }
                let usage = if writes { Write } else { FileUse::Read };
                if !(creates && flags & libc::O_TMPFILE == libc::O_TMPFILE) {
                    self.record_file(tid, file, usage);
                }
                None
            }
            Call::Paths(first, second) => {
                for arg in std::iter::once(first).chain(second) {
                    let Some(file) = self.path_of(tid, req, arg) else { continue };
                    // mkdir of a path that exists fails with EEXIST before
                    // any access check: `mkdir -p` of an existing tree
                    // needs nothing.
                    if arg.usage == MadeDir && std::fs::symlink_metadata(&file).is_ok() {
                        continue;
                    }
                    self.record_file(tid, file, arg.usage);
                }
                None
            }
            Call::Fd(n) => {
                match fd_path(tid, req.args[n] as i32) {
                    Ok(Some(file)) => self.record_file(tid, file, Write),
                    Ok(None) => {}
                    Err(errno) => self.failed(Unobserved::File, probe::Call::ProcFd, errno),
                }
                None
            }
            Call::Net(op) => self.net(req, op),
        }
    }

    /// The absolute path argument `arg` of `req` names (not canonical).
    fn path_of(&self, tid: i32, req: &Notification, arg: PathArg) -> Option<PathBuf> {
        let ptr = req.args[arg.path];
        // (A path longer than PATH_MAX fails the call: nothing to observe.)
        let raw = if ptr == 0 {
            Vec::new()
        } else {
            self.read(Unobserved::File, read_cstr(tid, ptr, PATH_MAX))??.into_bytes()
        };
        let dirfd = arg.dirfd.map(|n| req.args[n] as i32);
        resolve(tid, dirfd, &raw).map_err(|errno| self.failed(Unobserved::File, probe::Call::ProcFd, errno)).ok()?
    }

    fn record_file(&self, tid: i32, path: PathBuf, usage: FileUse) {
        let key = (path, usage);
        {
            let mut log = self.log();
            if log.files.contains_key(&key) {
                return;
            }
            if log.files.len() >= MAX_FILES {
                log.gaps.insert(format!(
                    "more than {MAX_FILES} different paths were used: later ones were not recorded; verify the profile"
                ));
                return;
            }
        }
        let program = comm(tid);
        self.log().files.entry(key).or_insert(program);
    }

    /// Records a network call; performs a connect to a nameserver itself
    /// (through the proxy) and returns its result, else `None` (continue).
    fn net(&self, req: &Notification, op: Op) -> Option<Result<i64, Errno>> {
        let tid = req.pid as i32;
        let args = req.args;
        let kind = match op {
            Op::Connect => Unobserved::Connect,
            Op::Bind => Unobserved::Bind,
            Op::Sendto | Op::Sendmsg | Op::Sendmmsg => Unobserved::Send,
        };
        // The socket, where sbx may take it: its domain and type, and what
        // a connect to the nameserver is performed on. Else the address
        // alone tells the domain.
        let sock = self.socket(tid, args[0] as i32).ok()?;
        let socket_kind = match &sock {
            Ok(sock) => Some(sys::socket_kind(sock.as_fd()).ok()?),
            Err(_) => None,
        };
        // The destinations: in the command's memory.
        let names: Vec<Vec<u8>> = match op {
            Op::Connect | Op::Bind => vec![self.read(kind, read_sockaddr(tid, args[1], args[2]))?],
            Op::Sendto => vec![self.read(kind, read_sockaddr(tid, args[4], args[5]))?],
            Op::Sendmsg => vec![self.message_name(tid, args[1])?],
            Op::Sendmmsg => (0..args[2].min(MMSG_READ))
                .map_while(|i| self.message_name(tid, args[1] + i * notify::MMSGHDR_LEN as u64))
                .collect(),
        };
        for name in names {
            let (domain, ty) = socket_kind.unwrap_or_else(|| (domain_of(&name), 0));
            match notify::target(op, domain, &name) {
                Target::Inet(addr) => {
                    if let Some(filter) = self.names.as_ref().filter(|f| f.is_nameserver(addr)) {
                        if op == Op::Connect {
                            let sock = match &sock {
                                Ok(sock) => sock,
                                Err(why) => {
                                    // It cannot go through the proxy: the
                                    // lookup happens, its names unseen; the
                                    // nameserver is what the command reached.
                                    self.lose(Unobserved::Lookup, why.clone());
                                    self.record_inet(tid, op, addr);
                                    continue;
                                }
                            };
                            let to = filter.redirect(ty == libc::SOCK_STREAM, domain == libc::AF_INET6);
                            if !sys::notif_id_valid(self.listener.as_fd(), req.id) {
                                return None;
                            }
                            return Some(sys::connect(sock.as_fd(), &notify::inet_sockaddr(to, domain)));
                        }
                        // A query sent straight to the nameserver (musl,
                        // dig): sbx asks too, to learn the answer.
                        if op == Op::Sendto {
                            if let Some(data) = read_bytes(tid, args[1], args[2]) {
                                if let crate::dns::QueryVerdict::Allowed(qname) = filter.screen(&data) {
                                    filter.shadow(&qname);
                                }
                            }
                        }
                        continue;
                    }
                    self.record_inet(tid, op, addr);
                }
                Target::UnixOther => {
                    // An abstract name: a NUL, then the name (unnamed and
                    // autobind addresses have none).
                    if let Some(abstract_name) = name.get(3..).filter(|n| !n.is_empty() && name[2] == 0) {
                        let mut log = self.log();
                        if op == Op::Bind {
                            log.abstract_bound.insert(abstract_name.to_vec());
                        } else if log.abstract_reached.len() < MAX_PEERS {
                            let program = comm(tid);
                            log.abstract_reached.entry(abstract_name.to_vec()).or_insert(program);
                        }
                    }
                }
                Target::UnixPath(path) => {
                    if let Ok(Some(path)) = resolve(tid, None, &path) {
                        let bound = op == Op::Bind;
                        if bound {
                            self.record_file(tid, path.clone(), Entry);
                        }
                        let program = comm(tid);
                        let mut log = self.log();
                        if log.unix.len() >= MAX_PEERS && !log.unix.contains_key(&path) {
                            log.gaps.insert(format!(
                                "more than {MAX_PEERS} unix sockets were used: later ones were not recorded"
                            ));
                            continue;
                        }
                        let seen = log.unix.entry(path).or_insert((bound, program));
                        seen.0 |= bound;
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn record_inet(&self, tid: i32, op: Op, addr: SocketAddr) {
        let usage = match op {
            Op::Bind if addr.port() == 0 => return,
            Op::Bind => NetUse::Bind,
            _ => NetUse::Connect,
        };
        {
            let mut log = self.log();
            if log.net.contains_key(&(addr, usage)) {
                return;
            }
            if log.net.len() >= MAX_PEERS {
                log.gaps.insert(format!(
                    "more than {MAX_PEERS} network destinations were used: later ones were not recorded"
                ));
                return;
            }
        }
        let names = self.names_of(addr);
        let program = comm(tid);
        self.log().net.entry((addr, usage)).or_insert((names, program));
    }

    /// The names `addr` is known by: every name whose answers gave it (two
    /// names behind one address are both kept); /etc/hosts names only for
    /// addresses off loopback (127.0.0.1 is "localhost" to everyone).
    fn names_of(&self, addr: SocketAddr) -> Vec<String> {
        match &self.names {
            Some(filter) if crate::policy::net::is_loopback(addr.ip()) => {
                filter.proxy().resolved().names_for(addr.ip())
            }
            Some(filter) => filter.names_of(addr.ip()),
            None => Vec::new(),
        }
    }

    /// Everything observed, in a stable order.
    fn observations(&self) -> Observations {
        let mut log = std::mem::take(&mut *self.log());
        // Landlock scopes every sandbox to its own abstract sockets: one
        // made outside can never be allowed.
        for (abstract_name, program) in &log.abstract_reached {
            if !log.abstract_bound.contains(abstract_name) {
                log.gaps.insert(format!(
                    "{program} reached the abstract unix socket @{} made outside: sbx confines every sandbox to \
                     its own abstract sockets, so this fails under any profile",
                    String::from_utf8_lossy(abstract_name)
                ));
            }
        }
        let mut files: Vec<FileEvent> =
            log.files.into_iter().map(|((path, usage), program)| FileEvent { path, usage, program }).collect();
        files.sort_by(|a, b| (&a.path, a.usage).cmp(&(&b.path, b.usage)));
        let mut net: Vec<NetEvent> = log
            .net
            .into_iter()
            .map(|((addr, usage), (mut names, program))| {
                // A name looked up after the first connect to its address
                // (a second host behind the same CDN address, a reused
                // connection) needs allowing as much as the first.
                for name in self.names_of(addr) {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                NetEvent { addr, names, usage, program }
            })
            .collect();
        net.sort_by_key(|e| (e.addr, e.usage));
        let mut unix: Vec<UnixEvent> =
            log.unix.into_iter().map(|(path, (bound, program))| UnixEvent { path, bound, program }).collect();
        unix.sort_by(|a, b| a.path.cmp(&b.path));
        let lookups = self.names.as_ref().map(|f| f.proxy().resolved().names()).unwrap_or_default();
        let lost = log
            .lost
            .into_iter()
            .map(|(why, counts)| Lost { cause: why.cause, fix: why.fix, counts: counts.into_iter().collect() })
            .collect();
        Observations { files, net, unix, lookups, gaps: log.gaps.into_iter().collect(), lost }
    }
}

impl workers::Serve for Arc<Observer> {
    fn receive(&self) -> Result<Option<Notification>, Errno> {
        workers::receive_from(self.listener.as_fd())
    }

    fn handle(&self, req: Notification) {
        let listener = self.listener.as_fd();
        // Fails only if the thread is gone meanwhile.
        let _ = match self.serve(&req) {
            Some(result) => sys::notif_respond(listener, req.id, result),
            None => sys::notif_continue(listener, req.id),
        };
    }
}

/// `dirfd`-relative `raw` as an absolute path: against the thread's cwd
/// (`None` or AT_FDCWD) or the directory `dirfd` is open on; an empty
/// `raw` is `dirfd` itself (AT_EMPTY_PATH, futimens). `.` components are
/// dropped; `..` is left for the resolver (a symlink may precede it).
/// `Ok(None)`: `dirfd` is no directory path; `Err`: its /proc link could
/// not be read.
pub(crate) fn resolve(tid: i32, dirfd: Option<i32>, raw: &[u8]) -> Result<Option<PathBuf>, Errno> {
    let path = Path::new(OsStr::from_bytes(raw));
    if path.is_absolute() {
        return Ok(Some(path.components().collect()));
    }
    let base = match dirfd {
        None | Some(libc::AT_FDCWD) => proc_link(&format!("/proc/{tid}/cwd"))?,
        Some(fd) => fd_path(tid, fd)?,
    };
    Ok(base.map(|base| if raw.is_empty() { base } else { base.join(path).components().collect() }))
}

/// The path an fd of thread `tid` is open on, if it is a file system path.
fn fd_path(tid: i32, fd: i32) -> Result<Option<PathBuf>, Errno> {
    proc_link(&format!("/proc/{tid}/fd/{fd}"))
}

fn proc_link(link: &str) -> Result<Option<PathBuf>, Errno> {
    match std::fs::read_link(link) {
        Ok(path) => Ok(Some(path).filter(|p| p.is_absolute())),
        Err(err) => Err(Errno::from_raw(err.raw_os_error().unwrap_or(libc::EIO))),
    }
}

/// The socket domain an address of `name`'s family needs (for when sbx
/// cannot ask the socket): AF_UNSPEC is read as IPv4, as bind(2) and UDP
/// sends on IPv4 sockets read it.
fn domain_of(name: &[u8]) -> i32 {
    match name {
        [a, b, ..] => match i32::from(u16::from_ne_bytes([*a, *b])) {
            libc::AF_UNSPEC => libc::AF_INET,
            family => family,
        },
        _ => libc::AF_INET,
    }
}

/// The thread's program name (`comm`), for the profile's comments.
fn comm(tid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{tid}/comm")).map(|c| c.trim_end().to_owned()).unwrap_or_default()
}

fn read_u64(tid: i32, ptr: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    sys::read_memory(tid, &[(ptr, 8)], &mut buf).ok()?;
    Some(u64::from_ne_bytes(buf))
}

fn read_bytes(tid: i32, ptr: u64, len: u64) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; usize::try_from(len.min(64 * 1024)).ok()?];
    sys::read_memory(tid, &[(ptr, buf.len() as u64)], &mut buf).ok()?;
    Some(buf)
}

/// Runs `policy.command` (nothing restricted but the baseline) while
/// observing it; returns how it ended and what it did.
pub fn observe(policy: &Policy) -> Result<(Outcome, Observations)> {
    let (no_observing, no_fd_taking) = probe::observing_limits();
    if let Some(limit) = no_observing {
        bail!(
            "sbx learn observes the command through seccomp user notification and reads its memory, but {}; {}",
            limit.cause,
            limit.fix
        );
    }
    let mut exec = ExecPlan::new(&policy.command, &policy.child_env)?;
    exec.check_elf_now();
    let rules = seccomp::learn_rules(exec.envp_address());
    let filter = seccomp::compile(&rules)?;
    sys::set_child_subreaper().context("becoming the command's child subreaper")?;
    // Before any thread starts: threads inherit the blocked signals, so
    // SIGCHLD reaches the signalfd and not a proxy thread.
    let forwarding = supervisor::Signals::block()?;
    let names = match start_recording_filter() {
        Ok(names) => Some(names),
        Err(err) => {
            tracing::debug!("sbx learn: no DNS proxy: {err:#}");
            None
        }
    };
    let caps = super::command_capabilities()?;
    let start = super::Start { landlock: None, seccomp: filter.as_ref(), listener: true, close_fds: None };
    let handshake = super::Handshake::new()?;
    let mut pending = match super::start_child(&forwarding, &start, &exec, caps.as_ref(), &handshake)? {
        super::Started::Failed(failure) => {
            return Ok((super::report_failure(policy, &exec, failure)?, Observations::default()));
        }
        super::Started::Ready(pending) => pending,
    };
    let child = pending.pid();
    // start_child fails when the listener it was asked for is missing.
    let listener = pending.listener.take().context("the child was set up without a seccomp listener; report a bug")?;
    let observer = Arc::new(Observer::new(listener, names.clone(), no_fd_taking));
    if names.is_none() {
        observer.log().gaps.insert(
            "DNS lookups were not observed (no nameserver in /etc/resolv.conf to stand in for): connections are \
             listed by address"
                .into(),
        );
    }
    // The command itself: exec'd before the observer could see it.
    if let Some(program) = exec.candidates().find(|c| c.is_file()) {
        let path: PathBuf = policy.cwd.join(program).components().collect();
        let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        observer.log().files.insert((path, Exec), name);
    }
    let reap_orphans = forwarding.serve(Some(Arc::clone(&observer)))?;
    pending.go()?;
    let outcome = forwarding.supervise(child, reap_orphans)?;
    if let Some(failure) = pending.exec_failure() {
        return Ok((super::report_failure(policy, &exec, failure)?, Observations::default()));
    }
    Ok((outcome, observer.observations()))
}

/// The DNS proxy for learning: it forwards every query to the system's
/// nameservers and records every answer.
fn start_recording_filter() -> Result<Arc<NameFilter>> {
    use crate::dns::{NameRules, ProxyConfig, Upstream, hosts};
    let config = ProxyConfig::new(NameRules::any(), Upstream::system());
    let hosts = hosts::read(Path::new(hosts::HOSTS));
    NameFilter::start(config, hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_observed_call_is_understood() {
        for name in seccomp::OBSERVED {
            assert!(call_of(name).is_some(), "{name} is handed to the observer, which would not know what it names");
        }
    }

    #[test]
    fn paths_are_resolved_against_the_cwd_or_the_dirfd() {
        let me = std::process::id() as i32;
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(resolve(me, None, b"/a/./b/"), Ok(Some(PathBuf::from("/a/b"))));
        assert_eq!(resolve(me, None, b"x/./y"), Ok(Some(cwd.join("x/y"))));
        assert_eq!(resolve(me, Some(libc::AT_FDCWD), b"x"), Ok(Some(cwd.join("x"))));
        assert_eq!(resolve(me, Some(libc::AT_FDCWD), b""), Ok(Some(cwd.clone())));
        let dir = std::fs::File::open("/usr").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&dir);
        assert_eq!(resolve(me, Some(fd), b"lib/../bin"), Ok(Some(PathBuf::from("/usr/lib/../bin"))));
        assert_eq!(resolve(me, Some(fd), b""), Ok(Some(PathBuf::from("/usr"))));
        // An fd that is no directory path (a pipe) names nothing.
        let (r, _w) = nix::unistd::pipe().unwrap();
        assert_eq!(resolve(me, Some(std::os::fd::AsRawFd::as_raw_fd(&r)), b"x"), Ok(None));
        // An fd that is not open: its link cannot be read.
        assert_eq!(resolve(me, Some(9999), b"x"), Err(Errno::ENOENT));
    }
}

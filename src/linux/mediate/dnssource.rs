//! DNS answers from the nameserver's address, as the command asked for it.
//! While names are filtered, a socket the command connects to a nameserver
//! is connected to sbx's DNS proxy on loopback instead; resolvers that check
//! where an answer comes from (c-ares: Node's `dns.resolve*`, gRPC) would
//! then drop every answer. sbx remembers the sockets it redirected (by
//! inode, with the address the command asked for), and the filter hands it
//! `getpeername` and `recvfrom` with a source address argument. On a
//! redirected datagram socket sbx performs the receive on its duplicate of
//! the socket and writes the data, the nameserver's address and its length
//! into the command's memory, as the kernel would have; `getpeername`
//! reports the nameserver. A stream socket's reads name no source, so only
//! its `getpeername` is answered.
//!
//! Guarantees: nothing here decides what the command may reach (the proxy
//! filters the queries); any other socket, or one no longer connected to
//! the proxy, gets its call run as made (CONTINUE). Memory is written only
//! after the notification is confirmed live. A blocking receive waits in
//! slices, giving up when the waiting thread is gone, answering EAGAIN when
//! the socket's receive timeout passes, and letting a pending signal
//! interrupt it (and restart it, as the kernel's own receive would be).

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, SocketAddrV6};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::{Mediator, Reply, read_status};
use crate::linux::notify::{self, Op, Target};
use crate::linux::sys::{self, Notification};

/// Redirected sockets remembered at most; the oldest are forgotten first
/// (a forgotten one reports the proxy's address again, as before).
const MAX_SOCKETS: usize = 4096;
/// Most bytes of one datagram received for the command (UDP carries less).
const DATAGRAM_CAP: usize = 256 * 1024;
/// How long a blocking receive waits before looking at the thread again.
const SLICE: Duration = Duration::from_millis(50);
/// `-ERESTARTSYS` as a syscall's return value: the kernel runs the pending
/// signal's handler, then restarts the call (SA_RESTART) or fails it with
/// EINTR, as for a receive it interrupted itself.
const RESTART: i64 = -512;

/// A call that tells where a socket's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Getpeername,
    Recvfrom,
}

/// A socket sbx connected to its proxy instead of a nameserver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Redirect {
    /// The nameserver the command asked for (with its scope id, for a
    /// link-local address).
    asked: SocketAddr,
    /// The proxy's address the socket was connected to.
    proxy: SocketAddr,
}

/// Redirected sockets by (st_dev, st_ino), oldest first in `order`.
#[derive(Default)]
struct Table {
    by_inode: HashMap<(u64, u64), Redirect>,
    order: VecDeque<(u64, u64)>,
}

impl Table {
    fn insert(&mut self, key: (u64, u64), redirect: Redirect) {
        if self.by_inode.insert(key, redirect).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > MAX_SOCKETS {
            if let Some(old) = self.order.pop_front() {
                self.by_inode.remove(&old);
            }
        }
    }

    fn remove(&mut self, key: (u64, u64)) {
        if self.by_inode.remove(&key).is_some() {
            self.order.retain(|k| *k != key);
        }
    }
}

/// The redirected sockets, and the calls that come here.
pub struct Sources {
    /// Native syscall number → call.
    calls: Vec<(i32, Read)>,
    table: Mutex<Table>,
}

impl Sources {
    pub fn new() -> Self {
        let calls = [("getpeername", Read::Getpeername), ("recvfrom", Read::Recvfrom)]
            .into_iter()
            .filter_map(|(name, read)| crate::linux::seccomp::native_number(name).map(|nr| (nr, read)))
            .collect();
        Self { calls, table: Mutex::new(Table::default()) }
    }

    /// The call native syscall `nr` is, if it comes here.
    pub fn call(&self, nr: i32) -> Option<Read> {
        self.calls.iter().find(|(n, _)| *n == nr).map(|&(_, read)| read)
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_empty(&self) -> bool {
        self.table().by_inode.is_empty()
    }

    /// Remembers that `sock` goes to `proxy` where the command asked for
    /// `asked` (its address bytes `name`, for the scope id).
    pub fn record(&self, sock: BorrowedFd<'_>, name: &[u8], asked: SocketAddr, proxy: SocketAddr) {
        let Ok(st) = sys::fstat(sock) else { return };
        let asked = with_scope(asked, name);
        self.table().insert((st.st_dev, st.st_ino), Redirect { asked, proxy });
    }

    /// Forgets `sock` (the command connects it anew).
    pub fn forget(&self, sock: BorrowedFd<'_>) {
        if self.is_empty() {
            return;
        }
        if let Ok(st) = sys::fstat(sock) {
            self.table().remove((st.st_dev, st.st_ino));
        }
    }

    /// The redirect of `sock`, if sbx made one and the socket is still
    /// connected to the proxy (else it is forgotten: its inode may be
    /// another socket's by now). With it, the socket's domain and type.
    fn of(&self, sock: BorrowedFd<'_>) -> Option<(Redirect, i32, i32)> {
        let st = sys::fstat(sock).ok()?;
        let key = (st.st_dev, st.st_ino);
        let redirect = *self.table().by_inode.get(&key)?;
        let (domain, kind) = sys::socket_kind(sock).ok()?;
        let peer = sys::getpeername(sock).ok()?;
        if (domain == libc::AF_INET || domain == libc::AF_INET6)
            && same_address(&notify::target(Op::Connect, domain, &peer), redirect.proxy)
        {
            return Some((redirect, domain, kind));
        }
        self.table().remove(key);
        None
    }
}

/// Whether `target` is `addr` (IPv4-mapped IPv6 is IPv4).
fn same_address(target: &Target, addr: SocketAddr) -> bool {
    matches!(target, Target::Inet(t) if t.port() == addr.port() && t.ip().to_canonical() == addr.ip().to_canonical())
}

/// `asked` with the scope id of the command's address bytes, for a
/// link-local IPv6 address (the only ones the kernel reports it for).
fn with_scope(asked: SocketAddr, name: &[u8]) -> SocketAddr {
    match asked {
        SocketAddr::V6(v6) if v6.ip().is_unicast_link_local() && name.len() >= 28 => {
            let scope = u32::from_ne_bytes([name[24], name[25], name[26], name[27]]);
            SocketAddr::V6(SocketAddrV6::new(*v6.ip(), v6.port(), 0, scope))
        }
        other => other,
    }
}

/// The nameserver's address as the kernel reports a peer to a socket of
/// `domain` (`sockaddr_in`, or `sockaddr_in6` with IPv4 mapped).
fn peer_sockaddr(asked: SocketAddr, domain: i32) -> Vec<u8> {
    notify::inet_sockaddr(asked, domain)
}

/// How many bytes of an address `klen` long the kernel copies out for a
/// caller whose length word says `ulen` (`move_addr_to_user`): at most
/// `klen`; EINVAL for a negative length.
fn name_room(ulen: i32, klen: usize) -> Result<usize, Errno> {
    let len = i64::from(ulen).min(klen as i64);
    if len < 0 { Err(Errno::EINVAL) } else { Ok(len as usize) }
}

/// Whether a signal waits for the thread whose /proc status is `status`
/// such that the kernel is sure to deliver it to this thread once its call
/// returns: pending for the thread itself (only it can take that), or for
/// its process when it is the only thread, and not blocked. A signal for a
/// process of several threads may go to another one: then the receive goes
/// on waiting (answering -ERESTARTSYS to a thread the kernel does not mark
/// as signalled would hand it errno 512).
fn signal_waiting(status: &str) -> bool {
    let (mut own, mut shared, mut blocked, mut threads) = (0u64, 0u64, 0u64, 0u64);
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        let bits = u64::from_str_radix(value, 16).unwrap_or(0);
        match key {
            "SigPnd" => own = bits,
            "ShdPnd" => shared = bits,
            "SigBlk" => blocked = bits,
            "Threads" => threads = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    own & !blocked != 0 || (threads == 1 && shared & !blocked != 0)
}

impl Mediator {
    /// `getpeername`, or `recvfrom` with a source address argument: answered
    /// for a socket sbx redirected to its DNS proxy, run as made for any other.
    pub(super) fn serve_dns_source(&self, req: &Notification, read: Read) -> Reply {
        // Nothing redirected (or names not filtered): nothing to say.
        if self.names.is_none() || self.dns_sources.is_empty() {
            return Reply::Continue;
        }
        let tid = req.pid as i32;
        let pidfd = sys::pidfd_open_thread(tid).or_else(|_| sys::pidfd_open(read_status(tid).map_or(tid, |s| s.tgid)));
        let Ok(pidfd) = pidfd else { return Reply::Continue };
        let Ok(sock) = sys::pidfd_getfd(pidfd.as_fd(), req.args[0] as i32) else { return Reply::Continue };
        // By inode first: most sockets are not redirected ones.
        let Some((redirect, domain, kind)) = self.dns_sources.of(sock.as_fd()) else { return Reply::Continue };
        let name = peer_sockaddr(redirect.asked, domain);
        match read {
            Read::Getpeername => {
                let ulen = read_len(tid, req.args[2]);
                if !self.still_valid(req.id) {
                    return Reply::Gone;
                }
                reply(write_name(tid, &name, req.args[1], req.args[2], ulen).map(|()| 0))
            }
            // A stream's reads name no source (the kernel reports length 0).
            Read::Recvfrom if kind != libc::SOCK_DGRAM => Reply::Continue,
            Read::Recvfrom => self.receive(req, sock.as_fd(), &name),
        }
    }

    /// recvfrom on sbx's duplicate of a redirected datagram socket, for the
    /// command: its buffer, flags, blocking mode and receive timeout.
    fn receive(&self, req: &Notification, sock: BorrowedFd<'_>, name: &[u8]) -> Reply {
        let tid = req.pid as i32;
        let [_, buf_at, len, flags, name_at, len_at] = req.args;
        let flags = flags as i32;
        let ulen = read_len(tid, len_at);
        let blocking = match sys::nonblocking(sock) {
            Ok(nonblocking) => !nonblocking && flags & libc::MSG_DONTWAIT == 0,
            Err(_) => return Reply::Continue,
        };
        let deadline = match sys::receive_timeout(sock) {
            Ok(timeout) => timeout.map(|t| Instant::now() + t),
            Err(_) => return Reply::Continue,
        };
        let mut buf = vec![0u8; (len as usize).min(DATAGRAM_CAP)];
        let got = loop {
            // The datagram is taken only for a thread that still waits for it.
            if !self.still_valid(req.id) {
                return Reply::Gone;
            }
            match sys::recv(sock, &mut buf, flags | libc::MSG_DONTWAIT) {
                Err(Errno::EAGAIN) if blocking => {
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    if left.is_some_and(|l| l.is_zero()) {
                        break Err(Errno::EAGAIN);
                    }
                    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).unwrap_or_default();
                    if signal_waiting(&status) {
                        tracing::trace!(tid, "a signal interrupts a receive sbx waits in for the command");
                        return Reply::Value(RESTART);
                    }
                    if let Err(e) = sys::wait_readable(sock, left.map_or(SLICE, |l| l.min(SLICE))) {
                        break Err(e);
                    }
                }
                other => break other,
            }
        };
        let result = got.and_then(|n| {
            let copied = n.min(buf.len());
            if copied > 0 {
                sys::write_memory(tid, buf_at, &buf[..copied]).map_err(|_| Errno::EFAULT)?;
            }
            write_name(tid, name, name_at, len_at, ulen)?;
            Ok(n as i64)
        });
        reply(result)
    }
}

fn reply(result: Result<i64, Errno>) -> Reply {
    match result {
        Ok(v) => Reply::Value(v),
        Err(e) => Reply::Error(e),
    }
}

/// The command's address length word at `at`, copied (EFAULT if unreadable).
fn read_len(tid: i32, at: u64) -> Result<i32, Errno> {
    let mut word = [0u8; 4];
    sys::read_memory(tid, &[(at, 4)], &mut word).map_err(|_| Errno::EFAULT)?;
    Ok(i32::from_ne_bytes(word))
}

/// Writes `name` at `at` (as much as the caller's length `ulen` has room
/// for) and its full length at `len_at`, as the kernel's
/// `move_addr_to_user` does.
fn write_name(tid: i32, name: &[u8], at: u64, len_at: u64, ulen: Result<i32, Errno>) -> Result<(), Errno> {
    let room = name_room(ulen?, name.len())?;
    if room > 0 {
        sys::write_memory(tid, at, &name[..room]).map_err(|_| Errno::EFAULT)?;
    }
    sys::write_memory(tid, len_at, &(name.len() as u32).to_ne_bytes()).map_err(|_| Errno::EFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_copied_out_as_the_kernel_does() {
        assert_eq!(name_room(128, 16), Ok(16));
        assert_eq!(name_room(4, 16), Ok(4), "a short buffer gets the start; the length says 16");
        assert_eq!(name_room(0, 28), Ok(0));
        assert_eq!(name_room(-1, 16), Err(Errno::EINVAL));
        assert_eq!(name_room(i32::MIN, 16), Err(Errno::EINVAL));
    }

    #[test]
    fn the_peer_is_the_nameserver_in_the_socket_family() {
        let v4 = peer_sockaddr(addr("127.53.0.1:53"), libc::AF_INET);
        assert_eq!(notify::target(Op::Connect, libc::AF_INET, &v4), Target::Inet(addr("127.53.0.1:53")));
        assert_eq!(v4.len(), 16);
        // An IPv6 socket that asked for the address mapped sees it mapped.
        let mapped = peer_sockaddr(addr("[::ffff:127.53.0.1]:53"), libc::AF_INET6);
        assert_eq!(mapped.len(), 28);
        assert_eq!(notify::family_of(&mapped), libc::AF_INET6);
        assert_eq!(notify::target(Op::Connect, libc::AF_INET6, &mapped), Target::Inet(addr("[::ffff:127.53.0.1]:53")));
        // An IPv6 socket that connected with an IPv4 sockaddr: mapped too.
        assert_eq!(peer_sockaddr(addr("127.53.0.1:53"), libc::AF_INET6), mapped);
        let v6 = peer_sockaddr(addr("[2001:db8::53]:53"), libc::AF_INET6);
        assert_eq!(notify::target(Op::Connect, libc::AF_INET6, &v6), Target::Inet(addr("[2001:db8::53]:53")));
    }

    #[test]
    fn link_local_nameservers_keep_their_scope() {
        let mut name = notify::inet_sockaddr(addr("[fe80::1]:53"), libc::AF_INET6);
        name[24..28].copy_from_slice(&7u32.to_ne_bytes());
        let asked = with_scope(addr("[fe80::1]:53"), &name);
        let out = peer_sockaddr(asked, libc::AF_INET6);
        assert_eq!(u32::from_ne_bytes([out[24], out[25], out[26], out[27]]), 7);
        // Others get none, as the kernel reports them.
        let mut name = notify::inet_sockaddr(addr("[2001:db8::1]:53"), libc::AF_INET6);
        name[24..28].copy_from_slice(&7u32.to_ne_bytes());
        let out = peer_sockaddr(with_scope(addr("[2001:db8::1]:53"), &name), libc::AF_INET6);
        assert_eq!(&out[24..28], &[0; 4]);
    }

    #[test]
    fn proxies_are_recognised_whatever_the_family() {
        let proxy = addr("127.0.0.1:40000");
        assert!(same_address(&Target::Inet(addr("127.0.0.1:40000")), proxy));
        assert!(same_address(&Target::Inet(addr("[::ffff:127.0.0.1]:40000")), proxy));
        assert!(!same_address(&Target::Inet(addr("127.0.0.1:40001")), proxy));
        assert!(!same_address(&Target::Inet(addr("127.0.0.2:40000")), proxy));
        assert!(!same_address(&Target::None, proxy));
    }

    #[test]
    fn pending_signals_that_are_not_blocked_interrupt() {
        let status = |threads: u32, pnd: u64, shd: u64, blk: u64| {
            format!(
                "Name:\tx\nThreads:\t{threads}\nSigQ:\t0/1\nSigPnd:\t{pnd:016x}\nShdPnd:\t{shd:016x}\n\
                 SigBlk:\t{blk:016x}\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n"
            )
        };
        assert!(!signal_waiting(&status(1, 0, 0, 0)));
        assert!(signal_waiting(&status(1, 0x2000, 0, 0)));
        assert!(signal_waiting(&status(1, 0, 0x4000, 0)), "the only thread gets its process's signals");
        assert!(signal_waiting(&status(3, 0x2000, 0, 0)), "its own signals are its own");
        assert!(!signal_waiting(&status(3, 0, 0x4000, 0)), "another thread may take the process's signal");
        assert!(!signal_waiting(&status(1, 0x2000, 0x4000, 0x6000)), "blocked");
        assert!(!signal_waiting(""), "a thread whose status cannot be read is left waiting");
    }

    #[test]
    fn the_table_is_bounded_and_forgets_the_oldest() {
        let r = Redirect { asked: addr("127.53.0.1:53"), proxy: addr("127.0.0.1:40000") };
        let mut t = Table::default();
        for ino in 0..MAX_SOCKETS as u64 + 10 {
            t.insert((1, ino), r);
        }
        assert_eq!(t.by_inode.len(), MAX_SOCKETS);
        assert_eq!(t.order.len(), MAX_SOCKETS);
        assert!(!t.by_inode.contains_key(&(1, 9)) && t.by_inode.contains_key(&(1, 10)));
        t.insert((1, 10), r);
        assert_eq!(t.order.len(), MAX_SOCKETS, "a socket connected again is not counted twice");
        t.remove((1, 10));
        assert!(!t.by_inode.contains_key(&(1, 10)) && t.order.len() == MAX_SOCKETS - 1);
    }

    #[test]
    fn both_calls_are_known_by_number() {
        let s = Sources::new();
        let nr = |name| crate::linux::seccomp::native_number(name).unwrap();
        assert_eq!(s.call(nr("getpeername")), Some(Read::Getpeername));
        assert_eq!(s.call(nr("recvfrom")), Some(Read::Recvfrom));
        assert_eq!(s.call(nr("connect")), None);
    }
}

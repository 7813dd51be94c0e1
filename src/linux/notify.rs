//! The supervisor's decisions, pure: how the kernel will read an address the
//! command passed (on sbx's own copy of it), whether the policy allows it,
//! the layouts of `msghdr`/`cmsghdr` as the kernel walks them, and the
//! one-line reports of blocked attempts. No system calls here; `mediate`
//! gathers the inputs and acts on the verdicts.
//!
//! Guarantees: an address is interpreted the way the kernel interprets it for
//! that socket domain and call, or more strictly (e.g. `AF_UNSPEC` with an
//! IPv4 address is checked as that address wherever some protocol would
//! use it); what cannot be interpreted is refused, never passed through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use nix::errno::Errno;

use crate::policy::net::{any_allows, bind_suggestion, is_loopback, suggestion};
use crate::policy::{Net, NetRule};

/// A mediated system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Connect,
    Bind,
    Sendto,
    Sendmsg,
    Sendmmsg,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Connect => "connect",
            Op::Bind => "bind",
            Op::Sendto => "sendto",
            Op::Sendmsg => "sendmsg",
            Op::Sendmmsg => "sendmmsg",
        }
    }

    /// The errno a refused call fails with: ECONNREFUSED for connect (what a
    /// client sees when nothing listens, so programs fall back gracefully),
    /// EACCES for bind and sends (what a firewall's refusal looks like).
    pub fn denied_errno(self) -> Errno {
        match self {
            Op::Connect => Errno::ECONNREFUSED,
            _ => Errno::EACCES,
        }
    }
}

/// The network mode the supervisor enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// No IP network (only unix sockets are mediated).
    Denied,
    /// These IP rules.
    Allow(Vec<NetRule>),
}

impl Mode {
    pub fn from_policy(net: &Net) -> Option<Self> {
        match net {
            Net::Unrestricted => None,
            Net::Denied => Some(Mode::Denied),
            Net::Allow(rules) => Some(Mode::Allow(rules.clone())),
        }
    }
}

/// What an address passed to a mediated call designates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    /// No destination: a connected send, or `AF_UNSPEC` disconnect.
    #[default]
    None,
    Inet(SocketAddr),
    /// A pathname unix socket (bytes up to the first NUL).
    UnixPath(Vec<u8>),
    /// An abstract (or unnamed/autobind) unix address: the kernel's Landlock
    /// scope decides, on the supervisor's domain, which is the sandbox's.
    UnixOther,
    /// A socket of another domain (netlink, packet, … inherited from outside):
    /// never acted on.
    OtherDomain,
    /// The kernel would fail the call with this errno; fail it without acting.
    Invalid(Errno),
}

const SOCKADDR_IN_LEN: usize = 16;
/// The kernel accepts the RFC 2133 size (no scope id) for IPv6.
const SOCKADDR_IN6_MIN: usize = 24;
/// `sizeof(struct sockaddr_un)`.
pub const SOCKADDR_UN_LEN: usize = 110;
/// `sizeof(struct sockaddr_storage)`: the kernel truncates or refuses longer names.
pub const SOCKADDR_MAX: usize = 128;

fn family(addr: &[u8]) -> i32 {
    i32::from(u16::from_ne_bytes([addr[0], addr[1]]))
}

fn inet4(addr: &[u8]) -> SocketAddr {
    let port = u16::from_be_bytes([addr[2], addr[3]]);
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(addr[4], addr[5], addr[6], addr[7]), port))
}

fn inet6(addr: &[u8]) -> SocketAddr {
    let port = u16::from_be_bytes([addr[2], addr[3]]);
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&addr[8..24]);
    SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(octets), port, 0, 0))
}

/// What `addr` (the command's address, as copied) designates for `op` on a
/// socket of `domain`. An empty `addr` means no address was given.
pub fn target(op: Op, domain: i32, addr: &[u8]) -> Target {
    if addr.is_empty() {
        return match op {
            Op::Connect | Op::Bind => Target::Invalid(Errno::EINVAL),
            _ => Target::None,
        };
    }
    if addr.len() < 2 {
        return Target::Invalid(Errno::EINVAL);
    }
    let fam = family(addr);
    match domain {
        libc::AF_UNIX => match fam {
            libc::AF_UNIX => {
                if addr.len() > SOCKADDR_UN_LEN {
                    return Target::Invalid(Errno::EINVAL);
                }
                let path = &addr[2..];
                match path.first() {
                    None | Some(0) => Target::UnixOther,
                    Some(_) => {
                        let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                        Target::UnixPath(path[..end].to_vec())
                    }
                }
            }
            libc::AF_UNSPEC if op == Op::Connect => Target::None,
            _ => Target::Invalid(Errno::EINVAL),
        },
        libc::AF_INET | libc::AF_INET6 => match fam {
            libc::AF_INET if addr.len() >= SOCKADDR_IN_LEN => Target::Inet(inet4(addr)),
            libc::AF_INET6 if addr.len() >= SOCKADDR_IN6_MIN => Target::Inet(inet6(addr)),
            libc::AF_INET | libc::AF_INET6 => Target::Invalid(Errno::EINVAL),
            // connect(AF_UNSPEC) disconnects, for every inet protocol.
            libc::AF_UNSPEC if op == Op::Connect => Target::None,
            // bind() and UDP sendmsg() on IPv4 read AF_UNSPEC as AF_INET:
            // check the IPv4 address it carries.
            libc::AF_UNSPEC if addr.len() >= SOCKADDR_IN_LEN => Target::Inet(inet4(addr)),
            libc::AF_UNSPEC if op == Op::Bind => Target::Invalid(Errno::EINVAL),
            libc::AF_UNSPEC => Target::None,
            _ => Target::Invalid(Errno::EAFNOSUPPORT),
        },
        _ => Target::OtherDomain,
    }
}

/// Whether `mode` lets `op` use the IP address `addr`. Binding: a loopback
/// address on any port, any address with port 0 (ephemeral), or a port an
/// entry allows listening on (`0.0.0.0:PORT`, `[::]:PORT`).
pub fn inet_allowed(mode: &Mode, op: Op, addr: SocketAddr) -> bool {
    match mode {
        Mode::Denied => false,
        Mode::Allow(rules) => match op {
            Op::Bind => is_loopback(addr.ip()) || addr.port() == 0 || rules.iter().any(|r| r.allows_bind(addr)),
            _ => any_allows(rules, addr),
        },
    }
}

/// `addr` as reports show it (`1.2.3.4:80`, `[2001:db8::1]:443`).
pub fn show_inet(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(_) => addr.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]:{}", addr.port()),
    }
}

/// The report of a blocked connect or send to `addr`, an address sbx knows
/// as `name` (from a DNS answer or /etc/hosts). `name_has_port`: the name
/// is already allowed on that port (the address is not, or no longer, one
/// of its addresses), so the address is what to allow.
pub fn inet_report_named(op: Op, addr: SocketAddr, name: &str, name_has_port: bool) -> String {
    let allow = if name_has_port { suggestion(addr) } else { format!("{name}:{}", addr.port()) };
    format!("sbx: blocked {} to {} ({name}) — allow with --allow-net={allow}", op.name(), show_inet(addr))
}

/// `addr` as the kernel reads it from a socket of `domain`: `sockaddr_in`
/// for an IPv4 socket, `sockaddr_in6` (IPv4 mapped) for an IPv6 one.
pub fn inet_sockaddr(addr: SocketAddr, domain: i32) -> Vec<u8> {
    if domain == libc::AF_INET6 {
        let ip = match addr.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        let scope = match addr {
            SocketAddr::V6(v6) => v6.scope_id(),
            SocketAddr::V4(_) => 0,
        };
        let mut b = vec![0u8; 28];
        b[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        b[2..4].copy_from_slice(&addr.port().to_be_bytes());
        b[8..24].copy_from_slice(&ip.octets());
        b[24..28].copy_from_slice(&scope.to_ne_bytes());
        return b;
    }
    let ip = match addr.ip().to_canonical() {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    };
    let mut b = vec![0u8; SOCKADDR_IN_LEN];
    b[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    b[2..4].copy_from_slice(&addr.port().to_be_bytes());
    b[4..8].copy_from_slice(&ip.octets());
    b
}

/// The address family an address buffer names (0 if too short).
pub fn family_of(addr: &[u8]) -> i32 {
    if addr.len() < 2 { 0 } else { family(addr) }
}

/// The report of a blocked IP attempt. `own_server`: `addr` is a loopback
/// port the kernel chose for one of the command's binds to port 0 (a test
/// suite's local server, usually); it differs every run, so the hint is
/// `localhost`, which an entry for that one port would not be.
pub fn inet_report(op: Op, addr: SocketAddr, own_server: bool) -> String {
    let shown = show_inet(addr);
    let op_name = op.name();
    if op == Op::Bind {
        return format!("sbx: blocked bind to {shown} — allow with --allow-net={}", bind_suggestion(addr));
    }
    if own_server && is_loopback(addr.ip()) {
        return format!(
            "sbx: blocked {op_name} to {shown} — allow with --allow-net=localhost (the command's own server, on a \
             port the system chose for it: it differs every run)"
        );
    }
    format!("sbx: blocked {op_name} to {shown} — allow with --allow-net={}", suggestion(addr))
}

/// The report of a blocked unix socket attempt (`path` as sbx resolved it).
pub fn unix_report(op: Op, path: &str) -> String {
    format!("sbx: blocked {} to {path} — allow with --allow-unix={path}", op.name())
}

/// A `struct msghdr` as the command laid it out (native 64-bit layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MsgHdr {
    pub name: u64,
    pub namelen: u32,
    pub iov: u64,
    pub iovlen: u64,
    pub control: u64,
    pub controllen: u64,
}

/// `sizeof(struct msghdr)` and `sizeof(struct mmsghdr)` on 64-bit.
pub const MSGHDR_LEN: usize = 56;
pub const MMSGHDR_LEN: usize = 64;
/// `sizeof(struct iovec)`.
pub const IOVEC_LEN: usize = 16;
/// The kernel's UIO_MAXIOV: most iovecs (and sendmmsg messages) per call.
pub const UIO_MAXIOV: u64 = 1024;
const CMSGHDR_LEN: usize = 16;

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(w)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_ne_bytes(w)
}

impl MsgHdr {
    pub fn parse(b: &[u8; MSGHDR_LEN]) -> Self {
        Self {
            name: u64_at(b, 0),
            namelen: u32_at(b, 8),
            iov: u64_at(b, 16),
            iovlen: u64_at(b, 24),
            control: u64_at(b, 32),
            controllen: u64_at(b, 40),
        }
    }

    /// How many bytes of name the kernel reads: none without a pointer,
    /// at most `sizeof(sockaddr_storage)`; EINVAL for a negative length.
    pub fn name_len(&self) -> Result<usize, Errno> {
        if self.name == 0 {
            return Ok(0);
        }
        if (self.namelen as i32) < 0 {
            return Err(Errno::EINVAL);
        }
        Ok((self.namelen as usize).min(SOCKADDR_MAX))
    }
}

/// Parses `count` iovecs: (address, length) pairs; EINVAL for a negative length.
pub fn parse_iovecs(b: &[u8]) -> Result<Vec<(u64, u64)>, Errno> {
    b.chunks_exact(IOVEC_LEN)
        .map(|c| {
            let (base, len) = (u64_at(c, 0), u64_at(c, 8));
            if (len as i64) < 0 { Err(Errno::EINVAL) } else { Ok((base, len)) }
        })
        .collect()
}

/// A control message that carries something sbx must translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmsgFix {
    /// SCM_RIGHTS: `count` fds (i32) starting at byte `at` of the buffer.
    Rights { at: usize, count: usize },
    /// SCM_CREDENTIALS: a `struct ucred` at byte `at`.
    Credentials { at: usize },
}

/// Control messages that send a packet somewhere else than its destination
/// address says — source routing (IPv4 options, the IPv6 routing header)
/// and the IPv6 next hop: refused (EPERM), so only the checked address is
/// reached. Choosing the source address (`IP_PKTINFO`, `IPV6_PKTINFO`) is fine.
pub const ROUTING_CMSGS: &[(i32, i32, &str)] = &[
    (libc::IPPROTO_IP, libc::IP_RETOPTS, "IP_RETOPTS"),
    (libc::IPPROTO_IP, libc::IP_OPTIONS, "IP_OPTIONS"),
    (libc::IPPROTO_IPV6, IPV6_RTHDR, "IPV6_RTHDR"),
    (libc::IPPROTO_IPV6, IPV6_2292RTHDR, "IPV6_2292RTHDR"),
    (libc::IPPROTO_IPV6, IPV6_NEXTHOP, "IPV6_NEXTHOP"),
];
pub const IPV6_2292RTHDR: i32 = 5;
pub const IPV6_2292PKTOPTIONS: i32 = 6;
pub const IPV6_NEXTHOP: i32 = 9;
pub const IPV6_RTHDR: i32 = 57;

/// Walks a control buffer exactly as the kernel's `for_each_cmsghdr` and
/// `CMSG_OK` do, returning what must be translated. EINVAL where the kernel
/// would refuse the buffer; every SCM_RIGHTS the kernel would read is listed;
/// EPERM for a [`ROUTING_CMSGS`] one.
pub fn walk_cmsgs(control: &[u8]) -> Result<Vec<CmsgFix>, Errno> {
    let mut fixes = Vec::new();
    let mut pos = 0usize;
    while pos + CMSGHDR_LEN <= control.len() {
        let len = u64_at(control, pos);
        if len < CMSGHDR_LEN as u64 || len > (control.len() - pos) as u64 {
            return Err(Errno::EINVAL);
        }
        let len = len as usize;
        let level = u32_at(control, pos + 8) as i32;
        let kind = u32_at(control, pos + 12) as i32;
        if level == libc::SOL_SOCKET {
            match kind {
                libc::SCM_RIGHTS => {
                    fixes.push(CmsgFix::Rights { at: pos + CMSGHDR_LEN, count: (len - CMSGHDR_LEN) / 4 })
                }
                libc::SCM_CREDENTIALS => {
                    if len != CMSGHDR_LEN + 12 {
                        return Err(Errno::EINVAL);
                    }
                    fixes.push(CmsgFix::Credentials { at: pos + CMSGHDR_LEN });
                }
                _ => {}
            }
        }
        if ROUTING_CMSGS.iter().any(|&(l, k, _)| l == level && k == kind) {
            return Err(Errno::EPERM);
        }
        pos += len.div_ceil(8) * 8;
    }
    Ok(fixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sin(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut b = vec![0u8; 16];
        b[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&ip);
        b
    }

    fn sin6(ip: &str, port: u16) -> Vec<u8> {
        let mut b = vec![0u8; 28];
        b[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[8..24].copy_from_slice(&ip.parse::<Ipv6Addr>().unwrap().octets());
        b
    }

    fn sun(path: &[u8]) -> Vec<u8> {
        let mut b = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        b.extend_from_slice(path);
        b
    }

    fn allow(entries: &[&str]) -> Mode {
        Mode::Allow(entries.iter().map(|e| NetRule::parse(e).unwrap()).collect())
    }

    #[test]
    fn inet_addresses_are_read_like_the_kernel() {
        let a = sin([127, 0, 0, 2], 8080);
        assert_eq!(target(Op::Connect, libc::AF_INET, &a), Target::Inet("127.0.0.2:8080".parse().unwrap()));
        // An IPv4 address on an IPv6 socket is still the IPv4 address.
        assert_eq!(target(Op::Sendto, libc::AF_INET6, &a), Target::Inet("127.0.0.2:8080".parse().unwrap()));
        assert_eq!(target(Op::Connect, libc::AF_INET6, &sin6("::1", 443)), Target::Inet("[::1]:443".parse().unwrap()));
        assert_eq!(
            target(Op::Connect, libc::AF_INET6, &sin6("::1", 443)[..24]),
            Target::Inet("[::1]:443".parse().unwrap())
        );
        assert_eq!(target(Op::Connect, libc::AF_INET, &a[..15]), Target::Invalid(Errno::EINVAL));
        assert_eq!(target(Op::Connect, libc::AF_INET6, &sin6("::1", 1)[..20]), Target::Invalid(Errno::EINVAL));
        assert_eq!(target(Op::Connect, libc::AF_INET, &[]), Target::Invalid(Errno::EINVAL));
        assert_eq!(target(Op::Sendmsg, libc::AF_INET, &[]), Target::None);
        assert_eq!(target(Op::Connect, libc::AF_INET, &[2]), Target::Invalid(Errno::EINVAL));
        let mut packet = a.clone();
        packet[..2].copy_from_slice(&(libc::AF_PACKET as u16).to_ne_bytes());
        assert_eq!(target(Op::Connect, libc::AF_INET, &packet), Target::Invalid(Errno::EAFNOSUPPORT));
    }

    #[test]
    fn af_unspec_is_a_disconnect_for_connect_and_an_ipv4_address_elsewhere() {
        let mut a = sin([10, 1, 2, 3], 53);
        a[..2].copy_from_slice(&(libc::AF_UNSPEC as u16).to_ne_bytes());
        assert_eq!(target(Op::Connect, libc::AF_INET, &a), Target::None);
        assert_eq!(target(Op::Connect, libc::AF_INET, &a[..2]), Target::None);
        assert_eq!(target(Op::Sendto, libc::AF_INET, &a), Target::Inet("10.1.2.3:53".parse().unwrap()));
        assert_eq!(target(Op::Bind, libc::AF_INET, &a), Target::Inet("10.1.2.3:53".parse().unwrap()));
        assert_eq!(target(Op::Bind, libc::AF_INET, &a[..8]), Target::Invalid(Errno::EINVAL));
        assert_eq!(target(Op::Sendto, libc::AF_INET6, &a[..8]), Target::None);
    }

    #[test]
    fn unix_addresses() {
        assert_eq!(target(Op::Connect, libc::AF_UNIX, &sun(b"/tmp/s\0junk")), Target::UnixPath(b"/tmp/s".to_vec()));
        assert_eq!(target(Op::Connect, libc::AF_UNIX, &sun(b"rel")), Target::UnixPath(b"rel".to_vec()));
        assert_eq!(target(Op::Connect, libc::AF_UNIX, &sun(b"\0abstract")), Target::UnixOther);
        assert_eq!(target(Op::Bind, libc::AF_UNIX, &sun(b"")), Target::UnixOther);
        assert_eq!(target(Op::Connect, libc::AF_UNIX, &sun(&[b'a'; 109])), Target::Invalid(Errno::EINVAL));
        assert_eq!(target(Op::Connect, libc::AF_UNIX, &sin([1, 2, 3, 4], 1)), Target::Invalid(Errno::EINVAL));
        let unspec = (libc::AF_UNSPEC as u16).to_ne_bytes();
        assert_eq!(target(Op::Connect, libc::AF_UNIX, &unspec), Target::None);
        assert_eq!(target(Op::Sendto, libc::AF_UNIX, &unspec), Target::Invalid(Errno::EINVAL));
        assert_eq!(target(Op::Connect, libc::AF_NETLINK, &unspec), Target::OtherDomain);
    }

    #[test]
    fn decisions() {
        let mode = allow(&["127.0.0.1:8080", "[::1]:9090", "127.0.0.0/30"]);
        let ok = |op, a: &str| inet_allowed(&mode, op, a.parse().unwrap());
        assert!(ok(Op::Connect, "127.0.0.1:8080"));
        assert!(ok(Op::Connect, "127.0.0.1:8081"), "the /30 range allows every port");
        assert!(ok(Op::Connect, "127.0.0.3:1"));
        assert!(!ok(Op::Connect, "127.0.0.4:8080"));
        assert!(ok(Op::Sendto, "[::1]:9090") && !ok(Op::Sendto, "[::1]:9091"));
        assert!(ok(Op::Connect, "[::ffff:127.0.0.1]:8080"));
        // Binding: loopback anything, port 0 anywhere, nothing else.
        assert!(ok(Op::Bind, "127.0.0.9:5000") && ok(Op::Bind, "[::1]:5000"));
        assert!(ok(Op::Bind, "0.0.0.0:0") && ok(Op::Bind, "[::]:0"));
        assert!(!ok(Op::Bind, "0.0.0.0:5000") && !ok(Op::Bind, "[::]:5000") && !ok(Op::Bind, "10.0.0.1:80"));
        for op in [Op::Connect, Op::Bind, Op::Sendto] {
            assert!(!inet_allowed(&Mode::Denied, op, "127.0.0.1:8080".parse().unwrap()));
        }
    }

    #[test]
    fn sockaddrs_are_written_as_the_kernel_reads_them() {
        for (addr, domain) in [
            ("127.0.0.1:5353", libc::AF_INET),
            ("[::1]:5353", libc::AF_INET6),
            ("[::ffff:127.0.0.1]:53", libc::AF_INET6),
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            let bytes = inet_sockaddr(addr, domain);
            assert_eq!(family_of(&bytes), domain);
            assert_eq!(target(Op::Connect, domain, &bytes), Target::Inet(addr), "{addr}");
        }
        // An IPv4 address for an IPv6 socket is mapped.
        let bytes = inet_sockaddr("127.0.0.1:53".parse().unwrap(), libc::AF_INET6);
        assert_eq!(bytes.len(), 28);
        assert_eq!(&bytes[8..24], &"::ffff:127.0.0.1".parse::<Ipv6Addr>().unwrap().octets());
        assert_eq!(family_of(&[2]), 0);
    }

    #[test]
    fn reports_of_addresses_known_by_name() {
        let a: SocketAddr = "127.0.0.2:9090".parse().unwrap();
        assert_eq!(
            inet_report_named(Op::Connect, a, "allowed.test", false),
            "sbx: blocked connect to 127.0.0.2:9090 (allowed.test) — allow with --allow-net=allowed.test:9090"
        );
        assert_eq!(
            inet_report_named(Op::Sendto, a, "allowed.test", true),
            "sbx: blocked sendto to 127.0.0.2:9090 (allowed.test) — allow with --allow-net=127.0.0.2:9090"
        );
    }

    #[test]
    fn reports_name_the_flag_that_allows_it() {
        let r = inet_report(Op::Connect, "127.0.0.2:8080".parse().unwrap(), false);
        assert_eq!(r, "sbx: blocked connect to 127.0.0.2:8080 — allow with --allow-net=127.0.0.2:8080");
        let r = inet_report(Op::Sendto, "[::2]:53".parse().unwrap(), false);
        assert_eq!(r, "sbx: blocked sendto to [::2]:53 — allow with --allow-net=[::2]:53");
        let r = inet_report(Op::Bind, "0.0.0.0:8080".parse().unwrap(), false);
        assert_eq!(r, "sbx: blocked bind to 0.0.0.0:8080 — allow with --allow-net=0.0.0.0:8080");
        let r = inet_report(Op::Bind, "[::]:8080".parse().unwrap(), false);
        assert_eq!(r, "sbx: blocked bind to [::]:8080 — allow with --allow-net=[::]:8080");
        let r = inet_report(Op::Bind, "127.0.0.1:0".parse().unwrap(), false);
        assert_eq!(r, "sbx: blocked bind to 127.0.0.1:0 — allow with --allow-net=localhost");
        for a in ["0.0.0.0:8080", "192.0.2.1:8080", "[::]:8080", "127.0.0.1:0", "127.0.0.1:5432", "[::1]:7"] {
            let a: SocketAddr = a.parse().unwrap();
            assert!(!inet_allowed(&Mode::Denied, Op::Bind, a));
            let entry = inet_report(Op::Bind, a, false).rsplit_once("--allow-net=").unwrap().1.to_owned();
            assert!(inet_allowed(&allow(&[&entry]), Op::Bind, a), "{entry} allows binding {a}");
        }
        assert!(!inet_allowed(&allow(&["0.0.0.0:8080"]), Op::Bind, "0.0.0.0:8081".parse().unwrap()));
        // The command's own server on a port the kernel chose: `localhost`.
        let r = inet_report(Op::Connect, "127.0.0.1:43567".parse().unwrap(), true);
        assert!(r.starts_with("sbx: blocked connect to 127.0.0.1:43567 — allow with --allow-net=localhost ("), "{r}");
        let r = inet_report(Op::Connect, "[::1]:43567".parse().unwrap(), true);
        assert!(r.contains("allow with --allow-net=localhost ("), "{r}");
        for (a, own) in [("127.0.0.1:43567", false), ("192.0.2.1:43567", true)] {
            let r = inet_report(Op::Connect, a.parse().unwrap(), own);
            assert!(r.ends_with(&format!("--allow-net={a}")), "{r}");
        }
        assert!(!inet_allowed(&allow(&["0.0.0.0:8080"]), Op::Connect, "127.0.0.1:8080".parse().unwrap()));
        assert_eq!(
            unix_report(Op::Connect, "/tmp/tmux-0/default"),
            "sbx: blocked connect to /tmp/tmux-0/default — allow with --allow-unix=/tmp/tmux-0/default"
        );
        assert_eq!(Op::Connect.denied_errno(), Errno::ECONNREFUSED);
        assert_eq!(Op::Sendmsg.denied_errno(), Errno::EACCES);
    }

    fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        let mut b = ((CMSGHDR_LEN + data.len()) as u64).to_ne_bytes().to_vec();
        b.extend_from_slice(&level.to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(data);
        while b.len() % 8 != 0 {
            b.push(0);
        }
        b
    }

    #[test]
    fn cmsgs_are_walked_like_the_kernel() {
        let fds: Vec<u8> = [3i32, 4, 5].iter().flat_map(|f| f.to_ne_bytes()).collect();
        let mut buf = cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &fds);
        buf.extend(cmsg(libc::SOL_IP, libc::IP_TOS, &[0; 4]));
        buf.extend(cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &[0; 12]));
        buf.extend(cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &7i32.to_ne_bytes()));
        let fixes = walk_cmsgs(&buf).unwrap();
        assert_eq!(
            fixes,
            [
                CmsgFix::Rights { at: 16, count: 3 },
                CmsgFix::Credentials { at: 32 + 24 + 16 },
                CmsgFix::Rights { at: 32 + 24 + 32 + 16, count: 1 }
            ]
        );
        // Trailing bytes shorter than a header are ignored, as the kernel does.
        let mut short = buf.clone();
        short.extend_from_slice(&[1; 15]);
        assert_eq!(walk_cmsgs(&short).unwrap().len(), 3);
        // A header claiming more than the buffer holds, or less than itself: EINVAL.
        let mut bad = cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &fds);
        bad[..8].copy_from_slice(&100u64.to_ne_bytes());
        assert_eq!(walk_cmsgs(&bad), Err(Errno::EINVAL));
        bad[..8].copy_from_slice(&8u64.to_ne_bytes());
        assert_eq!(walk_cmsgs(&bad), Err(Errno::EINVAL));
        let creds = cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &[0; 8]);
        assert_eq!(walk_cmsgs(&creds), Err(Errno::EINVAL));
        assert_eq!(walk_cmsgs(&[]), Ok(vec![]));
    }

    #[test]
    fn msghdr_layout() {
        let mut b = [0u8; MSGHDR_LEN];
        b[..8].copy_from_slice(&0x1000u64.to_ne_bytes());
        b[8..12].copy_from_slice(&200u32.to_ne_bytes());
        b[16..24].copy_from_slice(&0x2000u64.to_ne_bytes());
        b[24..32].copy_from_slice(&2u64.to_ne_bytes());
        b[32..40].copy_from_slice(&0x3000u64.to_ne_bytes());
        b[40..48].copy_from_slice(&64u64.to_ne_bytes());
        let m = MsgHdr::parse(&b);
        assert_eq!((m.name, m.iov, m.iovlen, m.control, m.controllen), (0x1000, 0x2000, 2, 0x3000, 64));
        assert_eq!(m.name_len(), Ok(SOCKADDR_MAX), "long names are truncated like the kernel does");
        assert_eq!(MsgHdr { namelen: u32::MAX, name: 1, ..m }.name_len(), Err(Errno::EINVAL));
        assert_eq!(MsgHdr { name: 0, ..m }.name_len(), Ok(0));
        assert_eq!(std::mem::size_of::<libc::msghdr>(), MSGHDR_LEN);
        assert_eq!(std::mem::size_of::<libc::mmsghdr>(), MMSGHDR_LEN);
        let iov: Vec<u8> = [0x10u64, 5, 0x20, u64::MAX].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(parse_iovecs(&iov), Err(Errno::EINVAL));
        assert_eq!(parse_iovecs(&iov[..16]), Ok(vec![(0x10, 5)]));
    }
}

//! The system's nameservers, read from /etc/resolv.conf the way glibc reads
//! them: the first three `nameserver` lines (IPv4 or IPv6, port 53), and
//! 127.0.0.1 when there is none; `options timeout:N attempts:N` with glibc's
//! defaults (5 s, 2) and caps (30 s, 5). The `RES_OPTIONS` environment
//! variable is not read: it is the child's to set, not sbx's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::path::Path;
use std::time::Duration;

/// Where glibc and musl read their resolver configuration.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// glibc's MAXNS: nameservers past the third are ignored.
pub const MAX_NAMESERVERS: usize = 3;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_TIMEOUT_SECS: u64 = 30;
const DEFAULT_ATTEMPTS: u32 = 2;
const MAX_ATTEMPTS: u32 = 5;

/// The servers queries are forwarded to, and how patiently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Tried in order.
    pub servers: Vec<SocketAddr>,
    /// How long to wait for one server's answer.
    pub timeout: Duration,
    /// How many rounds over all servers.
    pub attempts: u32,
}

impl Upstream {
    /// The given servers, with glibc's default timeout and attempts.
    pub fn new(servers: Vec<SocketAddr>) -> Self {
        Self { servers, timeout: DEFAULT_TIMEOUT, attempts: DEFAULT_ATTEMPTS }
    }

    /// From /etc/resolv.conf (an unreadable file counts as an empty one, as
    /// it does for glibc).
    pub fn system() -> Self {
        Self::from_file(Path::new(RESOLV_CONF))
    }

    pub fn from_file(path: &Path) -> Self {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(&String::from_utf8_lossy(&bytes)),
            Err(err) => {
                tracing::debug!("reading {}: {err}; using 127.0.0.1 as the nameserver", path.display());
                Self::parse("")
            }
        }
    }

    /// Parses resolv.conf text.
    pub fn parse(text: &str) -> Self {
        let mut upstream = Self::new(Vec::new());
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    if let Some(addr) = words.next().and_then(parse_nameserver) {
                        if upstream.servers.len() < MAX_NAMESERVERS {
                            upstream.servers.push(addr);
                        }
                    }
                }
                Some("options") => {
                    for option in words {
                        if let Some(n) = option.strip_prefix("timeout:").and_then(|n| n.parse::<u64>().ok()) {
                            upstream.timeout = Duration::from_secs(n.clamp(1, MAX_TIMEOUT_SECS));
                        } else if let Some(n) = option.strip_prefix("attempts:").and_then(|n| n.parse::<u32>().ok()) {
                            upstream.attempts = n.clamp(1, MAX_ATTEMPTS);
                        }
                    }
                }
                _ => {}
            }
        }
        if upstream.servers.is_empty() {
            upstream.servers.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
        }
        upstream
    }
}

/// The nameservers the command's resolver will use (from /etc/resolv.conf),
/// each on port 53: a connect or send to one of them is a DNS query.
pub fn nameservers() -> Vec<SocketAddr> {
    Upstream::system().servers
}

/// `1.2.3.4`, `2001:db8::1` or `fe80::1%2` (a numeric scope only; a named
/// one such as `%eth0` is skipped).
fn parse_nameserver(text: &str) -> Option<SocketAddr> {
    match text.split_once('%') {
        None => text.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)),
        Some((ip, scope)) => {
            let ip: Ipv6Addr = ip.parse().ok()?;
            let scope: u32 = scope.parse().ok()?;
            Some(SocketAddr::V6(SocketAddrV6::new(ip, 53, 0, scope)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn nameservers_in_order_first_three_port_53() {
        let up = Upstream::parse(
            "# comment\nsearch example.com\nnameserver 10.0.0.1\nnameserver 2001:db8::1\n\
             nameserver   127.0.0.53  \nnameserver 10.0.0.4\n",
        );
        assert_eq!(up.servers, vec![addr("10.0.0.1:53"), addr("[2001:db8::1]:53"), addr("127.0.0.53:53")]);
        assert_eq!((up.timeout, up.attempts), (Duration::from_secs(5), 2));
    }

    #[test]
    fn no_nameserver_means_loopback() {
        assert_eq!(Upstream::parse("").servers, vec![addr("127.0.0.1:53")]);
        assert_eq!(Upstream::parse("nameserver bogus\nnameserver\n").servers, vec![addr("127.0.0.1:53")]);
    }

    #[test]
    fn options_timeout_and_attempts_with_glibc_caps() {
        let up = Upstream::parse("options ndots:2 timeout:1 attempts:3\nnameserver 10.0.0.1\n");
        assert_eq!((up.timeout, up.attempts), (Duration::from_secs(1), 3));
        let up = Upstream::parse("options timeout:100 attempts:9\noptions timeout:0\n");
        assert_eq!((up.timeout, up.attempts), (Duration::from_secs(1), 5));
        let up = Upstream::parse("options timeout:x attempts:\n");
        assert_eq!((up.timeout, up.attempts), (Duration::from_secs(5), 2));
    }

    #[test]
    fn scoped_ipv6() {
        let up = Upstream::parse("nameserver fe80::1%2\nnameserver fe80::1%eth0\n");
        assert_eq!(up.servers, vec![SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 53, 0, 2))]);
    }

    #[test]
    fn missing_file_means_loopback() {
        let up = Upstream::from_file(Path::new("/nonexistent/resolv.conf"));
        assert_eq!(up.servers, vec![addr("127.0.0.1:53")]);
    }
}

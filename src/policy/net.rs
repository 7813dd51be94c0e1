//! `--allow-net` entries: parsing and matching, platform-neutral and pure.
//!
//! Guarantees: an entry either parses into exactly what it says or is refused
//! with the reason; nothing is guessed or widened. IP forms (addresses, CIDR
//! ranges, `localhost`) match socket addresses with [`NetRule::allows`];
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are matched as the IPv4
//! address they reach. The unspecified address (`0.0.0.0:PORT`, `[::]:PORT`)
//! is a port to listen on, matched with [`NetRule::allows_bind`]. Name forms (`example.com`, `*.example.com`) parse but
//! never match an address here: they are enforced by DNS filtering
//! (`crate::dns`), which learns the addresses the names resolve to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An address range: `addr/prefix`, `addr` having no bits set past the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `addr/prefix`; `None` if the prefix is too long or host bits are set.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max || masked(addr, prefix) != addr {
            return None;
        }
        Some(Self { addr, prefix })
    }

    /// The single address `addr`.
    pub fn host(addr: IpAddr) -> Self {
        let addr = canonical_ip(addr);
        Self { addr, prefix: if addr.is_ipv4() { 32 } else { 128 } }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        ip.is_ipv4() == self.addr.is_ipv4() && masked(ip, self.prefix) == self.addr
    }

    fn is_host(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() { write!(f, "{}", self.addr) } else { write!(f, "{}/{}", self.addr, self.prefix) }
    }
}

fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
            IpAddr::V4(Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix.min(128))) };
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

/// The address a connection to `ip` really reaches: IPv4-mapped IPv6
/// addresses are their IPv4 address.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Whether `ip` is a loopback address (127.0.0.0/8, ::1, or mapped 127/8).
pub fn is_loopback(ip: IpAddr) -> bool {
    canonical_ip(ip).is_loopback()
}

/// What an entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// `*`: all network.
    Any,
    /// An address or CIDR range.
    Net(IpNet),
    /// `localhost`: 127.0.0.0/8 and ::1.
    Localhost,
    /// A DNS name, lower-case, without a trailing dot.
    Name(String),
    /// `*.NAME`: any subdomain of NAME, not NAME itself.
    Subdomains(String),
}

/// One parsed `--allow-net` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetRule {
    pub host: Host,
    /// `None`: every port.
    pub port: Option<u16>,
}

impl NetRule {
    /// Parses one `--allow-net` value; the error says what is wrong with it.
    /// A pasted URL is read as the `HOST:PORT` it reaches ([`url_host`]).
    pub fn parse(entry: &str) -> Result<Self, String> {
        match url_host(entry)? {
            Some(host_port) => Self::parse_host(&host_port),
            None => Self::parse_host(entry),
        }
    }

    fn parse_host(entry: &str) -> Result<Self, String> {
        if entry.is_empty() {
            return Err("an empty entry names no host".into());
        }
        if entry == "*" {
            return Ok(Self { host: Host::Any, port: None });
        }
        if let Some(rest) = entry.strip_prefix('[') {
            // [IPv6] or [IPv6]:PORT or [IPv6/LEN]:PORT
            let Some((inside, after)) = rest.split_once(']') else {
                return Err("`[` without a closing `]` (write IPv6 addresses as [2001:db8::1]:443)".into());
            };
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(p) => Some(parse_port(p)?),
                    None => return Err(format!("unexpected {after:?} after `]` (expected `:PORT`)")),
                },
            };
            let net = parse_ip_or_cidr(inside)?;
            if net.addr.is_ipv4() && !inside.contains(':') {
                return Err("brackets are only for IPv6 addresses; write IPv4 as 1.2.3.4:80".into());
            }
            return Ok(Self { host: Host::Net(net), port });
        }
        if entry.matches(':').count() >= 2 {
            // A bare IPv6 address or range: no port possible without brackets.
            if entry.contains('%') {
                return Err("IPv6 zone ids (%…) are not supported".into());
            }
            return parse_ip_or_cidr(entry).map(|net| Self { host: Host::Net(net), port: None });
        }
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(parse_port(port)?)),
            None => (entry, None),
        };
        if host.is_empty() {
            return Err("no host before the port".into());
        }
        if host == "*" {
            let port = port.map_or_else(|| "PORT".to_owned(), |p| p.to_string());
            return Err(format!(
                "`*` (all network) takes no port; to listen on port {port} on all interfaces use \
                 --allow-net=0.0.0.0:{port}, to connect to every host on port {port} use \
                 --allow-net=0.0.0.0/0:{port} --allow-net=[::/0]:{port}"
            ));
        }
        // `localhost.` is the same name (as `example.com.` is `example.com`),
        // so it is the loopback entry too, not a DNS name.
        if host.strip_suffix('.').unwrap_or(host).eq_ignore_ascii_case("localhost") {
            return Ok(Self { host: Host::Localhost, port });
        }
        if host.contains('/') || looks_numeric(host) {
            return parse_ip_or_cidr(host).map(|net| Self { host: Host::Net(net), port });
        }
        if let Some(domain) = host.strip_prefix("*.") {
            let name = parse_name(domain)?;
            return Ok(Self { host: Host::Subdomains(name), port });
        }
        parse_name(host).map(|name| Self { host: Host::Name(name), port })
    }

    /// Whether this entry lets the command reach `addr`. Name entries never
    /// do, nor listening entries ([`NetRule::is_listen`]).
    pub fn allows(&self, addr: SocketAddr) -> bool {
        if self.port.is_some_and(|p| p != addr.port()) || self.is_listen() {
            return false;
        }
        let ip = canonical_ip(addr.ip());
        match &self.host {
            Host::Any => true,
            Host::Net(net) => net.contains(ip),
            Host::Localhost => match ip {
                IpAddr::V4(v4) => v4.is_loopback(),
                IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
            },
            Host::Name(_) | Host::Subdomains(_) => false,
        }
    }

    /// Whether this entry lets the command bind (and listen on) `addr`: an
    /// entry for the unspecified address, `0.0.0.0[:PORT]` or `[::][:PORT]`,
    /// allows binding any local address of either family on its port (all
    /// interfaces), and nothing else. What every allow-list allows besides
    /// (loopback, port 0) is the supervisor's rule, not an entry's.
    pub fn allows_bind(&self, addr: SocketAddr) -> bool {
        self.is_listen() && self.port.is_none_or(|p| p == addr.port())
    }

    /// Whether this entry names the unspecified address (`0.0.0.0`, `::`):
    /// a port to listen on, on all interfaces.
    pub fn is_listen(&self) -> bool {
        matches!(&self.host, Host::Net(net) if net.is_host() && net.addr.is_unspecified())
    }

    /// Whether this entry is a DNS name (which needs DNS filtering to enforce).
    pub fn is_name(&self) -> bool {
        matches!(self.host, Host::Name(_) | Host::Subdomains(_))
    }
}

impl fmt::Display for NetRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            Host::Any => "*".to_string(),
            Host::Net(net) if net.addr.is_ipv6() && self.port.is_some() => format!("[{net}]"),
            Host::Net(net) => net.to_string(),
            Host::Localhost => "localhost".to_string(),
            Host::Name(name) => name.clone(),
            Host::Subdomains(name) => format!("*.{name}"),
        };
        match self.port {
            Some(port) => write!(f, "{host}:{port}"),
            None => f.write_str(&host),
        }
    }
}

/// Whether any rule allows `addr`.
pub fn any_allows(rules: &[NetRule], addr: SocketAddr) -> bool {
    rules.iter().any(|r| r.allows(addr))
}

/// The `--allow-net` value that would allow binding `addr`. Every
/// allow-list lets the command bind loopback addresses and port 0, so those
/// need only `localhost[:PORT]`; a fixed port on another address needs
/// listening on that port on all interfaces, written in `addr`'s family.
pub fn bind_suggestion(addr: SocketAddr) -> String {
    let port = addr.port();
    match canonical_ip(addr.ip()) {
        _ if port == 0 => "localhost".to_owned(),
        ip if ip.is_loopback() => format!("localhost:{port}"),
        IpAddr::V4(_) => format!("0.0.0.0:{port}"),
        IpAddr::V6(_) => format!("[::]:{port}"),
    }
}

/// The `--allow-net` value that would allow exactly `addr`.
pub fn suggestion(addr: SocketAddr) -> String {
    match canonical_ip(addr.ip()) {
        IpAddr::V4(v4) => format!("{v4}:{}", addr.port()),
        IpAddr::V6(v6) => format!("[{v6}]:{}", addr.port()),
    }
}

/// URL schemes whose port sbx fills in when a URL names none.
pub const URL_SCHEMES: &[(&str, u16)] =
    &[("http", 80), ("https", 443), ("ws", 80), ("wss", 443), ("ssh", 22), ("git", 9418)];

/// The `HOST:PORT` a pasted URL names, or `None` if `entry` is no URL.
/// `SCHEME://[USER@]HOST[:PORT][/PATH][?QUERY][#FRAGMENT]`: the userinfo,
/// path, query and fragment are dropped and a known scheme's port filled in
/// (`https://registry.example.com/` is `registry.example.com:443`); an
/// unknown scheme is refused with the entry to write instead. Without a
/// scheme, `HOST[:PORT]/PATH` (`registry.example.com/`) loses its path,
/// unless HOST is an IP address, where `/` begins a prefix length.
fn url_host(entry: &str) -> Result<Option<String>, String> {
    let Some((scheme, rest)) = entry.split_once("://") else {
        let Some((before, _)) = entry.split_once('/') else { return Ok(None) };
        let ip_form = before.starts_with('[')
            || before.matches(':').count() >= 2
            || looks_numeric(before)
            || before.parse::<IpAddr>().is_ok();
        return Ok((!ip_form).then(|| before.to_owned()));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if host_port.is_empty() {
        return Err(format!("the URL {entry:?} names no host"));
    }
    // The port after the host: after `]` for an IPv6 address.
    let has_port = match host_port.rsplit_once(']') {
        Some((_, after)) => after.starts_with(':'),
        None => host_port.contains(':'),
    };
    let known = URL_SCHEMES.iter().find(|(s, _)| s.eq_ignore_ascii_case(scheme)).map(|&(_, port)| port);
    match known {
        Some(_) if has_port => Ok(Some(host_port.to_owned())),
        Some(port) => Ok(Some(format!("{host_port}:{port}"))),
        None => {
            let names: Vec<String> = URL_SCHEMES.iter().map(|(s, _)| format!("{s}://")).collect();
            let instead = if has_port { host_port.to_owned() } else { format!("{host_port}:PORT") };
            Err(format!(
                "sbx does not know the port of {scheme}:// URLs (only of {}); use --allow-net={instead}{}",
                names.join(", "),
                if has_port { "" } else { " with the port the command connects to" }
            ))
        }
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    if text.is_empty() {
        return Err("empty port after `:`".into());
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad port {text:?} (must be a number 1-65535)"));
    }
    match text.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        _ => Err(format!("bad port {text} (must be 1-65535)")),
    }
}

fn parse_ip_or_cidr(text: &str) -> Result<IpNet, String> {
    let (addr_text, prefix) = match text.split_once('/') {
        Some((a, p)) => {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3 {
                return Err(format!("bad prefix length {p:?} in {text} (a number: 0-32 for IPv4, 0-128 for IPv6)"));
            }
            (a, Some(p.parse::<u8>().map_err(|_| format!("prefix length {p} in {text} is too long"))?))
        }
        None => (text, None),
    };
    if addr_text.contains('%') {
        return Err("IPv6 zone ids (%…) are not supported".into());
    }
    let addr: IpAddr = addr_text.parse().map_err(|_| {
        if addr_text.contains(':') {
            format!("{addr_text} is not a valid IPv6 address")
        } else {
            format!("{addr_text} is not a valid IPv4 address")
        }
    })?;
    let Some(prefix) = prefix else { return Ok(IpNet::host(addr)) };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(format!("prefix length /{prefix} is too long for {addr_text} (at most /{max})"));
    }
    // A mapped IPv6 range is the IPv4 range it reaches.
    let (addr, prefix) = match addr {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() && prefix >= 96 => (canonical_ip(addr), prefix - 96),
        other => (other, prefix),
    };
    IpNet::new(addr, prefix).ok_or_else(|| {
        format!("{text} has bits set past the /{prefix} prefix; did you mean {}/{prefix}?", masked(addr, prefix))
    })
}

/// Whether `host` can only be meant as an IPv4 address (its last label is
/// numeric: no top-level domain is).
fn looks_numeric(host: &str) -> bool {
    host.rsplit('.').next().is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_name(text: &str) -> Result<String, String> {
    let text = text.strip_suffix('.').unwrap_or(text);
    if text.is_empty() {
        return Err("empty host name".into());
    }
    if text.len() > 253 {
        return Err(format!("host name is {} characters long (at most 253)", text.len()));
    }
    if text.contains('*') {
        return Err("`*` is only allowed as the whole first label (*.example.com) or alone (all network)".into());
    }
    for label in text.split('.') {
        if label.is_empty() {
            return Err(format!("empty label in {text:?} (two dots in a row, or a leading dot)"));
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} is {} characters long (at most 63)", label.len()));
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(format!("invalid character {c:?} in host name {text:?} (letters, digits and `-` only)"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with `-`"));
        }
    }
    if looks_numeric(text) {
        return Err(format!("{text} is not a valid IPv4 address"));
    }
    Ok(text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> NetRule {
        NetRule::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        match NetRule::parse(s) {
            Ok(r) => panic!("{s} parsed as {r:?}"),
            Err(e) => e,
        }
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(rule("*"), NetRule { host: Host::Any, port: None });
        assert_eq!(rule("example.com"), NetRule { host: Host::Name("example.com".into()), port: None });
        assert_eq!(rule("Example.COM:443"), NetRule { host: Host::Name("example.com".into()), port: Some(443) });
        assert_eq!(rule("example.com."), NetRule { host: Host::Name("example.com".into()), port: None });
        assert_eq!(
            rule("*.example.com:8443"),
            NetRule { host: Host::Subdomains("example.com".into()), port: Some(8443) }
        );
        assert_eq!(rule("1.2.3.4"), NetRule { host: Host::Net(IpNet::host("1.2.3.4".parse().unwrap())), port: None });
        assert_eq!(rule("1.2.3.4:8080").port, Some(8080));
        assert_eq!(rule("[2001:db8::1]:443").port, Some(443));
        assert_eq!(rule("[2001:db8::1]").port, None);
        assert_eq!(
            rule("2001:db8::1"),
            NetRule { host: Host::Net(IpNet::host("2001:db8::1".parse().unwrap())), port: None }
        );
        assert_eq!(rule("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(rule("fd00::/8").to_string(), "fd00::/8");
        assert_eq!(rule("10.0.0.0/8:22").to_string(), "10.0.0.0/8:22");
        assert_eq!(rule("[fd00::/8]:22").to_string(), "[fd00::/8]:22");
        assert_eq!(rule("localhost"), NetRule { host: Host::Localhost, port: None });
        assert_eq!(rule("LOCALHOST:5432"), NetRule { host: Host::Localhost, port: Some(5432) });
        assert_eq!(rule("localhost."), NetRule { host: Host::Localhost, port: None });
        assert_eq!(rule("LocalHost.:80"), NetRule { host: Host::Localhost, port: Some(80) });
        assert_eq!(rule("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(rule("::/0").to_string(), "::/0");
        assert!(rule("example.com").is_name() && rule("*.example.com").is_name());
        assert!(!rule("localhost").is_name() && !rule("1.2.3.4").is_name() && !rule("*").is_name());
    }

    /// Found by the `allow_net_entry` fuzz target: `localhost.` parsed as the
    /// DNS name `localhost` but printed as `localhost`, the loopback entry.
    #[test]
    fn every_entry_prints_as_an_entry_that_parses_back_to_it() {
        for entry in ["localhost.", "LOCALHOST.:5432", "*.localhost", "example.com.", "::ffff:10.0.0.0/104", "[::1]:22"]
        {
            let r = rule(entry);
            assert_eq!(rule(&r.to_string()), r, "{entry} prints as {r}");
        }
    }

    #[test]
    fn pasted_urls_are_their_host_and_port() {
        let same = |url: &str, entry: &str| assert_eq!(rule(url), rule(entry), "{url} is {entry}");
        same("https://registry.example.com/", "registry.example.com:443");
        same("HTTPS://Registry.Example.COM", "registry.example.com:443");
        same("http://registry.example.com/npm/?x=1#top", "registry.example.com:80");
        same("http://host.test:8080/path", "host.test:8080");
        same("https://user:secret@registry.example.com:8443/", "registry.example.com:8443");
        same("wss://host.test/socket", "host.test:443");
        same("ws://host.test", "host.test:80");
        same("ssh://git@host.test/repo.git", "host.test:22");
        same("git://host.test/repo.git", "host.test:9418");
        same("http://127.0.0.1:8080/", "127.0.0.1:8080");
        same("http://127.0.0.1/", "127.0.0.1:80");
        same("http://[::1]:8080/", "[::1]:8080");
        same("https://[2001:db8::1]/", "[2001:db8::1]:443");
        same("http://localhost:3000/api", "localhost:3000");
        same("https://*.example.com/", "*.example.com:443");
        same("https://registry.example.com?q", "registry.example.com:443");
        // Without a scheme: the path goes, the port (if any) stays.
        same("registry.example.com/", "registry.example.com");
        same("registry.example.com/npm/", "registry.example.com");
        same("registry.example.com:8443/", "registry.example.com:8443");
        same("127.0.0.1:8080/", "127.0.0.1:8080");
        same("localhost/", "localhost");
        // A `/` after an IP address is still a prefix length.
        same("10.0.0.0/8:22", "10.0.0.0/8:22");
        same("[fd00::/8]:22", "[fd00::/8]:22");
        assert_eq!(rule("fd00::/8").to_string(), "fd00::/8");
    }

    #[test]
    fn refuses_urls_it_cannot_read_with_the_entry_to_write() {
        let e = err("ftp://files.example.com/pub/");
        assert!(
            e.contains("ftp://")
                && e.ends_with("use --allow-net=files.example.com:PORT with the port the command connects to"),
            "{e}"
        );
        let e = err("postgres://user@db.test:5432/app");
        assert!(e.ends_with("use --allow-net=db.test:5432"), "{e}");
        for (entry, why) in [
            ("https:///path", "names no host"),
            ("https://user@/", "names no host"),
            ("http://host.test:http/", "bad port"),
            ("http://host.test:0/", "1-65535"),
            ("https://exa_mple.com/", "invalid character"),
            // An IP address with a trailing `/` is a prefix length left out, not a path.
            ("10.0.0.0/", "prefix"),
        ] {
            assert!(err(entry).contains(why), "{entry}: {}", err(entry));
        }
    }

    #[test]
    fn unspecified_address_entries_allow_listening_on_their_port() {
        for entry in ["0.0.0.0:8080", "[::]:8080", "http://0.0.0.0:8080/", "[::ffff:0.0.0.0]:8080"] {
            let r = rule(entry);
            assert!(r.is_listen(), "{entry}");
            for addr in ["0.0.0.0:8080", "[::]:8080", "192.0.2.7:8080", "[2001:db8::7]:8080", "[::ffff:0.0.0.0]:8080"] {
                assert!(r.allows_bind(sa(addr)), "{entry} allows binding {addr}");
            }
            assert!(!r.allows_bind(sa("0.0.0.0:8081")), "{entry} binds only its port");
            for addr in ["127.0.0.1:8080", "192.0.2.7:8080", "0.0.0.0:8080", "[::]:8080"] {
                assert!(!r.allows(sa(addr)), "{entry} allows no connect to {addr}");
            }
        }
        assert!(rule("0.0.0.0").allows_bind(sa("0.0.0.0:1234")), "no port: every port");
        for entry in ["0.0.0.0/0:8080", "[::/0]:8080", "127.0.0.1:8080", "localhost:8080", "example.com:8080"] {
            assert!(!rule(entry).is_listen() && !rule(entry).allows_bind(sa("0.0.0.0:8080")), "{entry}");
        }
        let e = err("*:8080");
        assert!(e.contains("--allow-net=0.0.0.0:8080") && e.contains("--allow-net=0.0.0.0/0:8080"), "{e}");
        for addr in ["0.0.0.0:8080", "192.0.2.7:8080", "[::]:8080", "[::ffff:192.0.2.7]:8080"] {
            let s = bind_suggestion(sa(addr));
            assert!(rule(&s).allows_bind(sa(addr)), "{addr} → {s}");
        }
        assert_eq!(bind_suggestion(sa("[::]:8080")), "[::]:8080");
        assert_eq!(bind_suggestion(sa("[::ffff:0.0.0.0]:8080")), "0.0.0.0:8080");
        // What every allow-list allows: the harmless entry that makes one.
        assert_eq!(bind_suggestion(sa("127.0.0.1:0")), "localhost");
        assert_eq!(bind_suggestion(sa("0.0.0.0:0")), "localhost");
        assert_eq!(bind_suggestion(sa("127.0.0.1:5432")), "localhost:5432");
        assert_eq!(bind_suggestion(sa("[::1]:5432")), "localhost:5432");
    }

    #[test]
    fn mapped_ipv6_entries_are_their_ipv4() {
        assert_eq!(rule("::ffff:127.0.0.1").to_string(), "127.0.0.1");
        assert_eq!(rule("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn refuses_malformed_entries_with_the_reason() {
        assert!(err("1.2.3.4:0").contains("1-65535"));
        assert!(err("1.2.3.4:65536").contains("1-65535"));
        assert!(err("1.2.3.4:http").contains("bad port"));
        assert!(err("example.com:").contains("empty port"));
        assert!(err(":80").contains("no host"));
        assert!(err("10.0.0.0/33").contains("too long"));
        assert!(err("fd00::/129").contains("too long"));
        assert!(err("10.0.0.0/").contains("prefix"));
        assert!(err("10.0.0.1/8").contains("did you mean 10.0.0.0/8"));
        assert!(err("a..com").contains("empty label"));
        assert!(err(".a.com").contains("empty label"));
        assert!(err(&format!("{}.com", "a".repeat(64))).contains("at most 63"));
        assert!(err(&format!("{}.com", "abcdefgh.".repeat(32))).contains("at most 253"));
        assert!(err("exa_mple.com").contains("invalid character"));
        assert!(err("ex ample.com").contains("invalid character"));
        assert!(err("-a.com").contains("starts or ends"));
        assert!(err("a.*.com").contains("`*`"));
        assert!(err("*a.com").contains("`*`"));
        assert!(err("**.com").contains("`*`"));
        assert!(err("*.*.com").contains("`*`"));
        assert!(err("*:443").contains("takes no port"));
        assert!(err("1.2.3.256").contains("not a valid IPv4"));
        assert!(err("1.2.3").contains("not a valid IPv4"));
        assert!(err("[::1").contains("closing"));
        assert!(err("[::1]443").contains("expected `:PORT`"));
        assert!(err("[1.2.3.4]:80").contains("only for IPv6"));
        assert!(err("fe80::1%eth0").contains("zone"));
        assert!(err("2001:db8::g").contains("IPv6"));
        assert!(err("").contains("empty"));
    }

    #[test]
    fn matches_addresses_and_ports() {
        let r = rule("127.0.0.1:8080");
        assert!(r.allows(sa("127.0.0.1:8080")));
        assert!(!r.allows(sa("127.0.0.1:8081")));
        assert!(!r.allows(sa("127.0.0.2:8080")));
        assert!(r.allows(sa("[::ffff:127.0.0.1]:8080")), "mapped addresses reach the IPv4 host");
        let r = rule("127.0.0.0/30");
        assert!(r.allows(sa("127.0.0.3:1")));
        assert!(!r.allows(sa("127.0.0.4:1")));
        assert!(!r.allows(sa("[::1]:1")));
        let r = rule("localhost:5432");
        assert!(r.allows(sa("127.1.2.3:5432")) && r.allows(sa("[::1]:5432")));
        assert!(!r.allows(sa("[::2]:5432")) && !r.allows(sa("127.0.0.1:5433")) && !r.allows(sa("0.0.0.0:5432")));
        let r = rule("fd00::/8");
        assert!(r.allows(sa("[fd12::1]:1")) && !r.allows(sa("[fe00::1]:1")));
        let r = rule("::/0");
        assert!(r.allows(sa("[2001:db8::1]:1")));
        assert!(!r.allows(sa("1.2.3.4:1")), "::/0 is every IPv6 address, not IPv4 too");
        assert!(!r.allows(sa("[::ffff:1.2.3.4]:1")));
        assert!(rule("*").allows(sa("8.8.8.8:53")));
        assert!(!rule("example.com").allows(sa("93.184.215.14:80")), "names never match by address");
        assert!(!rule("*.example.com").allows(sa("93.184.215.14:80")));
    }

    #[test]
    fn suggestions_round_trip() {
        for a in ["127.0.0.2:8080", "[::1]:443", "[::ffff:10.1.2.3]:22"] {
            let s = suggestion(sa(a));
            assert!(rule(&s).allows(sa(a)), "{a} → {s}");
        }
        assert_eq!(suggestion(sa("[::ffff:10.1.2.3]:22")), "10.1.2.3:22");
    }

    #[test]
    fn loopback_includes_mapped() {
        assert!(is_loopback("127.9.9.9".parse().unwrap()));
        assert!(is_loopback("::1".parse().unwrap()));
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback("0.0.0.0".parse().unwrap()));
        assert!(!is_loopback("::".parse().unwrap()));
    }
}

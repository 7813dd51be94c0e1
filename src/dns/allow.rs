//! Which host names the command may look up and reach ([`NameRules`]), and
//! which addresses those names currently resolve to ([`ResolvedAddrs`]).
//! Pure and platform-neutral.
//!
//! Guarantees:
//! - Names are matched case-insensitively, without the trailing dot.
//!   `example.com` matches only itself; `*.example.com` matches every name
//!   below it, at any depth, and never `example.com` itself.
//! - An address is granted only while a name it was recorded for is still
//!   fresh: a record lives its TTL, but at least [`TTL_FLOOR`] (so a program
//!   that connects a little after looking up, or is given TTL 0, still can)
//!   and at most [`TTL_CAP`] (so an address a name moved away from is not
//!   reachable for days). Expiry only stops new connects; it cannot end a
//!   connection already made.
//! - The table holds at most [`MAX_RECORDS`] (address, name) pairs; past
//!   that, expired ones go first, then those expiring soonest.
//! - IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are the IPv4 address.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Records live at least this long, whatever their TTL.
pub const TTL_FLOOR: Duration = Duration::from_secs(30);
/// Records live at most this long, whatever their TTL.
pub const TTL_CAP: Duration = Duration::from_secs(3600);
/// The most (address, name) pairs [`ResolvedAddrs`] keeps.
pub const MAX_RECORDS: usize = 4096;

/// The ports a connect may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSet {
    /// Every port (an entry without `:PORT`).
    Any,
    /// Only these.
    Only(BTreeSet<u16>),
}

impl PortSet {
    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        match self {
            PortSet::Any => true,
            PortSet::Only(ports) => ports.contains(&port),
        }
    }

    /// The set for one entry: `None` (no `:PORT`) is every port.
    pub fn from_port(port: Option<u16>) -> Self {
        match port {
            None => PortSet::Any,
            Some(port) => PortSet::Only(BTreeSet::from([port])),
        }
    }

    /// Adds `other`'s ports to this set.
    pub fn extend(&mut self, other: &PortSet) {
        match (&mut *self, other) {
            (PortSet::Any, _) => {}
            (_, PortSet::Any) => *self = PortSet::Any,
            (PortSet::Only(mine), PortSet::Only(theirs)) => mine.extend(theirs),
        }
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSet::Any => f.write_str("any port"),
            PortSet::Only(ports) => {
                let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                write!(f, "port {}", list.join(","))
            }
        }
    }
}

/// A name pattern from `--allow-net`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePattern {
    /// `example.com`: this name only.
    Exact(String),
    /// `*.example.com`: every name below `example.com`, not `example.com`.
    Below(String),
    /// Every name: only for `sbx learn`, which observes and enforces
    /// nothing (never parsed from `--allow-net`).
    Any,
}

impl NamePattern {
    /// Parses `example.com`, `Example.COM.` or `*.example.com`.
    pub fn parse(text: &str) -> Result<Self, BadPattern> {
        let bad = |why: &'static str| BadPattern { pattern: text.to_owned(), why };
        if text.parse::<IpAddr>().is_ok() {
            return Err(bad("it is an address, not a name"));
        }
        let (below, name) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if name.contains('*') {
            return Err(bad("`*` may only stand alone as the first label, as in *.example.com"));
        }
        let name = normalize_name(name).ok_or_else(|| {
            bad("a host name is made of labels of 1 to 63 letters, digits, '-' or '_', separated by dots")
        })?;
        Ok(if below { NamePattern::Below(name) } else { NamePattern::Exact(name) })
    }

    /// Whether `name` (already normalized) matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NamePattern::Exact(exact) => name == exact,
            NamePattern::Below(parent) => {
                name.len() > parent.len() + 1
                    && name.ends_with(parent.as_str())
                    && name.as_bytes().get(name.len() - parent.len() - 1) == Some(&b'.')
            }
            NamePattern::Any => true,
        }
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamePattern::Exact(name) => f.write_str(name),
            NamePattern::Below(name) => write!(f, "*.{name}"),
            NamePattern::Any => f.write_str("*"),
        }
    }
}

/// A name pattern that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--allow-net={pattern}: not a host name pattern: {why}")]
pub struct BadPattern {
    pub pattern: String,
    pub why: &'static str,
}

/// Lower-case, without one trailing dot, if `name` is a host name: labels of
/// 1 to 63 letters, digits, `-` or `_`, 253 characters at most.
pub fn normalize_name(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then(|| name.to_ascii_lowercase())
}

/// The host of a service lookup (RFC 2782: `_SERVICE._PROTO.HOST`, as apt
/// and SIP clients ask for SRV records): `Some(HOST)`. Allowing HOST allows
/// its service lookups too: their answers name other hosts (each allowed
/// or not on its own), and record no address for HOST.
pub fn service_host(name: &str) -> Option<&str> {
    let (service, rest) = name.split_once('.')?;
    let (proto, host) = rest.split_once('.')?;
    let service_ok = service.len() >= 2 && service.starts_with('_') && service.len() <= 16;
    let proto_ok = ["_tcp", "_udp", "_tls", "_sctp"].contains(&proto);
    (service_ok && proto_ok && !host.contains('_') && !host.is_empty()).then_some(host)
}

/// One `--allow-net` name entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    pub pattern: NamePattern,
    /// `None`: every port.
    pub port: Option<u16>,
}

/// The names the command may look up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameRules {
    entries: Vec<NameEntry>,
}

impl NameRules {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `pattern` (`example.com` or `*.example.com`), reachable on `port`
    /// (`None`: every port).
    pub fn add(&mut self, pattern: &str, port: Option<u16>) -> Result<(), BadPattern> {
        self.entries.push(NameEntry { pattern: NamePattern::parse(pattern)?, port });
        Ok(())
    }

    /// Every name, on every port: for `sbx learn`, which lets the command
    /// look up anything and records the answers.
    pub fn any() -> Self {
        Self { entries: vec![NameEntry { pattern: NamePattern::Any, port: None }] }
    }

    pub fn entries(&self) -> &[NameEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The ports allowed for `name` (any case, trailing dot or not), the
    /// union over every matching entry; `None` if no entry matches.
    pub fn ports_for(&self, name: &str) -> Option<PortSet> {
        let name = normalize_name(name)?;
        let direct = self.direct_ports_for(&name);
        match service_host(&name) {
            Some(host) if direct.is_none() => self.direct_ports_for(host),
            _ => direct,
        }
    }

    /// [`Self::ports_for`] of a normalized name, without its service host.
    fn direct_ports_for(&self, name: &str) -> Option<PortSet> {
        let mut ports: Option<PortSet> = None;
        for entry in self.entries.iter().filter(|e| e.pattern.matches(name)) {
            let entry_ports = PortSet::from_port(entry.port);
            match &mut ports {
                Some(ports) => ports.extend(&entry_ports),
                None => ports = Some(entry_ports),
            }
        }
        ports
    }

    /// Whether the command may look `name` up.
    pub fn allows(&self, name: &str) -> bool {
        self.ports_for(name).is_some()
    }
}

/// What an address is allowed for: the ports, and the names that resolved to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrGrant {
    pub ports: PortSet,
    /// Sorted, each once.
    pub names: Vec<String>,
}

/// The addresses allowed names resolved to, until they expire. Thread-safe.
#[derive(Debug, Default)]
pub struct ResolvedAddrs {
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    by_addr: HashMap<IpAddr, Vec<Record>>,
    len: usize,
}

#[derive(Debug, Clone)]
struct Record {
    name: String,
    ports: PortSet,
    expires: Instant,
}

/// How long a record with `ttl` seconds lives.
pub fn lifetime(ttl: u32) -> Duration {
    Duration::from_secs(u64::from(ttl)).clamp(TTL_FLOOR, TTL_CAP)
}

impl ResolvedAddrs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that allowed `name` resolved to `addrs` with `ttl` seconds,
    /// reachable on `ports`, at `now`. A name recorded again for an address
    /// gets the later expiry and the new ports.
    pub fn record(&self, name: &str, ports: &PortSet, addrs: &[IpAddr], ttl: u32, now: Instant) {
        let name = normalize_name(name).unwrap_or_else(|| name.to_ascii_lowercase());
        let expires = now + lifetime(ttl);
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        for addr in addrs {
            let records = table.by_addr.entry(addr.to_canonical()).or_default();
            match records.iter_mut().find(|r| r.name == name) {
                Some(record) => {
                    record.expires = record.expires.max(expires);
                    record.ports = ports.clone();
                }
                None => {
                    records.push(Record { name: name.clone(), ports: ports.clone(), expires });
                    table.len += 1;
                }
            }
        }
        if table.len > MAX_RECORDS {
            table.shrink(now);
        }
    }

    /// The ports a connect to `addr` may use at `now`, and the names that
    /// allow it; `None` if no fresh record has `addr`.
    pub fn ports_allowed_for(&self, addr: IpAddr, now: Instant) -> Option<AddrGrant> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let mut grant: Option<AddrGrant> = None;
        for record in table.by_addr.get(&addr.to_canonical())?.iter().filter(|r| r.expires > now) {
            match &mut grant {
                Some(grant) => {
                    grant.ports.extend(&record.ports);
                    grant.names.push(record.name.clone());
                }
                None => grant = Some(AddrGrant { ports: record.ports.clone(), names: vec![record.name.clone()] }),
            }
        }
        grant.map(|mut grant| {
            grant.names.sort();
            grant.names.dedup();
            grant
        })
    }

    /// Every name recorded for `addr`, fresh or expired, sorted: what to
    /// call the address in a report.
    pub fn names_for(&self, addr: IpAddr) -> Vec<String> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> =
            table.by_addr.get(&addr.to_canonical()).into_iter().flatten().map(|r| r.name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every name recorded, fresh or expired, sorted.
    pub fn names(&self) -> Vec<String> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = table.by_addr.values().flatten().map(|r| r.name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The fresh addresses recorded for `name` at `now`, sorted.
    pub fn addrs_of(&self, name: &str, now: Instant) -> Vec<IpAddr> {
        let name = normalize_name(name).unwrap_or_else(|| name.to_ascii_lowercase());
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let mut addrs: Vec<IpAddr> = table
            .by_addr
            .iter()
            .filter(|(_, records)| records.iter().any(|r| r.name == name && r.expires > now))
            .map(|(addr, _)| *addr)
            .collect();
        addrs.sort();
        addrs
    }

    /// How many (address, name) pairs are kept, fresh or not.
    pub fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Table {
    /// Drops expired records, then the soonest-expiring ones, down to
    /// [`MAX_RECORDS`] (three quarters of it, so this is not done for every
    /// record added while full).
    fn shrink(&mut self, now: Instant) {
        self.retain(|r| r.expires > now);
        if self.len > MAX_RECORDS {
            let mut expiries: Vec<Instant> = self.by_addr.values().flatten().map(|r| r.expires).collect();
            expiries.sort_unstable();
            let keep_from = expiries.get(self.len - MAX_RECORDS * 3 / 4).copied();
            if let Some(cutoff) = keep_from {
                self.retain(|r| r.expires >= cutoff);
            }
        }
    }

    fn retain(&mut self, keep: impl Fn(&Record) -> bool) {
        let mut len = 0;
        self.by_addr.retain(|_, records| {
            records.retain(&keep);
            len += records.len();
            !records.is_empty()
        });
        self.len = len;
    }
}

#[cfg(test)]
mod tests;

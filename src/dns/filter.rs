//! What the supervisor asks about names: is this a DNS query on its way to a
//! nameserver, where should it go instead, may the command reach this
//! address because an allowed name resolves to it. [`NameFilter`] owns the
//! [`DnsProxy`]; the Linux supervisor (`linux::mediate`) acts on its answers.
//!
//! Guarantees:
//! - An address is granted to a name's ports only while the proxy's table
//!   has a fresh record of an allowed name resolving to it (an answer the
//!   command got through the proxy, or a lookup of sbx's own), or when
//!   /etc/hosts, as read before the command started, gives it to an allowed
//!   name.
//! - On a miss, sbx looks the exact allowed names up again (never the
//!   wildcards: there is no name to ask), each at most once per
//!   [`REFRESH_EVERY`], waiting at most [`REFRESH_WAIT`]; a lookup still
//!   running then records its answer for the next attempt.
//! - Nothing here sends a query about a name the rules do not allow.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::allow::{NameEntry, NamePattern, NameRules};
use super::message;
use super::proxy::{Clock, DnsProxy, ProxyConfig};

/// A name is looked up again on a miss at most this often.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);
/// How long a connect waits for the lookups a miss starts.
pub const REFRESH_WAIT: Duration = Duration::from_secs(3);
/// A name whose query the command sent straight to a nameserver is looked
/// up by sbx at most this often.
pub const SHADOW_EVERY: Duration = Duration::from_secs(5);
/// How long such a send waits for sbx's own lookup.
pub const SHADOW_WAIT: Duration = Duration::from_secs(2);
/// Lookups run at once for one miss.
const PARALLEL_LOOKUPS: usize = 8;
/// Past this many names, a limiter forgets those it would let through again.
const LIMITER_NAMES: usize = 4096;

/// What a datagram on its way to a nameserver asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryVerdict {
    /// A query about this allowed name.
    Allowed(String),
    /// A query about this name, which is not allowed (already reported).
    Denied(String),
    /// Not one query sbx can read.
    Unreadable(String),
}

/// The running name filter: the proxy, the nameservers it stands in for,
/// the /etc/hosts snapshot, and the bookkeeping of sbx's own lookups.
pub struct NameFilter {
    proxy: DnsProxy,
    nameservers: Vec<SocketAddr>,
    /// (address, name) pairs of /etc/hosts as it was at start.
    hosts: Vec<(IpAddr, String)>,
    /// The exact (non-wildcard) allowed names: those sbx can look up itself.
    exact: Vec<String>,
    clock: Clock,
    refreshed: Limiter,
    shadowed: Limiter,
}

impl NameFilter {
    /// Starts the proxy of `config`; the nameservers it stands in for are
    /// its upstream servers. `hosts` is the /etc/hosts snapshot.
    pub fn start(config: ProxyConfig, hosts: Vec<(IpAddr, String)>) -> Result<Arc<Self>> {
        let nameservers = config.upstream.servers.clone();
        let clock = Arc::clone(&config.clock);
        let exact = config
            .rules
            .entries()
            .iter()
            .filter_map(|NameEntry { pattern, .. }| match pattern {
                NamePattern::Exact(name) => Some(name.clone()),
                NamePattern::Below(_) | NamePattern::Any => None,
            })
            .collect::<HashSet<String>>()
            .into_iter()
            .collect();
        let proxy = DnsProxy::start(config)?;
        Ok(Arc::new(Self {
            proxy,
            nameservers,
            hosts,
            exact,
            clock,
            refreshed: Limiter::new(REFRESH_EVERY),
            shadowed: Limiter::new(SHADOW_EVERY),
        }))
    }

    pub fn proxy(&self) -> &DnsProxy {
        &self.proxy
    }

    /// The nameservers whose traffic goes through the filter.
    pub fn nameservers(&self) -> &[SocketAddr] {
        &self.nameservers
    }

    pub fn rules(&self) -> &NameRules {
        self.proxy.rules()
    }

    /// Whether `addr` is a nameserver's DNS port (IPv4-mapped IPv6 is IPv4).
    pub fn is_nameserver(&self, addr: SocketAddr) -> bool {
        let ip = addr.ip().to_canonical();
        self.nameservers.iter().any(|ns| ns.port() == addr.port() && ns.ip().to_canonical() == ip)
    }

    /// Where a socket of the given transport and family that meant to reach
    /// a nameserver goes instead: the proxy's address of that family, or for
    /// an IPv6 socket without a proxy on ::1, its 127.0.0.1 address mapped.
    pub fn redirect(&self, tcp: bool, ipv6_socket: bool) -> SocketAddr {
        let addrs = if tcp { self.proxy.tcp_addrs() } else { self.proxy.udp_addrs() };
        let v4 = addrs.iter().find(|a| a.is_ipv4()).copied();
        let v6 = addrs.iter().find(|a| a.is_ipv6()).copied();
        let first = if tcp { self.proxy.tcp_addr() } else { self.proxy.udp_addr() };
        if !ipv6_socket {
            return v4.unwrap_or(first);
        }
        match (v6, v4) {
            (Some(v6), _) => v6,
            (None, Some(v4)) => match v4.ip() {
                IpAddr::V4(ip) => SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), v4.port()),
                IpAddr::V6(_) => v4,
            },
            (None, None) => first,
        }
    }

    /// Reads a datagram the command sends to a nameserver. A denied name is
    /// reported (once per name).
    pub fn screen(&self, bytes: &[u8]) -> QueryVerdict {
        match message::parse_query(bytes) {
            Ok(query) if self.rules().allows(&query.name) => QueryVerdict::Allowed(query.name),
            Ok(query) => {
                self.proxy.report_blocked(&query.name);
                QueryVerdict::Denied(query.name)
            }
            Err(err) => QueryVerdict::Unreadable(err.to_string()),
        }
    }

    /// After the command sent a query about allowed `name` straight to a
    /// nameserver (its answer goes to the command, unseen by sbx): look the
    /// name up through the proxy so its addresses are recorded, waiting at
    /// most [`SHADOW_WAIT`].
    pub fn shadow(self: &Arc<Self>, name: &str) {
        self.lookup_bounded(&[name.to_owned()], Which::Shadow, SHADOW_WAIT);
    }

    /// Whether `addr` is an address an allowed name resolves to, on a port
    /// that name may use. On a miss the exact allowed names are looked up
    /// again (see the module's guarantees) and the table asked once more.
    pub fn allows(self: &Arc<Self>, addr: SocketAddr) -> bool {
        if self.granted(addr) {
            return true;
        }
        if self.exact.is_empty() {
            return false;
        }
        self.lookup_bounded(&self.exact, Which::Refresh, REFRESH_WAIT);
        self.granted(addr)
    }

    /// Whether the table or the hosts snapshot grants `addr` now.
    fn granted(&self, addr: SocketAddr) -> bool {
        let ip = addr.ip().to_canonical();
        let now = (self.clock)();
        if self.proxy.resolved().ports_allowed_for(ip, now).is_some_and(|grant| grant.ports.contains(addr.port())) {
            return true;
        }
        self.hosts
            .iter()
            .filter(|(a, _)| *a == ip)
            .any(|(_, name)| self.rules().ports_for(name).is_some_and(|ports| ports.contains(addr.port())))
    }

    /// The names `ip` is known by (from answers sbx saw, and /etc/hosts),
    /// allowed ones first, for reports.
    pub fn names_of(&self, ip: IpAddr) -> Vec<String> {
        let ip = ip.to_canonical();
        let mut names = self.proxy.resolved().names_for(ip);
        for (a, name) in &self.hosts {
            if *a == ip && !names.contains(name) {
                names.push(name.clone());
            }
        }
        names.sort_by_key(|name| !self.rules().allows(name));
        names
    }

    /// Looks up those of `names` that `which` limiter lets through, in the
    /// background, and waits up to `wait` for them (and for lookups of the
    /// same names already running).
    fn lookup_bounded(self: &Arc<Self>, names: &[String], which: Which, wait: Duration) {
        let limiter = self.limiter(which);
        let mine = limiter.claim(names, Instant::now());
        let workers = mine.len().min(PARALLEL_LOOKUPS);
        let queue = Arc::new(Mutex::new(mine));
        let mut started = 0;
        for _ in 0..workers {
            let me = Arc::clone(self);
            let queue = Arc::clone(&queue);
            let work = move || {
                loop {
                    let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop();
                    let Some(name) = next else { break };
                    match me.proxy.lookup(&name) {
                        Ok(addrs) => tracing::debug!("DNS filter: looked up {name}: {addrs:?}"),
                        Err(err) => tracing::debug!("DNS filter: {err:#}"),
                    }
                    me.limiter(which).finish(&name);
                }
            };
            match std::thread::Builder::new().name("sbx-dns-lookup".into()).stack_size(256 * 1024).spawn(work) {
                Ok(_) => started += 1,
                Err(err) => tracing::debug!("DNS filter: cannot start a lookup thread: {err}"),
            }
        }
        if started == 0 {
            // Nobody will look these up: they must not stay in flight.
            for name in queue.lock().unwrap_or_else(PoisonError::into_inner).drain(..) {
                limiter.finish(&name);
            }
        }
        limiter.wait(names, wait);
    }

    fn limiter(&self, which: Which) -> &Limiter {
        match which {
            Which::Refresh => &self.refreshed,
            Which::Shadow => &self.shadowed,
        }
    }
}

/// Which of sbx's own kinds of lookup.
#[derive(Debug, Clone, Copy)]
enum Which {
    /// After a miss.
    Refresh,
    /// After a query the command sent straight to a nameserver.
    Shadow,
}

/// Which names may be looked up now, and which lookups are running.
struct Limiter {
    every: Duration,
    state: Mutex<LimiterState>,
    done: Condvar,
}

#[derive(Default)]
struct LimiterState {
    last: HashMap<String, Instant>,
    in_flight: HashSet<String>,
}

impl Limiter {
    fn new(every: Duration) -> Self {
        Self { every, state: Mutex::new(LimiterState::default()), done: Condvar::new() }
    }

    /// The names of `names` not looked up within `every` and not running;
    /// they are marked running.
    fn claim(&self, names: &[String], now: Instant) -> Vec<String> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.last.len() > LIMITER_NAMES {
            // Names under a wildcard are endless; forget the ones past their period.
            state.last.retain(|_, t| now.saturating_duration_since(*t) < self.every);
        }
        let mut mine = Vec::new();
        for name in names {
            let recent = state.last.get(name).is_some_and(|t| now.saturating_duration_since(*t) < self.every);
            if recent || state.in_flight.contains(name) {
                continue;
            }
            state.last.insert(name.clone(), now);
            state.in_flight.insert(name.clone());
            mine.push(name.clone());
        }
        mine
    }

    fn finish(&self, name: &str) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).in_flight.remove(name);
        self.done.notify_all();
    }

    /// Waits until none of `names` is being looked up, at most `wait`.
    fn wait(&self, names: &[String], wait: Duration) {
        let deadline = Instant::now() + wait;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while names.iter().any(|n| state.in_flight.contains(n)) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = self.done.wait_timeout(state, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_lets_a_name_through_once_per_period_and_not_while_running() {
        let limiter = Limiter::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let names = vec!["a.test".to_owned(), "b.test".to_owned()];
        assert_eq!(limiter.claim(&names, t0), names);
        assert!(limiter.claim(&names, t0 + Duration::from_secs(6)).is_empty(), "still running");
        limiter.finish("a.test");
        assert!(limiter.claim(&names, t0 + Duration::from_secs(1)).is_empty(), "too soon");
        assert_eq!(limiter.claim(&names, t0 + Duration::from_secs(6)), vec!["a.test".to_owned()]);
        // Past LIMITER_NAMES names, those past their period are forgotten.
        let many: Vec<String> = (0..=LIMITER_NAMES).map(|i| format!("n{i}.test")).collect();
        assert_eq!(limiter.claim(&many, t0).len(), many.len());
        for name in &many {
            limiter.finish(name);
        }
        let later = t0 + Duration::from_secs(6);
        assert_eq!(limiter.claim(&names[..1], later), Vec::<String>::new(), "a.test is still running");
        assert!(limiter.state.lock().unwrap().last.len() <= 2, "stale names were kept");
        // Waiting ends at once when nothing runs, and at the bound otherwise.
        limiter.finish("a.test");
        let started = Instant::now();
        limiter.wait(&["a.test".to_owned()], Duration::from_secs(5));
        assert!(started.elapsed() < Duration::from_secs(1));
        limiter.wait(&["b.test".to_owned()], Duration::from_millis(100));
        assert!(started.elapsed() >= Duration::from_millis(100));
    }
}

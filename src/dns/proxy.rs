//! The filtering DNS forwarder the supervisor runs on loopback: the sandboxed
//! command's DNS traffic is sent here instead of to the nameservers.
//!
//! Guarantees:
//! - A query leaves the machine only if it is one well-formed question about
//!   a name [`NameRules`] allows; it is then forwarded byte for byte to the
//!   upstream nameservers over the transport it came in on (UDP or TCP), and
//!   the upstream's answer is relayed byte for byte.
//! - A query about any other name is answered here with NXDOMAIN (see
//!   [`message::denied_reply`] for why not REFUSED), and reported once per
//!   name through [`ProxyConfig::on_blocked`]. A message that is not a query
//!   sbx can read is dropped without an answer.
//! - An upstream answer is relayed and recorded only if it answers the query
//!   sent (same ID, same question), from a socket connected to that server.
//!   Its A/AAAA addresses (through CNAMEs) are recorded in [`ResolvedAddrs`]
//!   under the allowed name, with the ports that name may use.
//! - When no upstream server answers, the command gets SERVFAIL.
//! - Plain std: blocking sockets, a thread per listening socket, a short-lived
//!   thread per forwarded query (at most [`MAX_IN_FLIGHT`] at once; past that
//!   a UDP query is dropped, as a busy resolver would, and a TCP connection is
//!   closed). Dropping the [`DnsProxy`] stops and joins the listening threads.

use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::allow::{NameRules, PortSet, ResolvedAddrs, normalize_name};
use super::message::{self, Query, Response, TYPE_A, TYPE_AAAA};
use super::resolv::Upstream;

/// Forwarded queries (UDP queries and TCP connections) handled at once.
pub const MAX_IN_FLIGHT: usize = 64;
/// The most distinct blocked names remembered (so each is reported once).
const MAX_REPORTED: usize = 4096;
/// How long a client TCP connection may sit idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// Stack size of the proxy's threads (they parse one message at a time).
const STACK_SIZE: usize = 256 * 1024;
/// The largest DNS message (TCP's 2-byte length; UDP's datagram limit).
const MAX_MESSAGE: usize = 65535;

/// The proxy's clock, injectable so tests can move time.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// Called once per blocked name.
pub type OnBlocked = Arc<dyn Fn(&Blocked) + Send + Sync>;

/// A lookup the proxy answered itself because the name is not allowed. Its
/// `Display` is the whole line to print (`sbx: blocked DNS lookup of …`);
/// the errors of this module, like the rest of sbx's, leave the `sbx: `
/// prefix to the top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// Lower-case, no trailing dot.
    pub name: String,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match super::allow::service_host(name) {
            // A service lookup (SRV): the host is what --allow-net takes.
            Some(host) => write!(f, "sbx: blocked DNS lookup of {name} — allow with --allow-net={host}"),
            None if name.contains('_') => write!(
                f,
                "sbx: blocked DNS lookup of {name} — not a host name --allow-net takes ('_'); allow the host the \
                 command connects to"
            ),
            None => write!(f, "sbx: blocked DNS lookup of {name} — allow with --allow-net={name}"),
        }
    }
}

/// What the proxy needs.
#[derive(Clone)]
pub struct ProxyConfig {
    /// The names that may be looked up.
    pub rules: Arc<NameRules>,
    /// Where answers for allowed names are recorded.
    pub resolved: Arc<ResolvedAddrs>,
    /// Where allowed queries go. Use [`Upstream::system`] for the machine's
    /// nameservers; tests give their own server.
    pub upstream: Upstream,
    /// Addresses to listen on (UDP and TCP each). An IPv6 address that the
    /// machine lacks is skipped; any other bind failure is an error.
    pub listen: Vec<SocketAddr>,
    pub clock: Clock,
    pub on_blocked: OnBlocked,
}

impl ProxyConfig {
    /// Listens on 127.0.0.1 and ::1 (ephemeral ports), the real clock, a
    /// fresh [`ResolvedAddrs`], blocked lookups only logged at debug level.
    pub fn new(rules: NameRules, upstream: Upstream) -> Self {
        Self {
            rules: Arc::new(rules),
            resolved: Arc::new(ResolvedAddrs::new()),
            upstream,
            listen: vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
            ],
            clock: Arc::new(Instant::now),
            on_blocked: Arc::new(|blocked: &Blocked| tracing::debug!("{blocked}")),
        }
    }
}

/// The running proxy. Dropping it stops it.
pub struct DnsProxy {
    shared: Arc<Shared>,
    udp: Vec<SocketAddr>,
    tcp: Vec<SocketAddr>,
    threads: Vec<JoinHandle<()>>,
}

/// What every proxy thread sees.
struct Shared {
    rules: Arc<NameRules>,
    resolved: Arc<ResolvedAddrs>,
    upstream: Upstream,
    clock: Clock,
    on_blocked: OnBlocked,
    reported: Mutex<HashSet<String>>,
    in_flight: AtomicUsize,
    stop: AtomicBool,
}

impl DnsProxy {
    /// Binds the listening sockets and starts serving.
    pub fn start(config: ProxyConfig) -> Result<DnsProxy> {
        if config.upstream.servers.is_empty() {
            bail!("cannot start the DNS filter: no upstream nameserver was given; check /etc/resolv.conf");
        }
        let shared = Arc::new(Shared {
            rules: config.rules,
            resolved: config.resolved,
            upstream: config.upstream,
            clock: config.clock,
            on_blocked: config.on_blocked,
            reported: Mutex::new(HashSet::new()),
            in_flight: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let mut proxy = DnsProxy { shared, udp: Vec::new(), tcp: Vec::new(), threads: Vec::new() };
        for addr in &config.listen {
            let (udp, tcp) = match bind_pair(*addr) {
                Ok(pair) => pair,
                Err(err) if addr.is_ipv6() && ipv6_missing(&err) => {
                    tracing::debug!("DNS filter: not listening on {addr}: {err}");
                    continue;
                }
                Err(err) => {
                    return Err(err).with_context(|| {
                        format!("cannot start the DNS filter: binding {addr} failed; is the loopback interface up?")
                    });
                }
            };
            proxy.udp.push(udp.local_addr()?);
            proxy.tcp.push(tcp.local_addr()?);
            let shared = Arc::clone(&proxy.shared);
            proxy.threads.push(spawn("sbx-dns-udp", move || serve_udp(&shared, &udp))?);
            let shared = Arc::clone(&proxy.shared);
            proxy.threads.push(spawn("sbx-dns-tcp", move || serve_tcp(&shared, &tcp))?);
        }
        if proxy.udp.is_empty() {
            bail!("cannot start the DNS filter: no address to listen on");
        }
        Ok(proxy)
    }

    /// The first UDP address (127.0.0.1 with the default config).
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp[0]
    }

    /// The first TCP address (127.0.0.1 with the default config).
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp[0]
    }

    /// Every UDP address, in the order of [`ProxyConfig::listen`].
    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp
    }

    /// Every TCP address, in the order of [`ProxyConfig::listen`].
    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp
    }

    /// The names the proxy lets through.
    pub fn rules(&self) -> &Arc<NameRules> {
        &self.shared.rules
    }

    /// Reports a lookup of `name` that sbx blocked elsewhere (a query the
    /// supervisor saw on its way to a nameserver), once per name together
    /// with the proxy's own reports.
    pub fn report_blocked(&self, name: &str) {
        self.shared.report(name);
    }

    /// The table the proxy records answers in.
    pub fn resolved(&self) -> &Arc<ResolvedAddrs> {
        &self.shared.resolved
    }

    /// Resolves allowed `name` (A and AAAA) through the upstream servers and
    /// records the answer; for the supervisor when a connect goes to an
    /// address it has no record of. An empty list means the name has no
    /// address (NXDOMAIN or no data); an error means no server answered.
    pub fn lookup(&self, name: &str) -> Result<Vec<IpAddr>> {
        let shared = &*self.shared;
        let Some(normal) = normalize_name(name) else {
            bail!("cannot look up {name:?}: it is not a host name");
        };
        let Some(ports) = shared.rules.ports_for(&normal) else {
            bail!("will not look up {normal}: it is not allowed by --allow-net");
        };
        let answers: Vec<io::Result<Option<Response>>> = thread::scope(|scope| {
            let asks: Vec<_> = [TYPE_A, TYPE_AAAA]
                .into_iter()
                .map(|qtype| {
                    let normal = &normal;
                    scope.spawn(move || shared.resolve(normal, qtype))
                })
                .collect();
            asks.into_iter()
                .map(|ask| ask.join().unwrap_or_else(|_| Err(io::Error::other("the lookup thread panicked"))))
                .collect()
        });
        let mut addrs = Vec::new();
        let mut answered = false;
        let mut errors = Vec::new();
        for answer in answers {
            match answer {
                Ok(Some(response)) => {
                    answered = true;
                    shared.record(&response, &ports);
                    for resolved in response.resolved.iter().filter(|r| r.name == normal) {
                        for addr in &resolved.addrs {
                            if !addrs.contains(addr) {
                                addrs.push(*addr);
                            }
                        }
                    }
                }
                Ok(None) => {}
                Err(err) => errors.push(err.to_string()),
            }
        }
        if !answered {
            let servers: Vec<String> = shared.upstream.servers.iter().map(SocketAddr::to_string).collect();
            let why = if errors.is_empty() { "no answer in time".to_owned() } else { errors.join("; ") };
            bail!(
                "cannot look up {normal}: the nameservers ({}) did not answer: {why}; check /etc/resolv.conf \
                 and the network",
                servers.join(", ")
            );
        }
        Ok(addrs)
    }
}

impl Drop for DnsProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocked recv/accept calls; each thread then sees `stop`.
        for addr in &self.udp {
            if let Ok(socket) = UdpSocket::bind(unspecified(addr)) {
                let _ = socket.send_to(&[], addr);
            }
        }
        for addr in &self.tcp {
            let _ = TcpStream::connect_timeout(addr, Duration::from_secs(1));
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Shared {
    /// Checks `bytes`: `Ok(query)` to forward, `Err(Some(reply))` to answer
    /// locally, `Err(None)` to drop.
    fn screen(&self, bytes: &[u8], from: &dyn fmt::Display) -> Result<Query, Option<Vec<u8>>> {
        let query = message::parse_query(bytes).map_err(|err| {
            tracing::debug!("DNS filter: dropped a message from {from}: {err}");
            None
        })?;
        if self.rules.allows(&query.name) {
            return Ok(query);
        }
        self.report(&query.name);
        match message::denied_reply(&query) {
            Ok(reply) => Err(Some(reply)),
            Err(err) => {
                tracing::debug!("DNS filter: cannot answer the query for {query}: {err}");
                Err(None)
            }
        }
    }

    fn report(&self, name: &str) {
        // A service lookup of `localhost` (apt asks `_http._tcp.localhost`
        // for a localhost mirror) is no name to allow: --allow-net=localhost
        // covers loopback addresses, which need no lookup.
        if super::allow::service_host(name) == Some("localhost") {
            tracing::debug!("DNS filter: answered the service lookup {name} with NXDOMAIN");
            return;
        }
        let first = {
            let mut reported = self.reported.lock().unwrap_or_else(PoisonError::into_inner);
            if reported.contains(name) {
                false
            } else {
                if reported.len() < MAX_REPORTED {
                    reported.insert(name.to_owned());
                }
                true
            }
        };
        if first {
            (self.on_blocked)(&Blocked { name: name.to_owned() });
        }
    }

    /// Records the addresses `response` gives for its (allowed) names.
    fn record(&self, response: &Response, ports: &PortSet) {
        let now = (self.clock)();
        for resolved in &response.resolved {
            self.resolved.record(&resolved.name, ports, &resolved.addrs, resolved.ttl, now);
        }
    }

    /// Forwards an allowed query, records and returns the answer to relay:
    /// the upstream's, or SERVFAIL when none came.
    fn forward(&self, query: &Query, bytes: &[u8], tcp: bool) -> Option<Vec<u8>> {
        let ports = self.rules.ports_for(&query.name)?;
        match self.exchange(query, bytes, tcp) {
            Some((response, parsed)) => {
                self.record(&parsed, &ports);
                Some(response)
            }
            None => {
                tracing::debug!("DNS filter: no upstream answer for {query}");
                message::servfail_reply(query).ok()
            }
        }
    }

    /// Asks the upstream servers, `attempts` rounds over all of them; returns
    /// the first answer that is not a server failure, else the last server
    /// failure, else `None`.
    fn exchange(&self, query: &Query, bytes: &[u8], tcp: bool) -> Option<(Vec<u8>, Response)> {
        let mut failure = None;
        for _ in 0..self.upstream.attempts.max(1) {
            for server in &self.upstream.servers {
                let answer = if tcp {
                    ask_tcp(*server, bytes, query, self.upstream.timeout)
                } else {
                    ask_udp(*server, bytes, query, self.upstream.timeout)
                };
                match answer {
                    Ok(Some((raw, parsed))) if parsed.is_server_failure() => failure = Some((raw, parsed)),
                    Ok(Some(answer)) => return Some(answer),
                    Ok(None) => tracing::debug!("DNS filter: {server} did not answer {query} in time"),
                    Err(err) => tracing::debug!("DNS filter: asking {server} about {query}: {err}"),
                }
                if self.stop.load(Ordering::SeqCst) {
                    return failure;
                }
            }
        }
        failure
    }

    /// The proxy's own query for `name`: UDP, then TCP if the answer was truncated.
    fn resolve(&self, name: &str, qtype: u16) -> io::Result<Option<Response>> {
        let bytes = message::build_query(random_id(), name, qtype).map_err(io::Error::other)?;
        let query = message::parse_query(&bytes).map_err(io::Error::other)?;
        let Some((_, response)) = self.exchange(&query, &bytes, false) else { return Ok(None) };
        if !response.truncated {
            return Ok(Some(response));
        }
        Ok(self.exchange(&query, &bytes, true).map(|(_, response)| response).or(Some(response)))
    }

    /// Takes a slot for a forwarding thread, if one is free.
    fn take_slot(self: &Arc<Self>) -> Option<Slot> {
        let taken = self.in_flight.fetch_add(1, Ordering::SeqCst);
        if taken >= MAX_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Slot(Arc::clone(self)))
    }
}

/// A forwarding thread's place in `in_flight`, given back on drop.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn serve_udp(shared: &Arc<Shared>, socket: &UdpSocket) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let received = socket.recv_from(&mut buf);
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let (len, client) = match received {
            Ok(received) => received,
            Err(err) => {
                tracing::debug!("DNS filter: UDP receive: {err}");
                // Errors such as ICMP-reported unreachable peers are per
                // packet; do not spin if the socket itself broke.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let bytes = buf.get(..len).unwrap_or_default().to_vec();
        let query = match shared.screen(&bytes, &client) {
            Ok(query) => query,
            Err(reply) => {
                if let Some(reply) = reply {
                    let _ = socket.send_to(&reply, client);
                }
                continue;
            }
        };
        let Some(slot) = shared.take_slot() else {
            tracing::debug!("DNS filter: too many queries in flight; dropped {query} from {client}");
            continue;
        };
        let reply_socket = match socket.try_clone() {
            Ok(socket) => socket,
            Err(err) => {
                tracing::debug!("DNS filter: {err}");
                continue;
            }
        };
        let worker = move || {
            let shared = &slot.0;
            if let Some(reply) = shared.forward(&query, &bytes, false) {
                let _ = reply_socket.send_to(&reply, client);
            }
        };
        if let Err(err) = spawn("sbx-dns-fwd", worker) {
            tracing::debug!("DNS filter: {err:#}");
        }
    }
}

fn serve_tcp(shared: &Arc<Shared>, listener: &TcpListener) {
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let (stream, client) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::debug!("DNS filter: TCP accept: {err}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Some(slot) = shared.take_slot() else {
            tracing::debug!("DNS filter: too many connections; closed the one from {client}");
            continue;
        };
        if let Err(err) = spawn("sbx-dns-conn", move || serve_connection(&slot.0, stream, client)) {
            tracing::debug!("DNS filter: {err:#}");
        }
    }
}

/// Serves the queries of one TCP client, in order, until it closes, idles
/// [`TCP_IDLE`], or sends something that is not a query.
fn serve_connection(shared: &Shared, mut stream: TcpStream, client: SocketAddr) {
    if stream.set_read_timeout(Some(TCP_IDLE)).is_err() || stream.set_write_timeout(Some(TCP_IDLE)).is_err() {
        return;
    }
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok(Some(bytes)) = read_framed(&mut stream) else { break };
        let reply = match shared.screen(&bytes, &client) {
            Ok(query) => shared.forward(&query, &bytes, true),
            Err(reply) => reply,
        };
        let Some(reply) = reply else { break };
        if write_framed(&mut stream, &reply).is_err() {
            break;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Sends `bytes` to `server` from a fresh socket connected to it (so only
/// the server's datagrams arrive, on a port the kernel chose at random) and
/// waits up to `timeout` for the answer to `query`, ignoring anything else.
fn ask_udp(
    server: SocketAddr,
    bytes: &[u8],
    query: &Query,
    timeout: Duration,
) -> io::Result<Option<(Vec<u8>, Response)>> {
    let socket = UdpSocket::bind(unspecified(&server))?;
    socket.connect(server)?;
    socket.send(bytes)?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        socket.set_read_timeout(Some(left))?;
        let len = match socket.recv(&mut buf) {
            Ok(len) => len,
            Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => return Ok(None),
            Err(err) => return Err(err),
        };
        let raw = buf.get(..len).unwrap_or_default();
        if let Some(parsed) = matching_response(raw, query) {
            return Ok(Some((raw.to_vec(), parsed)));
        }
    }
}

/// Asks `server` over TCP: one connection, one query, one answer.
fn ask_tcp(
    server: SocketAddr,
    bytes: &[u8],
    query: &Query,
    timeout: Duration,
) -> io::Result<Option<(Vec<u8>, Response)>> {
    let mut stream = match TcpStream::connect_timeout(&server, timeout) {
        Ok(stream) => stream,
        Err(err) if err.kind() == io::ErrorKind::TimedOut => return Ok(None),
        Err(err) => return Err(err),
    };
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write_framed(&mut stream, bytes)?;
    let raw = match read_framed(&mut stream) {
        Ok(Some(raw)) => raw,
        Ok(None) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed without answering")),
        Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => return Ok(None),
        Err(err) => return Err(err),
    };
    Ok(matching_response(&raw, query).map(|parsed| (raw, parsed)))
}

/// The parsed response, if `raw` answers `query`.
fn matching_response(raw: &[u8], query: &Query) -> Option<Response> {
    match message::parse_response(raw) {
        Ok(response) if response.answers(query) => Some(response),
        Ok(_) => {
            tracing::debug!("DNS filter: ignored an upstream message that does not answer {query}");
            None
        }
        // Unreadable but carrying our ID and sent by the server: still not
        // relayed, since it cannot be checked against the question.
        Err(err) => {
            tracing::debug!("DNS filter: ignored an unreadable upstream answer to {query}: {err}");
            None
        }
    }
}

/// Reads one length-prefixed message; `None` at a clean end of stream.
fn read_framed(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match stream.read_exact(&mut len) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    let mut bytes = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut bytes)?;
    Ok(Some(bytes))
}

fn write_framed(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| io::Error::other("DNS message longer than 65535 bytes"))?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    stream.write_all(&framed)
}

fn bind_pair(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let udp = UdpSocket::bind(addr)?;
    let tcp = TcpListener::bind(addr)?;
    Ok((udp, tcp))
}

/// Whether binding an IPv6 address failed because the machine has no IPv6
/// (no ::1, or no IPv6 at all) rather than because the address is taken or
/// forbidden.
fn ipv6_missing(err: &io::Error) -> bool {
    !matches!(err.kind(), io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied)
}

/// The any-address of `addr`'s family, port 0.
fn unspecified(addr: &SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

/// A message ID nobody can predict (the kernel's random source port is the
/// main defence; this is the second).
fn random_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    hasher.finish() as u16
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(name.to_owned())
        .stack_size(STACK_SIZE)
        .spawn(f)
        .with_context(|| format!("cannot start the DNS filter's {name} thread; the system may be out of threads"))
}

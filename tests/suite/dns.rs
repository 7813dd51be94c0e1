//! DNS filtering components (sbx::dns), driven over real loopback sockets:
//! the filtering proxy forwards allowed names to a test DNS server and
//! relays its answers, answers denied names itself (the test server never
//! sees them), records what allowed names resolve to, and survives garbage.
//! The name filter around it: which traffic is DNS, where it goes, which
//! queries pass, which addresses are granted (and when sbx looks again).
//! Then glibc itself, in a private mount namespace whose /etc/resolv.conf
//! points at a test server on 127.53.x.y:53: resolving through the test
//! server, /etc/hosts without any query, RES_OPTIONS=use-vc switching to
//! TCP, and the whole path glibc → proxy → test server.
//!
//! Only loopback addresses; the machine's resolver is never asked.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sbx::dns::allow::PortSet;
use sbx::dns::{Blocked, DnsProxy, NameFilter, NameRules, ProxyConfig, QueryVerdict, Upstream};
use simple_dns::{RCODE, TYPE};

use super::dnsutil::{self, Answer, Logged, TestDns, ask, exchange_tcp, exchange_udp, with_private_etc};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rules(patterns: &[&str]) -> NameRules {
    let mut rules = NameRules::new();
    for pattern in patterns {
        let (name, port) = match pattern.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse().unwrap())),
            None => (*pattern, None),
        };
        rules.add(name, port).unwrap();
    }
    rules
}

/// A clock the test moves by hand.
#[derive(Clone)]
struct ManualClock(Arc<Mutex<Instant>>);

impl ManualClock {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

/// A proxy allowing `patterns`, forwarding to `servers`, on 127.0.0.1 only,
/// with quick upstream timeouts; and the names it reported blocked.
struct Setup {
    proxy: DnsProxy,
    blocked: Arc<Mutex<Vec<String>>>,
    clock: ManualClock,
}

fn proxy_with(patterns: &[&str], servers: &[SocketAddr], listen: &[SocketAddr]) -> Setup {
    let mut upstream = Upstream::new(servers.to_vec());
    upstream.timeout = Duration::from_secs(1);
    upstream.attempts = 1;
    let mut config = ProxyConfig::new(rules(patterns), upstream);
    config.listen = listen.to_vec();
    let clock = ManualClock::new();
    let c = clock.clone();
    config.clock = Arc::new(move || c.now());
    let blocked = Arc::new(Mutex::new(Vec::new()));
    let b = Arc::clone(&blocked);
    config.on_blocked = Arc::new(move |what: &Blocked| b.lock().unwrap().push(what.to_string()));
    Setup { proxy: DnsProxy::start(config).unwrap(), blocked, clock }
}

fn proxy(patterns: &[&str], server: &TestDns) -> Setup {
    proxy_with(patterns, &[server.addr], &["127.0.0.1:0".parse().unwrap()])
}

// ------------------------------------------------------------ the proxy

#[test]
fn proxy_forwards_an_allowed_name_over_udp_and_tcp() {
    let server = TestDns::ephemeral();
    server.set("allowed.test", Answer::Addrs(vec![ip("192.0.2.1"), ip("2001:db8::1")]), 300);
    let s = proxy(&["allowed.test"], &server);
    let udp = ask(s.proxy.udp_addr(), "Allowed.Test", TYPE::A, false).expect("an answer over UDP");
    assert_eq!((udp.rcode, udp.addrs), (RCODE::NoError, vec![ip("192.0.2.1")]));
    let tcp = ask(s.proxy.tcp_addr(), "allowed.test", TYPE::AAAA, true).expect("an answer over TCP");
    assert_eq!((tcp.rcode, tcp.addrs), (RCODE::NoError, vec![ip("2001:db8::1")]));
    // Same transport upstream as from the client.
    assert_eq!(
        server.log(),
        vec![
            Logged { tcp: false, name: "allowed.test".into(), qtype: 1 },
            Logged { tcp: true, name: "allowed.test".into(), qtype: 28 },
        ]
    );
    let now = s.clock.now();
    let grant = s.proxy.resolved().ports_allowed_for(ip("192.0.2.1"), now).expect("recorded");
    assert_eq!((grant.ports, grant.names), (PortSet::Any, vec!["allowed.test".to_owned()]));
    assert!(s.proxy.resolved().ports_allowed_for(ip("2001:db8::1"), now).is_some());
    assert!(s.blocked.lock().unwrap().is_empty());
}

#[test]
fn proxy_answers_a_denied_name_itself_and_the_server_never_sees_it() {
    let server = TestDns::ephemeral();
    server.set("evil.test", Answer::Addrs(vec![ip("192.0.2.66")]), 300);
    server.set("allowed.test", Answer::Addrs(vec![ip("192.0.2.1")]), 300);
    let s = proxy(&["allowed.test"], &server);
    for (qtype, tcp) in [(TYPE::A, false), (TYPE::AAAA, false), (TYPE::A, true), (TYPE::MX, true)] {
        let addr = if tcp { s.proxy.tcp_addr() } else { s.proxy.udp_addr() };
        let reply = ask(addr, "evil.test", qtype, tcp).expect("a local answer");
        assert_eq!((reply.rcode, reply.addrs.len()), (RCODE::NameError, 0), "{qtype:?} tcp={tcp}");
    }
    ask(s.proxy.udp_addr(), "EVIL.test", TYPE::A, false).unwrap();
    assert_eq!(server.count("evil.test"), 0, "a denied query reached the server: {:?}", server.log());
    assert!(server.log().is_empty());
    // Reported once, whatever the case and the number of queries.
    assert_eq!(
        *s.blocked.lock().unwrap(),
        vec!["sbx: blocked DNS lookup of evil.test — allow with --allow-net=evil.test".to_owned()]
    );
    assert!(s.proxy.resolved().ports_allowed_for(ip("192.0.2.66"), s.clock.now()).is_none());
}

#[test]
fn proxy_wildcard_allows_subdomains_not_the_apex() {
    let server = TestDns::ephemeral();
    for name in ["allowed.test", "a.allowed.test", "x.y.allowed.test", "notallowed.test"] {
        server.set(name, Answer::Addrs(vec![ip("192.0.2.5")]), 60);
    }
    let s = proxy(&["*.allowed.test"], &server);
    for name in ["a.allowed.test", "x.y.allowed.test"] {
        assert_eq!(ask(s.proxy.udp_addr(), name, TYPE::A, false).unwrap().addrs, vec![ip("192.0.2.5")], "{name}");
    }
    for name in ["allowed.test", "notallowed.test"] {
        assert_eq!(ask(s.proxy.udp_addr(), name, TYPE::A, false).unwrap().rcode, RCODE::NameError, "{name}");
        assert_eq!(server.count(name), 0, "{name} reached the server");
    }
    assert_eq!(server.count("a.allowed.test") + server.count("x.y.allowed.test"), 2);
}

#[test]
fn proxy_records_cdn_addresses_under_the_allowed_name() {
    let server = TestDns::ephemeral();
    server.set("www.allowed.test", Answer::Cname("edge.cdn.test".into()), 300);
    server.set("edge.cdn.test", Answer::Addrs(vec![ip("198.51.100.7")]), 20);
    let s = proxy(&["www.allowed.test:443"], &server);
    let reply = ask(s.proxy.udp_addr(), "www.allowed.test", TYPE::A, false).unwrap();
    assert_eq!(reply.addrs, vec![ip("198.51.100.7")]);
    let grant = s.proxy.resolved().ports_allowed_for(ip("198.51.100.7"), s.clock.now()).expect("recorded");
    assert_eq!(grant.names, vec!["www.allowed.test".to_owned()]);
    assert!(grant.ports.contains(443) && !grant.ports.contains(80));
    // The CDN name itself stays denied.
    assert_eq!(ask(s.proxy.udp_addr(), "edge.cdn.test", TYPE::A, false).unwrap().rcode, RCODE::NameError);
}

#[test]
fn proxy_rotation_records_every_address_seen() {
    let server = TestDns::ephemeral();
    server.set("cdn.allowed.test", Answer::Rotate(vec![ip("192.0.2.10"), ip("192.0.2.11")]), 60);
    let s = proxy(&["cdn.allowed.test"], &server);
    let first = ask(s.proxy.udp_addr(), "cdn.allowed.test", TYPE::A, false).unwrap().addrs;
    let second = ask(s.proxy.tcp_addr(), "cdn.allowed.test", TYPE::A, true).unwrap().addrs;
    assert_ne!(first, second, "the test server should rotate");
    assert_eq!(
        s.proxy.resolved().addrs_of("cdn.allowed.test", s.clock.now()),
        vec![ip("192.0.2.10"), ip("192.0.2.11")]
    );
}

#[test]
fn proxy_records_expire_with_the_injected_clock() {
    let server = TestDns::ephemeral();
    server.set("slow.allowed.test", Answer::Addrs(vec![ip("192.0.2.20")]), 120);
    server.set("fast.allowed.test", Answer::Addrs(vec![ip("192.0.2.21")]), 1);
    let s = proxy(&["*.allowed.test"], &server);
    ask(s.proxy.udp_addr(), "slow.allowed.test", TYPE::A, false).unwrap();
    ask(s.proxy.udp_addr(), "fast.allowed.test", TYPE::A, false).unwrap();
    let resolved = s.proxy.resolved();
    s.clock.advance(Duration::from_secs(29));
    // TTL 1 lives the 30 s floor.
    assert!(resolved.ports_allowed_for(ip("192.0.2.21"), s.clock.now()).is_some());
    s.clock.advance(Duration::from_secs(2));
    assert!(resolved.ports_allowed_for(ip("192.0.2.21"), s.clock.now()).is_none());
    assert!(resolved.ports_allowed_for(ip("192.0.2.20"), s.clock.now()).is_some());
    s.clock.advance(Duration::from_secs(90));
    assert!(resolved.ports_allowed_for(ip("192.0.2.20"), s.clock.now()).is_none());
    // Asked again: granted again.
    ask(s.proxy.udp_addr(), "slow.allowed.test", TYPE::A, false).unwrap();
    assert!(resolved.ports_allowed_for(ip("192.0.2.20"), s.clock.now()).is_some());
}

#[test]
fn proxy_lookup_resolves_both_families_and_records_them() {
    let server = TestDns::ephemeral();
    server.set("api.allowed.test", Answer::Addrs(vec![ip("192.0.2.30"), ip("2001:db8::30")]), 300);
    let s = proxy(&["api.allowed.test:443", "gone.allowed.test"], &server);
    let mut addrs = s.proxy.lookup("API.allowed.test.").unwrap();
    addrs.sort();
    assert_eq!(addrs, vec![ip("192.0.2.30"), ip("2001:db8::30")]);
    let mut types: Vec<u16> = server.log().iter().map(|q| q.qtype).collect();
    types.sort();
    assert_eq!(types, vec![1, 28]);
    let grant = s.proxy.resolved().ports_allowed_for(ip("2001:db8::30"), s.clock.now()).unwrap();
    assert_eq!(grant.ports.to_string(), "port 443");
    // No such name: no addresses, no error.
    assert_eq!(s.proxy.lookup("gone.allowed.test").unwrap(), Vec::<IpAddr>::new());
    // Not allowed: an error, and nothing sent.
    let err = s.proxy.lookup("evil.test").unwrap_err().to_string();
    assert!(err.starts_with("will not look up evil.test: it is not allowed"), "{err}");
    assert_eq!(server.count("evil.test"), 0);
}

#[test]
fn proxy_without_an_upstream_answer_gives_servfail_and_lookup_fails() {
    // A socket that takes queries and never answers.
    let server = TestDns::ephemeral();
    server.set("quiet.allowed.test", Answer::Silent, 60);
    let s = proxy(&["*.allowed.test"], &server);
    let started = Instant::now();
    let reply = ask(s.proxy.udp_addr(), "quiet.allowed.test", TYPE::A, false).expect("SERVFAIL");
    assert_eq!(reply.rcode, RCODE::ServerFailure);
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    let err = s.proxy.lookup("quiet.allowed.test").unwrap_err().to_string();
    assert!(err.contains("did not answer") && err.contains(&server.addr.to_string()), "{err}");
    // Nothing listening at all: refused at once, SERVFAIL.
    let closed = TestDns::ephemeral().addr; // dropped: its port is closed now
    let s = proxy_with(&["*.allowed.test"], &[closed], &["127.0.0.1:0".parse().unwrap()]);
    assert_eq!(ask(s.proxy.udp_addr(), "a.allowed.test", TYPE::A, false).unwrap().rcode, RCODE::ServerFailure);
    assert_eq!(ask(s.proxy.tcp_addr(), "a.allowed.test", TYPE::A, true).unwrap().rcode, RCODE::ServerFailure);
}

#[test]
fn proxy_tries_the_next_server_after_a_servfail() {
    let failing = TestDns::ephemeral();
    failing.set("a.allowed.test", Answer::ServFail, 60);
    let working = TestDns::ephemeral();
    working.set("a.allowed.test", Answer::Addrs(vec![ip("192.0.2.40")]), 60);
    let s = proxy_with(&["a.allowed.test"], &[failing.addr, working.addr], &["127.0.0.1:0".parse().unwrap()]);
    let reply = ask(s.proxy.udp_addr(), "a.allowed.test", TYPE::A, false).unwrap();
    assert_eq!((reply.rcode, reply.addrs), (RCODE::NoError, vec![ip("192.0.2.40")]));
    assert_eq!((failing.count("a.allowed.test"), working.count("a.allowed.test")), (1, 1));
}

#[test]
fn proxy_forwards_query_types_it_cannot_parse_the_data_of() {
    let server = TestDns::ephemeral();
    server.set("_443._tcp.allowed.test", Answer::Addrs(vec![]), 60);
    let s = proxy(&["*.allowed.test"], &server);
    let (_, mut bytes) = dnsutil::query("_443._tcp.allowed.test", TYPE::A);
    let at = bytes.len() - 4;
    bytes[at..at + 2].copy_from_slice(&52u16.to_be_bytes()); // TLSA
    let reply = exchange_udp(s.proxy.udp_addr(), &bytes, Duration::from_secs(3)).expect("an answer");
    assert_eq!(reply[3] & 0x0f, 0, "NOERROR expected");
    assert_eq!(server.log(), vec![Logged { tcp: false, name: "_443._tcp.allowed.test".into(), qtype: 52 }]);
}

#[test]
fn proxy_drops_malformed_messages_and_keeps_serving() {
    let server = TestDns::ephemeral();
    server.set("allowed.test", Answer::Addrs(vec![ip("192.0.2.1")]), 60);
    let s = proxy(&["allowed.test"], &server);
    let (_, valid) = dnsutil::query("allowed.test", TYPE::A);
    let mut as_response = valid.clone();
    as_response[2] |= 0x80;
    let mut two_questions = valid.clone();
    two_questions[5] = 2;
    let mut pointer_loop = valid[..12].to_vec();
    pointer_loop.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 5],
        vec![0xff; 600],
        valid[..valid.len() - 3].to_vec(),
        as_response,
        two_questions,
        pointer_loop,
        (0..=255u8).collect(),
    ];
    for bytes in &garbage {
        assert_eq!(exchange_udp(s.proxy.udp_addr(), bytes, Duration::from_millis(200)), None, "{bytes:?}");
        assert_eq!(exchange_tcp(s.proxy.tcp_addr(), bytes), None, "{bytes:?}");
    }
    assert!(server.log().is_empty(), "{:?}", server.log());
    assert!(s.blocked.lock().unwrap().is_empty());
    // Still serving.
    assert_eq!(ask(s.proxy.udp_addr(), "allowed.test", TYPE::A, false).unwrap().addrs, vec![ip("192.0.2.1")]);
    assert_eq!(ask(s.proxy.tcp_addr(), "allowed.test", TYPE::A, true).unwrap().addrs, vec![ip("192.0.2.1")]);
}

#[test]
fn proxy_listens_on_both_loopbacks_by_default() {
    let server = TestDns::ephemeral();
    server.set("allowed.test", Answer::Addrs(vec![ip("192.0.2.1")]), 60);
    let mut config = ProxyConfig::new(rules(&["allowed.test"]), Upstream::new(vec![server.addr]));
    config.upstream.timeout = Duration::from_secs(1);
    let proxy = DnsProxy::start(config).unwrap();
    assert_eq!(proxy.udp_addr().ip(), ip("127.0.0.1"));
    assert_eq!(proxy.tcp_addr().ip(), ip("127.0.0.1"));
    assert_ne!(proxy.udp_addr().port(), 0);
    let has_ipv6 = std::net::UdpSocket::bind("[::1]:0").is_ok();
    assert_eq!(proxy.udp_addrs().len(), if has_ipv6 { 2 } else { 1 });
    for (udp, tcp) in proxy.udp_addrs().iter().zip(proxy.tcp_addrs()) {
        assert_eq!(ask(*udp, "allowed.test", TYPE::A, false).unwrap().addrs, vec![ip("192.0.2.1")], "{udp}");
        assert_eq!(ask(*tcp, "allowed.test", TYPE::A, true).unwrap().addrs, vec![ip("192.0.2.1")], "{tcp}");
    }
    // Dropping it closes its sockets: the listening socket it held (found
    // by its port in /proc/net/tcp among this process's fds) is gone from
    // them. (Connecting to the freed port proves nothing: another test may
    // have been handed the port meanwhile.)
    let port = proxy.tcp_addr().port();
    let inode = listening_inode(port).expect("the proxy's listening socket among this process's fds");
    drop(proxy);
    assert!(!own_socket_inodes().contains(&inode), "the proxy's listening socket (port {port}) is still open");
}

/// The inodes of the sockets this process holds open.
fn own_socket_inodes() -> Vec<u64> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|t| t.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
        .collect()
}

/// The inode of the TCP socket listening on `port` (IPv4) that this
/// process holds, if any.
fn listening_inode(port: u16) -> Option<u64> {
    let own = own_socket_inodes();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
        let inode: u64 = f.get(9)?.parse().ok()?;
        (local_port == port && *f.get(3)? == "0A" && own.contains(&inode)).then_some(inode)
    })
}

#[test]
fn proxy_start_refuses_an_empty_upstream() {
    let err = DnsProxy::start(ProxyConfig::new(rules(&["a.test"]), Upstream::new(vec![]))).err().unwrap();
    assert!(err.to_string().starts_with("cannot start the DNS filter: no upstream nameserver"), "{err}");
}

// ------------------------------------------------------- the name filter

/// A name filter allowing `patterns`, forwarding to `server`, with `hosts`.
fn filter(
    patterns: &[&str],
    server: &TestDns,
    hosts: Vec<(IpAddr, String)>,
) -> (Arc<NameFilter>, Arc<Mutex<Vec<String>>>) {
    let mut upstream = Upstream::new(vec![server.addr]);
    upstream.timeout = Duration::from_secs(1);
    upstream.attempts = 1;
    let mut config = ProxyConfig::new(rules(patterns), upstream);
    let blocked = Arc::new(Mutex::new(Vec::new()));
    let b = Arc::clone(&blocked);
    config.on_blocked = Arc::new(move |what: &Blocked| b.lock().unwrap().push(what.to_string()));
    (NameFilter::start(config, hosts).unwrap(), blocked)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn filter_knows_the_nameservers_and_where_their_traffic_goes() {
    let server = TestDns::ephemeral();
    let (f, _) = filter(&["a.test"], &server, vec![]);
    let ns = server.addr;
    assert!(f.is_nameserver(ns));
    assert!(f.is_nameserver(sa(&format!("[::ffff:{}]:{}", ns.ip(), ns.port()))), "mapped is the IPv4 server");
    assert!(!f.is_nameserver(sa(&format!("{}:{}", ns.ip(), ns.port() ^ 1))), "another port is not DNS");
    assert!(!f.is_nameserver(sa(&format!("127.0.0.254:{}", ns.port()))));
    assert_eq!(f.redirect(false, false), f.proxy().udp_addr());
    assert_eq!(f.redirect(true, false), f.proxy().tcp_addr());
    let v6 = f.redirect(true, true);
    assert!(v6.is_ipv6(), "{v6}");
    assert!(f.proxy().tcp_addrs().contains(&v6) || v6.ip() == ip("::ffff:127.0.0.1"), "{v6}");
}

#[test]
fn filter_screens_queries_and_reports_denied_names_once() {
    let server = TestDns::ephemeral();
    let (f, blocked) = filter(&["a.test", "*.w.test"], &server, vec![]);
    let (_, allowed) = dnsutil::query("A.test", TYPE::A);
    let (_, below) = dnsutil::query("x.y.w.test", TYPE::AAAA);
    let (_, denied) = dnsutil::query("evil.test", TYPE::A);
    assert_eq!(f.screen(&allowed), QueryVerdict::Allowed("a.test".into()));
    assert_eq!(f.screen(&below), QueryVerdict::Allowed("x.y.w.test".into()));
    assert_eq!(f.screen(&denied), QueryVerdict::Denied("evil.test".into()));
    assert_eq!(f.screen(&denied), QueryVerdict::Denied("evil.test".into()));
    assert!(matches!(f.screen(b"sbx-probe"), QueryVerdict::Unreadable(_)));
    assert_eq!(*blocked.lock().unwrap(), ["sbx: blocked DNS lookup of evil.test — allow with --allow-net=evil.test"]);
    assert!(server.log().is_empty(), "screening sends nothing: {:?}", server.log());
}

#[test]
fn filter_grants_what_allowed_names_resolve_to_on_their_ports() {
    let server = TestDns::ephemeral();
    server.set("a.test", Answer::Addrs(vec![ip("192.0.2.1")]), 300);
    server.set("x.w.test", Answer::Addrs(vec![ip("192.0.2.2")]), 300);
    let hosts = vec![(ip("192.0.2.8"), "h.w.test".to_owned()), (ip("192.0.2.9"), "other.test".to_owned())];
    let (f, _) = filter(&["a.test:443", "*.w.test"], &server, hosts);
    // A miss looks the exact names up (not the wildcard), then grants.
    assert!(f.allows(sa("192.0.2.1:443")));
    assert_eq!(server.count("a.test"), 2, "A and AAAA: {:?}", server.log());
    assert!(!f.allows(sa("192.0.2.1:80")), "a.test may use port 443 only");
    // Not again within the period, however many misses.
    for _ in 0..3 {
        assert!(!f.allows(sa("192.0.2.99:443")));
    }
    assert_eq!(server.count("a.test"), 2, "{:?}", server.log());
    // A wildcard name is granted once looked up (here by the command's own
    // query through the proxy), never before.
    assert!(!f.allows(sa("192.0.2.2:1")));
    assert_eq!(server.count("x.w.test"), 0);
    ask(f.proxy().udp_addr(), "x.w.test", TYPE::A, false).unwrap();
    assert!(f.allows(sa("192.0.2.2:1")));
    // /etc/hosts: allowed names only.
    assert!(f.allows(sa("192.0.2.8:22")));
    assert!(!f.allows(sa("192.0.2.9:22")));
    assert_eq!(f.names_of(ip("192.0.2.9")), ["other.test"]);
    assert_eq!(f.names_of(ip("::ffff:192.0.2.1")), ["a.test"]);
    assert!(f.names_of(ip("192.0.2.99")).is_empty());
    // A query sbx let through to the nameserver: its own lookup records it.
    server.set("b.w.test", Answer::Addrs(vec![ip("192.0.2.3")]), 300);
    f.shadow("b.w.test");
    assert!(f.allows(sa("192.0.2.3:8080")));
}

// ------------------------------------------------- glibc, private /etc

fn resolv_conf(server: SocketAddr, options: &str) -> String {
    format!("nameserver {}\noptions timeout:1 attempts:1 {options}\n", server.ip())
}

const HOSTS: &str = "127.0.0.1 localhost\n10.9.8.7 fromhosts.test\n";

#[test]
fn private_etc_glibc_resolves_through_the_test_server() {
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("allowed.test", Answer::Addrs(vec![ip("192.0.2.1")]), 60);
    let Some(out) =
        with_private_etc(&resolv_conf(server.addr, ""), HOSTS, &[], &["getent", "ahostsv4", "allowed.test"])
    else {
        return;
    };
    out.success().stdout_has("192.0.2.1");
    let log = server.log();
    assert!(log.iter().any(|q| q.name == "allowed.test" && q.qtype == 1 && !q.tcp), "{log:?}");
}

#[test]
fn private_etc_hosts_entry_resolves_without_a_query() {
    let Some(server) = dnsutil::need_port_53() else { return };
    let Some(out) =
        with_private_etc(&resolv_conf(server.addr, ""), HOSTS, &[], &["getent", "ahosts", "fromhosts.test"])
    else {
        return;
    };
    out.success().stdout_has("10.9.8.7");
    assert!(server.log().is_empty(), "{:?}", server.log());
}

#[test]
fn private_etc_glibc_uses_tcp_with_res_options_use_vc() {
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("allowed.test", Answer::Addrs(vec![ip("192.0.2.1"), ip("2001:db8::1")]), 60);
    let conf = resolv_conf(server.addr, "");
    let Some(out) = with_private_etc(&conf, HOSTS, &[("RES_OPTIONS", "use-vc")], &["getent", "ahosts", "allowed.test"])
    else {
        return;
    };
    out.success().stdout_has("192.0.2.1").stdout_has("2001:db8::1");
    let log = server.log();
    assert!(!log.is_empty() && log.iter().all(|q| q.tcp), "expected only TCP queries: {log:?}");
    // The same option in resolv.conf works too; without it, UDP.
    let before = server.log().len();
    let conf_vc = resolv_conf(server.addr, "use-vc");
    with_private_etc(&conf_vc, HOSTS, &[], &["getent", "ahosts", "allowed.test"]).unwrap().success();
    assert!(server.log()[before..].iter().all(|q| q.tcp), "{:?}", server.log());
    let before = server.log().len();
    with_private_etc(&conf, HOSTS, &[], &["getent", "ahosts", "allowed.test"]).unwrap().success();
    assert!(server.log()[before..].iter().all(|q| !q.tcp), "{:?}", server.log());
}

#[test]
fn private_etc_glibc_ignores_a_udp_answer_from_another_address() {
    // What a supervisor that only redirected the child's UDP socket would
    // meet: the answer comes from an address that is not the nameserver.
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("allowed.test", Answer::Addrs(vec![ip("192.0.2.1")]), 60);
    server.reply_from(dnsutil::another_port_53_addr());
    let conf = resolv_conf(server.addr, "");
    let started = Instant::now();
    let Some(out) = with_private_etc(&conf, HOSTS, &[], &["getent", "ahostsv4", "allowed.test"]) else { return };
    out.code(2);
    assert!(server.count("allowed.test") >= 1, "glibc never asked: {:?}", server.log());
    assert!(started.elapsed() >= Duration::from_millis(900), "failed before its 1 s timeout: {:?}", started.elapsed());
    // Over TCP the answer comes back on the connection: fine.
    with_private_etc(&conf, HOSTS, &[("RES_OPTIONS", "use-vc")], &["getent", "ahostsv4", "allowed.test"])
        .unwrap()
        .success()
        .stdout_has("192.0.2.1");
}

/// glibc → proxy (on 127.53.x.y:53) → test server: the design end to end,
/// minus the supervisor's redirect.
#[test]
fn private_etc_glibc_through_the_proxy() {
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("allowed.test", Answer::Addrs(vec![ip("192.0.2.1"), ip("2001:db8::1")]), 60);
    server.set("evil.test", Answer::Addrs(vec![ip("192.0.2.66")]), 60);
    let listen = dnsutil::another_port_53_addr();
    let s = proxy_with(&["allowed.test"], &[server.addr], &[listen]);
    assert_eq!(s.proxy.udp_addr(), listen);
    let conf = resolv_conf(listen, "");
    for env in [&[][..], &[("RES_OPTIONS", "use-vc")][..]] {
        with_private_etc(&conf, HOSTS, env, &["getent", "ahosts", "allowed.test"])
            .unwrap()
            .success()
            .stdout_has("192.0.2.1")
            .stdout_has("2001:db8::1");
        let started = Instant::now();
        let out = with_private_etc(&conf, HOSTS, env, &["getent", "ahosts", "evil.test"]).unwrap();
        out.code(2);
        assert!(out.stdout.is_empty(), "{}", out.report());
        assert!(started.elapsed() < Duration::from_millis(900), "NXDOMAIN should fail fast: {:?}", started.elapsed());
    }
    assert_eq!(server.count("evil.test"), 0, "{:?}", server.log());
    let tcp = server.log().iter().filter(|q| q.tcp).count();
    assert!(tcp >= 1 && tcp < server.log().len(), "expected UDP then TCP: {:?}", server.log());
    assert_eq!(s.blocked.lock().unwrap().len(), 1);
    assert!(s.proxy.resolved().ports_allowed_for(ip("2001:db8::1"), s.clock.now()).is_some());
}

/// Why the proxy answers NXDOMAIN and not REFUSED: glibc takes NXDOMAIN from
/// the first nameserver as final, but on REFUSED asks the next one.
#[test]
fn private_etc_glibc_stops_at_nxdomain_but_asks_on_after_refused() {
    let Some(first) = dnsutil::need_port_53() else { return };
    let Some(second) = dnsutil::need_port_53() else { return };
    second.set("nx.test", Answer::Addrs(vec![ip("192.0.2.77")]), 60);
    second.set("refused.test", Answer::Addrs(vec![ip("192.0.2.78")]), 60);
    first.set("refused.test", Answer::Refused, 60);
    let conf =
        format!("nameserver {}\nnameserver {}\noptions timeout:1 attempts:1\n", first.addr.ip(), second.addr.ip());
    let Some(out) = with_private_etc(&conf, HOSTS, &[], &["getent", "ahostsv4", "nx.test"]) else { return };
    out.code(2);
    assert_eq!((first.count("nx.test"), second.count("nx.test")), (1, 0), "{:?} {:?}", first.log(), second.log());
    with_private_etc(&conf, HOSTS, &[], &["getent", "ahostsv4", "refused.test"])
        .unwrap()
        .success()
        .stdout_has("192.0.2.78");
    assert_eq!((first.count("refused.test"), second.count("refused.test")), (1, 1));
}

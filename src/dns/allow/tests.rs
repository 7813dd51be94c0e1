use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::*;

fn rules(entries: &[(&str, Option<u16>)]) -> NameRules {
    let mut rules = NameRules::new();
    for (pattern, port) in entries {
        rules.add(pattern, *port).unwrap();
    }
    rules
}

fn only(ports: &[u16]) -> PortSet {
    PortSet::Only(ports.iter().copied().collect::<BTreeSet<u16>>())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn exact_names_match_only_themselves_in_any_case() {
    let r = rules(&[("Example.com.", None)]);
    for yes in ["example.com", "EXAMPLE.COM", "example.com."] {
        assert!(r.allows(yes), "{yes}");
    }
    for no in ["www.example.com", "example.co", "xexample.com", "example.com.evil", "com", "", "."] {
        assert!(!r.allows(no), "{no}");
    }
}

#[test]
fn wildcards_match_every_depth_below_but_not_the_apex() {
    let r = rules(&[("*.example.com", None)]);
    for yes in ["a.example.com", "A.B.C.Example.Com.", "_srv._tcp.example.com"] {
        assert!(r.allows(yes), "{yes}");
    }
    for no in
        ["example.com", "badexample.com", "a.badexample.com", "example.com.evil", ".example.com", "a..example.com"]
    {
        assert!(!r.allows(no), "{no}");
    }
}

#[test]
fn ports_are_the_union_of_matching_entries() {
    let r = rules(&[("api.example.com", Some(443)), ("*.example.com", Some(8443)), ("other.test", None)]);
    assert_eq!(r.ports_for("api.example.com"), Some(only(&[443, 8443])));
    assert_eq!(r.ports_for("www.example.com"), Some(only(&[8443])));
    assert_eq!(r.ports_for("other.test"), Some(PortSet::Any));
    assert_eq!(r.ports_for("example.com"), None);
    let r = rules(&[("a.test", Some(80)), ("a.test", None)]);
    assert_eq!(r.ports_for("a.test"), Some(PortSet::Any));
    assert!(only(&[80, 443]).contains(443) && !only(&[80]).contains(443) && PortSet::Any.contains(1));
    assert_eq!(only(&[80, 443]).to_string(), "port 80,443");
}

#[test]
fn bad_patterns_are_explained() {
    for bad in
        ["", "*", "*.", "**.example.com", "a.*.example.com", "*example.com", "ex ample.com", "a..b", "10.0.0.1", "::1"]
    {
        let err = NamePattern::parse(bad).unwrap_err();
        assert!(err.to_string().starts_with(&format!("--allow-net={bad}: not a host name pattern: ")), "{err}");
    }
    assert!(NamePattern::parse(&format!("{}.com", "a".repeat(64))).is_err());
    assert!(NamePattern::parse(&format!("{}.com", "a".repeat(63))).is_ok());
    assert_eq!(NamePattern::parse("*.Example.COM.").unwrap(), NamePattern::Below("example.com".into()));
    assert_eq!(NamePattern::parse("*.example.com").unwrap().to_string(), "*.example.com");
    // A single label is a host name too (an intranet host).
    assert!(NamePattern::parse("intranet").is_ok());
}

#[test]
fn resolved_addresses_are_granted_until_they_expire() {
    let table = ResolvedAddrs::new();
    let t0 = Instant::now();
    table.record("Allowed.Test", &only(&[443]), &[ip("192.0.2.1"), ip("2001:db8::1")], 300, t0);
    let grant = table.ports_allowed_for(ip("192.0.2.1"), t0).unwrap();
    assert_eq!(grant, AddrGrant { ports: only(&[443]), names: vec!["allowed.test".into()] });
    assert!(table.ports_allowed_for(ip("2001:db8::1"), t0 + Duration::from_secs(299)).is_some());
    assert!(table.ports_allowed_for(ip("2001:db8::1"), t0 + Duration::from_secs(300)).is_none());
    assert!(table.ports_allowed_for(ip("192.0.2.2"), t0).is_none());
    assert_eq!(table.addrs_of("allowed.test", t0), vec![ip("192.0.2.1"), ip("2001:db8::1")]);
    assert!(table.addrs_of("allowed.test", t0 + Duration::from_secs(301)).is_empty());
}

#[test]
fn ttl_has_a_floor_and_a_cap() {
    assert_eq!(lifetime(0), TTL_FLOOR);
    assert_eq!(lifetime(5), TTL_FLOOR);
    assert_eq!(lifetime(600), Duration::from_secs(600));
    assert_eq!(lifetime(7 * 86400), TTL_CAP);
    assert_eq!(lifetime(u32::MAX), TTL_CAP);
    let table = ResolvedAddrs::new();
    let t0 = Instant::now();
    table.record("a.test", &PortSet::Any, &[ip("192.0.2.1")], 0, t0);
    assert!(table.ports_allowed_for(ip("192.0.2.1"), t0 + TTL_FLOOR - Duration::from_secs(1)).is_some());
    assert!(table.ports_allowed_for(ip("192.0.2.1"), t0 + TTL_FLOOR).is_none());
    table.record("b.test", &PortSet::Any, &[ip("192.0.2.2")], u32::MAX, t0);
    assert!(table.ports_allowed_for(ip("192.0.2.2"), t0 + TTL_CAP).is_none());
}

#[test]
fn rotation_keeps_every_address_seen_and_refreshes_expiry() {
    let table = ResolvedAddrs::new();
    let t0 = Instant::now();
    table.record("cdn.test", &PortSet::Any, &[ip("192.0.2.1")], 60, t0);
    table.record("cdn.test", &PortSet::Any, &[ip("192.0.2.2")], 60, t0 + Duration::from_secs(30));
    let t1 = t0 + Duration::from_secs(45);
    assert_eq!(table.addrs_of("cdn.test", t1), vec![ip("192.0.2.1"), ip("192.0.2.2")]);
    // Seen again: lives on; not seen again: expires.
    table.record("cdn.test", &PortSet::Any, &[ip("192.0.2.2")], 60, t1);
    let t2 = t0 + Duration::from_secs(70);
    assert_eq!(table.addrs_of("cdn.test", t2), vec![ip("192.0.2.2")]);
    // A shorter TTL seen later does not shorten what was recorded.
    table.record("cdn.test", &PortSet::Any, &[ip("192.0.2.2")], 0, t2);
    assert!(table.ports_allowed_for(ip("192.0.2.2"), t1 + Duration::from_secs(59)).is_some());
    assert_eq!(table.len(), 2);
}

#[test]
fn an_address_shared_by_names_grants_the_union() {
    let table = ResolvedAddrs::new();
    let t0 = Instant::now();
    table.record("b.test", &only(&[443]), &[ip("192.0.2.9")], 60, t0);
    table.record("a.test", &only(&[80]), &[ip("192.0.2.9")], 600, t0);
    let grant = table.ports_allowed_for(ip("192.0.2.9"), t0).unwrap();
    assert_eq!(grant, AddrGrant { ports: only(&[80, 443]), names: vec!["a.test".into(), "b.test".into()] });
    let later = table.ports_allowed_for(ip("192.0.2.9"), t0 + Duration::from_secs(100)).unwrap();
    assert_eq!(later, AddrGrant { ports: only(&[80]), names: vec!["a.test".into()] });
}

#[test]
fn ipv4_mapped_addresses_are_the_ipv4_address() {
    let table = ResolvedAddrs::new();
    let t0 = Instant::now();
    table.record("a.test", &PortSet::Any, &[ip("192.0.2.1")], 60, t0);
    assert!(table.ports_allowed_for(ip("::ffff:192.0.2.1"), t0).is_some());
    table.record("b.test", &PortSet::Any, &[ip("::ffff:192.0.2.2")], 60, t0);
    assert!(table.ports_allowed_for(ip("192.0.2.2"), t0).is_some());
}

#[test]
fn the_table_stays_small() {
    let table = ResolvedAddrs::new();
    let t0 = Instant::now();
    for i in 0..(MAX_RECORDS as u32 + 500) {
        let addr = v4(0xc000_0000_u32 + i);
        table.record("flood.test", &PortSet::Any, &[addr], 100 + i / 2, t0);
        assert!(table.len() <= MAX_RECORDS, "{} records after {i}", table.len());
    }
    // The newest (latest-expiring) survive.
    let newest = v4(0xc000_0000_u32 + MAX_RECORDS as u32 + 499);
    assert!(table.ports_allowed_for(newest, t0).is_some());
    assert!(table.ports_allowed_for(v4(0xc000_0000_u32), t0).is_none());
    // Expired records go first.
    let table = ResolvedAddrs::new();
    table.record("old.test", &PortSet::Any, &[ip("198.51.100.1")], 30, t0);
    let later = t0 + Duration::from_secs(31);
    for i in 0..MAX_RECORDS as u32 {
        table.record("new.test", &PortSet::Any, &[v4(0xc000_0000_u32 + i)], 60, later);
    }
    assert_eq!(table.len(), MAX_RECORDS);
    assert!(table.addrs_of("old.test", t0).is_empty());
}

#[test]
fn shared_between_threads() {
    let table = std::sync::Arc::new(ResolvedAddrs::new());
    let t0 = Instant::now();
    let threads: Vec<_> = (0..4u32)
        .map(|n| {
            let table = std::sync::Arc::clone(&table);
            std::thread::spawn(move || {
                for i in 0..100u32 {
                    table.record(&format!("t{n}.test"), &PortSet::Any, &[v4(n << 16 | i)], 60, t0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(table.len(), 400);
}

fn v4(n: u32) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::from(n))
}

#[test]
fn a_service_lookup_of_an_allowed_host_is_allowed() {
    let mut rules = NameRules::new();
    rules.add("mirror.test", Some(80)).unwrap();
    assert!(rules.allows("_http._tcp.mirror.test"));
    assert!(rules.allows("_HTTP._TCP.Mirror.Test."));
    assert!(!rules.allows("_http._tcp.other.test"));
    // Only the RFC 2782 form, with a protocol label.
    assert!(!rules.allows("_http.mirror.test"));
    assert!(!rules.allows("_x._y.mirror.test"));
    assert_eq!(service_host("_http._tcp.mirror.test"), Some("mirror.test"));
    assert_eq!(service_host("_a_b._tcp.x_y.test"), None);
    assert_eq!(service_host("mirror.test"), None);
    // A wildcard keeps matching the whole name.
    let mut rules = NameRules::new();
    rules.add("*.example.com", None).unwrap();
    assert!(rules.allows("_http._tcp.example.com"));
}

//! `--allow-net` entries (`NetRule::parse`): never panics, and an accepted
//! entry prints (as sbx shows it in messages and suggestions) as an entry
//! that parses back to the same rule and allows the same addresses.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use sbx::policy::NetRule;

fuzz_target!(|data: &[u8]| {
    let Ok(entry) = std::str::from_utf8(data) else { return };
    let Ok(rule) = NetRule::parse(entry) else { return };
    let shown = rule.to_string();
    let again = NetRule::parse(&shown).unwrap_or_else(|why| panic!("{entry:?} prints as {shown:?}, refused: {why}"));
    assert_eq!(rule, again, "{entry:?} prints as {shown:?}, which parses differently");
    // Probe addresses derived from the input, plus fixed ones.
    let mut probes: Vec<IpAddr> = vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34)),
        IpAddr::V6(Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped()),
    ];
    if let Some(bytes) = data.get(..4) {
        let v4 = Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]);
        probes.push(IpAddr::V4(v4));
        probes.push(IpAddr::V6(v4.to_ipv6_mapped()));
    }
    if let Some(bytes) = data.get(..16) {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(bytes);
        probes.push(IpAddr::V6(Ipv6Addr::from(octets)));
    }
    let port = rule.port.unwrap_or(443);
    for ip in probes {
        for p in [port, port.wrapping_add(1).max(1)] {
            let addr = SocketAddr::new(ip, p);
            assert_eq!(rule.allows(addr), again.allows(addr), "{entry:?} vs {shown:?} on {addr}");
            if rule.is_name() {
                assert!(!rule.allows(addr), "name entry {entry:?} allows {addr}");
            }
        }
        // The suggestion for an address must itself be an entry allowing it.
        let addr = SocketAddr::new(ip, port.max(1));
        let suggested = sbx::policy::net::suggestion(addr);
        let s = NetRule::parse(&suggested).unwrap_or_else(|why| panic!("suggestion {suggested:?} refused: {why}"));
        assert!(s.allows(addr), "suggestion {suggested:?} does not allow {addr}");
    }
});

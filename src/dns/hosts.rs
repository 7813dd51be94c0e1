//! /etc/hosts, read the way glibc's `files` source reads it: `ADDRESS NAME
//! [ALIAS…]` per line, `#` starts a comment, names case-insensitive. Pure.
//!
//! A name found only in /etc/hosts never produces a DNS query the filter
//! could see, so the supervisor grants the addresses this file gives allowed
//! names. It reads the file once, before the command starts: the command
//! may be able to write /etc/hosts, and what it writes there must not
//! widen what it may reach.

use std::net::IpAddr;
use std::path::Path;

use super::allow::normalize_name;

/// Where glibc and musl read static host names.
pub const HOSTS: &str = "/etc/hosts";

/// The (address, name) pairs of a hosts file, names lower-case without a
/// trailing dot, in file order. Lines with an unreadable address (a scoped
/// IPv6 address such as `fe80::1%eth0`, a typo) are skipped, as are names
/// that are no host names.
pub fn parse(text: &str) -> Vec<(IpAddr, String)> {
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(addr) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) else { continue };
        for name in words.filter_map(normalize_name) {
            pairs.push((addr.to_canonical(), name));
        }
    }
    pairs
}

/// The pairs of the hosts file at `path`; none if it cannot be read (glibc
/// then finds no name there either).
pub fn read(path: &Path) -> Vec<(IpAddr, String)> {
    match std::fs::read(path) {
        Ok(bytes) => parse(&String::from_utf8_lossy(&bytes)),
        Err(err) => {
            tracing::debug!("reading {}: {err}; no host names from it", path.display());
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_names_and_aliases() {
        let text = "# comment\n127.0.0.1\tlocalhost\n10.9.8.7 Db.Internal. db  # the database\n\
                    ::1 ip6-localhost ip6-loopback\n\n  192.0.2.5   a.test b.test\n::ffff:10.1.2.3 mapped.test\n";
        assert_eq!(
            parse(text),
            vec![
                (ip("127.0.0.1"), "localhost".into()),
                (ip("10.9.8.7"), "db.internal".into()),
                (ip("10.9.8.7"), "db".into()),
                (ip("::1"), "ip6-localhost".into()),
                (ip("::1"), "ip6-loopback".into()),
                (ip("192.0.2.5"), "a.test".into()),
                (ip("192.0.2.5"), "b.test".into()),
                (ip("10.1.2.3"), "mapped.test".into()),
            ]
        );
    }

    #[test]
    fn unreadable_lines_are_skipped() {
        let text = "fe80::1%eth0 scoped.test\n300.1.1.1 bad.test\nnot-an-address x.test\n10.0.0.1 ok.test bad!name\n";
        assert_eq!(parse(text), vec![(ip("10.0.0.1"), "ok.test".into())]);
        assert!(read(Path::new("/nonexistent/hosts")).is_empty());
    }
}

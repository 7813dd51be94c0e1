use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use simple_dns::rdata::{A, AAAA, CNAME, RData, TXT};
use simple_dns::{CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question, RCODE, ResourceRecord, TYPE};

use super::*;

fn query_bytes(id: u16, names: &[&str], qtype: TYPE) -> Vec<u8> {
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    for name in names {
        packet.questions.push(Question::new(Name::new_unchecked(name), qtype.into(), CLASS::IN.into(), false));
    }
    packet.build_bytes_vec().unwrap()
}

fn a(name: &'static str, ttl: u32, ip: [u8; 4]) -> ResourceRecord<'static> {
    ResourceRecord::new(Name::new_unchecked(name), CLASS::IN, ttl, RData::A(A::from(Ipv4Addr::from(ip))))
}

fn aaaa(name: &'static str, ttl: u32, ip: &str) -> ResourceRecord<'static> {
    let ip: Ipv6Addr = ip.parse().unwrap();
    ResourceRecord::new(Name::new_unchecked(name), CLASS::IN, ttl, RData::AAAA(AAAA::from(ip)))
}

fn cname(name: &'static str, ttl: u32, target: &'static str) -> ResourceRecord<'static> {
    ResourceRecord::new(Name::new_unchecked(name), CLASS::IN, ttl, RData::CNAME(CNAME(Name::new_unchecked(target))))
}

fn response_bytes(id: u16, qname: &str, qtype: TYPE, answers: Vec<ResourceRecord<'static>>) -> Vec<u8> {
    let mut packet = Packet::new_reply(id);
    packet.questions.push(Question::new(Name::new_unchecked(qname), qtype.into(), CLASS::IN.into(), false));
    packet.answers = answers;
    packet.build_bytes_vec_compressed().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn query_name_is_lower_case_without_trailing_dot() {
    let q = parse_query(&query_bytes(0x1234, &["WWW.Example.COM"], TYPE::AAAA)).unwrap();
    assert_eq!((q.id, q.name.as_str(), q.qtype, q.qclass), (0x1234, "www.example.com", 28, 1));
}

#[test]
fn query_with_edns_opt_is_accepted() {
    let mut packet = Packet::new_query(7);
    packet.questions.push(Question::new(Name::new_unchecked("a.test"), TYPE::A.into(), CLASS::IN.into(), false));
    *packet.opt_mut() = Some(simple_dns::rdata::OPT { opt_codes: Vec::new(), udp_packet_size: 1232, version: 0 });
    let bytes = packet.build_bytes_vec().unwrap();
    assert_eq!(simple_dns::header_buffer::additional_records(&bytes).unwrap(), 1);
    assert_eq!(parse_query(&bytes).unwrap().name, "a.test");
}

#[test]
fn not_exactly_one_question_is_rejected() {
    assert_eq!(parse_query(&query_bytes(1, &[], TYPE::A)).unwrap_err(), Rejected::QuestionCount(0));
    assert_eq!(
        parse_query(&query_bytes(1, &["allowed.test", "evil.test"], TYPE::A)).unwrap_err(),
        Rejected::QuestionCount(2)
    );
}

#[test]
fn responses_and_other_opcodes_are_not_queries() {
    let response = response_bytes(1, "a.test", TYPE::A, vec![]);
    assert!(matches!(parse_query(&response), Err(Rejected::WrongDirection { .. })));
    for opcode in [1u8, 2, 4, 5] {
        let mut bytes = query_bytes(1, &["a.test"], TYPE::A);
        bytes[2] = (bytes[2] & 0x87) | (opcode << 3);
        assert_eq!(parse_query(&bytes).unwrap_err(), Rejected::Opcode(opcode), "opcode {opcode}");
    }
}

#[test]
fn a_query_carrying_records_is_rejected() {
    let mut packet = Packet::new_query(1);
    packet.questions.push(Question::new(Name::new_unchecked("a.test"), TYPE::A.into(), CLASS::IN.into(), false));
    packet.additional_records.push(a("evil.test", 1, [1, 2, 3, 4]));
    assert_eq!(parse_query(&packet.build_bytes_vec().unwrap()).unwrap_err(), Rejected::ExtraRecords);
    let mut packet = Packet::new_query(1);
    packet.questions.push(Question::new(Name::new_unchecked("a.test"), TYPE::A.into(), CLASS::IN.into(), false));
    packet.answers.push(a("a.test", 1, [1, 2, 3, 4]));
    assert_eq!(parse_query(&packet.build_bytes_vec().unwrap()).unwrap_err(), Rejected::ExtraRecords);
}

#[test]
fn names_that_are_not_host_names_are_rejected() {
    // Wire labels with a dot, a space, a NUL, a star, and the root name.
    for labels in [&[&b"evil.test"[..], b"allowed"][..], &[b"a b", b"test"], &[b"a\0", b"test"], &[b"*", b"test"], &[]]
    {
        let mut bytes = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in labels {
            bytes.push(label.len() as u8);
            bytes.extend_from_slice(label);
        }
        bytes.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(matches!(parse_query(&bytes), Err(Rejected::BadName(_))), "{labels:?}");
    }
    // Underscores (SRV, DKIM) and digits are fine.
    assert_eq!(
        parse_query(&query_bytes(1, &["_sip._tcp.Host-1.test"], TYPE::SRV)).unwrap().name,
        "_sip._tcp.host-1.test"
    );
}

#[test]
fn query_type_simple_dns_does_not_know_is_kept() {
    // TLSA (52) has no parser in simple-dns 0.13.
    let mut bytes = query_bytes(9, &["_443._tcp.Allowed.test"], TYPE::A);
    let at = bytes.len() - 4;
    bytes[at..at + 2].copy_from_slice(&52u16.to_be_bytes());
    let q = parse_query(&bytes).unwrap();
    assert_eq!((q.name.as_str(), q.qtype), ("_443._tcp.allowed.test", 52));
    let reply = denied_reply(&q).unwrap();
    assert_eq!(&reply[reply.len() - 4..reply.len() - 2], &52u16.to_be_bytes());
    // The same for a response to such a query.
    let mut response = response_bytes(9, "_443._tcp.Allowed.test", TYPE::A, vec![]);
    let at = 12 + "_443._tcp.Allowed.test".len() + 2;
    response[at..at + 2].copy_from_slice(&52u16.to_be_bytes());
    let parsed = parse_response(&response).unwrap();
    assert_eq!(parsed.questions, vec![("_443._tcp.allowed.test".to_owned(), 52, 1)]);
    assert!(parsed.answers(&q));
}

#[test]
fn denied_reply_is_nxdomain_with_the_same_id_and_question() {
    let q = parse_query(&query_bytes(0xbeef, &["Evil.Test"], TYPE::AAAA)).unwrap();
    let reply = denied_reply(&q).unwrap();
    let packet = Packet::parse(&reply).unwrap();
    assert_eq!(packet.id(), 0xbeef);
    assert_eq!(packet.rcode(), RCODE::NameError);
    assert!(packet.has_flags(PacketFlag::RESPONSE | PacketFlag::RECURSION_DESIRED | PacketFlag::RECURSION_AVAILABLE));
    assert!(!packet.has_flags(PacketFlag::TRUNCATION | PacketFlag::AUTHORITATIVE_ANSWER));
    assert_eq!(packet.questions.len(), 1);
    // Case kept as asked (clients using 0x20 randomisation compare it).
    assert_eq!(packet.questions[0].qname.to_string(), "Evil.Test");
    assert_eq!(packet.questions[0].qtype, QTYPE::TYPE(TYPE::AAAA));
    assert_eq!(packet.questions[0].qclass, QCLASS::CLASS(CLASS::IN));
    assert!(packet.answers.is_empty() && packet.name_servers.is_empty() && packet.additional_records.is_empty());
    let parsed = parse_response(&reply).unwrap();
    assert!(parsed.answers(&q));
    assert_eq!(parsed.rcode, RCODE_NXDOMAIN);
    assert_eq!(parse_response(&servfail_reply(&q).unwrap()).unwrap().rcode, RCODE_SERVFAIL);
}

#[test]
fn build_query_round_trips_and_refuses_non_host_names() {
    let q = parse_query(&build_query(42, "api.example.com", TYPE_AAAA).unwrap()).unwrap();
    assert_eq!((q.id, q.name.as_str(), q.qtype), (42, "api.example.com", TYPE_AAAA));
    assert!(build_query(1, "a b.test", TYPE_A).is_err());
    assert!(build_query(1, "a\\.b.test", TYPE_A).is_err());
    assert!(build_query(1, "", TYPE_A).is_err());
}

#[test]
fn response_addresses_a_and_aaaa_with_the_smallest_ttl() {
    let bytes = response_bytes(
        5,
        "Allowed.Test",
        TYPE::A,
        vec![
            a("allowed.test", 300, [10, 0, 0, 1]),
            a("ALLOWED.test", 60, [10, 0, 0, 2]),
            aaaa("allowed.test", 120, "fd00::1"),
        ],
    );
    let r = parse_response(&bytes).unwrap();
    assert_eq!((r.id, r.rcode, r.truncated), (5, 0, false));
    assert_eq!(
        r.resolved,
        vec![Resolved {
            name: "allowed.test".into(),
            addrs: vec![ip("10.0.0.1"), ip("10.0.0.2"), ip("fd00::1")],
            ttl: 60
        }]
    );
}

#[test]
fn response_follows_cnames_to_the_addresses() {
    let bytes = response_bytes(
        5,
        "www.allowed.test",
        TYPE::A,
        vec![
            cname("www.allowed.test", 40, "edge.cdn.test"),
            cname("edge.cdn.test", 3600, "e1.cdn.test"),
            a("e1.cdn.test", 300, [192, 0, 2, 7]),
            a("e1.cdn.test", 300, [192, 0, 2, 7]),
            // Not on the chain: ignored.
            a("other.test", 1, [203, 0, 113, 9]),
            a("cdn.test", 1, [203, 0, 113, 10]),
        ],
    );
    let r = parse_response(&bytes).unwrap();
    assert_eq!(r.resolved, vec![Resolved { name: "www.allowed.test".into(), addrs: vec![ip("192.0.2.7")], ttl: 40 }]);
}

#[test]
fn cname_loops_and_dead_ends_give_no_addresses() {
    let looped = response_bytes(
        1,
        "a.test",
        TYPE::A,
        vec![cname("a.test", 60, "b.test"), cname("b.test", 60, "a.test"), a("c.test", 60, [1, 1, 1, 1])],
    );
    let started = Instant::now();
    let r = parse_response(&looped).unwrap();
    assert!(r.resolved.is_empty());
    assert!(started.elapsed() < Duration::from_secs(1));
    let dead_end = response_bytes(1, "a.test", TYPE::A, vec![cname("a.test", 60, "gone.test")]);
    assert!(parse_response(&dead_end).unwrap().resolved.is_empty());
}

#[test]
fn only_class_in_and_address_records_count() {
    let mut chaos = a("a.test", 60, [1, 2, 3, 4]);
    chaos.class = CLASS::CH;
    let txt = ResourceRecord::new(Name::new_unchecked("a.test"), CLASS::IN, 60, RData::TXT(TXT::new()));
    let r = parse_response(&response_bytes(1, "a.test", TYPE::A, vec![chaos, txt])).unwrap();
    assert!(r.resolved.is_empty());
}

#[test]
fn response_answers_only_its_query() {
    let q = parse_query(&query_bytes(77, &["a.test"], TYPE::A)).unwrap();
    let answer = |id, name, qtype| parse_response(&response_bytes(id, name, qtype, vec![])).unwrap();
    assert!(answer(77, "A.TEST", TYPE::A).answers(&q));
    assert!(!answer(78, "a.test", TYPE::A).answers(&q));
    assert!(!answer(77, "b.test", TYPE::A).answers(&q));
    assert!(!answer(77, "a.test", TYPE::AAAA).answers(&q));
    assert!(matches!(parse_response(&query_bytes(77, &["a.test"], TYPE::A)), Err(Rejected::WrongDirection { .. })));
}

#[test]
fn server_failures_are_told_apart() {
    let q = parse_query(&query_bytes(3, &["a.test"], TYPE::A)).unwrap();
    for (rcode, failure) in [(0u8, false), (3, false), (2, true), (4, true), (5, true)] {
        let mut bytes = response_bytes(3, "a.test", TYPE::A, vec![]);
        bytes[3] = (bytes[3] & 0xf0) | rcode;
        let r = parse_response(&bytes).unwrap();
        assert_eq!((r.rcode, r.is_server_failure()), (rcode, failure));
        assert!(r.answers(&q));
    }
}

#[test]
fn compression_pointer_loops_are_rejected_without_hanging() {
    let started = Instant::now();
    let header = [0u8, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    let names: [&[u8]; 5] = [
        &[0xc0, 12],                    // points at itself
        &[0xc0, 14],                    // points forward
        &[1, b'a', 0xc0, 12],           // loops back through a label
        &[0xc0, 2],                     // into the header
        &[1, b'a', 0xc0, 14, 0xc0, 12], // a chain of pointers back to the start
    ];
    for name in names {
        let mut bytes = header.to_vec();
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&[0, 1, 0, 1]);
        assert!(parse_query(&bytes).is_err(), "{name:?}");
        bytes[2] |= 0x80;
        let _ = parse_response(&bytes);
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn counts_larger_than_the_message_are_rejected() {
    let mut bytes = query_bytes(1, &["a.test"], TYPE::A);
    bytes[6..12].copy_from_slice(&[0xff; 6]);
    assert!(matches!(parse_query(&bytes), Err(Rejected::Malformed(_))));
    assert!(matches!(parse_response(&bytes), Err(Rejected::Malformed(_))));
}

/// A small deterministic generator (xorshift), so the garbage is the same every run.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (self.next() as usize) % (max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn feed(bytes: &[u8]) {
    let _ = parse_query(bytes);
    let _ = parse_response(bytes);
    if let Ok(q) = parse_query(bytes) {
        let _ = denied_reply(&q).unwrap();
    }
}

#[test]
fn truncated_and_garbage_bytes_never_panic() {
    let started = Instant::now();
    let query = query_bytes(1, &["www.allowed.test"], TYPE::A);
    let response = response_bytes(
        1,
        "www.allowed.test",
        TYPE::A,
        vec![
            cname("www.allowed.test", 60, "edge.cdn.test"),
            a("edge.cdn.test", 60, [1, 2, 3, 4]),
            aaaa("edge.cdn.test", 60, "::1"),
        ],
    );
    for valid in [&query, &response] {
        // Every prefix.
        for len in 0..valid.len() {
            feed(&valid[..len]);
        }
        // Every single-bit flip, and every byte set to each of a few values.
        for i in 0..valid.len() {
            for bit in 0..8 {
                let mut bytes = valid.clone();
                bytes[i] ^= 1 << bit;
                feed(&bytes);
            }
            for value in [0x00, 0x3f, 0x40, 0x7f, 0xc0, 0xc1, 0xff] {
                let mut bytes = valid.clone();
                bytes[i] = value;
                feed(&bytes);
            }
        }
    }
    // Random bytes, bare and after a plausible header.
    let mut garbage = Garbage(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        feed(&garbage.bytes(80));
        let mut bytes = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        bytes.extend(garbage.bytes(60));
        feed(&bytes);
        bytes[2] |= 0x80;
        bytes[7] = 3;
        feed(&bytes);
    }
    assert!(started.elapsed() < Duration::from_secs(30), "parsing garbage took {:?}", started.elapsed());
}

#[test]
fn message_id_of_short_messages() {
    assert_eq!(message_id(&[]), None);
    assert_eq!(message_id(&[1]), None);
    assert_eq!(message_id(&[1, 2, 3]), Some(0x0102));
}

//! DNS messages, read and written with `simple-dns`: what a query asks, which
//! addresses a response gives for the name it asked about, and the local
//! answer to a query sbx will not forward. Pure and platform-neutral.
//!
//! Guarantees:
//! - Nothing here panics, whatever the bytes: a message that does not parse
//!   (truncated, garbage, a count larger than the message could hold, a
//!   compression pointer that does not point strictly backwards, so no
//!   pointer loop) is an `Err`, and callers treat it as not allowed.
//! - A [`Query`] is exactly one question of a standard query with nothing
//!   else but an EDNS OPT record, and its name is made of host-name
//!   characters only (letters, digits, `-`, `_`), so the text the filter
//!   matches is the name the upstream resolver will be asked about: no
//!   escapes, no dots inside labels, no bytes that print differently.
//! - Names are compared case-insensitively and written without the trailing
//!   dot; [`Query::name`] is lower-case.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, OPCODE, Packet, PacketFlag, QCLASS, QTYPE, Question, RCODE, SimpleDnsError, TYPE};

/// The DNS header is 12 bytes.
const HEADER_LEN: usize = 12;
/// The smallest question: the root name (1 byte), type and class.
const MIN_QUESTION_LEN: usize = 5;
/// The smallest resource record: the root name, type, class, TTL, length.
const MIN_RECORD_LEN: usize = 11;
/// How many CNAMEs an answer may chain before the rest is ignored.
const MAX_CNAME_CHAIN: usize = 16;

/// Question and record types sbx cares about.
pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The bytes are not a DNS message.
    #[error("not a DNS message: {0}")]
    Malformed(String),
    /// A response where a query was expected, or the other way round.
    #[error("expected a {expected}, got a {got}")]
    WrongDirection { expected: &'static str, got: &'static str },
    /// Not a standard query (opcode QUERY).
    #[error("not a standard query (opcode {0})")]
    Opcode(u8),
    /// Not exactly one question.
    #[error("{0} questions (sbx forwards queries with exactly one)")]
    QuestionCount(usize),
    /// A query carrying answer, authority or additional records (other than EDNS).
    #[error("a query with records besides its question")]
    ExtraRecords,
    /// A name with characters no host name has, or the root.
    #[error("the name {0:?} is not a host name")]
    BadName(String),
}

impl From<SimpleDnsError> for Rejected {
    fn from(err: SimpleDnsError) -> Self {
        Rejected::Malformed(err.to_string())
    }
}

/// One parsed query: its ID and its single question.
#[derive(Debug, Clone)]
pub struct Query {
    /// The message ID, echoed by the answer.
    pub id: u16,
    /// The name asked about: lower-case, no trailing dot.
    pub name: String,
    /// The question type (1 = A, 28 = AAAA, …).
    pub qtype: u16,
    /// The question class (1 = IN).
    pub qclass: u16,
    recursion_desired: bool,
    /// The question as received (original case, for the answer to echo).
    question: Question<'static>,
}

/// Addresses a response gives for one name it asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The name asked about: lower-case, no trailing dot.
    pub name: String,
    /// Its A and AAAA addresses, through any CNAMEs in the answer, each once.
    pub addrs: Vec<IpAddr>,
    /// The smallest TTL of the records that led to the addresses.
    pub ttl: u32,
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub id: u16,
    /// The 4-bit header RCODE (0 = NOERROR, 2 = SERVFAIL, 3 = NXDOMAIN, 5 = REFUSED).
    pub rcode: u8,
    /// The TC bit: the answer did not fit and the client should ask over TCP.
    pub truncated: bool,
    /// The questions, as `(lower-case name, type, class)`.
    pub questions: Vec<(String, u16, u16)>,
    /// The addresses found for each question name (names with none left out).
    pub resolved: Vec<Resolved>,
}

/// RCODE values used by sbx.
pub const RCODE_SERVFAIL: u8 = 2;
pub const RCODE_NXDOMAIN: u8 = 3;
pub const RCODE_NOTIMP: u8 = 4;
pub const RCODE_REFUSED: u8 = 5;

impl Response {
    /// Whether this is the answer to `query`: same ID and same, single question.
    pub fn answers(&self, query: &Query) -> bool {
        self.id == query.id
            && self.questions.len() == 1
            && self.questions.first().is_some_and(|(name, qtype, qclass)| {
                *name == query.name && *qtype == query.qtype && *qclass == query.qclass
            })
    }

    /// Whether a forwarder should try the next server rather than relay this
    /// answer (the server failed, refused, or does not implement the query).
    pub fn is_server_failure(&self) -> bool {
        matches!(self.rcode, RCODE_SERVFAIL | RCODE_NOTIMP | RCODE_REFUSED)
    }
}

/// Parses a query. Anything but one question of a standard query (plus at
/// most an EDNS OPT record) with a host name is rejected.
pub fn parse_query(bytes: &[u8]) -> Result<Query, Rejected> {
    with_packet(bytes, |packet, raw_qtype| {
        if packet.has_flags(PacketFlag::RESPONSE) {
            return Err(Rejected::WrongDirection { expected: "query", got: "response" });
        }
        if packet.opcode() != OPCODE::StandardQuery {
            return Err(Rejected::Opcode(opcode_number(bytes)));
        }
        let [question] = packet.questions.as_slice() else {
            return Err(Rejected::QuestionCount(packet.questions.len()));
        };
        if !packet.answers.is_empty() || !packet.name_servers.is_empty() || !packet.additional_records.is_empty() {
            return Err(Rejected::ExtraRecords);
        }
        let name = host_name(&question.qname)?;
        let mut question = question.clone().into_owned();
        let qtype = match raw_qtype {
            Some(raw) => {
                question.qtype = QTYPE::TYPE(TYPE::from(raw));
                raw
            }
            None => question.qtype.into(),
        };
        Ok(Query {
            id: packet.id(),
            name,
            qtype,
            qclass: question.qclass.into(),
            recursion_desired: packet.has_flags(PacketFlag::RECURSION_DESIRED),
            question,
        })
    })
}

/// Parses a response and collects, for each question name, the A and AAAA
/// addresses of the answer section, following CNAMEs from the question name
/// (so an allowed name served through a CDN's CNAME gets the CDN's
/// addresses). Only class IN records count; other names in the answer are
/// ignored.
pub fn parse_response(bytes: &[u8]) -> Result<Response, Rejected> {
    with_packet(bytes, |packet, raw_qtype| {
        if !packet.has_flags(PacketFlag::RESPONSE) {
            return Err(Rejected::WrongDirection { expected: "response", got: "query" });
        }
        let mut questions = Vec::with_capacity(packet.questions.len());
        let mut resolved = Vec::new();
        for (i, question) in packet.questions.iter().enumerate() {
            let qtype = match raw_qtype {
                Some(raw) if i == 0 => raw,
                _ => question.qtype.into(),
            };
            // A question name that is no host name cannot have been allowed.
            let Ok(name) = host_name(&question.qname) else { continue };
            if let Some((addrs, ttl)) = addresses_of(&question.qname, packet) {
                resolved.push(Resolved { name: name.clone(), addrs, ttl });
            }
            questions.push((name, qtype, question.qclass.into()));
        }
        Ok(Response {
            id: packet.id(),
            rcode: bytes.get(3).map_or(0, |b| b & 0x0f),
            truncated: packet.has_flags(PacketFlag::TRUNCATION),
            questions,
            resolved,
        })
    })
}

/// The answer to a query sbx does not forward: NXDOMAIN, same ID and question.
///
/// NXDOMAIN rather than REFUSED: every stub resolver takes NXDOMAIN as final
/// ("no such host") and stops, while REFUSED means "ask another server":
/// glibc then tries every nameserver in turn, Go's resolver does too, and
/// musl ignores a REFUSED reply altogether and waits for its timeout
/// (5 s × attempts) before failing. See docs/dns.md.
pub fn denied_reply(query: &Query) -> Result<Vec<u8>, Rejected> {
    reply(query, RCODE::NameError)
}

/// SERVFAIL for `query`: what the proxy answers when no upstream server did.
pub fn servfail_reply(query: &Query) -> Result<Vec<u8>, Rejected> {
    reply(query, RCODE::ServerFailure)
}

fn reply(query: &Query, rcode: RCODE) -> Result<Vec<u8>, Rejected> {
    let mut packet = Packet::new_reply(query.id);
    packet.set_flags(PacketFlag::RECURSION_AVAILABLE);
    if query.recursion_desired {
        packet.set_flags(PacketFlag::RECURSION_DESIRED);
    }
    *packet.rcode_mut() = rcode;
    packet.questions.push(query.question.clone());
    Ok(packet.build_bytes_vec()?)
}

/// A recursive query for `name` (a host name, as [`crate::dns::allow::normalize_name`]
/// gives it) of type `qtype`, with message ID `id`.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, Rejected> {
    let qname = Name::new(name).map_err(|_| Rejected::BadName(name.to_owned()))?;
    if host_name(&qname)? != name.to_ascii_lowercase() {
        return Err(Rejected::BadName(name.to_owned()));
    }
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    packet.questions.push(Question::new(qname, QTYPE::TYPE(TYPE::from(qtype)), QCLASS::CLASS(CLASS::IN), false));
    Ok(packet.build_bytes_vec()?)
}

/// The message ID of a DNS message, if it is long enough to have one.
pub fn message_id(bytes: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

/// Parses `bytes` and hands the packet to `f`, with the first question's
/// type number when simple-dns did not know it.
///
/// simple-dns rejects a question whose type it has no parser for (TLSA,
/// SSHFP, …). The type does not matter to the filter, so such a message is
/// parsed again with the type replaced by A, and `f` is told the real one.
fn with_packet<T>(
    bytes: &[u8],
    f: impl FnOnce(&Packet<'_>, Option<u16>) -> Result<T, Rejected>,
) -> Result<T, Rejected> {
    check_counts(bytes)?;
    match Packet::parse(bytes) {
        Ok(packet) => f(&packet, None),
        Err(SimpleDnsError::InvalidQType(raw)) => {
            let at = first_qtype_offset(bytes).ok_or_else(|| Rejected::Malformed("unreadable question".into()))?;
            let mut patched = bytes.to_vec();
            let slot = patched.get_mut(at..at + 2).ok_or_else(|| Rejected::Malformed("truncated question".into()))?;
            slot.copy_from_slice(&TYPE_A.to_be_bytes());
            let packet = Packet::parse(&patched)?;
            f(&packet, Some(raw))
        }
        Err(err) => Err(err.into()),
    }
}

/// Rejects a header whose counts need more bytes than the message has (so a
/// 12-byte message claiming 65535 records does not allocate for them).
fn check_counts(bytes: &[u8]) -> Result<(), Rejected> {
    let count = |at: usize| -> Result<usize, Rejected> {
        match (bytes.get(at), bytes.get(at + 1)) {
            (Some(&hi), Some(&lo)) => Ok(usize::from(u16::from_be_bytes([hi, lo]))),
            _ => Err(Rejected::Malformed(format!("{} bytes, shorter than a DNS header", bytes.len()))),
        }
    };
    let questions = count(4)?;
    let records = count(6)? + count(8)? + count(10)?;
    if HEADER_LEN + questions * MIN_QUESTION_LEN + records * MIN_RECORD_LEN > bytes.len() {
        return Err(Rejected::Malformed("its counts exceed its length".into()));
    }
    Ok(())
}

/// Where the first question's type is, if its name is written out (no
/// compression pointer; a query's first name never needs one).
fn first_qtype_offset(bytes: &[u8]) -> Option<usize> {
    let mut at = HEADER_LEN;
    loop {
        let len = usize::from(*bytes.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        at += len;
    }
    (at + 4 <= bytes.len()).then_some(at)
}

fn opcode_number(bytes: &[u8]) -> u8 {
    bytes.get(2).map_or(0, |b| (b >> 3) & 0x0f)
}

/// The name as lower-case text without the trailing dot, if every label is
/// made of letters, digits, `-` and `_`.
fn host_name(name: &Name<'_>) -> Result<String, Rejected> {
    let mut text = String::new();
    for label in name.as_bytes() {
        if label.is_empty() || !label.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(Rejected::BadName(name.to_string()));
        }
        if !text.is_empty() {
            text.push('.');
        }
        text.extend(label.iter().map(|&b| char::from(b.to_ascii_lowercase())));
    }
    if text.is_empty() {
        return Err(Rejected::BadName(".".into()));
    }
    Ok(text)
}

/// The A/AAAA addresses reached from `qname` through the answer section's
/// CNAMEs, with the smallest TTL along the way.
fn addresses_of(qname: &Name<'_>, packet: &Packet<'_>) -> Option<(Vec<IpAddr>, u32)> {
    let mut current = qname.clone();
    let mut chain_ttl = u32::MAX;
    let mut min_ttl = u32::MAX;
    let mut addrs = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..=MAX_CNAME_CHAIN {
        let mut next = None;
        for record in packet.answers.iter().filter(|r| r.class == CLASS::IN && r.name == current) {
            let addr = match &record.rdata {
                RData::A(a) => IpAddr::V4(Ipv4Addr::from(a.address)),
                RData::AAAA(aaaa) => IpAddr::V6(Ipv6Addr::from(aaaa.address)),
                RData::CNAME(target) => {
                    if next.is_none() {
                        next = Some((target.0.clone(), record.ttl));
                    }
                    continue;
                }
                _ => continue,
            };
            min_ttl = min_ttl.min(chain_ttl.min(record.ttl));
            if seen.insert(addr) {
                addrs.push(addr);
            }
        }
        let Some((target, ttl)) = next else { break };
        chain_ttl = chain_ttl.min(ttl);
        current = target;
    }
    (!addrs.is_empty()).then_some((addrs, min_ttl))
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (type {})", self.name, self.qtype)
    }
}

#[cfg(test)]
mod tests;

//! What the DNS proxy reads from the sandboxed command (`parse_query`):
//! never panics; an accepted query has a host name, and the proxy's answers
//! to it (NXDOMAIN, SERVFAIL) build and parse back as responses to it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sbx::dns::message::{self, parse_query, parse_response};

fuzz_target!(|data: &[u8]| {
    let _ = message::message_id(data);
    let Ok(query) = parse_query(data) else { return };
    assert_eq!(message::message_id(data), Some(query.id));
    assert!(!query.name.is_empty() && !query.name.ends_with('.'), "{:?}", query.name);
    assert!(
        query.name.split('.').all(|l| !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')),
        "query name {:?} is not a lower-case host name",
        query.name
    );
    let _ = query.to_string();
    for (rcode, reply) in [
        (message::RCODE_NXDOMAIN, message::denied_reply(&query)),
        (message::RCODE_SERVFAIL, message::servfail_reply(&query)),
    ] {
        let bytes = reply.unwrap_or_else(|err| panic!("no reply to {query}: {err}"));
        let response = parse_response(&bytes).unwrap_or_else(|err| panic!("our reply to {query} is refused: {err}"));
        assert!(response.answers(&query), "our reply {response:?} does not answer {query}");
        assert_eq!(response.rcode, rcode);
        assert!(response.resolved.is_empty());
        assert!(parse_query(&bytes).is_err(), "our reply to {query} parses as a query");
    }
    // The proxy's own upstream query for that name builds and reads back.
    let built = message::build_query(query.id, &query.name, query.qtype)
        .unwrap_or_else(|err| panic!("cannot build a query for {query}: {err}"));
    let back = parse_query(&built).unwrap_or_else(|err| panic!("built query for {query} refused: {err}"));
    assert_eq!((back.id, &back.name, back.qtype), (query.id, &query.name, query.qtype));
});

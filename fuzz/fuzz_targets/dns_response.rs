//! What the DNS proxy reads from the upstream resolver (`parse_response`):
//! never panics, and what it learns is consistent (addresses only for
//! question names it kept, each address once).

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use sbx::dns::message::{parse_query, parse_response};

fuzz_target!(|data: &[u8]| {
    let Ok(response) = parse_response(data) else { return };
    let _ = response.is_server_failure();
    assert!(response.rcode <= 0x0f);
    assert!(parse_query(data).is_err(), "both a query and a response");
    for resolved in &response.resolved {
        assert!(!resolved.addrs.is_empty(), "{resolved:?}");
        assert!(
            response.questions.iter().any(|(name, _, _)| *name == resolved.name),
            "addresses for {:?}, which is no question kept",
            resolved.name
        );
        let unique: HashSet<_> = resolved.addrs.iter().collect();
        assert_eq!(unique.len(), resolved.addrs.len(), "{resolved:?}");
    }
    for (name, _, _) in &response.questions {
        assert!(!name.is_empty() && *name == name.to_ascii_lowercase(), "{name:?}");
    }
});

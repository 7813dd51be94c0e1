//! DNS filtering for `--allow-net` host names: the command resolves names
//! itself, its queries go to a filtering forwarder that forwards only queries
//! about allowed names and records what they resolve to, so that connects to
//! those addresses can be allowed. See docs/dns.md for the model and its limits.

pub mod message;

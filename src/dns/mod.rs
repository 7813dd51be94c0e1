//! DNS filtering for `--allow-net` host names: the command resolves names
//! itself, its queries go to a filtering forwarder that forwards only queries
//! about allowed names ([`allow::NameRules`]) and records what they resolve
//! to ([`allow::ResolvedAddrs`]), so that connects to those addresses can be
//! allowed. See docs/dns.md for the model and its limits.

pub mod allow;
pub mod message;

pub use allow::{AddrGrant, NameRules, PortSet, ResolvedAddrs};

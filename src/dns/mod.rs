//! DNS filtering for `--allow-net` host names: the command resolves names
//! itself, its queries go to a filtering forwarder ([`proxy`]) that forwards
//! only queries about allowed names ([`allow::NameRules`]) and records what
//! they resolve to ([`allow::ResolvedAddrs`]), so that connects to those
//! addresses can be allowed. See docs/dns.md for the model and its limits.
//!
//! Everything here is plain std and the `simple-dns` crate; the Linux
//! supervisor decides which traffic reaches the proxy.

pub mod allow;
pub mod filter;
pub mod hosts;
pub mod message;
pub mod proxy;
pub mod resolv;

pub use allow::{AddrGrant, NameRules, PortSet, ResolvedAddrs};
pub use filter::{NameFilter, QueryVerdict};
pub use proxy::{Blocked, DnsProxy, ProxyConfig};
pub use resolv::{Upstream, nameservers};

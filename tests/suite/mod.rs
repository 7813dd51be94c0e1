pub mod dnsutil;
pub mod util;

mod cli;
mod dns;
mod docs;
mod env;
mod fs;
mod hardening;
mod kernel;
mod learn;
mod meta;
mod net;
mod netallow;
mod netnames;
mod process;
mod profiles;
mod release;
mod scope;

//! The pure translation of a [`Policy`] into what `sandbox-exec` takes: an
//! SBPL profile, its `-D NAME=value` parameters and the whole argv. Compiled
//! and tested on every platform.
//!
//! Guarantee: the profile text depends only on the *shape* of the policy
//! (which denies are on, how many rules of each kind, ports); every path
//! reaches sandbox-exec as a parameter value and is referenced in the text as
//! `(param "NAME")`, so no byte of a path (quote, backslash, parenthesis,
//! newline, invalid UTF-8) can change what the profile means.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::OsStrExt;

use anyhow::{Result, bail};

use crate::policy::net::{Host, IpNet};
use crate::policy::{Access, Net, NetRule, Policy};

/// sandbox-exec, by absolute path: never one found on `PATH`.
pub const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

/// The base of every profile.
const BASE: &str = include_str!("base.sbpl");
/// The fixed part of the `--deny-read` section.
const DENY_READ: &str = include_str!("deny_read.sbpl");
/// The fixed part of the `--deny-write` section.
const DENY_WRITE: &str = include_str!("deny_write.sbpl");
/// The fixed part of the network section.
const DENY_NET: &str = include_str!("deny_net.sbpl");

/// A profile ready for sandbox-exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The SBPL text (`-p`).
    pub text: String,
    /// `(NAME, value)` for each `-D NAME=value`, in the order they are passed.
    pub params: Vec<(String, OsString)>,
}

/// A remote endpoint SBPL can name: its host must be `*` or `localhost`, its
/// port one number or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remote {
    /// `localhost:PORT`: 127.0.0.1 and ::1 (SBPL's `localhost`).
    Localhost(Option<u16>),
    /// `*:PORT`: every address, IPv4 and IPv6.
    Any(Option<u16>),
}

impl Remote {
    /// The SBPL network address, e.g. `localhost:5432` or `*:443`.
    pub fn address(&self) -> String {
        let (host, port) = match *self {
            Remote::Localhost(port) => ("localhost", port),
            Remote::Any(port) => ("*", port),
        };
        match port {
            Some(port) => format!("{host}:{port}"),
            None => format!("{host}:*"),
        }
    }
}

/// Splits `--allow-net` rules into what SBPL can express and what it cannot.
/// `localhost[:PORT]` becomes `localhost`; `0.0.0.0/0[:PORT]` together with
/// `[::/0][:PORT]` (same port) becomes `*`. Everything else — host names,
/// other addresses (127.0.0.1 included: `localhost` would add ::1), ranges,
/// one address family alone — cannot be said exactly.
pub fn split_rules(rules: &[NetRule]) -> (Vec<Remote>, Vec<NetRule>) {
    let any_v4 = IpNet::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    let any_v6 = IpNet::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0);
    let has = |net: Option<IpNet>, port: Option<u16>| {
        rules.iter().any(|r| r.port == port && matches!(r.host, Host::Net(n) if Some(n) == net))
    };
    let mut remotes = Vec::new();
    let mut rest = Vec::new();
    for rule in rules {
        let remote = match &rule.host {
            Host::Localhost => Some(Remote::Localhost(rule.port)),
            Host::Net(net) if has(any_v4, rule.port) && has(any_v6, rule.port) => {
                (Some(*net) == any_v4 || Some(*net) == any_v6).then_some(Remote::Any(rule.port))
            }
            _ => None,
        };
        match remote {
            Some(remote) => {
                if !remotes.contains(&remote) {
                    remotes.push(remote);
                }
            }
            None => rest.push(rule.clone()),
        }
    }
    (remotes, rest)
}

/// Refuses `--allow-net` entries SBPL cannot express — or, with
/// `--best-effort`, drops them (narrowing, never widening) and returns the
/// warning to print. Returns the policy to translate.
pub fn check_network(policy: &Policy) -> Result<(Policy, Option<String>)> {
    let Net::Allow(rules) = &policy.net else { return Ok((policy.clone(), None)) };
    let (remotes, rest) = split_rules(rules);
    if rest.is_empty() {
        return Ok((policy.clone(), None));
    }
    let list = rest.iter().map(|r| format!("--allow-net={r}")).collect::<Vec<_>>().join(", ");
    let why = "macOS's sandbox profile language can only name `localhost` (127.0.0.1 and ::1) or every host \
               (`*`) as a destination: no other address, range or host name";
    if !policy.best_effort {
        bail!(
            "{list}: cannot be enforced on macOS: {why}. sbx will not widen it; use --allow-net=localhost[:PORT] \
             for loopback, 0.0.0.0/0:PORT plus [::/0]:PORT for a port on every host, or pass --best-effort to \
             drop these entries (the command then cannot reach them)"
        );
    }
    let mut narrowed = policy.clone();
    let kept: Vec<NetRule> = rules.iter().filter(|r| !rest.contains(r)).cloned().collect();
    narrowed.net = if remotes.is_empty() { Net::Denied } else { Net::Allow(kept) };
    let warning = format!(
        "--best-effort: {list}: cannot be enforced on macOS ({why}); these entries are dropped, so the command \
         gets NO network to them{}",
        if remotes.is_empty() { " (no network at all, as with --deny-net)" } else { "" }
    );
    Ok((narrowed, Some(warning)))
}

/// Translates `policy` into a profile. Call [`check_network`] first: `--allow-net`
/// entries SBPL cannot express are refused here too.
pub fn build(policy: &Policy) -> Result<Profile> {
    let mut text = String::from(BASE);
    let mut params: Vec<(String, OsString)> = Vec::new();
    let mut param = |prefix: &str, value: &std::path::Path| {
        let name = format!("{prefix}_{}", params.iter().filter(|(n, _)| n.starts_with(prefix)).count());
        params.push((name.clone(), value.as_os_str().to_owned()));
        name
    };
    let filter = |is_dir: bool, name: &str| {
        if is_dir { format!("(subpath (param \"{name}\"))") } else { format!("(literal (param \"{name}\"))") }
    };

    if policy.deny.read {
        text.push_str(DENY_READ);
        // Everything a rule grants includes reading it.
        for rule in &policy.paths {
            let name = param("READ", &rule.path);
            let _ = writeln!(text, "(allow file-read* {})", filter(rule.is_dir, &name));
        }
    }
    if policy.deny.write {
        text.push_str(DENY_WRITE);
        for rule in policy.paths.iter().filter(|r| r.access == Access::Write) {
            let name = param("WRITE", &rule.path);
            let _ = writeln!(text, "(allow file-write* {})", filter(rule.is_dir, &name));
        }
    }
    let remotes = match &policy.net {
        Net::Unrestricted => None,
        Net::Denied => Some(Vec::new()),
        Net::Allow(rules) => {
            let (remotes, rest) = split_rules(rules);
            if let Some(rule) = rest.first() {
                bail!(
                    "--allow-net={rule}: cannot be expressed in a macOS sandbox profile (report a bug: it should have been refused earlier)"
                );
            }
            Some(remotes)
        }
    };
    if let Some(remotes) = remotes {
        text.push_str(DENY_NET);
        for socket in &policy.unix_allow {
            let name = param("UNIX", socket);
            let _ = writeln!(text, "(allow network-outbound (remote unix-socket (path-literal (param \"{name}\"))))");
        }
        for remote in remotes {
            let address = remote.address();
            let _ = writeln!(text, "(allow network-outbound (remote ip \"{address}\"))");
            if let Remote::Localhost(_) = remote {
                // A loopback server on that port, too.
                let _ = writeln!(text, "(allow network-bind network-inbound (local ip \"{address}\"))");
            }
        }
    }
    Ok(Profile { text, params })
}

/// sandbox-exec's arguments (after its own name): `-p PROFILE`, `-D NAME=value`
/// for each parameter, `--`, then the command and its arguments untouched.
pub fn argv(profile: &Profile, command: &[OsString]) -> Vec<OsString> {
    let mut argv = vec![OsString::from("-p"), OsString::from(&profile.text)];
    for (name, value) in &profile.params {
        let mut define = Vec::with_capacity(name.len() + 1 + value.len());
        define.extend_from_slice(name.as_bytes());
        define.push(b'=');
        define.extend_from_slice(value.as_bytes());
        argv.push(OsString::from("-D"));
        argv.push(std::ffi::OsStr::from_bytes(&define).to_owned());
    }
    argv.push(OsString::from("--"));
    argv.extend(command.iter().cloned());
    argv
}

/// The profile and parameters as one text, for `-v` and the golden tests:
/// the profile, then `; -D NAME=value` per parameter (values shown with
/// Rust's escapes, so the text stays one line per parameter).
pub fn render(profile: &Profile) -> String {
    let mut out = profile.text.clone();
    out.push_str("\n; parameters\n");
    for (name, value) in &profile.params {
        let _ = writeln!(out, "; -D {name}={:?}", value);
    }
    out
}

#[cfg(test)]
mod tests;

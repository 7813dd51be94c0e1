//! The pure translation of a [`Policy`] into what `sandbox-exec` takes: an
//! SBPL profile, its `-D NAME=value` parameters and the whole argv. Compiled
//! and tested on every platform.
//!
//! Guarantee: the profile text depends only on the *shape* of the policy and
//! of the machine (which denies are on, how many rules of each kind and
//! whether each is a device node, ports, how many terminals, which SBPL forms
//! this macOS accepts); every path of the policy or the machine reaches
//! sandbox-exec as a parameter value and is referenced in the text as
//! `(param "NAME")`, so no byte of a path (quote, backslash, parenthesis,
//! newline, invalid UTF-8) can change what the profile means. The only paths
//! in the text are fixed system paths written in this file and the `.sbpl`
//! files.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::machine::{Dialect, Form, HID_CONTROL, Machine};
use crate::policy::defaults::DEVICE_NODE;
use crate::policy::net::{Host, IpNet};
use crate::policy::{Access, Net, NetRule, PathRule, Policy, Source};

/// sandbox-exec, by absolute path: never one found on `PATH`.
pub const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

/// The base of every profile.
const BASE: &str = include_str!("base.sbpl");
/// Under any restriction: LaunchServices, AppleEvents and launchd jobs.
const HOST_SERVICES: &str = include_str!("host_services.sbpl");
/// The fixed part of the `--deny-read` section.
const DENY_READ: &str = include_str!("deny_read.sbpl");
/// The fixed part of the `--deny-write` section.
const DENY_WRITE: &str = include_str!("deny_write.sbpl");
/// The fixed part of the network section.
const DENY_NET: &str = include_str!("deny_net.sbpl");
/// The fixed part of the unix-socket binding section (`--deny-write`).
const UNIX_BIND: &str = include_str!("unix_bind.sbpl");
/// The fixed part of the data-volume alias section.
const ALIASES: &str = include_str!("aliases.sbpl");
/// The `--deny-env` section.
const DENY_ENV: &str = include_str!("deny_env.sbpl");

/// `/System/Volumes` and below, whatever the case of its letters: the
/// second spelling of the data volume (and the other system volumes).
const SYSTEM_VOLUMES: &str = r#"(regex #"^/[Ss][Yy][Ss][Tt][Ee][Mm]/[Vv][Oo][Ll][Uu][Mm][Ee][Ss](/|$)")"#;

/// What a `--deny-read` exception allows: reading, and moving, linking or
/// cloning what it holds.
const READ_OPERATIONS: &str = "file-read* file-write-unlink file-link file-clone";
/// What a `--deny-write` exception allows: everything but creating device
/// nodes, which no rule grants (`file-write*` includes `file-write-unlink`).
const WRITE_OPERATIONS: &str = "file-write* file-link";

/// Firmlinks from the data volume into the system volume
/// (`/usr/share/firmlinks`): `/System/Volumes/Data/X` is `/X` for these.
const FIRMLINKS: &[&str] = &[
    "AppleInternal",
    "Applications",
    "Library",
    "System/Library/Caches",
    "System/Library/Assets",
    "System/Library/PreinstalledAssets",
    "System/Library/AssetsV2",
    "System/Library/PreinstalledAssetsV2",
    "System/Library/CoreServices/CoreTypes.bundle/Contents/Library",
    "System/Library/Speech",
    "Users",
    "Volumes",
    "cores",
    "opt",
    "private",
    "usr/local",
    "usr/libexec/cups",
    "usr/share/snmp",
];

/// The spelling Seatbelt matches for `path`: a path given through the data
/// volume (`/System/Volumes/Data/Users/me/x`) is matched as its firmlinked
/// spelling (`/Users/me/x`), since the profile denies the
/// `/System/Volumes` spelling. Any other path is returned as it is.
pub fn seatbelt_spelling(path: &Path) -> Cow<'_, Path> {
    let Ok(rest) = path.strip_prefix("/System/Volumes/Data") else { return Cow::Borrowed(path) };
    if FIRMLINKS.iter().any(|link| rest.starts_with(link)) {
        Cow::Owned(Path::new("/").join(rest))
    } else {
        Cow::Borrowed(path)
    }
}

/// A profile ready for sandbox-exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The SBPL text (`-p`).
    pub text: String,
    /// `(NAME, value)` for each `-D NAME=value`, in the order they are passed.
    pub params: Vec<(String, OsString)>,
    /// Start the command in a new session (`setsid`): this macOS cannot
    /// name TIOCSTI in SBPL (see [`Dialect::new_session`]).
    pub new_session: bool,
}

/// A remote endpoint SBPL can name: its host must be `*` or `localhost`, its
/// port one number or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remote {
    /// `localhost:PORT`: 127.0.0.1 and ::1 (SBPL's `localhost`).
    Localhost(Option<u16>),
    /// `*:PORT`: every address, IPv4 and IPv6.
    Any(Option<u16>),
    /// `*:PORT` as a local address: listening on PORT on all interfaces
    /// (`0.0.0.0:PORT` or `[::]:PORT`), no destination.
    Listen(Option<u16>),
}

impl Remote {
    /// The SBPL network address, e.g. `localhost:5432` or `*:443`.
    pub fn address(&self) -> String {
        let (host, port) = match *self {
            Remote::Localhost(port) => ("localhost", port),
            Remote::Any(port) | Remote::Listen(port) => ("*", port),
        };
        match port {
            Some(port) => format!("{host}:{port}"),
            None => format!("{host}:*"),
        }
    }
}

/// Splits `--allow-net` rules into what SBPL can express and what it cannot.
/// `localhost[:PORT]` becomes `localhost`; `0.0.0.0/0[:PORT]` together with
/// `[::/0][:PORT]` (same port) becomes `*`; `0.0.0.0[:PORT]` or
/// `[::][:PORT]` becomes listening on `*[:PORT]`. Everything else — host names,
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
            _ if rule.is_listen() => Some(Remote::Listen(rule.port)),
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

/// Translates `policy` into a profile for this Mac (`machine`: its
/// terminals and the SBPL forms it accepts). Call [`check_network`] first:
/// `--allow-net` entries SBPL cannot express are refused here too.
///
/// The sections, in order (a later rule wins over an earlier one): the base
/// (signals, task ports, terminal injection); LaunchServices, AppleEvents
/// and launchd jobs under any restriction; `--deny-read`; `--deny-write`;
/// the network; unix-socket binding under `--deny-write`; after every
/// grant, the `/System/Volumes` spelling of the data volume under either
/// file restriction, the hidden paths and the protected paths; `--deny-env`.
pub fn build(policy: &Policy, machine: &Machine) -> Result<Profile> {
    let mut text = String::from(BASE);
    let mut params = Params::default();
    terminal_injection(&mut text, &machine.dialect);
    if policy.restricts_anything() {
        text.push_str(HOST_SERVICES);
    }
    let files = policy.deny.read || policy.deny.write;
    let terminals: Vec<String> =
        if files { machine.terminals.iter().map(|t| params.add("TTY", t)).collect() } else { Vec::new() };
    if policy.deny.read {
        read_section(&mut text, &mut params, policy, &terminals);
    }
    let roots = if policy.deny.write {
        write_section(&mut text, &mut params, policy, &machine.dialect, &terminals)
    } else {
        Vec::new()
    };
    network_section(&mut text, &mut params, policy)?;
    if policy.deny.write {
        text.push_str(UNIX_BIND);
        for (name, _) in roots.iter().filter(|(_, is_dir)| *is_dir) {
            let _ = writeln!(text, "(allow network-bind {})", filter(true, name));
        }
    }
    if files {
        alias_section(&mut text, policy.deny.read, policy.deny.write);
    }
    hidden_section(&mut text, &mut params, policy);
    protected_section(&mut text, &mut params, policy);
    if policy.deny.env {
        text.push_str(DENY_ENV);
    }
    Ok(Profile { text, params: params.0, new_session: machine.dialect.new_session() })
}

/// The parameters of a profile, each named `PREFIX_n` (numbered per prefix)
/// and holding the path in the spelling Seatbelt matches.
#[derive(Default)]
struct Params(Vec<(String, OsString)>);

impl Params {
    /// Adds `value` and returns its name.
    fn add(&mut self, prefix: &str, value: &Path) -> String {
        self.add_as_is(prefix, &seatbelt_spelling(value))
    }

    /// Adds `value` in the very spelling given and returns its name.
    fn add_as_is(&mut self, prefix: &str, value: &Path) -> String {
        let numbered = |name: &str| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('_'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        let name = format!("{prefix}_{}", self.0.iter().filter(|(n, _)| numbered(n)).count());
        self.0.push((name.clone(), value.as_os_str().to_owned()));
        name
    }
}

/// `(subpath (param "NAME"))` for a directory, `(literal …)` for a file.
fn filter(is_dir: bool, name: &str) -> String {
    if is_dir { format!("(subpath (param \"{name}\"))") } else { format!("(literal (param \"{name}\"))") }
}

/// `--deny-read`: the fixed part, the command's terminals, then every path
/// rule (everything a rule grants includes reading it).
fn read_section(text: &mut String, params: &mut Params, policy: &Policy, terminals: &[String]) {
    text.push_str(DENY_READ);
    if !terminals.is_empty() {
        text.push_str("; the command's own terminal (on sbx's stdin, stdout or stderr), no other;\n");
    }
    for name in terminals {
        let _ = writeln!(text, "(allow file-read* {})", filter(false, name));
    }
    text.push_str("; and the paths below, each a parameter (every rule grants reading):\n");
    for rule in &policy.paths {
        let name = params.add("READ", &rule.path);
        let _ = writeln!(text, "(allow {READ_OPERATIONS} {})", filter(rule.is_dir, &name));
    }
}

/// `--deny-write`: the fixed part, F_SETPROTECTIONCLASS as this macOS names
/// it, data writes to the terminals and device nodes, the writable paths,
/// and no unlinking of a writable root itself. Returns the writable roots
/// other than device nodes: (parameter, is a directory).
fn write_section(
    text: &mut String,
    params: &mut Params,
    policy: &Policy,
    dialect: &Dialect,
    terminals: &[String],
) -> Vec<(String, bool)> {
    text.push_str(DENY_WRITE);
    match dialect.protection_class_rule() {
        Some(rule) => {
            text.push_str("; ... nor a file's data-protection class be changed (F_SETPROTECTIONCLASS) ...\n");
            let _ = writeln!(text, "{rule}");
        }
        None => text.push_str(
            "; (this macOS's SBPL cannot name F_SETPROTECTIONCLASS: changing a file's\n\
             ; data-protection class stays possible)\n",
        ),
    }
    if !terminals.is_empty() {
        text.push_str("; ... except writing data to the command's own terminal (no chmod, no unlink);\n");
    }
    for name in terminals {
        let _ = writeln!(text, "(allow file-write-data {})", filter(false, name));
    }
    text.push_str("; and the paths below, each a parameter (device nodes: data only):\n");
    let mut roots = Vec::new();
    for rule in policy.paths.iter().filter(|r| r.access == Access::Write) {
        let name = params.add("WRITE", &rule.path);
        if rule.source == Source::Default(DEVICE_NODE) {
            let _ = writeln!(text, "(allow file-write-data {})", filter(rule.is_dir, &name));
        } else {
            let _ = writeln!(text, "(allow {WRITE_OPERATIONS} {})", filter(rule.is_dir, &name));
            roots.push((name, rule.is_dir));
        }
    }
    if !roots.is_empty() {
        text.push_str(
            "; A writable root itself may not be deleted or renamed (on Linux that needs\n\
             ; write access to its parent).\n",
        );
    }
    for (name, _) in &roots {
        let _ = writeln!(text, "(deny file-write-unlink {})", filter(false, name));
    }
    roots
}

/// The network section, when the network is restricted: the fixed part,
/// the `--allow-unix` sockets and the destinations SBPL can name.
fn network_section(text: &mut String, params: &mut Params, policy: &Policy) -> Result<()> {
    let remotes = match &policy.net {
        Net::Unrestricted => return Ok(()),
        Net::Denied => Vec::new(),
        Net::Allow(rules) => {
            let (remotes, rest) = split_rules(rules);
            if let Some(rule) = rest.first() {
                bail!(
                    "--allow-net={rule}: cannot be expressed in a macOS sandbox profile (report a bug: it should have been refused earlier)"
                );
            }
            remotes
        }
    };
    text.push_str(DENY_NET);
    for socket in &policy.unix_allow {
        let name = params.add("UNIX", socket);
        let _ = writeln!(text, "(allow network-outbound (remote unix-socket (path-literal (param \"{name}\"))))");
    }
    for remote in remotes {
        let address = remote.address();
        if !matches!(remote, Remote::Listen(_)) {
            let _ = writeln!(text, "(allow network-outbound (remote ip \"{address}\"))");
        }
        if let Remote::Localhost(_) | Remote::Listen(_) = remote {
            // A server on that port, on loopback or all interfaces.
            let _ = writeln!(text, "(allow network-bind network-inbound (local ip \"{address}\"))");
        }
    }
    Ok(())
}

/// After every grant: the `/System/Volumes` spelling of the data volume,
/// denied for the operations of the restrictions that are on; under
/// `--deny-read` its metadata and the OS's cryptexes stay readable.
fn alias_section(text: &mut String, read: bool, write: bool) {
    text.push_str(ALIASES);
    let operations: Vec<&str> = [
        (read, "file-read*"),
        (write, "file-write*"),
        (read && !write, "file-write-unlink"),
        (true, "file-link"),
        (read, "file-clone"),
    ]
    .into_iter()
    .filter_map(|(on, operation)| on.then_some(operation))
    .collect();
    let _ = writeln!(text, "(deny {} {SYSTEM_VOLUMES})", operations.join(" "));
    if read {
        let _ = writeln!(text, "(allow file-read-metadata {SYSTEM_VOLUMES})");
        text.push_str(
            "; Except the operating system's own cryptexes (dyld's shared cache and\n\
             ; Safari's frameworks on macOS 13 and later), read-only.\n\
             (allow file-read* (subpath \"/System/Volumes/Preboot/Cryptexes\"))\n",
        );
    }
}

/// After every grant (the last matching rule wins): no reading of the
/// hidden paths, whatever rule above grants it, nor moving, hard-linking or
/// cloning them (a hidden file renamed, linked or cloned to a path no hide
/// names could be read there), nor renaming the directories on the way to
/// them (`mv ~ ~2` would move `~/.ssh` out from under its hide). Each in
/// the spelling Seatbelt matches and, under a firmlink, through the data
/// volume too (which only `--deny-read` and `--deny-write` deny whole).
/// A rule beneath a hidden path gets back what the hide took of it, as on
/// Linux (see `policy::hide::decide`).
fn hidden_section(text: &mut String, params: &mut Params, policy: &Policy) {
    if policy.hidden.is_empty() {
        return;
    }
    text.push_str(
        "; The hidden paths (--hide, the secrets set): unreadable, though a rule above grants it,\n\
         ; and they may not be moved, hard-linked or cloned to where they could be read;\n",
    );
    // A rule beneath a hidden path grants again what it names (as on
    // Linux), and a hidden path beneath that rule is denied again: each
    // hide and each such rule in order of depth, so the deepest says last.
    // (Never a rule in the /System/Volumes spelling, denied above whole.)
    let beneath = |rule: &&PathRule| {
        policy.hidden.iter().any(|h| h.is_dir && rule.path.starts_with(&h.path) && rule.path != h.path)
            && !in_system_volumes(&seatbelt_spelling(&rule.path))
    };
    // (path, the rule granted again or None for a hide, is a directory)
    let mut steps: Vec<(&Path, Option<&PathRule>, bool)> =
        policy.hidden.iter().map(|h| (h.path.as_path(), None, h.is_dir)).collect();
    steps.extend(policy.paths.iter().filter(beneath).map(|r| (r.path.as_path(), Some(r), r.is_dir)));
    if steps.iter().any(|(_, rule, _)| rule.is_some()) {
        steps.sort_by_key(|(path, _, _)| path.components().count());
        text.push_str(
            "; (a rule beneath a hidden path grants again what it granted, and a hidden path\n\
             ; beneath that rule is hidden again: in order of depth, the deepest last)\n",
        );
    }
    let mut ways: Vec<PathBuf> = Vec::new();
    for (path, rule, is_dir) in steps {
        let spelled = seatbelt_spelling(path).into_owned();
        if let Some(rule) = rule {
            // What the hide took of what the rule granted: reading and
            // cloning always; moving and linking unless writing is
            // restricted and the rule does not make it writable; a writable
            // root itself still cannot be deleted or renamed.
            let writable = rule.access == Access::Write && rule.source != Source::Default(DEVICE_NODE);
            let name = params.add("HIDE_EXCEPT", &spelled);
            let operations = if !policy.deny.write || writable { READ_OPERATIONS } else { "file-read* file-clone" };
            let _ = writeln!(text, "(allow {operations} {})", filter(is_dir, &name));
            if policy.deny.write && writable {
                let _ = writeln!(text, "(deny file-write-unlink {})", filter(false, &name));
            }
            continue;
        }
        for name in spellings(params, "HIDE", &spelled) {
            let _ = writeln!(text, "(deny {READ_OPERATIONS} {})", filter(is_dir, &name));
        }
        for way in spelled.ancestors().skip(1).filter(|way| way.parent().is_some()) {
            if !ways.iter().any(|w| w == way) {
                ways.push(way.to_path_buf());
            }
        }
    }
    if ways.is_empty() {
        return;
    }
    text.push_str("; nor may the directories on the way to them be renamed or deleted.\n");
    for way in &ways {
        for name in spellings(params, "HIDE_WAY", way) {
            let _ = writeln!(text, "(deny file-write-unlink {})", filter(false, &name));
        }
    }
}

/// Whether `path` is `/System/Volumes` or below it, whatever the case of its
/// letters (what [`SYSTEM_VOLUMES`] matches).
fn in_system_volumes(path: &Path) -> bool {
    let mut parts = path.components().skip(1).map(|c| c.as_os_str().to_ascii_lowercase());
    parts.next().is_some_and(|p| p == "system") && parts.next().is_some_and(|p| p == "volumes")
}

/// Adds `spelled` (a path in the spelling Seatbelt matches) as `PREFIX_n`
/// and, when it lies under a firmlink, its data-volume spelling as
/// `DATA_PREFIX_n` (the same `n`); returns the names of the parameters.
fn spellings(params: &mut Params, prefix: &str, spelled: &Path) -> Vec<String> {
    let name = params.add(prefix, spelled);
    let rest = spelled.strip_prefix("/").unwrap_or(spelled);
    if !FIRMLINKS.iter().any(|link| rest.starts_with(link)) {
        return vec![name];
    }
    let data = format!("DATA_{name}");
    params.0.push((data.clone(), Path::new("/System/Volumes/Data").join(rest).into_os_string()));
    vec![name, data]
}

/// After every grant: no write to a protected path or anything beneath it
/// (Seatbelt can deny inside an allowed tree, which Landlock cannot), no
/// hard link to one (written through the link's writable path), and
/// no creating, removing or renaming the directories on the way to one
/// inside the writable paths (`.git` replaced by a prepared tree, or moved
/// away to be edited) — stricter than on Linux, where a new empty
/// directory on the way may be made.
fn protected_section(text: &mut String, params: &mut Params, policy: &Policy) {
    if policy.protection.is_empty() {
        return;
    }
    text.push_str(
        "; Protected paths (--protect, a project's files that run code): read-only inside the writable paths,\n\
         ; and no hard link to them (which would be written through its own, writable path).\n",
    );
    let writable = policy.writable_paths();
    let mut ways: Vec<PathBuf> = Vec::new();
    for p in &policy.protection.protected {
        let name = params.add("PROTECT", &p.path);
        let _ = writeln!(text, "(deny {WRITE_OPERATIONS} (subpath (param \"{name}\")))");
        for way in p.path.ancestors().skip(1) {
            if !writable.iter().any(|w| way.starts_with(w) && way != w.as_path()) {
                break;
            }
            if !ways.iter().any(|w| w == way) {
                ways.push(way.to_path_buf());
            }
        }
    }
    for way in &ways {
        let name = params.add("PROTECT_WAY", way);
        let _ = writeln!(text, "(deny file-write-create file-write-unlink (literal (param \"{name}\")))");
    }
}

/// The always-on terminal-injection rules this macOS can name, or the
/// comment saying that the command runs in a new session instead.
fn terminal_injection(text: &mut String, dialect: &Dialect) {
    match (dialect.tiocsti, dialect.tiocsti_rule()) {
        (Some(Form::Numeric), Some(rule)) => {
            text.push_str(
                "; (This macOS does not bind the name TIOCSTI in SBPL: by its number,\n; _IOW('t', 114, char).)\n",
            );
            let _ = writeln!(text, "{rule}");
        }
        (_, Some(rule)) => {
            let _ = writeln!(text, "{rule}");
        }
        (_, None) => text.push_str(
            "; This macOS's SBPL can name TIOCSTI in no form sbx knows: sbx starts the\n\
             ; command in a new session (setsid), without a controlling terminal to\n\
             ; inject into.\n",
        ),
    }
    if dialect.hid_control {
        text.push_str("; No synthetic keyboard or mouse events either.\n");
        let _ = writeln!(text, "{}", HID_CONTROL.rule);
    }
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
/// Rust's escapes, so the text stays one line per parameter), and whether
/// the command starts in a new session.
pub fn render(profile: &Profile) -> String {
    let mut out = profile.text.clone();
    if profile.new_session {
        out.push_str("\n; started in a new session (setsid)\n");
    }
    out.push_str("\n; parameters\n");
    for (name, value) in &profile.params {
        let _ = writeln!(out, "; -D {name}={:?}", value);
    }
    out
}

#[cfg(test)]
mod tests;

//! The raw command line: clap derive definitions and nothing else. Validation
//! (paths, globs, host entries) happens when [`crate::policy::Policy`] is built.

use std::ffi::OsString;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::{ArgAction, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::exit::{Outcome, SBX_FAILED};

macro_rules! configuration_help {
    () => {
        "Configuration files: -p NAME (or SBX_PROFILE=NAME) applies [profile.NAME] from
--config FILE, else the project's sbx.toml (the nearest in this directory or above;
used only once trusted with `sbx trust`), else ~/.config/sbx/config.toml, else the
built-in profiles (build, offline, readonly, strict; npm, pip and cargo allow the
network only to the registries the tool is configured to use). A profile named
default applies when none is named. Flags add to the profile: --deny-* tightens, --allow-* adds
exceptions."
    };
}

macro_rules! exit_status_help {
    () => {
        "Exit status: the command's own; if it died of a signal, sbx dies of the same
signal. 125: sbx itself failed (usage, bad path, a configuration error, an untrusted
sbx.toml, a restriction this kernel cannot enforce without --best-effort). 126:
COMMAND found but not executable (or denied by the sandbox). 127: COMMAND not found."
    };
}

macro_rules! environment_help {
    () => {
        "Environment: SBX_PROFILE names the profile when -p is not given. SBX_LOG takes a
tracing filter for -v output (e.g. SBX_LOG=sbx=trace). XDG_CONFIG_HOME and
XDG_STATE_HOME move ~/.config/sbx and ~/.local/state/sbx (the trusted files)."
    };
}

/// `-h`: configuration files, exit status and environment.
const AFTER_HELP: &str = concat!(configuration_help!(), "\n\n", exit_status_help!(), "\n\n", environment_help!());

/// `--help` (and the man page) add how network rules are enforced.
const AFTER_LONG_HELP: &str = concat!(
    configuration_help!(),
    "\n\n",
    exit_status_help!(),
    "\n\n",
    "Network: under --deny-net or --allow-net, sbx stays the command's parent and
supervises its network calls through seccomp user notification: it receives each
connect, bind, sendmsg and sendto with a destination, checks its own copy of the
address and performs the call itself on a duplicate of the command's socket, so a
racing thread cannot change what was checked. Without --allow-net only unix sockets
bound inside the sandbox, socket pairs and --allow-unix sockets are reachable. Host
names are enforced through DNS: sbx filters the command's queries to the system's
nameservers, answers names that are not allowed with NXDOMAIN itself (their queries
never leave the machine) and allows the addresses an allowed name's answers give.
Under --allow-net the command may bind loopback addresses, port 0, and the ports of
0.0.0.0:PORT / [::]:PORT entries on all interfaces. Refused connects fail with
ECONNREFUSED, refused binds and sends with EACCES, each reported once on stderr
with the entry that allows it (-q silences). If sbx dies, supervised calls fail
(ENOSYS).
Limits: allowing a name allows every address it resolves to (shared CDN addresses
included); 32-bit programs get no network; sendmsg data is copied through sbx.",
    "\n\n",
    environment_help!()
);

const USAGE: &str = "sbx [OPTIONS] [--] COMMAND [ARGS]...
       sbx --explain[=FORMAT] [OPTIONS] [-- COMMAND [ARGS]...]
       sbx --doctor
       sbx trust [FILE]
       sbx learn [-p NAME] [-o FILE] [--verify] [--extends PROFILE] [--] COMMAND [ARGS]...";

/// What `sbx --version` prints after the name: the package version and the
/// commit it was built from (see build.rs), e.g. `0.1.0 (commit 0123456789ab)`.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("SBX_BUILD_COMMIT"), ")");

/// Run COMMAND in a sandbox enforced by the kernel (Landlock, seccomp, no_new_privs).
#[derive(Debug, Parser)]
#[command(
    name = "sbx",
    version = VERSION,
    about,
    after_help = AFTER_HELP,
    after_long_help = AFTER_LONG_HELP,
    override_usage = USAGE,
    max_term_width = 100,
    // `sbx trust` is sbx's own action only as the first word: after an
    // option or after `--`, `trust` is a command like any other.
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true,
    subcommand_value_name = "ACTION",
    subcommand_help_heading = "Actions"
)]
pub struct Cli {
    /// Deny file reads except the read defaults, --allow-read and --allow-write paths
    #[arg(long, help_heading = "Restrictions")]
    pub deny_read: bool,

    /// Deny file writes except the write defaults (temp dirs, /dev/null…) and --allow-write paths
    #[arg(long, help_heading = "Restrictions")]
    pub deny_write: bool,

    /// Deny network access except --allow-net/--allow-unix entries (unix sockets made inside the sandbox keep working)
    #[arg(long, help_heading = "Restrictions")]
    pub deny_net: bool,

    /// Pass only PATH HOME USER SHELL TERM COLORTERM LANG and --allow-env matches to COMMAND
    #[arg(long, help_heading = "Restrictions")]
    pub deny_env: bool,

    /// All of --deny-read, --deny-write, --deny-net and --deny-env
    #[arg(long, help_heading = "Restrictions")]
    pub deny_all: bool,

    /// Close every file descriptor above stderr before COMMAND starts (fds the caller passes down are its grants; this gives a clean slate)
    #[arg(long, help_heading = "Restrictions")]
    pub close_fds: bool,

    /// Under --deny-write: make a fresh directory for this run (mode 0700, in $TMPDIR or /tmp) writable instead of /tmp and $TMPDIR, point TMPDIR, TMP, TEMP and TEMPDIR at it, and remove it when COMMAND ends
    #[arg(long, help_heading = "Restrictions")]
    pub private_tmp: bool,

    /// Keep the --private-tmp directory when COMMAND ends, and say where it is
    #[arg(long, help_heading = "Restrictions")]
    pub keep_tmp: bool,
    /// Make PATH unreadable although a read rule covers it (without --deny-read: everything else stays readable); refused inside a writable tree unless --best-effort
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(non_empty_path), action = ArgAction::Append, help_heading = "Restrictions")]
    pub hide: Vec<OsString>,

    /// Hide the built-in secrets set (~/.ssh, ~/.aws, ~/.gnupg, ~/.config/gh, ~/.netrc, browser profiles, …); on by default under --deny-read wherever a read rule covers an entry
    #[arg(long, help_heading = "Restrictions")]
    pub hide_secrets: bool,

    /// Allow reading PATH (a file, or a directory and everything under it); implies --deny-read
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(non_empty_path), action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_read: Vec<OsString>,

    /// Allow reading and writing PATH (created if missing: a chain of directories only below the home or current directory); implies --deny-write
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(non_empty_path), action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_write: Vec<OsString>,

    /// Keep PATH read-only inside the writable paths (a file or a directory and everything under it; it may not exist yet): sbx performs the command's writes in the tree around it. Needs --deny-write
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(non_empty_path), action = ArgAction::Append, help_heading = "Exceptions")]
    pub protect: Vec<OsString>,

    /// Lift the default protection of PATH and everything under it (e.g. --unprotect=.git/config to let `git remote add` write it, --unprotect=. for all of a project's defaults)
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(non_empty_path), action = ArgAction::Append, help_heading = "Exceptions")]
    pub unprotect: Vec<OsString>,

    /// Allow connecting to HOST: example.com[:PORT] or *.example.com[:PORT] (only these names resolve; their addresses are allowed), 1.2.3.4[:PORT], [2001:db8::1]:PORT, 10.0.0.0/8, localhost[:PORT], or a URL (https://registry.example.com/ is registry.example.com:443); 0.0.0.0:PORT or [::]:PORT allows listening on PORT on all interfaces; `*` allows all network. Implies --deny-net
    #[arg(long, value_name = "HOST", value_parser = non_empty_string, action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_net: Vec<String>,

    /// Allow connecting to the unix socket at PATH (created inside or outside the sandbox); implies --deny-net
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(non_empty_path), action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_unix: Vec<OsString>,

    /// Pass environment variables matching VAR (`*` and `?` globs, e.g. AWS_*); implies --deny-env
    #[arg(long, value_name = "VAR", value_parser = non_empty_string, action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_env: Vec<String>,

    /// Apply [profile.NAME] from the configuration files or the built-in profiles (default: $SBX_PROFILE, else a profile named default if one exists)
    #[arg(short, long, value_name = "NAME", value_parser = profile_name, help_heading = "Profiles")]
    pub profile: Option<String>,

    /// Read profiles from FILE instead of the project's sbx.toml (FILE needs no `sbx trust`: you named it)
    #[arg(long, value_name = "FILE", value_parser = OsStringValueParser::new().try_map(non_empty_path), help_heading = "Profiles")]
    pub config: Option<OsString>,

    /// Read no configuration file (neither ~/.config/sbx/config.toml nor sbx.toml); built-in profiles stay available
    #[arg(long, conflicts_with = "config", help_heading = "Profiles")]
    pub no_config: bool,

    /// Print the policy sbx would apply (each rule, where it came from, what this kernel enforces of it) and run nothing
    #[arg(long, value_name = "FORMAT", value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text", help_heading = "Instead of running")]
    pub explain: Option<ExplainFormat>,

    /// Report what this machine's kernel supports and what that means for each flag, then exit (status 1 if something is missing)
    #[arg(long, exclusive = true, help_heading = "Instead of running")]
    pub doctor: bool,

    /// Run even when the kernel cannot enforce part of the policy, warning about each lost part
    #[arg(long)]
    pub best_effort: bool,

    /// Log the rules sbx sets up to stderr
    #[arg(short, long)]
    pub verbose: bool,

    /// Do not report blocked attempts (network, file writes, metadata changes) on stderr, neither as they happen nor in the summary at the end; under --deny-write it also spares the round trip that names refused writes
    #[arg(short, long)]
    pub quiet: bool,

    /// The command to run and its arguments
    #[arg(value_name = "COMMAND", required_unless_present_any = ["explain", "doctor"], num_args = 1.., trailing_var_arg = true)]
    pub command: Vec<OsString>,

    #[command(subcommand)]
    pub action: Option<Action>,
}

/// sbx's own actions, given as the first word (`sbx trust`). Never after an
/// option or `--`: `sbx -- trust` runs a program named `trust`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Action {
    /// Show the profiles of a project's sbx.toml and trust it: record its path and SHA-256, so that sbx uses it
    /// (until it changes). To run a program named trust, write `sbx -- trust`
    Trust {
        /// The file to trust (default: the nearest sbx.toml in this directory or above)
        #[arg(value_name = "FILE", value_parser = OsStringValueParser::new().try_map(non_empty_path))]
        file: Option<OsString>,
    },
    /// Run COMMAND once, unrestricted, watching what it touches, and print (or write) the smallest profile that
    /// lets it pass; with --verify, run it again under that profile. To run a program named learn, write `sbx -- learn`
    Learn(LearnArgs),
}

/// The arguments of `sbx learn`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = LEARN_HELP)]
pub struct LearnArgs {
    /// Name of the learned profile (default: COMMAND's file name, e.g. make)
    #[arg(short, long, value_name = "NAME", value_parser = profile_name)]
    pub profile: Option<String>,

    /// Write the profile to FILE (added to it if FILE exists; paths beneath FILE's directory are written relative to
    /// it) instead of printing it on stderr (stdout is COMMAND's alone)
    #[arg(short, long, value_name = "FILE", value_parser = OsStringValueParser::new().try_map(non_empty_path))]
    pub output: Option<OsString>,

    /// Run COMMAND again under the learned profile; the profile is marked verified only if it exits the same way
    #[arg(long)]
    pub verify: bool,

    /// Start from profile PROFILE: the learned profile extends it and leaves out what it already allows (PROFILE
    /// comes from FILE, your config.toml or the built-ins; learning itself still runs unrestricted)
    #[arg(long, value_name = "PROFILE", value_parser = profile_name)]
    pub extends: Option<String>,

    /// Do not print what sbx learn is doing (the profile, and a failed verification, are still printed)
    #[arg(short, long)]
    pub quiet: bool,

    /// The command to learn from and its arguments
    #[arg(value_name = "COMMAND", required = true, num_args = 1.., trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

const LEARN_HELP: &str = "Learning runs COMMAND with no file, network or environment restriction (only
what every learned profile refuses: the baseline, exotic sockets, io_uring) and
observes it through seccomp user notification: files read, written, created and
executed, directories listed, connections with the names they were looked up as,
unix sockets. The profile denies read, write, net and env and allows what was
observed, collapsed into directories where many files were used; what the
defaults allow is left out; paths that look like credentials (~/.ssh, ~/.aws,
*.pem, .env, tokens) are listed as comments, never allowed. A package cache
(npm, pip, cargo, go, gradle, maven) is allowed whole. Environment reads
cannot be observed: allow_env lists the variables that were set, less those of
the shell, terminal, login or machine (PWD, SHLVL, SSH_TTY, DISPLAY, ...). With
--extends PROFILE the learned profile extends PROFILE and leaves out what it
allows.

--verify runs COMMAND a second time, in the state the first run left behind (a
build that is now up to date does less: verify `make -B` or a clean build).

Exit status: 0 when the profile was written (and verified, with --verify); 1 when
--verify found that COMMAND does not pass under it (the profile is still written,
marked NOT verified); 125 when sbx failed; 126/127 when COMMAND could not be run.";

/// How `--explain` prints the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// For people
    Text,
    /// For tools: one JSON object
    Json,
}

impl Cli {
    /// Parses `args` (including argv[0]). Help and version print and end with
    /// 0; every usage error ends with 125, like every other failure of sbx.
    pub fn parse_from_os<I: IntoIterator<Item = OsString>>(args: I) -> Result<Self, Outcome> {
        Self::try_parse_from(args).map_err(|err| {
            if err.use_stderr() {
                let rendered = err.render().to_string();
                let message = rendered.strip_prefix("error: ").unwrap_or(&rendered);
                eprint!("sbx: {message}");
                Outcome::Code(SBX_FAILED)
            } else {
                let _ = err.print();
                Outcome::Code(0)
            }
        })
    }

    /// `sbx ARGS…` parsed, for unit tests (a usage error panics).
    #[cfg(test)]
    pub fn for_test(args: &[&str]) -> Self {
        let all = std::iter::once("sbx").chain(args.iter().copied()).map(OsString::from);
        Self::parse_from_os(all).unwrap_or_else(|outcome| panic!("parsing {args:?} failed: {outcome:?}"))
    }

    /// The clap definition, for the man page and shell completions (which
    /// name the release, not the commit: they are checked in).
    pub fn definition() -> clap::Command {
        Self::command().version(env!("CARGO_PKG_VERSION"))
    }
}

fn non_empty_path(value: OsString) -> Result<OsString, String> {
    if value.is_empty() {
        return Err("an empty path is not allowed (it would name no file); use `.` for the current directory".into());
    }
    Ok(value)
}

fn profile_name(value: &str) -> Result<String, String> {
    crate::config::check_profile_name(value).map(|()| value.to_owned())
}

fn non_empty_string(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("an empty value is not allowed".into());
    }
    Ok(value.to_owned())
}

/// Sets up `-v` logging: rules at debug level, or whatever `SBX_LOG` selects
/// (`target=level,…`, e.g. `sbx=trace`). Nothing is set up otherwise, so a
/// normal run pays nothing for logging.
pub fn init_logging(verbose: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let spec = std::env::var("SBX_LOG").ok();
    if !verbose && spec.is_none() {
        return;
    }
    let filter = spec
        .and_then(|spec| spec.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_target("sbx", LevelFilter::DEBUG));
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .without_time()
                .with_ansi(false),
        )
        .with(filter)
        .try_init();
}

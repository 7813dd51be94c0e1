//! The raw command line: clap derive definitions and nothing else. Validation
//! (paths, globs, host entries) happens when [`crate::policy::Policy`] is built.

use std::ffi::OsString;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::{ArgAction, CommandFactory, Parser};

use crate::exit::{Outcome, SBX_FAILED};

macro_rules! exit_status_help {
    () => {
        "Exit status: the command's own; if it died of a signal, sbx dies of the same
signal. 125: sbx itself failed (usage, bad path, a restriction this kernel cannot
enforce without --best-effort). 126: COMMAND found but not executable (or denied by
the sandbox). 127: COMMAND not found."
    };
}

macro_rules! environment_help {
    () => {
        "Environment: SBX_LOG takes a tracing filter for -v output (e.g. SBX_LOG=sbx=trace)."
    };
}

/// `-h`: exit status and environment.
const AFTER_HELP: &str = concat!(exit_status_help!(), "\n\n", environment_help!());

/// `--help` (and the man page) add how network rules are enforced.
const AFTER_LONG_HELP: &str = concat!(
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
Refused connects fail with ECONNREFUSED, refused binds and sends with EACCES, each
reported once on stderr (-q silences). If sbx dies, supervised calls fail (ENOSYS).
Limits: allowing a name allows every address it resolves to (shared CDN addresses
included); 32-bit programs get no network; sendmsg data is copied through sbx.",
    "\n\n",
    environment_help!()
);

/// Run COMMAND in a sandbox enforced by the kernel (Landlock, seccomp, no_new_privs).
#[derive(Debug, Parser)]
#[command(
    name = "sbx",
    version,
    about,
    after_help = AFTER_HELP,
    after_long_help = AFTER_LONG_HELP,
    override_usage = "sbx [OPTIONS] [--] COMMAND [ARGS]...",
    max_term_width = 100
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

    /// Allow reading PATH (a file, or a directory and everything under it); implies --deny-read
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(non_empty_path), action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_read: Vec<OsString>,

    /// Allow reading and writing PATH (created if missing); implies --deny-write
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(non_empty_path), action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_write: Vec<OsString>,

    /// Allow connecting to HOST: example.com[:PORT] or *.example.com[:PORT] (only these names resolve; their addresses are allowed), 1.2.3.4[:PORT], [2001:db8::1]:PORT, 10.0.0.0/8, localhost[:PORT]; `*` allows all network. Implies --deny-net
    #[arg(long, value_name = "HOST", value_parser = non_empty_string, action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_net: Vec<String>,

    /// Allow connecting to the unix socket at PATH (created inside or outside the sandbox); implies --deny-net
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(non_empty_path), action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_unix: Vec<OsString>,

    /// Pass environment variables matching VAR (`*` and `?` globs, e.g. AWS_*); implies --deny-env
    #[arg(long, value_name = "VAR", value_parser = non_empty_string, action = ArgAction::Append, help_heading = "Exceptions")]
    pub allow_env: Vec<String>,

    /// Run even when the kernel cannot enforce part of the policy, warning about each lost part
    #[arg(long)]
    pub best_effort: bool,

    /// Log the rules sbx sets up to stderr
    #[arg(short, long)]
    pub verbose: bool,

    /// Do not report blocked network attempts on stderr
    #[arg(short, long)]
    pub quiet: bool,

    /// The command to run and its arguments
    #[arg(value_name = "COMMAND", required = true, num_args = 1.., trailing_var_arg = true)]
    pub command: Vec<OsString>,
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

    /// The clap definition, for the man page and shell completions.
    pub fn definition() -> clap::Command {
        Self::command()
    }
}

fn non_empty_path(value: OsString) -> Result<OsString, String> {
    if value.is_empty() {
        return Err("an empty path is not allowed (it would name no file); use `.` for the current directory".into());
    }
    Ok(value)
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

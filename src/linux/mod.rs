//! The Linux backend: translate the policy (Landlock ruleset, seccomp BPF,
//! argv/envp), refuse what this kernel cannot enforce, fork, sandbox and exec
//! the child, then supervise it until it ends.

pub mod capabilities;
pub mod child;
pub mod enforcement;
pub mod landlock;
pub mod mediate;
pub mod nested;
pub mod notify;
pub mod observe;
pub mod probe;
pub mod seccomp;
pub mod supervisor;
pub mod sys;
pub mod workers;

use std::fmt::Write as _;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;

use crate::exit::{NOT_EXECUTABLE, NOT_FOUND, Outcome, SBX_FAILED};
use crate::policy::{Net, Policy};
use child::{ChildSetup, ExecPlan, Failure, Stage};
use enforcement::Kernel;

pub use crate::unix_sys::die_of_signal;
pub use observe::observe;
pub use sys::resolve_path;

/// Runs `policy.command` under `policy`; returns how sbx should end.
pub fn run(policy: &Policy) -> Result<Outcome> {
    let abi = detect_landlock();
    let (mut no_supervisor, no_fd_taking) = supervision_limits();
    // Inside another sbx: ask it to decide for this sandbox what this sbx
    // cannot (see `nested`); ended and released when this run ends.
    let delegation = match &no_supervisor {
        Some(why) => match nested::register(&delegation_request(policy)) {
            Ok(Some(registration)) => {
                no_supervisor = Some(registration.covers.why_no_supervisor());
                Some(Delegated(Some(registration)))
            }
            Ok(None) => None,
            Err(err) => {
                no_supervisor =
                    Some(format!("{why}; asked to decide for this sandbox, the enclosing sbx said: {err:#}"));
                None
            }
        },
        None => None,
    };
    let delegated = delegation.as_ref().and_then(|d| d.0.as_ref()).map(|r| r.covers);
    let kernel = Kernel { abi: abi.version(), no_supervisor, no_fd_taking, delegated };
    // Everything that can refuse is decided here, before anything changes.
    check_enforceable(policy, &enforcement::plan(policy, &kernel), &abi)?;
    let mut policy = narrowed(policy, &kernel);
    // Blocked before anything is made on disk: a SIGTERM from here on waits
    // in the signalfd and is forwarded to the command once it runs (or
    // dropped if sbx refuses first), so sbx always ends through its own
    // return, which removes the private temporary directory.
    let forwarding = supervisor::Signals::block()?;
    policy.create_missing_dirs()?;
    // Removed when dropped: on every return from here, the command's end
    // (exit or signal) as well as sbx's own failures.
    let _private_tmp = policy.create_private_tmp()?;
    let policy = &policy;
    let plan = enforcement::plan(policy, &kernel);
    let mut m = plan.mediation;
    // resolv.conf, read once: for the decision and for the filter itself.
    let dns_upstream = if m.sockets { filtered_upstream(&policy.net) } else { None };
    m.dns_sources = dns_upstream.is_some();
    log_plan(policy, &plan);
    let mut ruleset = landlock::build(&plan.landlock)?;
    let seccomp_rules = seccomp::rules(policy, &m);
    for rule in &seccomp_rules {
        tracing::debug!("seccomp: {rule}");
    }
    let filter = seccomp::compile(&seccomp_rules)?;
    let exec = ExecPlan::new(&policy.command, &policy.child_env)?;
    let supervising = seccomp::needs_supervisor(&seccomp_rules);
    let writes_reported = m.write_reports && supervising;
    let net_supervised = supervising && m.sockets;
    let mode = notify::Mode::from_policy(&policy.net).filter(|_| net_supervised);
    let writable = (policy.deny.write && supervising).then(|| policy.writable_paths());
    let truncatable = (m.truncate || m.protect).then(|| policy.write_rule_paths());
    let protect = m.protect.then(|| protect_trees(policy));
    let readable = (policy.deny.read && supervising)
        .then(|| policy.paths.iter().map(|r| (r.path.clone(), r.is_dir)).collect::<Vec<_>>());
    let filter_names = supervising && m.dns_sources;
    if supervising {
        // Only network calls need the supervisor's own abstract-socket scope.
        if mode.is_some() && plan.landlock.scopes.contains(::landlock::Scope::AbstractUnixSocket) {
            landlock::confine_supervisor()?;
        }
        // Orphaned descendants stay sbx's descendants: the process scope's
        // "inside", and sbx may keep reading their memory under ptrace
        // restrictions (Yama scope 1).
        sys::set_child_subreaper().context("becoming the sandbox's child subreaper")?;
    }
    if delegation.is_some() {
        // Orphans come back here, so the sandbox ends with this run.
        sys::set_child_subreaper().context("becoming the sandbox's child subreaper")?;
    }

    let caps = command_capabilities()?;
    if let Some(drop) = &caps {
        tracing::debug!("capabilities: the command keeps {}", capabilities::names(drop.effective).join(" "));
    }
    // After the signals are blocked: the thread (and the proxy's threads it
    // starts) must not take the signals sbx reads from its signalfd.
    let mut names_soon = dns_upstream.filter(|_| filter_names).map(|upstream| start_name_filter_soon(policy, upstream));
    let close_fds = policy.close_fds.then(sys::fd_limit);
    let start = Start {
        landlock: ruleset.as_ref().map(|fd| fd.as_raw_fd()),
        seccomp: filter.as_ref(),
        listener: supervising,
        close_fds,
    };
    let handshake = Handshake::new()?;
    let mut pending = match start_child(&forwarding, &start, &exec, caps.as_ref(), &handshake)? {
        Started::Failed(failure) => return report_failure(policy, &exec, failure),
        Started::Ready(pending) => pending,
    };
    let child = pending.pid();
    // sbx creates files around protected paths with the command's umask,
    // applied by hand; its own must not mask them further. After the fork:
    // the command keeps its umask.
    let _umask = m.protect.then(UmaskCleared::new);
    // Everything that can still refuse is checked here, on the real child,
    // before it runs: on an error `pending` is dropped, which kills it.
    let mediator = match pending.listener.take() {
        None => None,
        Some(listener) => {
            let probe_fd = handshake.go_read.as_raw_fd();
            let started = check_supervision(child, &kernel, probe_fd).and_then(|()| {
                let names = match names_soon.take() {
                    Some(soon) => Some(soon.join().map_err(|_| anyhow::anyhow!("the DNS filter's start panicked"))??),
                    None => None,
                };
                mediate::Mediator::new(mediate::Setup {
                    listener,
                    mode,
                    writable,
                    truncatable,
                    readable,
                    pty_peers: m.pty_peers,
                    intent_trees: m.write_reports.then(|| policy.write_rule_paths()),
                    protect,
                    home: std::env::var_os("HOME").map(std::path::PathBuf::from).filter(|h| h.is_absolute()),
                    takes_fds: kernel.no_fd_taking.is_none(),
                    process: mediate::Scope {
                        signals: m.signals,
                        pid_calls: m.pid_calls_supervised,
                        ptrace_calls: m.ptrace_calls,
                    },
                    abstract_check: m.abstract_sockets,
                    names,
                    unix_allow: policy.unix_allow.clone(),
                    quiet: policy.quiet,
                    ruleset: ruleset.take(),
                    command_effective_caps: caps.map(|d| d.effective),
                })
            });
            Some(started?)
        }
    };
    drop(ruleset);
    if plan.landlock.abi == 0 {
        // No Landlock domain keeps the command from sbx's /proc files. Not
        // before: the child shares sbx's memory, and with it dumpability,
        // until it execs (then it gets its own), and the checks above need
        // to read it.
        sys::set_not_dumpable().context("making sbx non-dumpable")?;
    }
    let lost = mediator.clone();
    let reap_orphans = forwarding.serve(mediator)?;
    pending.go()?;
    let outcome = forwarding.supervise(child, reap_orphans)?;
    if let Some(failure) = pending.exec_failure() {
        return report_failure(policy, &exec, failure);
    }
    if lost.is_some_and(|m| m.lost()) {
        bail!(
            "the sandbox was ended: an sbx inside it went away without ending its own sandbox (see above); \
             the command's status is lost"
        );
    }
    drop(delegation);
    if let Some(summary) = crate::summary::take(policy) {
        eprint!("{summary}");
    }
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if let Some(hint) = crate::summary::file_hint(policy, outcome, tty, writes_reported) {
        eprint!("{hint}");
    }
    Ok(outcome)
}

/// How starting the command went.
enum Started<'a> {
    /// It could not be set up; the child is reaped.
    Failed(Failure),
    /// It is set up and waits for the word to exec.
    Ready(Pending<'a>),
}

/// The pipes and slots the child and sbx share while it starts; they live
/// in the caller's frame for as long as the child may use them.
struct Handshake {
    report_read: OwnedFd,
    report_write: OwnedFd,
    go_read: OwnedFd,
    go_write: OwnedFd,
    listener_slot: AtomicI32,
    exec_failure: AtomicU64,
}

impl Handshake {
    fn new() -> Result<Self> {
        let (report_read, report_write) = sys::cloexec_pipe().context("creating the child's report pipe")?;
        let (go_read, go_write) = sys::cloexec_pipe().context("creating the child's go pipe")?;
        Ok(Self {
            report_read,
            report_write,
            go_read,
            go_write,
            listener_slot: AtomicI32::new(-1),
            exec_failure: AtomicU64::new(0),
        })
    }
}

/// The code a started child runs.
type Launch<'a> = Box<dyn FnOnce() -> std::convert::Infallible + 'a>;

/// A child that is set up and waits for [`Pending::go`]. Dropped before
/// that (sbx refuses), it is killed and waited for: the command never runs.
struct Pending<'a> {
    child: sys::Paused<Launch<'a>>,
    handshake: &'a Handshake,
    /// The seccomp listener, when one was asked for.
    listener: Option<OwnedFd>,
}

impl Pending<'_> {
    fn pid(&self) -> libc::pid_t {
        self.child.pid
    }

    /// Lets the child exec the command.
    fn go(&self) -> Result<()> {
        if !sys::raw_write_all(self.handshake.go_write.as_fd(), &[child::GO]) {
            bail!("telling the sandboxed child to start the command failed: {}", Errno::last().desc());
        }
        Ok(())
    }

    /// Once the child has ended: whether it ended because the exec failed.
    fn exec_failure(&self) -> Option<Failure> {
        Failure::from_u64(self.handshake.exec_failure.load(Ordering::SeqCst))
    }
}

/// How the child is to be sandboxed.
struct Start<'a> {
    /// The Landlock ruleset's fd number (sbx keeps it open until the child
    /// is ready).
    landlock: Option<std::os::fd::RawFd>,
    seccomp: Option<&'a sys::BpfProgram>,
    /// Install the filter with a listener (for a supervisor).
    listener: bool,
    /// `--close-fds`, and the highest fd number to try.
    close_fds: Option<u32>,
}

/// The capabilities a command started by this sbx loses (`None`: sbx has
/// none to lose — not root).
fn command_capabilities() -> Result<Option<capabilities::Drop>> {
    let (effective, permitted, inheritable) = sys::capabilities().context("reading sbx's capabilities")?;
    let (bounding, last) = sys::bounding_set();
    Ok(capabilities::Drop::of(effective, permitted, inheritable, bounding, last))
}

/// Starts the child: it sheds `caps`, applies the Landlock ruleset and the
/// seccomp filter (with a listener if asked), says it is ready and waits for
/// [`Pending::go`] before it restores the signal mask and execs `exec`.
/// Returns once it is ready or has failed.
fn start_child<'a>(
    forwarding: &supervisor::Signals,
    start: &Start<'a>,
    exec: &'a ExecPlan,
    caps: Option<&'a capabilities::Drop>,
    handshake: &'a Handshake,
) -> Result<Started<'a>> {
    let setup = ChildSetup {
        signal_mask: forwarding.original_mask(),
        // By number: once the child is ready, sbx hands the ruleset on.
        landlock: start.landlock,
        seccomp: start.seccomp,
        exec,
        report: handshake.report_write.as_fd(),
        go: handshake.go_read.as_fd(),
        exec_failure: &handshake.exec_failure,
        listener_slot: start.listener.then_some(&handshake.listener_slot),
        close_fds: start.close_fds,
        capabilities: caps,
    };
    let launch: Launch<'a> = Box::new(move || child::run(setup));
    let child = sys::spawn_paused(launch).context("starting the command (clone)")?;

    let mut buf = [0u8; Failure::SIZE];
    let n = sys::read_full(handshake.report_read.as_fd(), &mut buf).context("reading the child's report")?;
    // The listener, if the child installed one, is in sbx's table now.
    let listener = match handshake.listener_slot.load(Ordering::SeqCst) {
        fd if fd >= 0 => Some(sys::adopt_fd(fd)),
        _ => None,
    };
    if n == Failure::SIZE && buf != child::READY {
        let pid = child.pid;
        let _ = sys::wait(pid);
        drop(child);
        let failure = Failure::decode(buf).context("the child sent an unreadable report")?;
        return Ok(Started::Failed(failure));
    }
    if n != Failure::SIZE {
        // The child died before it could say anything (killed?).
        bail!("the sandboxed child ended before it was set up; report a bug");
    }
    if start.listener && listener.is_none() {
        bail!("the child was set up without the seccomp listener it was to install; report a bug");
    }
    Ok(Started::Ready(Pending { child, handshake, listener }))
}

/// The nameservers (of /etc/resolv.conf) whose DNS traffic goes through
/// sbx's name filter, or `None` if it does not: with
/// name rules (only their names resolve), and with none too, so that every
/// lookup the sandbox refuses is named by its host name (never as a connect
/// to the resolver's address, whose allowing would open DNS to every name)
/// — unless an address rule names a nameserver's DNS port itself
/// (`--allow-net=10.0.0.2:53`): then the user chose to let DNS through
/// unfiltered. A rule that covers the resolver by chance (`localhost` and
/// systemd-resolved's 127.0.0.53, a private range) does not.
fn filtered_upstream(net: &crate::policy::Net) -> Option<crate::dns::Upstream> {
    let chose_raw_dns = |rules: &[crate::policy::NetRule], upstream: &crate::dns::Upstream| {
        rules.iter().any(|r| r.port == Some(53) && upstream.servers.iter().any(|&ns| r.allows(ns)))
    };
    match net {
        crate::policy::Net::Unrestricted => None,
        crate::policy::Net::Denied => Some(crate::dns::Upstream::system()),
        crate::policy::Net::Allow(rules) => {
            let upstream = crate::dns::Upstream::system();
            (!net.name_rules().is_empty() || !chose_raw_dns(rules, &upstream)).then_some(upstream)
        }
    }
}

/// Starts the DNS filter on a thread of its own, so that it gets ready
/// while the command is being started (it binds sockets and starts threads:
/// about half a millisecond); joined before the command runs.
fn start_name_filter_soon(
    policy: &Policy,
    upstream: crate::dns::Upstream,
) -> std::thread::JoinHandle<Result<std::sync::Arc<crate::dns::NameFilter>>> {
    let (net, quiet) = (policy.net.clone(), policy.quiet);
    std::thread::spawn(move || start_name_filter(&net, upstream, quiet))
}

/// Starts the DNS filter for the name entries of `net`: a proxy on loopback
/// forwarding allowed queries to `upstream` (the nameservers of
/// /etc/resolv.conf), and the /etc/hosts snapshot.
fn start_name_filter(
    net: &crate::policy::Net,
    upstream: crate::dns::Upstream,
    quiet: bool,
) -> Result<std::sync::Arc<crate::dns::NameFilter>> {
    use crate::dns::{Blocked, NameRules, ProxyConfig, hosts};
    use crate::policy::net::Host;
    let mut rules = NameRules::new();
    for rule in net.name_rules() {
        let pattern = match &rule.host {
            Host::Name(name) => name.clone(),
            Host::Subdomains(name) => format!("*.{name}"),
            _ => continue,
        };
        rules.add(&pattern, rule.port)?;
    }
    let mut config = ProxyConfig::new(rules, upstream);
    config.on_blocked = std::sync::Arc::new(move |blocked: &Blocked| {
        tracing::debug!("{blocked}");
        crate::summary::record_once(&blocked.to_string());
        if !quiet {
            eprintln!("{blocked}");
        }
    });
    let hosts = hosts::read(std::path::Path::new(hosts::HOSTS));
    let filter = crate::dns::NameFilter::start(config, hosts)?;
    let shown = |addrs: &[std::net::SocketAddr]| addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ");
    tracing::debug!(
        "DNS filter: proxy on UDP {} and TCP {}; the command's DNS traffic to {} goes through it (nameservers of {})",
        shown(filter.proxy().udp_addrs()),
        shown(filter.proxy().tcp_addrs()),
        shown(filter.nameservers()),
        crate::dns::resolv::RESOLV_CONF,
    );
    for rule in net.name_rules() {
        tracing::debug!("DNS filter: allows {rule}");
    }
    if let Net::Allow(rules) = net {
        for ns in filter.nameservers() {
            if let Some(rule) = rules.iter().find(|r| r.allows(*ns)) {
                tracing::debug!(
                    "DNS filter: --allow-net={rule} covers the nameserver {ns}, but DNS traffic to it still goes \
                     through the filter (name entries filter every lookup)"
                );
            }
        }
    }
    Ok(filter)
}

pub use probe::supervision_limits;

/// A delegation to the enclosing sbx for this run: when it ends, what is
/// left of the sandbox is ended, then the enclosing sbx is told.
struct Delegated(Option<nested::Registration>);

impl Drop for Delegated {
    fn drop(&mut self) {
        nested::end_descendants(std::process::id() as i32);
        if let Some(registration) = self.0.take() {
            registration.done();
        }
    }
}

/// What `policy` asks the enclosing sbx to decide for this sandbox.
fn delegation_request(policy: &Policy) -> nested::Request {
    nested::Request {
        writable: policy.deny.write.then(|| policy.writable_paths()),
        truncatable: policy.deny.write.then(|| policy.write_rule_paths()),
        readable: policy.deny.read.then(|| policy.paths.iter().map(|r| (r.path.clone(), r.is_dir)).collect()),
        net: match &policy.net {
            Net::Unrestricted => None,
            Net::Denied => Some(Vec::new()),
            Net::Allow(rules) => Some(rules.iter().map(ToString::to_string).collect()),
        },
        unix_allow: policy.unix_allow.clone(),
        ..nested::request()
    }
}

/// Checks on the set-up child, before it runs, what the supervisor will
/// do to the command: read its memory, and take its file descriptors (or,
/// where [`Kernel::no_fd_taking`], reach them through /proc). An LSM
/// (AppArmor, SELinux) or Yama can forbid what sbx's own probe allowed.
fn check_supervision(child: libc::pid_t, kernel: &Kernel, probe_fd: i32) -> Result<()> {
    let forbidden = |what: &str, e: Errno| {
        anyhow::anyhow!(
            "{what} of the sandboxed child failed: {} ({e:?}) — a ptrace restriction forbids it (an LSM such as \
             AppArmor or SELinux, or Yama's ptrace_scope); the supervisor cannot work here. Allow ptrace read access \
             from sbx to its children, or run without the restrictions that need the supervisor (--explain lists \
             them)",
            e.desc()
        )
    };
    let marker = [0x5bu8; 8];
    let mut copy = [0u8; 8];
    sys::read_memory(child, &[(marker.as_ptr() as u64, 8)], &mut copy)
        .map_err(|e| forbidden("Reading the memory", e))?;
    if kernel.no_fd_taking.is_none() {
        let pidfd = sys::pidfd_open(child).map_err(|e| forbidden("pidfd_open", e))?;
        sys::pidfd_getfd(pidfd.as_fd(), probe_fd).map_err(|e| forbidden("Taking a file descriptor", e))?;
    } else {
        sys::reopen_fd(child, probe_fd).map_err(|e| forbidden("Opening /proc/PID/fd", e))?;
    }
    Ok(())
}

/// `policy` as it can run on `kernel`: without a supervisor, `--allow-net`
/// rules cannot be enforced and become no network at all — never more
/// (a run gets here only with --best-effort, after the warning).
fn narrowed(policy: &Policy, kernel: &Kernel) -> Policy {
    let mut narrowed = policy.clone();
    if kernel.no_supervisor.is_some() {
        // Nobody to perform the writes around them (refused before unless
        // --best-effort or only defaults, which the plan says stay open).
        narrowed.protection = Default::default();
    }
    let delegated = kernel.no_supervisor.is_some() && kernel.delegated.is_some_and(|c| c.sockets);
    let own = kernel.no_supervisor.is_none() && kernel.no_fd_taking.is_none();
    if matches!(policy.net, Net::Allow(_)) && !own && !delegated {
        narrowed.net = Net::Denied;
    }
    narrowed
}

/// sbx's umask cleared while it lives (restored when dropped).
struct UmaskCleared(nix::sys::stat::Mode);

impl UmaskCleared {
    fn new() -> Self {
        Self(nix::sys::stat::umask(nix::sys::stat::Mode::empty()))
    }
}

impl Drop for UmaskCleared {
    fn drop(&mut self) {
        nix::sys::stat::umask(self.0);
    }
}

/// Where the supervisor performs the command's writes around protected
/// paths, and where the command writes itself.
fn protect_trees(policy: &Policy) -> mediate::protect::Trees {
    let supervised = policy.supervised_trees();
    let writable = policy.write_rule_paths();
    let own = writable.iter().filter(|p| !supervised.contains(p)).cloned().collect();
    mediate::protect::Trees { supervised, own, writable, protection: policy.protection.clone() }
}

/// The Landlock ABI on this kernel, or why there is none.
#[derive(Debug, Clone, Copy)]
enum LandlockSupport {
    Abi(u8),
    Missing(Errno),
}

impl LandlockSupport {
    fn version(&self) -> u8 {
        match *self {
            LandlockSupport::Abi(v) => v,
            LandlockSupport::Missing(_) => 0,
        }
    }
}

fn detect_landlock() -> LandlockSupport {
    match sys::landlock_abi() {
        Ok(v) => LandlockSupport::Abi(u8::try_from(v).unwrap_or(u8::MAX)),
        Err(errno) => LandlockSupport::Missing(errno),
    }
}

/// Refuses (or, with `--best-effort`, warns about) what this kernel cannot enforce.
fn check_enforceable(policy: &Policy, plan: &enforcement::Plan, abi: &LandlockSupport) -> Result<()> {
    let gaps: Vec<(&str, &str)> = plan.gaps().collect();
    if gaps.is_empty() {
        return Ok(());
    }
    let kernel = match abi {
        LandlockSupport::Abi(v) => format!("this kernel offers Landlock ABI {v}"),
        LandlockSupport::Missing(Errno::EOPNOTSUPP) => {
            "Landlock is built into this kernel but not enabled (add `landlock` to the `lsm=` boot parameter)".into()
        }
        LandlockSupport::Missing(errno) => {
            format!(
                "this kernel has no Landlock ({}; it needs Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK)",
                errno.desc()
            )
        }
    };
    // Gaps with the same cause are listed together, the cause once.
    let mut causes: Vec<(&str, Vec<&str>)> = Vec::new();
    for &(what, needs) in &gaps {
        match causes.iter_mut().find(|(n, _)| *n == needs) {
            Some((_, whats)) => whats.push(what),
            None => causes.push((needs, vec![what])),
        }
    }
    let mut list = String::new();
    for (needs, whats) in &causes {
        for what in whats {
            let _ = write!(list, "\n  - {what}");
        }
        if whats.len() == 1 {
            let _ = write!(list, " (needs {needs})");
        } else {
            let _ = write!(list, "\n    (these need {needs})");
        }
    }
    let landlock = gaps.iter().any(|(_, needs)| needs.starts_with("Landlock"));
    let header = if landlock {
        format!("{kernel}, which cannot enforce part of the policy")
    } else {
        "sbx cannot enforce part of the policy here".to_owned()
    };
    if policy.best_effort {
        eprintln!("sbx: warning: --best-effort: {header}, so these stay possible for the command:{list}");
        return Ok(());
    }
    let fix = if landlock { "Upgrade the kernel (or enable Landlock)" } else { "Fix what is named above" };
    bail!(
        "{header}; the command could still do:{list}\n\
         {fix}, or pass --best-effort to run without these restrictions."
    )
}

fn log_plan(policy: &Policy, plan: &enforcement::Plan) {
    for covered in &plan.covered {
        tracing::debug!("enforcement: {}: {:?}", covered.what, covered.by);
    }
    let plan = &plan.landlock;
    tracing::debug!(abi = plan.abi, handled = ?plan.handled_fs, net = ?plan.handled_net, scopes = ?plan.scopes, "landlock");
    for rule in &plan.rules {
        tracing::debug!("landlock: {} {} ({})", landlock::describe(rule.rights), rule.path.display(), rule.source);
    }
    let env = match &policy.env {
        crate::env::EnvPolicy::Inherit => "inherited".to_string(),
        crate::env::EnvPolicy::Filter { patterns, .. } => {
            format!("only {} and {:?}", crate::env::BASE_VARS.join(" "), patterns)
        }
    };
    tracing::debug!(deny = ?policy.deny, net = ?policy.net, env = %env, "policy");
}

/// Turns a child's pre-exec failure into sbx's message and exit code.
fn report_failure(policy: &Policy, exec: &ExecPlan, failure: Failure) -> Result<Outcome> {
    let name = policy.command.first().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
    let errno = failure.errno;
    match failure.stage {
        Stage::NoNewPrivs => bail!("setting no_new_privs failed: {}", errno.desc()),
        Stage::Capabilities => bail!(
            "dropping the command's capabilities failed: {} ({errno:?}); run sbx as an ordinary user, or report a bug",
            errno.desc()
        ),
        Stage::Landlock => bail!(
            "applying the Landlock ruleset failed: {} ({errno:?}); run with -v to see the rules, or report a bug",
            errno.desc()
        ),
        Stage::Seccomp => bail!(
            "installing the seccomp filter failed: {} ({errno:?}); the kernel may lack CONFIG_SECCOMP_FILTER",
            errno.desc()
        ),
        Stage::Exec => {
            let (code, message) = match errno {
                Errno::ENOENT => (NOT_FOUND, exec_not_found(&name)),
                // Every candidate refused, but none exists as far as the
                // caller can see (e.g. an unsearchable PATH directory).
                Errno::EACCES if !exec.candidates().any(|p| p.exists()) => (NOT_FOUND, exec_not_found(&name)),
                Errno::EACCES if policy.deny.read && exec.candidates().any(executable_outside) => (
                    NOT_EXECUTABLE,
                    format!(
                        "{name}: permission denied — the sandbox does not let the command read it; \
                         allow its directory with --allow-read=DIR"
                    ),
                ),
                Errno::ENOEXEC => {
                    (NOT_EXECUTABLE, format!("{name}: cannot execute: not a valid executable (exec format error)"))
                }
                other => (NOT_EXECUTABLE, format!("{name}: cannot execute: {}", other.desc())),
            };
            eprintln!("sbx: {message}");
            Ok(Outcome::Code(code))
        }
    }
    .or_else(|err: anyhow::Error| {
        eprintln!("sbx: {err:#}");
        Ok(Outcome::Code(SBX_FAILED))
    })
}

fn exec_not_found(name: &str) -> String {
    if name.contains('/') {
        format!("{name}: no such file or directory")
    } else {
        format!("{name}: command not found (searched the command's PATH)")
    }
}

/// Whether `path` is a regular file that sbx's caller, outside the sandbox,
/// may execute — so an EACCES for it comes from the sandbox.
fn executable_outside(path: &std::path::Path) -> bool {
    path.is_file() && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Deny, NetRule};

    fn policy(net: Net, best_effort: bool) -> Policy {
        let mut p = Policy::for_test(Deny { net: net.is_restricted(), ..Deny::default() }, net, Vec::new());
        p.best_effort = best_effort;
        p
    }

    #[test]
    fn without_a_supervisor_allow_lists_are_narrowed_never_widened() {
        let allow = Net::Allow(vec![NetRule::parse("127.0.0.1:80").unwrap()]);
        let without = Kernel {
            abi: 7,
            no_supervisor: None,
            no_fd_taking: Some("this kernel lacks pidfd_getfd (Linux 5.6)".into()),
            delegated: None,
        };
        assert_eq!(narrowed(&policy(allow.clone(), true), &without).net, Net::Denied);
        assert_eq!(narrowed(&policy(Net::Denied, true), &without).net, Net::Denied);
        // With a supervisor, nothing changes.
        let with = Kernel { abi: 7, no_supervisor: None, no_fd_taking: None, delegated: None };
        assert_eq!(narrowed(&policy(allow.clone(), false), &with).net, allow);
        // And the plan names the loss, so a run refuses it without --best-effort.
        let plan = enforcement::plan(&policy(allow, false), &without);
        let gaps: Vec<_> = plan.gaps().collect();
        assert!(
            gaps.iter().any(|(what, needs)| what.contains("--allow-net") && needs.contains("pidfd_getfd")),
            "{gaps:?}"
        );
    }

    #[test]
    fn this_kernel_has_what_the_supervisor_needs() {
        assert_eq!(sys::supervisor_missing(), None);
    }
}

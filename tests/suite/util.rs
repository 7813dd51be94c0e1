//! Test helpers: run `sbx` (or a bare command) and, when an assertion fails,
//! print the command, its directory, exit status, stdout and stderr.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;

use super::docker::Container;

/// The sbx binary under test.
pub fn sbx_path() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sbx"))
}

/// A command line to run, with a description kept for failure messages.
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, Option<OsString>)>,
    env_clear: bool,
    stdin: Option<Vec<u8>>,
    as_nobody: bool,
    /// Pass the simulated kernel on (see [`simulated`]) although the
    /// program is not sbx itself (a shell that runs sbx).
    simulate: bool,
    /// This Landlock for sbx (`SBX_SHIM_LANDLOCK` value), whatever the
    /// suite simulates; `Some("")`: the real kernel's.
    landlock: Option<String>,
    /// Run in the suite's container (see [`container`]) although the
    /// program is not sbx.
    contained: bool,
    /// In the container: resolv.conf, hosts and nsswitch.conf from here.
    etc: Option<PathBuf>,
    /// Run in this container, whatever the suite's.
    own_container: Option<Container>,
}

/// `sbx ARGS...`.
pub fn sbx<I, S>(args: I) -> Cmd
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Cmd::new(sbx_path()).args(args)
}

/// A bare command (to prove a probe works without sbx).
pub fn bare<S: AsRef<OsStr>>(program: S) -> Cmd {
    Cmd::new(program)
}

impl Cmd {
    pub fn new<S: AsRef<OsStr>>(program: S) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            env_clear: false,
            stdin: None,
            as_nobody: false,
            simulate: false,
            landlock: None,
            contained: false,
            etc: None,
            own_container: None,
        }
    }

    pub fn arg<S: AsRef<OsStr>>(mut self, arg: S) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn cwd<P: AsRef<Path>>(mut self, dir: P) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    pub fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(mut self, key: K, value: V) -> Self {
        self.env.push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    pub fn env_remove<K: AsRef<OsStr>>(mut self, key: K) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Start from an empty environment (then add with `env`).
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self
    }

    pub fn stdin<B: Into<Vec<u8>>>(mut self, bytes: B) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Let the sbx this command runs (through a shell, say) see the
    /// simulated kernel too (and run in the suite's container, if any).
    pub fn simulated(mut self) -> Self {
        self.simulate = true;
        self
    }

    /// Run in the suite's container (see [`container`]), if any, although
    /// this is not sbx: what a command gets there without sbx.
    pub fn in_container(mut self) -> Self {
        self.contained = true;
        self
    }

    /// Run in `container` (sbx or not), whatever the suite runs sbx in.
    pub fn container(mut self, container: &Container) -> Self {
        self.own_container = Some(container.clone());
        self
    }

    /// In the suite's container: /etc/resolv.conf, /etc/hosts and
    /// /etc/nsswitch.conf are those in `dir` (as Docker binds its own).
    /// Outside a container this panics: see `dnsutil::with_private_etc`.
    pub fn container_etc(mut self, dir: &Path) -> Self {
        assert!(self.in_which_container().is_some(), "container_etc outside a container");
        self.etc = Some(dir.to_owned());
        self
    }

    /// Make sbx see this Landlock (`none`, `disabled`, or an ABI `1`–`7`)
    /// through the shim, whatever the suite simulates; `""`: the real
    /// kernel's (for tests that simulate something of their own).
    pub fn landlock(mut self, value: &str) -> Self {
        self.landlock = Some(value.to_owned());
        self
    }

    /// Run as uid/gid 65534 with no supplementary groups (via setpriv).
    pub fn nobody(mut self) -> Self {
        self.as_nobody = true;
        self
    }

    fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(c) = self.in_which_container() {
            let user = if self.as_nobody { " as uid 65534" } else { "" };
            parts.push(format!("[in container {}{user}]", c.name()));
        } else if self.as_nobody {
            parts.push("setpriv --reuid=65534 --regid=65534 --clear-groups --".into());
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => parts.push(format!("{}={:?}", k.to_string_lossy(), v)),
                None => parts.push(format!("-u {}", k.to_string_lossy())),
            }
        }
        for (k, v) in self.shim_env() {
            parts.push(format!("{k}={v:?}"));
        }
        parts.push(self.program.to_string_lossy().into_owned());
        parts.extend(self.args.iter().map(|a| format!("{a:?}")));
        parts.join(" ")
    }

    /// The environment that puts the Landlock shim in front of sbx.
    fn shim_env(&self) -> Vec<(&'static str, String)> {
        match self.landlock.as_deref() {
            Some("") => Vec::new(),
            Some(value) => vec![("LD_PRELOAD", shim().display().to_string()), ("SBX_SHIM_LANDLOCK", value.to_owned())],
            None if self.program == sbx_path().as_os_str() || self.simulate => simulation_env(),
            None => Vec::new(),
        }
    }

    /// The container this command runs in: its own ([`Cmd::container`]),
    /// else the suite's (see [`container`]) for sbx, commands that run sbx
    /// ([`Cmd::simulated`]) and those that ask for it ([`Cmd::in_container`]).
    fn in_which_container(&self) -> Option<&Container> {
        self.own_container.as_ref().or_else(|| {
            container().filter(|_| self.program == sbx_path().as_os_str() || self.simulate || self.contained)
        })
    }

    /// Builds the std Command (for tests that need to spawn and interact).
    pub fn command(&self) -> Command {
        let container = self.in_which_container();
        let mut cmd = if self.as_nobody && container.is_none() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(&self.program);
            c
        } else {
            Command::new(&self.program)
        };
        cmd.args(&self.args);
        if self.env_clear {
            cmd.env_clear();
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        for (k, v) in self.shim_env() {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        if let Some(c) = container {
            c.apply(&mut cmd, self.as_nobody.then_some(65534), self.etc.as_deref());
        } else if fs_uid() != 0 {
            // SAFETY: two system calls on integers between fork and exec:
            // a command outside the container runs as root, as the test process.
            unsafe {
                cmd.pre_exec(|| {
                    set_fs_ids(0);
                    Ok(())
                });
            }
        }
        cmd
    }

    /// Runs to completion and captures everything.
    pub fn run(&self) -> Output {
        let mut cmd = self.command();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawning {}: {e}", self.describe()));
        if let Some(input) = &self.stdin {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input).unwrap();
        }
        Output::of(self.describe(), self.cwd.clone(), child.wait_with_output().unwrap())
    }
}

/// A finished command.
pub struct Output {
    pub desc: String,
    pub cwd: Option<PathBuf>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr_bytes: Vec<u8>,
}

impl Output {
    /// A finished std process, described as `desc` (run in `cwd`).
    pub fn of(desc: String, cwd: Option<PathBuf>, out: std::process::Output) -> Self {
        Output {
            desc,
            cwd,
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout_bytes: out.stdout,
            stderr_bytes: out.stderr,
        }
    }

    /// Everything about the run, for failure messages.
    pub fn report(&self) -> String {
        format!(
            "\ncommand: {}\ncwd:     {}\nstatus:  {:?} (code {:?}, signal {:?})\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.desc,
            self.cwd.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "(inherited)".into()),
            self.status,
            self.status.code(),
            self.status.signal(),
            self.stdout,
            self.stderr
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.status.code(), Some(expected), "unexpected exit status{}", self.report());
        self
    }

    #[track_caller]
    pub fn success(&self) -> &Self {
        self.code(0)
    }

    /// Asserts death by `signal`.
    #[track_caller]
    pub fn signal(&self, signal: i32) -> &Self {
        assert_eq!(self.status.signal(), Some(signal), "expected death by signal {signal}{}", self.report());
        self
    }

    /// Asserts stdout equals `expected` after trimming trailing whitespace.
    #[track_caller]
    pub fn stdout_is(&self, expected: &str) -> &Self {
        assert_eq!(self.stdout.trim_end(), expected, "unexpected stdout{}", self.report());
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}{}", self.report());
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Self {
        assert!(!self.stderr.contains(needle), "stderr has {needle:?}{}", self.report());
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Self {
        assert!(!self.stdout.contains(needle), "stdout has {needle:?}{}", self.report());
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}{}", self.report());
        self
    }
}

/// The C probe (tests/probes/probe.c), compiled once per test run.
pub fn probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| compile("probe.c", "sbx-probe", &[], &[]))
}

/// The seccomp launcher (tests/probes/refuse.c): `refuse NAME=ERRNO... --
/// COMMAND` runs COMMAND under a filter refusing those calls, as a
/// container's seccomp profile does. Compiled once per test run.
pub fn refuse() -> &'static Path {
    static REFUSE: OnceLock<PathBuf> = OnceLock::new();
    REFUSE.get_or_init(|| compile("refuse.c", "sbx-refuse", &[], &[]))
}

/// Compiles tests/probes/`source` into the target dir as `name`.
fn compile(source: &str, name: &str, flags: &[&str], libs: &[&str]) -> PathBuf {
    let _root = RootFiles::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probes").join(source);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join(name);
    let tmp = dir.join(format!("{name}.{}", std::process::id()));
    let status = Command::new("cc")
        .args(["-O1", "-Wall", "-Werror"])
        .args(flags)
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .args(libs)
        .status()
        .unwrap_or_else(|e| panic!("the tests need a C compiler (cc) to build {}: {e}", src.display()));
    assert!(status.success(), "compiling {} failed", src.display());
    std::fs::rename(&tmp, &out).unwrap();
    // World-readable and executable (tests also run it as uid 65534).
    make_reachable(&out);
    out
}

/// Makes `path` and its ancestors traversable/readable by any user (for
/// tests that run as uid 65534).
pub fn make_reachable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for p in path.ancestors() {
        if let Ok(meta) = std::fs::metadata(p) {
            let mode = meta.permissions().mode();
            let wanted = if meta.is_dir() { mode | 0o755 } else { mode | 0o555 };
            if wanted != mode {
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(wanted));
            }
        }
    }
}

/// A temp dir under the target dir (not /tmp, which is writable by default
/// under --deny-write and so useless for testing denials). In a container
/// with a non-root user, the files this test thread makes from now on are
/// that user's (see [`files_as_sbx_user`]).
pub fn tempdir() -> tempfile::TempDir {
    let base = test_base();
    files_as_sbx_user();
    tempfile::Builder::new().prefix("sbx-test-").tempdir_in(base).unwrap()
}

/// When sbx runs as a non-root user in the container (`SBX_TEST_CONTAINER=
/// docker-1000`), the test trees must be that user's, as when a user runs
/// the suite: from now on this thread makes files, and looks paths up, as
/// that user (setfsuid and setfsgid: this thread and the threads it starts
/// only; it drops this thread's file capabilities, as for that user).
/// Everything else stays root: listeners, the container itself, and bare
/// commands (which get back root's filesystem ids before exec). Nothing
/// happens outside such a container.
pub fn files_as_sbx_user() {
    if let Some(uid) = container().and_then(|c| c.user) {
        set_fs_ids(uid);
    }
}

/// This thread's filesystem uid.
fn fs_uid() -> u32 {
    // SAFETY: setfsuid(-1) changes nothing and returns the current fsuid.
    unsafe { libc::syscall(libc::SYS_setfsuid, u32::MAX) as u32 }
}

fn set_fs_ids(id: u32) {
    // SAFETY: integer arguments only; the gid first, while the fsuid may
    // still be root's (the process's uids stay 0, so either order works).
    unsafe {
        libc::syscall(libc::SYS_setfsgid, id);
        libc::syscall(libc::SYS_setfsuid, id);
    }
}

/// While alive, this thread makes files as root again (for what the whole
/// run shares: the compiled probes, the base of the test trees).
struct RootFiles(Option<u32>);

impl RootFiles {
    fn new() -> Self {
        let was = fs_uid();
        if was == 0 {
            return Self(None);
        }
        set_fs_ids(0);
        Self(Some(was))
    }
}

impl Drop for RootFiles {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            set_fs_ids(id);
        }
    }
}

/// Where test trees go: the target dir's tmp, unless the checkout itself
/// lies under /tmp or $TMPDIR (writable by default, so useless for testing
/// denials) — then /var/tmp/sbx-tests.
fn test_base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let _root = RootFiles::new();
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(target).unwrap();
        let mut target = std::fs::canonicalize(target).unwrap();
        // A non-root container user's trees: in a directory of theirs.
        if let Some(uid) = container().and_then(|c| c.user) {
            target.push(format!("container-uid-{uid}"));
            std::fs::create_dir_all(&target).unwrap();
            std::os::unix::fs::chown(&target, Some(uid), Some(uid)).unwrap();
        }
        let mut defaults = vec![PathBuf::from("/tmp")];
        if let Some(tmpdir) = std::env::var_os("TMPDIR") {
            defaults.extend(std::fs::canonicalize(tmpdir).ok());
        }
        if !defaults.iter().any(|d| target.starts_with(d)) {
            return target;
        }
        let base = PathBuf::from("/var/tmp/sbx-tests");
        std::fs::create_dir_all(&base).unwrap_or_else(|e| {
            panic!("the checkout is under a temp dir, and creating {} for test trees failed: {e}", base.display())
        });
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let base = std::fs::canonicalize(base).unwrap();
        assert!(!defaults.iter().any(|d| base.starts_with(d)), "{} lies in a default-writable dir", base.display());
        base
    })
}

/// Whether every test must run (no skips): SBX_TEST_REQUIRE_ALL=1.
pub fn require_all() -> bool {
    std::env::var_os("SBX_TEST_REQUIRE_ALL").is_some_and(|v| v == "1")
}

/// Skips the current test with `reason`, or fails it under SBX_TEST_REQUIRE_ALL=1.
/// Use as `if cond { return skip("why"); }`.
#[track_caller]
pub fn skip(reason: &str) {
    if require_all() {
        panic!("test cannot run here and SBX_TEST_REQUIRE_ALL=1: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// Skips the current test because the suite's container makes it
/// meaningless (`reason` says how), even under SBX_TEST_REQUIRE_ALL=1;
/// outside a container this is [`skip`]. Only for what a container cannot
/// hold by design (a root-only check as uid 1000, a tool only root can
/// reach), never for something sbx gets wrong there.
#[track_caller]
pub fn skip_in_container(reason: &str) {
    match container() {
        Some(c) => eprintln!("SKIPPED in container {}: {reason}", c.name()),
        None => skip(reason),
    }
}

/// Whether sbx runs as root: this process's user, or the user inside the
/// container the suite runs sbx in (see [`container`]).
pub fn is_root() -> bool {
    match container() {
        Some(c) => c.is_root(),
        // SAFETY: geteuid has no preconditions.
        None => unsafe { libc::geteuid() == 0 },
    }
}

/// The uid sbx runs as (unless a test says otherwise, as with [`Cmd::nobody`]).
pub fn sbx_uid() -> u32 {
    match container() {
        Some(c) => c.user.unwrap_or(0),
        // SAFETY: geteuid has no preconditions.
        None => unsafe { libc::geteuid() },
    }
}

/// The container every sbx the tests start runs in:
/// `SBX_TEST_CONTAINER=docker[-20.10][-UID][-ptrace][-netns]` (see
/// [`Container::parse`]), e.g. `docker` (Docker's default seccomp profile
/// and capabilities, as root), `docker-1000` (as uid 1000),
/// `docker-ptrace` (`--cap-add SYS_PTRACE`), `docker-20.10` (Docker
/// 20.10.24's profile). The test process itself stays outside, as root;
/// bare commands run outside too.
pub fn container() -> Option<&'static Container> {
    static CONTAINER: OnceLock<Option<Container>> = OnceLock::new();
    CONTAINER
        .get_or_init(|| {
            let value = std::env::var("SBX_TEST_CONTAINER").ok().filter(|v| !v.is_empty())?;
            Some(Container::parse(&value).unwrap_or_else(|e| panic!("SBX_TEST_CONTAINER: {e}")))
        })
        .as_ref()
}

/// The Landlock ABI sbx sees (0 if none): the simulated one (see
/// [`simulated`]), else this kernel's.
pub fn landlock_abi() -> i32 {
    match simulated() {
        Some(Simulated::Abi(v)) => v,
        Some(Simulated::None | Simulated::Disabled) => 0,
        None => real_landlock_abi(),
    }
}

/// This kernel's Landlock ABI (0 if none), whatever is simulated.
pub fn real_landlock_abi() -> i32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, VERSION) only returns a number.
    let v = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32) };
    if v < 0 { 0 } else { v as i32 }
}

/// An older kernel the tests make sbx see: `SBX_TEST_LANDLOCK_ABI=N` (1–7),
/// `none` (no Landlock, ENOSYS) or `disabled` (EOPNOTSUPP). sbx then runs
/// with tests/probes/landlock_shim.c preloaded, which answers the ABI query
/// with N and refuses what an ABI-N kernel would; the real kernel enforces
/// what sbx asks for. sbx itself has no such knob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simulated {
    Abi(i32),
    None,
    Disabled,
}

pub fn simulated() -> Option<Simulated> {
    static SIM: OnceLock<Option<Simulated>> = OnceLock::new();
    *SIM.get_or_init(|| {
        let value = std::env::var("SBX_TEST_LANDLOCK_ABI").ok().filter(|v| !v.is_empty())?;
        Some(match value.as_str() {
            "none" => Simulated::None,
            "disabled" => Simulated::Disabled,
            n => match n.parse::<i32>() {
                Ok(v @ 1..=7) => {
                    assert!(
                        v <= real_landlock_abi(),
                        "cannot simulate Landlock ABI {v} on a kernel with ABI {}",
                        real_landlock_abi()
                    );
                    Simulated::Abi(v)
                }
                _ => panic!("SBX_TEST_LANDLOCK_ABI={value}: want 1 to 7, none or disabled"),
            },
        })
    })
}

/// The environment that makes sbx see the simulated kernel (empty when
/// nothing is simulated).
pub fn simulation_env() -> Vec<(&'static str, String)> {
    let Some(sim) = simulated() else { return Vec::new() };
    let value = match sim {
        Simulated::Abi(v) => v.to_string(),
        Simulated::None => "none".into(),
        Simulated::Disabled => "disabled".into(),
    };
    vec![("LD_PRELOAD", shim().display().to_string()), ("SBX_SHIM_LANDLOCK", value)]
}

/// The Landlock shim (tests/probes/landlock_shim.c), compiled once per test run.
pub fn shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| compile("landlock_shim.c", "sbx-landlock-shim.so", &["-shared", "-fPIC"], &["-ldl"]))
}

/// Skips (see [`skip`]) unless Landlock offers at least `abi`; returns whether to go on.
#[track_caller]
pub fn need_abi(abi: i32) -> bool {
    let have = landlock_abi();
    if have < abi {
        skip(&format!("needs Landlock ABI {abi}, this kernel has {have}"));
        return false;
    }
    true
}

/// Like [`need_abi`], for this kernel's own Landlock (tests that run sbx on
/// it with [`Cmd::landlock`]`("")`, whatever the suite simulates).
#[track_caller]
pub fn need_real_abi(abi: i32) -> bool {
    let have = real_landlock_abi();
    if have < abi {
        skip(&format!("needs Landlock ABI {abi}, this kernel has {have}"));
        return false;
    }
    true
}

/// Skips unless running as root (needed for setpriv and CAP-dependent probes).
/// In a container with a non-root user (`SBX_TEST_CONTAINER=docker-1000`)
/// the test does not apply, even under SBX_TEST_REQUIRE_ALL=1: the same
/// suite in the root container runs it.
#[track_caller]
pub fn need_root() -> bool {
    if let Some(c) = container().filter(|c| !c.is_root()) {
        skip_in_container(&format!("needs root; sbx runs as uid {} there", c.user.unwrap_or(0)));
        return false;
    }
    if !is_root() {
        skip("needs root (to run a probe with capabilities, or to switch to uid 65534)");
        return false;
    }
    true
}

/// A TCP listener on loopback that counts the connections it accepts. A
/// thread of its own accepts (and closes) them until dropped; [`accepted`]
/// drains the kernel's accept queue itself under the same lock, so every
/// connection whose handshake completed before the call is counted — no
/// waiting for the thread to catch up.
///
/// [`accepted`]: Listener::accepted
pub struct Listener {
    pub addr: std::net::SocketAddr,
    state: std::sync::Arc<std::sync::Mutex<Accepting>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

struct Accepting {
    listener: std::net::TcpListener,
    accepted: usize,
}

impl Accepting {
    /// Accepts (and closes) every connection waiting in the queue.
    fn drain(&mut self) -> usize {
        while self.listener.accept().is_ok() {
            self.accepted += 1;
        }
        self.accepted
    }
}

impl Listener {
    /// Listens on `ip`:`port` (0: any free port); `None` if it cannot.
    pub fn on(ip: &str, port: u16) -> Option<Self> {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind((ip, port)).ok()?;
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(Accepting { listener, accepted: 0 }));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                a.lock().unwrap().drain();
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        Some(Self { addr, state, stop })
    }

    pub fn ip(&self) -> String {
        self.addr.ip().to_string()
    }

    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// `--allow-net` for exactly this listener.
    pub fn allow(&self) -> String {
        format!("--allow-net={}", self.addr)
    }

    /// Connections accepted so far, the queue drained first.
    pub fn accepted(&self) -> usize {
        self.state.lock().unwrap().drain()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A listener on `ip` (any free port), or a panic.
pub fn listener(ip: &str) -> Listener {
    Listener::on(ip, 0).unwrap_or_else(|| panic!("cannot listen on {ip}"))
}

/// The machine's python3 (not a version-manager shim), or a skip.
pub fn python() -> Option<PathBuf> {
    let found = ["/usr/bin/python3", "/usr/local/bin/python3"].iter().map(PathBuf::from).find(|p| p.is_file());
    if found.is_none() {
        skip("needs python3 in /usr/bin or /usr/local/bin");
    }
    found
}

/// A restriction every (simulated) kernel enforces, for tests about
/// something else (exit status, exec, signals): `--deny-write` where there
/// is Landlock, else `--deny-net`.
pub fn any_restriction() -> &'static str {
    if landlock_abi() > 0 { "--deny-write" } else { "--deny-net" }
}

/// Whether sbx can run under `flags` on the (simulated) kernel. Without
/// Landlock it cannot enforce file restrictions or `--deny-env` (other
/// processes' /proc/PID/environ): then this asserts that sbx refuses them
/// before the command starts — exit 125, the reason, `--best-effort`
/// named, nothing run — and returns false: the caller has nothing more to
/// check there.
#[track_caller]
pub fn enforceable(flags: &[&str]) -> bool {
    let needs_landlock = flags.iter().any(|f| {
        ["--deny-read", "--deny-write", "--deny-all", "--deny-env"].contains(f)
            || ["--allow-read=", "--allow-write=", "--allow-env="].iter().any(|p| f.starts_with(p))
    });
    if landlock_abi() > 0 || !needs_landlock {
        return true;
    }
    let out = sbx(flags).args(["--", "sh", "-c", "echo ran"]).run();
    let reason = if simulated() == Some(Simulated::Disabled) { "not enabled" } else { "no Landlock" };
    out.code(125).stderr_has(reason).stderr_has("--best-effort");
    assert!(out.stdout.is_empty(), "the command ran{}", out.report());
    false
}

/// Whether the network restrictions (`--deny-net`, `--allow-net`) can be
/// enforced where the suite runs sbx. In a container whose seccomp filter
/// refuses `pidfd_getfd` (Docker's default profile without CAP_SYS_PTRACE)
/// they cannot: asserts that sbx refuses such a run before it starts (exit
/// 125, the cause and the fix named, nothing printed by the command) and says
/// the caller skips; `tests/suite/container.rs` tests those refusals in full.
#[track_caller]
pub fn net_enforceable() -> bool {
    let Some(c) = container().filter(|c| !c.cap_add.iter().any(|cap| cap == "CAP_SYS_PTRACE")) else {
        return true;
    };
    let out = sbx(["--deny-net", "--", "sh", "-c", "echo ran"]).run();
    out.code(125).stderr_has("pidfd_getfd").stderr_has("--cap-add=SYS_PTRACE");
    assert!(out.stdout.is_empty(), "the command ran{}", out.report());
    skip_in_container(&format!("the network restrictions are refused in {} (no CAP_SYS_PTRACE)", c.name()));
    false
}

/// [`enforceable`] for both file restrictions.
#[track_caller]
pub fn files_enforced() -> bool {
    enforceable(&["--deny-write"]) & enforceable(&["--deny-read"])
}

/// Who a test's sandboxed commands run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    /// Whoever runs the tests (root in CI).
    Caller,
    /// uid/gid 65534 with no groups (via setpriv).
    Nobody,
}

impl User {
    /// `cmd`, run as this user.
    pub fn apply(self, cmd: Cmd) -> Cmd {
        if self == User::Nobody { cmd.nobody() } else { cmd }
    }
}

/// Whom a test runs sbx as: the caller (`false`) and, with root, uid 65534
/// (`true`); without root that half is SKIPPED, and says so (see
/// [`need_root`]).
pub fn users() -> Vec<bool> {
    if need_root() { vec![false, true] } else { vec![false] }
}

/// Runs `body` as the caller and, with root, as uid 65534; nothing where
/// file restrictions cannot be enforced (refused, which `files_enforced`
/// asserts).
pub fn as_both_users(body: impl Fn(User)) {
    if !files_enforced() {
        return;
    }
    body(User::Caller);
    if need_root() {
        body(User::Nobody);
    }
}

//! The seccomp baseline every sandbox gets, whatever the flags: no input
//! injected into the terminal (TIOCSTI, TIOCLINUX), no new namespaces, no
//! mounts, no kernel code, keyrings or userfaultfd — and, from Landlock, no
//! ptrace or memory access to sbx itself. Each probe works bare first (as
//! root, where the kernel would let it through), then fails under sbx with
//! the exact errno, as root and as uid 65534.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;

use super::process::{Watchdog, as_root_and_nobody};
use super::util::{self, Cmd, Output, bare, probe, sbx};

/// A pseudo-terminal pair; the slave in raw mode, so every byte pushed into
/// its input queue can be read back at once.
struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

impl Pty {
    fn open() -> Self {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two fds into the locals; name, termios and
        // winsize are NULL (unused).
        let ret =
            unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
        assert_eq!(ret, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both fds were just created and are owned by nobody else.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        // SAFETY: termios is plain data filled by tcgetattr before use.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
            libc::cfmakeraw(&mut t);
            assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
        }
        for fd in [&master, &slave] {
            // SAFETY: fcntl on an fd we own, integer arguments only.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        }
        Self { master, slave }
    }

    /// Runs `cmd` in a new session whose controlling terminal is this pty,
    /// with the slave as stdin (stdout and stderr captured apart).
    fn run(&self, cmd: &Cmd) -> Output {
        let mut command = cmd.command();
        let desc = format!("{command:?} <pty");
        command.stdin(Stdio::from(self.slave.try_clone().unwrap())).stdout(Stdio::piped()).stderr(Stdio::piped());
        // SAFETY: the hook makes two async-signal-safe system calls.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap_or_else(|e| panic!("spawning {desc}: {e}"));
        // The child leads its own session, hence its own process group.
        let _dog = Watchdog::new(child.id() as libc::pid_t);
        Output::of(desc, None, child.wait_with_output().unwrap())
    }

    /// What waits in the terminal's input queue (what the shell would read
    /// next), and drains it.
    fn pending_input(&self) -> Vec<u8> {
        drain(&self.slave)
    }

    /// What the terminal shows (nothing is echoed in raw mode).
    fn pending_output(&self) -> Vec<u8> {
        drain(&self.master)
    }
}

fn drain(fd: &OwnedFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        // SAFETY: reads into a live local buffer of the given length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
}

fn with_user(cmd: Cmd, nobody: bool) -> Cmd {
    if nobody { cmd.nobody() } else { cmd }
}

// ---------------------------------------------------------------- terminal injection

#[test]
fn tiocsti_cannot_type_into_the_terminal() {
    let probe = probe();
    for op in ["tiocsti", "tiocsti-high", "i386-tiocsti"] {
        for nobody in util::users() {
            let pty = Pty::open();
            // Premise: bare, the byte lands in the terminal's input queue.
            pty.run(&with_user(bare(probe).arg(op), nobody)).success().stdout_is("ok");
            assert_eq!(pty.pending_input(), b"Z", "bare {op} (nobody: {nobody}) injected nothing");
            for flags in [&[][..], &["--deny-net"][..]] {
                let out = pty.run(&with_user(sbx(flags).arg("--").arg(probe).arg(op), nobody));
                out.success().stdout_is("EPERM");
                assert_eq!(pty.pending_input(), b"", "{op} under sbx reached the terminal{}", out.report());
                assert_eq!(pty.pending_output(), b"", "{op} under sbx reached the terminal{}", out.report());
            }
        }
    }
}

#[test]
fn tioclinux_is_refused_before_the_driver_sees_it() {
    let probe = probe();
    for nobody in util::users() {
        let pty = Pty::open();
        // A pty is no virtual console: bare, the driver itself says ENOTTY.
        pty.run(&with_user(bare(probe).arg("tioclinux"), nobody)).success().stdout_is("ENOTTY");
        pty.run(&with_user(sbx(["--"]).arg(probe).arg("tioclinux"), nobody)).success().stdout_is("EPERM");
    }
}

#[test]
fn other_terminal_ioctls_still_work() {
    // `stty size` (TIOCGWINSZ) and `stty -a` (TCGETS) on the pty.
    let pty = Pty::open();
    pty.run(&sbx(["--", "stty", "size"])).success().stdout_is("0 0");
    pty.run(&sbx(["--deny-net", "--", "stty", "-echo"])).success();
}

// ---------------------------------------------------------------- namespaces, mounts, kernel

/// Probe ops the baseline refuses (EPERM), with what they give bare as root:
/// `ok`, or the kernel's own error past its permission check (the call was
/// let through; on a path that does not exist, or an invalid fd).
const REFUSED: &[(&[&str], &str)] = &[
    // Every namespace, by unshare(2) and by clone(2) (ESCAPES.md names all
    // eight flags; time has no clone flag).
    (&["unshare", "uts"], "ok"),
    (&["unshare", "user"], "ok"),
    (&["unshare", "time"], "ok"),
    (&["unshare", "mnt"], "ok"),
    (&["unshare", "net"], "ok"),
    (&["unshare", "pid"], "ok"),
    (&["unshare", "ipc"], "ok"),
    (&["unshare", "cgroup"], "ok"),
    (&["clone-newuser"], "ok"),
    (&["clone-ns", "uts"], "ok"),
    (&["clone-ns", "mnt"], "ok"),
    (&["clone-ns", "net"], "ok"),
    (&["clone-ns", "pid"], "ok"),
    (&["clone-ns", "ipc"], "ok"),
    (&["clone-ns", "cgroup"], "ok"),
    (&["fspick"], "ok"),
    (&["setns"], "ok"),
    (&["mount"], "ENOENT"),
    (&["umount2"], "ENOENT"),
    (&["pivot_root"], "ENOENT"),
    (&["chroot"], "ok"),
    (&["open_tree"], "ok"),
    (&["fsopen"], "ok"),
    (&["fsmount"], "EBADF"),
    (&["fsconfig"], "EINVAL"),
    (&["move_mount"], "ENOENT"),
    (&["mount_setattr"], "EINVAL"),
    (&["bpf"], "ok"),
    (&["perf_event_open"], "ok"),
    (&["keyctl"], "ok"),
    (&["add_key"], "ok"),
    (&["request_key"], "ENOKEY"),
    (&["userfaultfd"], "ok"),
    (&["open_tree_attr"], "ENOENT"),
    (&["open_by_handle_at"], "ESTALE"),
    (&["quotactl"], "ENOENT"),
    (&["quotactl_fd"], "EBADF"),
    (&["swapon"], "ENOENT"),
    (&["swapoff"], "ENOENT"),
    (&["reboot"], "EINVAL"),
    (&["settimeofday"], "ok"),
    (&["clock_settime"], "EINVAL"),
    (&["sethostname"], "ok"),
    (&["setdomainname"], "ok"),
    (&["acct"], "ENOENT"),
    (&["syslog"], "ok"),
    // The clock (modes 0: reads only, bare), on both entries.
    (&["adjtimex"], "ok"),
    (&["clock_adjtime"], "ok"),
    (&["i386-stime"], "EFAULT"),
    (&["i386-adjtimex"], "EFAULT"),
    (&["i386-clock_adjtime"], "EFAULT"),
    (&["i386-clock_settime64"], "EINVAL"),
    (&["i386-clock_adjtime64"], "EFAULT"),
    (&["i386-settimeofday"], "ok"),
    // fanotify: other processes' file accesses, permission events.
    (&["fanotify"], "ok"),
    // Terminals: the line discipline (stays changed after sbx), the
    // console, a hang-up of sbx's terminal (on /dev/null: ENOTTY past the
    // filter).
    (&["tty-ioctl", "TIOCSETD"], "ok"),
    (&["null-ioctl", "TIOCCONS"], "ENOTTY"),
    (&["null-ioctl", "TIOCVHANGUP"], "ENOTTY"),
];

/// Kernel code and I/O ports: this kernel may be built without modules, kexec
/// or iopl/ioperm (ENOSYS bare); the filter answers before the kernel looks,
/// either way.
const KERNEL_CODE: &[&str] =
    &["kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "iopl", "ioperm"];

#[test]
fn namespaces_mounts_and_kernel_interfaces_are_refused() {
    if !util::need_root() {
        return;
    }
    let probe = probe();
    for &(args, bare_result) in REFUSED {
        bare(probe).args(args).run().success().stdout_is(bare_result);
    }
    for op in KERNEL_CODE {
        let out = bare(probe).arg(op).run();
        out.success();
        assert_ne!(out.stdout.trim(), "EPERM", "bare {op} is refused by the kernel already{}", out.report());
    }
    let ops: Vec<&[&str]> =
        REFUSED.iter().map(|(args, _)| *args).chain(KERNEL_CODE.iter().map(std::slice::from_ref)).collect();
    for args in ops {
        for cmd in as_root_and_nobody(|| sbx(["--"]).arg(probe).args(args)) {
            cmd.run().success().stdout_is("EPERM");
        }
        let mut flags = vec!["--deny-net"];
        if util::landlock_abi() > 0 {
            flags.push("--deny-write");
        }
        sbx(&flags).arg("--").arg(probe).args(args).run().success().stdout_is("EPERM");
    }
}

// ---------------------------------------------------------------- the filter alone

/// The calls on the 32-bit (i386) entry, through the probe's `i386-call`
/// (numbers from libseccomp), with arguments that change nothing even bare
/// as root: a missing path, a bad fd, a bad magic or clock, a length past the
/// limit. Namespace flags and terminal ioctls are added by
/// [`i386_probes`]; calls numbered 452 and up fail with ENOSYS on this entry
/// (`syscalls_newer_than_libseccomp_are_enosys_on_the_32_bit_entry`).
const I386: &[(&str, &[&str])] = &[
    ("setns", &["-1", "0"]),
    ("mount", &["s:none", "s:/sbx-probe-none", "s:tmpfs", "0", "0"]),
    ("umount2", &["s:/sbx-probe-none", "0"]),
    ("umount", &["s:/sbx-probe-none"]),
    ("pivot_root", &["s:/sbx-probe-none", "s:/sbx-probe-none"]),
    ("chroot", &["s:/"]),
    ("fsopen", &["s:tmpfs", "0"]),
    ("fsconfig", &["-1", "6", "0", "0", "0"]),
    ("fsmount", &["-1", "0", "0"]),
    ("fspick", &["-100", "s:/", "0"]),
    ("open_tree", &["-100", "s:/", "0"]),
    ("move_mount", &["-1", "s:", "-1", "s:", "0"]),
    ("mount_setattr", &["-1", "s:", "0", "0", "0"]),
    ("bpf", &["0", "0", "0"]),
    ("perf_event_open", &["0", "0", "-1", "-1", "0"]),
    ("init_module", &["0", "0", "s:"]),
    ("finit_module", &["-1", "s:", "0"]),
    ("delete_module", &["s:sbx_probe_none", "0x800"]),
    ("kexec_load", &["0", "0", "0", "0xdead0000"]),
    ("keyctl", &["0", "-2", "1"]),
    ("add_key", &["s:user", "s:sbx-probe", "s:x", "1", "-2"]),
    ("request_key", &["s:user", "s:sbx-probe-none", "0", "0"]),
    ("userfaultfd", &["1"]),
    ("open_by_handle_at", &["-100", "0", "0"]),
    ("reboot", &["0", "0", "0", "0"]),
    ("swapon", &["s:/nonexistent-sbx", "0"]),
    ("swapoff", &["s:/nonexistent-sbx"]),
    ("quotactl", &["0", "s:/nonexistent-sbx", "0", "0"]),
    ("quotactl_fd", &["-1", "0", "0", "0"]),
    ("acct", &["s:/nonexistent-sbx"]),
    ("settimeofday", &["0", "0"]),
    ("clock_settime", &["1234", "0"]),
    ("adjtimex", &["0"]),
    ("clock_adjtime", &["1234", "0"]),
    ("stime", &["0"]),
    ("clock_settime64", &["1234", "0"]),
    ("clock_adjtime64", &["1234", "0"]),
    ("sethostname", &["s:x", "65"]),
    ("setdomainname", &["s:x", "65"]),
    ("syslog", &["10", "0", "0"]),
    ("iopl", &["0"]),
    ("ioperm", &["0x80", "1", "0"]),
    ("fanotify_init", &["0", "0"]),
    ("vhangup", &[]),
    ("clone3", &["0", "0"]),
];

/// Namespace flags by the README's names (`CLONE_NEWUSER`, `NEWNS`, …), with
/// the probe's name for each.
const NAMESPACE_FLAGS: &[(&str, &str, u64)] = &[
    ("NEWUSER", "user", 0x1000_0000),
    ("NEWNS", "mnt", 0x0002_0000),
    ("NEWPID", "pid", 0x2000_0000),
    ("NEWNET", "net", 0x4000_0000),
    ("NEWUTS", "uts", 0x0400_0000),
    ("NEWIPC", "ipc", 0x0800_0000),
    ("NEWCGROUP", "cgroup", 0x0200_0000),
    ("NEWTIME", "time", 0x80),
];

/// Terminal ioctl requests by name, made on fd -1 (EBADF once past the
/// filter, which looks at the request only).
const TERMINAL_REQUESTS: &[(&str, u64)] =
    &[("TIOCSTI", 0x5412), ("TIOCLINUX", 0x541c), ("TIOCSETD", 0x5423), ("TIOCCONS", 0x541d), ("TIOCVHANGUP", 0x5437)];

/// The names in the first column of the README's table of what every
/// sandbox refuses: the list this check is driven from, not the code's.
fn readme_baseline_names() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("| refused | why it would let the command leave the policy |").expect("the baseline table");
    let table = &readme[start..];
    let table = &table[..table.find("\n\n").unwrap_or(table.len())];
    let names: Vec<String> = table
        .lines()
        .skip(2)
        .flat_map(|line| line.split('|').nth(1).unwrap_or("").split('`').skip(1).step_by(2).map(str::to_owned))
        .filter(|name| name != "ENOSYS") // what clone3 answers, not a call
        .collect();
    assert!(names.len() > 50, "only {} names read from the README's baseline table: {names:?}", names.len());
    names
}

/// The probe runs (arguments, what the filter answers) that make the call
/// the README names, on the native entry and on the i386 entry where it has
/// a number there below 452. Panics for a name no probe makes.
fn probes(name: &str) -> Vec<(Vec<String>, &'static str)> {
    let v = |args: &[&str]| args.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let i386_number = |call: &str| {
        libseccomp::ScmpSyscall::from_name_by_arch(call, libseccomp::ScmpArch::X86)
            .ok()
            .map(|n| n.as_raw_syscall().to_string())
            .filter(|n| n.parse::<i32>().is_ok_and(|n| (0..452).contains(&n)))
    };
    let refused = if name == "clone3" { "ENOSYS" } else { "EPERM" };
    let mut runs = Vec::new();
    if let Some(request) = name.strip_prefix("ioctl(").and_then(|r| r.strip_suffix(')')) {
        let &(_, number) = TERMINAL_REQUESTS.iter().find(|(n, _)| *n == request).expect("a known request");
        let number = number.to_string();
        runs.push(v(&["call", &libc::SYS_ioctl.to_string(), "-1", &number, "0"]));
        runs.push(v(&["i386-call", "54", "-1", &number, "0"]));
    } else if let Some(&(_, ns, flag)) =
        NAMESPACE_FLAGS.iter().find(|(f, _, _)| name.trim_start_matches("CLONE_") == *f)
    {
        let flag = flag.to_string();
        runs.push(v(&["unshare", ns]));
        runs.push(v(&["i386-call", &i386_number("unshare").unwrap(), &flag]));
        match ns {
            "time" => {} // no clone flag
            "user" => runs.extend([v(&["clone-newuser"]), v(&["i386-clone", &flag])]),
            _ => runs.extend([v(&["clone-ns", ns]), v(&["i386-clone", &flag])]),
        }
    } else if ["unshare", "clone"].contains(&name) {
        return Vec::new(); // made with each flag, which the table names apart
    } else {
        let native_op = match name {
            "fanotify_init" => "fanotify",
            other => other,
        };
        let known =
            REFUSED.iter().map(|(args, _)| args[0]).chain(KERNEL_CODE.iter().copied()).chain(["vhangup", "clone3"]);
        runs.extend(known.filter(|op| *op == native_op || *op == format!("i386-{name}")).map(|op| v(&[op])));
        if let Some(nr) = i386_number(name) {
            let (_, args) = I386.iter().find(|(call, _)| *call == name).unwrap_or_else(|| {
                panic!("the README's baseline table names `{name}`, which has a 32-bit number but no row in I386")
            });
            runs.push([v(&["i386-call", &nr]), v(args)].concat());
        }
    }
    assert!(!runs.is_empty(), "no probe makes `{name}` (README's baseline table)");
    runs.into_iter().map(|run| (run, refused)).collect()
}

/// Runs the probe with `args` in a session of its own (`vhangup` has no
/// terminal to hang up), under `program` alone if given: nothing dropped, so
/// as root the kernel's own permission checks let every call through that
/// the filter does not stop.
fn in_own_session(program: Option<&std::sync::Arc<sbx::linux::sys::BpfProgram>>, args: &[String]) -> Output {
    let mut command = bare(probe()).args(args).command();
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let under = if program.is_some() { "under sbx's baseline filter alone" } else { "bare" };
    let program = program.cloned();
    // SAFETY: the hook makes up to three async-signal-safe system calls and
    // allocates nothing: the program was compiled before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(program) = &program {
                sbx::linux::sys::set_no_new_privs().map_err(std::io::Error::from)?;
                sbx::linux::sys::seccomp_install(program).map_err(std::io::Error::from)?;
            }
            Ok(())
        });
    }
    let desc = format!("{command:?} {under}");
    let child = command.spawn().unwrap_or_else(|e| panic!("spawning {desc}: {e}"));
    // The child leads its own session, hence its own process group.
    let _dog = Watchdog::new(child.id() as libc::pid_t);
    Output::of(desc, None, child.wait_with_output().unwrap())
}

/// The seccomp layer on its own. Under sbx, root's capabilities are dropped
/// first, so the kernel refuses most of these calls by itself and a missing
/// rule would not show; here sbx's baseline filter is installed alone in a
/// probe that keeps them. Driven by the README's table: every call, flag and
/// request it names is made on the native entry and, where it has one, the
/// i386 entry — bare first (the kernel lets it through: the control), then
/// under the filter (refused with `EPERM`; clone3 with `ENOSYS`).
#[test]
fn the_baseline_filter_alone_refuses_every_call_the_readme_names() {
    if !util::need_root() {
        return;
    }
    let rules = sbx::linux::seccomp::baseline();
    let program = std::sync::Arc::new(sbx::linux::seccomp::compile(&rules).unwrap().expect("a baseline filter"));
    let mut runs = 0;
    for name in readme_baseline_names() {
        for (args, refused) in probes(&name) {
            let out = in_own_session(None, &args);
            out.success();
            assert_ne!(out.stdout.trim(), "EPERM", "bare, the kernel refuses it already: no control{}", out.report());
            in_own_session(Some(&program), &args).success().stdout_is(refused);
            runs += 1;
        }
    }
    assert!(runs > 100, "only {runs} probe runs");
}

#[test]
fn clone3_is_enosys_and_libc_falls_back_to_clone() {
    let probe = probe();
    bare(probe).arg("clone3").run().success().stdout_is("ok");
    for cmd in as_root_and_nobody(|| sbx(["--"]).arg(probe).arg("clone3")) {
        cmd.run().success().stdout_is("ENOSYS");
    }
    // pthread_create and fork go through clone3 first, then clone.
    for cmd in as_root_and_nobody(|| sbx(["--deny-net", "--"]).arg(probe).arg("thread-fork")) {
        cmd.run().success().stdout_is("ok");
    }
    // A shell pipeline (fork, exec) and a nested sbx still work.
    let inner = format!("{} --deny-env -- {} thread-fork", util::sbx_path().display(), probe.display());
    sbx(["--deny-net", "--", "sh", "-c", &inner]).run().success().stdout_is("ok");
}

#[test]
fn sbx_itself_cannot_be_traced_or_read() {
    if !util::need_root() {
        return;
    }
    let probe = probe();
    // Bare, the probe's parent is a shell it may trace (as root) and read.
    let via_shell = |op: &str| bare("sh").args(["-c", "\"$0\" \"$1\"; :"]).arg(probe).arg(op).run();
    via_shell("ptrace-parent").success().stdout_is("ok");
    via_shell("vmread-parent").success().stdout_is("EFAULT");
    // Under sbx the parent is sbx, outside the Landlock domain.
    for op in ["ptrace-parent", "vmread-parent"] {
        for cmd in as_root_and_nobody(|| sbx(["--"]).arg(probe).arg(op)) {
            cmd.run().success().stdout_is("EPERM");
        }
    }
}

#[test]
fn setuid_programs_gain_nothing_inside() {
    // no_new_privs: a setuid-root program run by uid 65534 keeps uid 65534.
    if !util::need_root() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = util::tempdir();
    util::make_reachable(dir.path());
    let suid = dir.path().join("suid-probe");
    std::fs::copy(probe(), &suid).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    // Premise: bare, the setuid bit works here (the filesystem is not nosuid).
    bare(&suid).arg("euid").nobody().run().success().stdout_is("0");
    for flags in [&["--deny-env"][..], &["--deny-net"], &["--deny-write"], &[]] {
        if !util::enforceable(flags) {
            continue;
        }
        sbx(flags).arg("--").arg(&suid).arg("euid").nobody().run().success().stdout_is("65534");
    }
}

#[test]
fn an_o_path_fd_cannot_be_reopened_for_writing() {
    if !util::files_enforced() {
        return;
    }
    // O_PATH needs no access right; re-opening it through /proc/self/fd is a
    // new open of the same file, which Landlock checks like any other.
    let dir = util::tempdir();
    util::make_reachable(dir.path());
    let file = dir.path().join("protected");
    std::fs::write(&file, "x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    bare(probe()).arg("opath-reopen").arg(&file).run().success().stdout_is("ok");
    for cmd in as_root_and_nobody(|| sbx(["--deny-write", "--"]).arg(probe()).arg("opath-reopen").arg(&file)) {
        cmd.run().success().stdout_is("EACCES");
    }
}

#[test]
fn a_nested_sbx_cannot_loosen_the_outer_one() {
    if !util::files_enforced() {
        return;
    }
    let dir = util::tempdir();
    util::make_reachable(dir.path());
    let target = dir.path().join("written");
    // (--best-effort: the outer sbx holds the one seccomp listener, so the
    // inner one cannot mediate metadata writes itself.)
    let inner = format!(
        "{} --best-effort --allow-write={} -- {} write {}",
        util::sbx_path().display(),
        dir.path().display(),
        probe().display(),
        target.display()
    );
    // Bare, the inner sbx alone lets the write through.
    bare("sh").args(["-c", &inner]).run().success().stdout_is("ok");
    std::fs::remove_file(&target).unwrap();
    // Inside an outer sbx that denies writing there, it cannot.
    sbx(["--deny-write", "--", "sh", "-c", &inner]).run().success().stdout_is("EACCES");
    assert!(!target.exists());
}

#[test]
fn sbx_fds_cannot_be_taken_with_pidfd_getfd() {
    if !util::need_root() {
        return;
    }
    // Bare (as root), a process may take its parent shell's fd 0.
    bare("sh").args(["-c", "\"$0\" pidfd-getfd-parent; :"]).arg(probe()).run().success().stdout_is("ok");
    for cmd in as_root_and_nobody(|| sbx(["--"]).arg(probe()).arg("pidfd-getfd-parent")) {
        cmd.run().success().stdout_is("EPERM");
    }
}

#[test]
fn syscalls_newer_than_libseccomp_are_enosys_on_the_32_bit_entry() {
    // libseccomp 2.5.4 cannot place fchmodat2 (452) or open_tree_attr (467)
    // on the i386 entry: sbx's own prefix answers every number from 452 up
    // there with ENOSYS (an older kernel's answer), reached here through
    // `int 0x80` from this 64-bit probe.
    let probe = probe();
    for nr in ["452", "467"] {
        bare(probe).args(["i386-path-call", nr]).run().success().stdout_is("ENOENT");
        for cmd in as_root_and_nobody(|| sbx([util::any_restriction(), "--"]).arg(probe).args(["i386-path-call", nr])) {
            cmd.run().success().stdout_is("ENOSYS");
        }
    }
    // Older 32-bit calls are untouched by the prefix.
    sbx(["--"]).arg(probe).args(["i386-socket", "unix"]).run().success().stdout_is("ok");
}

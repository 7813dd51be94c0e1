//! Escape tests from the second red-team round (issue #12), one section per
//! vector: each attack first works without sbx (the control, proving the
//! probe does what it says), then fails under sbx with the exact errno, as
//! root and as uid 65534 where the two differ. ESCAPES.md lists them.
//! (Vector 5, other processes' limits, priority and scheduling, is
//! `scope::priority_limits_and_scheduling_of_processes_outside_cannot_be_changed`
//! and `scope::sbx_itself_cannot_be_killed_by_a_cpu_limit`; the clock,
//! fanotify and the terminal ioctls are in `hardening::REFUSED`.)

use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Stdio;

use super::process::{Watchdog, as_root_and_nobody};
use super::util::{self, Cmd, bare, probe, sbx};

fn as_user(cmd: Cmd, nobody: bool) -> Cmd {
    if nobody { cmd.nobody() } else { cmd }
}

// ------------------------------------------------------------ 1. io_uring

/// The value of xattr `name` on `path`, if set.
fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let (path, name) = (CString::new(path.as_os_str().as_bytes()).unwrap(), CString::new(name).unwrap());
    let mut buf = [0u8; 256];
    // SAFETY: both strings are NUL-terminated; buf is a live local of the given length.
    let n = unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

#[test]
fn io_uring_cannot_set_attributes_past_deny_write() {
    // IORING_OP_FSETXATTR runs inside the kernel, where the supervisor's
    // check of fsetxattr(2) never sees it: io_uring is refused whenever
    // writing is restricted (as it is under any network restriction).
    if !util::enforceable(&["--deny-write"]) {
        return;
    }
    let dir = util::tempdir();
    util::make_reachable(dir.path());
    for nobody in util::users() {
        let file = dir.path().join(format!("target-{nobody}"));
        std::fs::write(&file, "x").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let set = |cmd: Cmd, value: &str| {
            as_user(cmd, nobody).arg(probe()).arg("uring-fsetxattr").arg(&file).args(["user.sbx", value]).run()
        };
        // Control: bare, io_uring sets it.
        set(bare("env"), "bare").success().stdout_is("ok");
        assert_eq!(xattr(&file, "user.sbx").as_deref(), Some(&b"bare"[..]));
        let (probe_dir, file_dir) =
            (format!("--allow-read={}", probe().display()), format!("--allow-read={}", dir.path().display()));
        for flags in [&["--deny-write"][..], &["--deny-all", &probe_dir, &file_dir]] {
            set(sbx(flags).arg("--"), "sandboxed").success().stdout_is("EPERM");
            assert_eq!(xattr(&file, "user.sbx").as_deref(), Some(&b"bare"[..]), "{flags:?} (nobody: {nobody})");
        }
        // Without a file or network restriction there is nothing to bypass:
        // io_uring works as without sbx (where the suite runs sbx in a
        // container: as far as the container's own filter allows).
        let without = set(bare("env").in_container(), "unrestricted");
        without.success();
        set(sbx(["--deny-env", "--"]), "unrestricted").success().stdout_is(without.stdout.trim_end());
    }
}

// ------------------------------------------------------------ 2. source routing

#[test]
fn source_routing_options_are_refused_under_allow_net() {
    // With only 127.0.0.1:9 allowed, IP options (LSRR/SSRR), the IPv6
    // routing header (unprivileged) and the next hop would carry the packet
    // past the checked destination: refused as options and as control
    // messages. Each is accepted bare (the kernel's own answer where a NULL
    // option is malformed: it got that far).
    let allow = ["--allow-net=127.0.0.1:9", "--allow-net=[::1]:9"];
    let cases: &[(&[&str], &str)] = &[
        (&["ip-options"], "ok"),
        (&["ipv6-rthdr", "57"], "ok"),              // IPV6_RTHDR
        (&["ipv6-rthdr", "5"], "EINVAL"),           // IPV6_2292RTHDR
        (&["ipv6-rthdr", "6"], "ok"),               // IPV6_2292PKTOPTIONS
        (&["ipv6-rthdr", "9"], "ENOPROTOOPT"),      // IPV6_NEXTHOP (Linux knows it as a message only)
        (&["udp-retopts", "127.0.0.1", "9"], "ok"), // an IP_RETOPTS control message
        // The other control messages, each zeroed (malformed: the kernel's
        // own EINVAL, it got that far): IP_OPTIONS, IPV6_RTHDR,
        // IPV6_2292RTHDR, IPV6_NEXTHOP.
        (&["udp-cmsg", "127.0.0.1", "9", "0", "4"], "EINVAL"),
        (&["udp-cmsg", "::1", "9", "41", "57"], "EINVAL"),
        (&["udp-cmsg", "::1", "9", "41", "5"], "EINVAL"),
        (&["udp-cmsg", "::1", "9", "41", "9"], "EINVAL"),
    ];
    for &(args, bare_result) in cases {
        for nobody in util::users() {
            as_user(bare(probe()).args(args), nobody).run().success().stdout_is(bare_result);
            as_user(sbx(allow).arg("--").arg(probe()).args(args), nobody).run().success().stdout_is("EPERM");
        }
    }
    // Choosing the source address stays possible: an IP_PKTINFO send works.
    bare(probe()).args(["udp-pktinfo", "127.0.0.1", "9"]).run().success().stdout_is("ok");
    sbx(allow).arg("--").arg(probe()).args(["udp-pktinfo", "127.0.0.1", "9"]).run().success().stdout_is("ok");
}

// ------------------------------------------------------------ 3. the nameserver

/// Runs `cmd` as root and as uid 65534 in a private network namespace
/// (loopback up, unprivileged ports from 0, as in many containers) and
/// mount namespace whose resolv.conf names only `nameserver`.
fn in_private_net(nameserver: &str, nobody: bool, cmd: &[&std::ffi::OsStr]) -> Option<util::Output> {
    if !super::dnsutil::private_etc_works() {
        return None;
    }
    let dir = util::tempdir();
    util::make_reachable(dir.path());
    std::fs::write(dir.path().join("resolv.conf"), format!("nameserver {nameserver}\n")).unwrap();
    // No `ip` or `sysctl`: the release's smoke test runs this in a minimal
    // Debian without iproute2 or procps.
    const SCRIPT: &str = r#"dir=$1; nobody=$2; probe=$3; shift 3
[ "$("$probe" lo-up)" = ok ] && echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start || exit 125
mount --bind "$dir/resolv.conf" /etc/resolv.conf || exit 125
if [ "$nobody" = yes ]; then exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; fi
exec "$@""#;
    let run = bare("unshare")
        .args(["-m", "-n", "--", "sh", "-c", SCRIPT, "sh"])
        .arg(dir.path())
        .arg(if nobody { "yes" } else { "no" })
        .arg(probe())
        .args(cmd);
    Some(run.run())
}

#[test]
fn the_command_cannot_answer_for_the_nameserver() {
    // When names are filtered, sbx forwards the allowed names' queries to
    // resolv.conf's nameservers: a command bound to a nameserver's DNS port
    // (TCP or UDP, before the real server starts or beside it) would answer
    // them. Binding there is refused; other ports of that address are not.
    let ns = "127.0.0.53";
    let allow = "--allow-net=allowed.test:80";
    for nobody in [false, true] {
        let run = |sandboxed: bool, args: &[&str]| {
            let mut cmd: Vec<&std::ffi::OsStr> = Vec::new();
            if sandboxed {
                cmd.extend([util::sbx_path().as_os_str(), allow.as_ref(), "--".as_ref()]);
            }
            cmd.push(probe().as_os_str());
            cmd.extend(args.iter().map(std::ffi::OsStr::new));
            in_private_net(ns, nobody, &cmd)
        };
        for args in [&["bind", ns, "53"][..], &["udp-bind", ns, "53"], &["bind", "::ffff:127.0.0.53", "53"]] {
            let Some(out) = run(false, args) else { return };
            out.success().stdout_is("ok");
            let out = run(true, args).unwrap();
            out.success().stdout_is("EACCES").stderr_has("a nameserver's address");
        }
        // The wildcard address would take the nameserver's port too (and is
        // no loopback address).
        run(false, &["udp-bind", "0.0.0.0", "53"]).unwrap().success().stdout_is("ok");
        run(true, &["udp-bind", "0.0.0.0", "53"]).unwrap().success().stdout_is("EACCES");
        // Another port of the same address is the command's to use.
        run(true, &["bind", ns, "54"]).unwrap().success().stdout_is("ok");
    }
}

// ------------------------------------------------------------ 4. /proc with capabilities

#[test]
fn root_cannot_read_sbx_through_proc() {
    // CAP_SYS_ADMIN, CAP_PERFMON and CAP_SYS_PTRACE let root past the ptrace
    // check of /proc/PID/{environ,mem,...}; a root command keeps none of them.
    if !util::need_root() {
        return;
    }
    let read = r#"for f in environ maps auxv stack syscall io personality; do
  head -c1 /proc/$PPID/$f >/dev/null 2>&1 && printf '%s ' $f; done
readlink /proc/$PPID/cwd >/dev/null && printf 'cwd '; echo"#;
    // Control: bare, root reads all of its parent shell's.
    let out = bare("sh").args(["-c", &format!("sh -c '{}'", read.replace('\'', "'\\''"))]).run();
    out.success().stdout_is("environ maps auxv stack syscall io personality cwd");
    for flags in [&[][..], &["--deny-env"], &["--deny-net"]] {
        if !util::enforceable(flags) {
            continue;
        }
        sbx(flags).args(["--", "sh", "-c", read]).run().success().stdout_is("");
    }
}

// ------------------------------------------------------------ 7. inotify

#[test]
fn inotify_watches_only_what_the_command_may_read() {
    // A watch reports the names created in a directory: under --deny-read it
    // is added only where the command may read (EACCES elsewhere).
    if !util::enforceable(&["--deny-read"]) {
        return;
    }
    let dir = util::tempdir();
    util::make_reachable(dir.path());
    let secret = dir.path().join("secret");
    std::fs::create_dir(&secret).unwrap();
    let readable = format!("--allow-read={}", probe().display());
    for nobody in util::users() {
        let watch = |cmd: Cmd, args: &[&str]| as_user(cmd, nobody).arg(probe()).arg("inotify-watch").args(args).run();
        let secret = secret.to_str().unwrap();
        // Control: bare, the watch is added (and would report names).
        watch(bare("env"), &[secret]).success().stdout_is("ok");
        for flags in [&["--deny-read", &readable][..], &["--deny-all", &readable]] {
            watch(sbx(flags).arg("--"), &[secret]).success().stdout_is("EACCES");
            // Where it may read, watches work: the event names the new file.
            watch(sbx(flags).arg("--"), &["/tmp", "made"]).success().stdout_is("event made");
            let allowed = format!("--allow-read={secret}");
            watch(sbx(flags).arg(&allowed).arg("--"), &[secret]).success().stdout_is("ok");
        }
    }
}

// ------------------------------------------------------------ 8. terminals

#[test]
fn vhangup_is_refused() {
    // Root hangs up its controlling terminal; run in a new session (no
    // terminal), so the control hangs up nothing.
    if !util::need_root() {
        return;
    }
    bare("setsid").args(["-w"]).arg(probe()).arg("vhangup").run().success().stdout_is("ok");
    for cmd in
        as_root_and_nobody(|| bare("setsid").args(["-w"]).arg(util::sbx_path()).arg("--").arg(probe()).arg("vhangup"))
    {
        cmd.run().success().stdout_is("EPERM");
    }
}

#[test]
fn other_sessions_terminals_are_not_writable_under_deny_write() {
    if !util::files_enforced() {
        return;
    }
    // A terminal of another session: bare, anyone of its owner writes it.
    let (_master, name) = new_pty();
    bare(probe()).arg("write").arg(&name).run().success().stdout_is("ok");
    for cmd in as_root_and_nobody(|| sbx(["--deny-write", "--"]).arg(probe()).arg("write").arg(&name)) {
        cmd.run().success().stdout_is("EACCES");
    }
    // The command's own terminal stays writable (here: the pty as stdin),
    // as do new ones it opens.
    let (master, own) = new_pty();
    let slave = std::fs::OpenOptions::new().read(true).write(true).open(&own).unwrap();
    let out = sbx(["--deny-write", "--"]).arg(probe()).arg("write").arg(&own).command().stdin(slave).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok", "{out:?}");
    drop(master);
    let readable = format!("--allow-read={}", probe().display());
    for flags in [&["--deny-write"][..], &["--deny-read", &readable]] {
        for cmd in as_root_and_nobody(|| sbx(flags).arg("--").arg(probe()).arg("openpty")) {
            cmd.run().success().stdout_is("ok");
        }
        // sbx opens a slave only through a pseudo-terminal master: the
        // request means other things to other drivers.
        bare(probe()).args(["ptypeer-on", "/dev/null"]).run().success().stdout_is("ENOTTY");
        sbx(flags).arg("--").arg(probe()).args(["ptypeer-on", "/dev/null"]).run().success().stdout_is("ENOTTY");
    }
}

/// A new pseudo-terminal: its master (kept open) and the slave's path.
fn new_pty() -> (std::fs::File, String) {
    let master = std::fs::OpenOptions::new().read(true).write(true).open("/dev/ptmx").unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: integer ioctls on an fd we own; ptsname_r writes into a live buffer.
    let name = unsafe {
        assert_eq!(libc::grantpt(master.as_raw_fd()), 0);
        assert_eq!(libc::unlockpt(master.as_raw_fd()), 0);
        let mut buf = [0 as libc::c_char; 64];
        assert_eq!(libc::ptsname_r(master.as_raw_fd(), buf.as_mut_ptr(), buf.len()), 0);
        std::ffi::CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
    };
    // World-writable, as a login terminal's group tty would be for `write`.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o666)).unwrap();
    (master, name)
}

#[test]
fn a_new_session_cannot_steal_the_terminal() {
    // TIOCSCTTY with 1 takes a terminal from the session it controls
    // (CAP_SYS_ADMIN): a root command holds no such capability.
    if !util::need_root() {
        return;
    }
    let (master, name) = new_pty();
    let run = |cmd: Cmd| {
        let slave = std::fs::OpenOptions::new().read(true).write(true).open(&name).unwrap();
        let mut command = cmd.command();
        command.stdin(slave);
        // The test's child takes the pty as its controlling terminal first.
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = command.output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    // Control: a root process of a new session (a child of the session
    // leader) steals it.
    let steal = format!("{} steal-ctty", probe().display());
    assert_eq!(run(bare("sh").args(["-c", &steal])), "ok");
    assert_eq!(run(sbx(["--", "sh", "-c", &steal])), "EPERM");
    drop(master);
}

// ------------------------------------------------------------ 9. capabilities

/// What a root command keeps: owners and modes of files (in the writable
/// paths), changing user and group (su, setpriv), signals to its own
/// processes, low ports, audit messages (login tools).
const KEPT: &[u32] = &[0, 1, 3, 4, 5, 6, 7, 10, 29];

fn cap_lines(out: &util::Output) -> Vec<(String, u64)> {
    out.stdout
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(":\t")?;
            Some((k.to_owned(), u64::from_str_radix(v.trim(), 16).ok()?))
        })
        .collect()
}

#[test]
fn a_root_command_keeps_only_the_capabilities_builds_need() {
    if !util::need_root() {
        return;
    }
    let kept: u64 = KEPT.iter().map(|c| 1u64 << c).sum();
    let caps = |cmd: Cmd| cap_lines(&cmd.args(["grep", "^Cap", "/proc/self/status"]).run());
    // Control: bare, root holds more than that.
    let all = caps(bare("env"));
    let eff = all.iter().find(|(k, _)| k == "CapEff").unwrap().1;
    assert_ne!(eff & !kept, 0, "{all:?}");
    for flags in [&[][..], &["--deny-net"], &["--deny-write"]] {
        if !util::enforceable(flags) {
            continue;
        }
        let got = caps(sbx(flags).arg("--"));
        let inheritable = all.iter().find(|(k, _)| k == "CapInh").unwrap().1 & kept;
        let want: Vec<(String, u64)> =
            [("CapInh", inheritable), ("CapPrm", kept), ("CapEff", kept), ("CapBnd", kept), ("CapAmb", 0)]
                .iter()
                .map(|&(k, v)| (k.to_owned(), v))
                .collect();
        assert_eq!(got, want, "{flags:?}");
    }
    // As uid 65534 there was nothing to drop (the bounding set needs
    // CAP_SETPCAP to lower, and no_new_privs keeps it from mattering).
    let got = caps(sbx(["--deny-net", "--"]).nobody());
    assert!(got.iter().filter(|(k, _)| k != "CapBnd").all(|(_, v)| *v == 0), "{got:?}");
}

#[test]
fn a_root_command_cannot_configure_the_network() {
    // SIOCSIFMTU on lo (to the MTU it has): CAP_NET_ADMIN.
    if !util::need_root() {
        return;
    }
    bare(probe()).arg("lo-mtu").run().success().stdout_is("ok");
    let readable = format!("--allow-read={}", probe().display());
    for flags in [&["--deny-all", &readable][..], &["--deny-net"], &[]] {
        if !util::enforceable(flags) {
            continue;
        }
        sbx(flags).arg("--").arg(probe()).arg("lo-mtu").run().success().stdout_is("EPERM");
    }
}

#[test]
fn what_a_root_build_needs_still_works() {
    if !util::need_root() || !util::enforceable(&["--deny-write"]) {
        return;
    }
    let dir = util::tempdir();
    util::make_reachable(dir.path());
    let file = dir.path().join("owned");
    std::fs::write(&file, "x").unwrap();
    let allow = format!("--allow-write={}", dir.path().display());
    let script = format!(
        "chown 65534:65534 {f} && chmod 600 {f} && cat {f} && setpriv --reuid=65534 --regid=65534 --clear-groups id -u",
        f = file.display()
    );
    // chown, a file of another owner read (DAC override), changing user.
    sbx(["--deny-write", &allow, "--", "sh", "-c", &script]).run().success().stdout_is("x65534");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), 65534);
}

// ------------------------------------------------------------ the supervisor's threads

/// A TCP listener on 127.0.0.1 with a backlog of 0 that never accepts: past
/// the first connection every connect blocks (SYNs are dropped).
fn full_listener() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: plain socket calls on a new fd owned below; addr is a live local.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let owned = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as u16;
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
        assert_eq!(libc::bind(fd, (&raw const addr).cast(), len), 0);
        assert_eq!(libc::listen(fd, 0), 0);
        assert_eq!(libc::getsockname(fd, (&raw mut addr).cast(), &mut { len }), 0);
        (owned, u16::from_be(addr.sin_port))
    }
}

fn threads_of(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).map_or(0, |n| n.trim().parse().unwrap())
}

/// How many threads of `pid` are inside `connect` (first field of
/// /proc/PID/task/TID/syscall: the call's number, while in it).
fn threads_in_connect(pid: u32) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    let connect = libc::SYS_connect.to_string();
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("syscall")).ok())
        .filter(|line| line.split_whitespace().next() == Some(connect.as_str()))
        .count()
}

#[test]
fn blocked_calls_hold_a_bounded_number_of_supervisor_threads() {
    // 200 threads each block in a mediated connect: sbx serves at most 64
    // at once (the rest wait in the kernel's queue), so its thread count
    // stays bounded whatever the command does.
    let (_listener, port) = full_listener();
    let port = port.to_string();
    let mut command = sbx([format!("--allow-net=127.0.0.1:{port}"), "--".into()])
        .arg(probe())
        .args(["connect-flood", "127.0.0.1", &port, "200"])
        .command();
    use std::os::unix::process::CommandExt;
    let mut child = command.process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let _dog = Watchdog::new(child.id() as libc::pid_t);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "started");
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap();
    let command_pid: u32 = children.split_whitespace().next().expect("the command runs").parse().unwrap();
    // Ready when 190 of its threads are inside connect (waiting for a
    // worker, or served and blocked), not after some time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while threads_in_connect(command_pid) < 190 {
        assert!(std::time::Instant::now() < deadline, "the command's threads never all reached connect");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (sbx_threads, command_threads) = (threads_of(child.id()), threads_of(command_pid));
    // The flood is real: the command's threads are all still there, blocked.
    assert!(command_threads >= 190, "the command has only {command_threads} threads");
    // 64 workers, plus sbx's main thread, its notification reader and the
    // DNS filter's listeners (UDP and TCP on 127.0.0.1 and ::1).
    assert!(sbx_threads <= 64 + 8, "sbx has {sbx_threads} threads for {command_threads} blocked calls");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

//! Network isolation: `--deny-net` refuses every socket family but AF_UNIX
//! (seccomp, on every syscall entry), io_uring, and TCP bind/connect on an
//! inherited socket (Landlock, the second layer); the Landlock scopes keep the
//! command from signalling processes outside the sandbox and from connecting
//! to abstract unix sockets outside it.
//!
//! Every denial is checked against a bare run of the same probe first, so a
//! probe that fails anyway cannot pass for a denial. Only loopback addresses.

use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::process::{run_std, shared_tempdir};
use super::util::{self, Cmd, Output, bare, probe, sbx};

/// The probe's answer, bare and under sbx with `flags`, as root and (when
/// root) as uid 65534.
fn bare_and_sandboxed(flags: &[&str], op: &[&str], nobody: bool) -> (Output, Output) {
    let probe = probe();
    let mut b = bare(probe).args(op);
    let mut s = sbx(flags).arg("--").arg(probe).args(op);
    if nobody {
        b = b.nobody();
        s = s.nobody();
    }
    (b.run(), s.run())
}

fn users(root_only: bool) -> Vec<bool> {
    if root_only { if util::need_root() { vec![false] } else { vec![] } } else { util::users() }
}

/// Asserts: bare gives one of `bare_ok` (the first is what a kernel with the
/// family available gives), and sbx `flags` gives `denied`.
#[track_caller]
fn assert_denied(flags: &[&str], op: &[&str], bare_ok: &[&str], denied: &str, root_only: bool) {
    for nobody in users(root_only) {
        let (b, s) = bare_and_sandboxed(flags, op, nobody);
        b.success();
        assert!(
            bare_ok.contains(&b.stdout.trim_end()),
            "probe {op:?} without sbx: expected one of {bare_ok:?}{}",
            b.report()
        );
        s.success().stdout_is(denied);
    }
}

/// Asserts: the probe gives the same answer `expected` bare and under sbx.
#[track_caller]
fn assert_allowed(flags: &[&str], op: &[&str], expected: &str) {
    for nobody in users(false) {
        let (b, s) = bare_and_sandboxed(flags, op, nobody);
        b.success().stdout_is(expected);
        s.success().stdout_is(expected);
    }
}

// ---------------------------------------------------------------- seccomp: socket families

#[test]
fn deny_net_refuses_inet_and_inet6() {
    for (op, kind) in [
        (&["socket", "inet"][..], "an IPv4 TCP socket"),
        (&["socket", "inet6"], "an IPv6 TCP socket"),
        // MPTCP (IPPROTO_MPTCP = 262) is AF_INET/AF_INET6 too.
        (&["socket", "inet", "stream", "262"], "an IPv4 TCP socket"),
        (&["socket", "inet6", "stream", "262"], "an IPv6 TCP socket"),
    ] {
        assert_denied(&["--deny-net"], op, &["ok"], "EPERM", false);
        // Named, with what to do (issue #14: --deny-net is not silent).
        let out = sbx(["--deny-net", "--"]).arg(probe()).args(op).run();
        out.success().stdout_is("EPERM").stderr_has(&format!("sbx: blocked {kind} of sbx-probe — no network"));
    }
}

/// Under --deny-net with sbx's supervisor a UDP socket can be made (so a
/// lookup reaches sbx's DNS filter and is named), but nothing can be sent,
/// connected or bound with it: each is refused and named, and no datagram
/// arrives. Without the supervisor (`--best-effort` where it cannot take
/// the command's sockets) the socket itself is refused, as every inet one.
#[test]
fn deny_net_udp_sockets_can_send_nothing() {
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(std::time::Duration::from_millis(300))).unwrap();
    let to = sink.local_addr().unwrap();
    let (ip, port) = (to.ip().to_string(), to.port().to_string());
    let mut buf = [0u8; 64];
    bare(probe()).args(["udp-send", &ip, &port]).run().success().stdout_is("ok");
    assert!(sink.recv(&mut buf).is_ok(), "the bare datagram did not arrive");
    sbx(["--deny-net", "--"]).arg(probe()).args(["socket", "inet", "dgram"]).run().success().stdout_is("ok");
    sbx(["--deny-net", "--"]).arg(probe()).args(["socket", "inet6", "dgram"]).run().success().stdout_is("ok");
    for (op, call) in [("udp-send", "sendto"), ("udp-sendmsg", "sendmsg"), ("udp-sendmmsg", "sendmmsg")] {
        let out = sbx(["--deny-net", "--"]).arg(probe()).args([op, &ip, &port]).run();
        out.success()
            .stdout_is("EACCES")
            .stderr_has(&format!("sbx: blocked {call} to {to} (localhost) — allow with --allow-net=localhost:{port}"));
        assert!(sink.recv(&mut buf).is_err(), "{op}: a datagram arrived{}", out.report());
    }
    let out = sbx(["--deny-net", "--"]).arg(probe()).args(["udp-bind", "127.0.0.1", "0"]).run();
    out.success().stdout_is("EACCES");
}

#[test]
fn deny_net_refuses_raw_and_packet_sockets() {
    // These need CAP_NET_RAW, so only root proves they work bare.
    for op in [
        &["socket", "inet", "raw", "1"][..], // ICMP
        &["socket", "inet6", "raw", "58"],   // ICMPv6
        &["socket", "packet", "raw"],
        &["socket", "packet", "dgram"],
    ] {
        assert_denied(&["--deny-net"], op, &["ok"], "EPERM", true);
    }
    // AF_XDP also needs CAP_NET_RAW; a kernel without CONFIG_XDP_SOCKETS
    // answers EAFNOSUPPORT bare.
    assert_denied(&["--deny-net"], &["socket", "xdp", "raw"], &["ok", "EAFNOSUPPORT"], "EPERM", true);
}

#[test]
fn deny_net_refuses_netlink_vsock_and_other_families() {
    assert_denied(&["--deny-net"], &["socket", "netlink", "dgram"], &["ok"], "EPERM", false);
    assert_denied(&["--deny-net"], &["socket", "netlink", "raw"], &["ok"], "EPERM", false);
    // vsock needs the vsock modules; without them the kernel says EAFNOSUPPORT.
    assert_denied(&["--deny-net"], &["socket", "vsock"], &["ok", "EAFNOSUPPORT"], "EPERM", false);
    // AF_ALG and Bluetooth are often not built (EAFNOSUPPORT bare, as on the
    // kernel these tests were written on); sbx must refuse them either way.
    assert_denied(&["--deny-net"], &["socket", "alg"], &["ok", "EAFNOSUPPORT"], "EPERM", false);
    assert_denied(&["--deny-net"], &["socket", "bluetooth"], &["ok", "EAFNOSUPPORT"], "EPERM", false);
}

#[test]
fn deny_net_keeps_unix_sockets() {
    for op in [&["socket", "unix"][..], &["socket", "unix", "dgram"], &["socketpair", "unix"], &["i386-socket", "unix"]]
    {
        assert_allowed(&["--deny-net"], op, "ok");
    }
    // A pathname unix socket outside the sandbox is not reachable (a tmux
    // server, docker.sock, an ssh-agent), unless --allow-unix names it.
    let dir = shared_tempdir();
    let path = dir.path().join("sock");
    let _listener = UnixListener::bind(&path).unwrap();
    // Connecting needs write permission on the socket file, for uid 65534 too.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = path.to_str().unwrap();
    assert_denied(&["--deny-net"], &["connect-unix", path], &["ok"], "ECONNREFUSED", false);
    assert_allowed(&["--deny-net", &format!("--allow-unix={path}")], &["connect-unix", path], "ok");
}

#[test]
fn deny_net_refuses_socketpair_of_other_families() {
    // Of the families here only AF_UNIX supports socketpair, so bare these fail too, but
    // later in the kernel (the family's own EOPNOTSUPP/ESOCKTNOSUPPORT);
    // sbx must stop them before, with EPERM.
    assert_denied(&["--deny-net"], &["socketpair", "inet"], &["EOPNOTSUPP"], "EPERM", false);
    assert_denied(&["--deny-net"], &["socketpair", "inet6"], &["EOPNOTSUPP"], "EPERM", false);
    assert_denied(&["--deny-net"], &["socketpair", "netlink"], &["ESOCKTNOSUPPORT", "EOPNOTSUPP"], "EPERM", false);
}

#[test]
fn deny_net_refuses_io_uring() {
    assert_denied(&["--deny-net"], &["io_uring"], &["ok"], "EPERM", false);
}

#[test]
fn deny_net_covers_the_i386_entry() {
    // socket() through int 0x80 (i386 nr 359), family checked as on x86_64.
    assert_denied(&["--deny-net"], &["i386-socket", "inet"], &["ok"], "EPERM", false);
    assert_denied(&["--deny-net"], &["i386-socket", "inet6"], &["ok"], "EPERM", false);
    // socketcall(SYS_SOCKET): the family is in memory, out of seccomp's reach,
    // so sbx refuses socketcall socket creation as a whole — unix included.
    assert_denied(&["--deny-net"], &["i386-socketcall", "inet"], &["ok"], "EPERM", false);
    assert_denied(&["--deny-net"], &["i386-socketcall", "unix"], &["ok"], "EPERM", false);
}

#[test]
fn deny_net_covers_the_x32_entry() {
    // Kernels built without CONFIG_X86_X32_ABI (or booted without x32 support)
    // answer ENOSYS bare, as the kernel these tests were written on does; the
    // filter must still refuse inet with EPERM rather than let it through.
    assert_denied(&["--deny-net"], &["x32-socket", "inet"], &["ok", "ENOSYS"], "EPERM", false);
    assert_denied(&["--deny-net"], &["x32-socket", "inet6"], &["ok", "ENOSYS"], "EPERM", false);
    // unix is not the filter's business: same answer as bare.
    let b = bare(probe()).args(["x32-socket", "unix"]).run();
    b.success();
    sbx(["--deny-net", "--"]).arg(probe()).args(["x32-socket", "unix"]).run().success().stdout_is(b.stdout.trim_end());
}

#[test]
fn deny_all_denies_net_and_allow_net_star_does_not() {
    if !util::files_enforced() {
        return;
    }
    let probe_dir = probe().parent().unwrap().display().to_string();
    let read = format!("--allow-read={probe_dir}");
    assert_denied(&["--deny-all", &read], &["socket", "inet"], &["ok"], "EPERM", false);
    assert_allowed(&["--allow-net=*", "--deny-write"], &["socket", "inet"], "ok");
    assert_allowed(&["--deny-write"], &["socket", "inet"], "ok");
}

// ---------------------------------------------------------------- Landlock: TCP on an inherited socket

/// The fd number the inherited TCP socket gets in the command.
const TCP_FD: RawFd = 60;

/// A fresh, unbound TCP socket (close-on-exec in the test process; only the
/// command gets a copy, at `TCP_FD`).
fn tcp_socket() -> OwnedFd {
    // SAFETY: socket() with integer arguments; a non-negative result is a new fd we own.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd was just created and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Runs `cmd` with a fresh TCP socket at `TCP_FD` (not close-on-exec).
fn run_with_tcp_socket(cmd: &Cmd) -> Output {
    let socket = tcp_socket();
    let raw = socket.as_raw_fd();
    assert_ne!(raw, TCP_FD);
    let mut command = cmd.command();
    // SAFETY: the hook only calls dup2, which is async-signal-safe; dup2
    // clears close-on-exec on the copy.
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(raw, TCP_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run_std(command);
    drop(socket);
    out
}

#[test]
fn deny_net_refuses_tcp_connect_and_bind_on_an_inherited_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let fd = TCP_FD.to_string();
    for nobody in users(false) {
        let with = |c: Cmd| if nobody { c.nobody() } else { c };
        for op in [["connect-fd", fd.as_str(), port.as_str()], ["bind-fd", fd.as_str(), "0"]] {
            run_with_tcp_socket(&with(bare(probe()).args(op))).success().stdout_is("ok");
            // seccomp's socket() rule cannot see this socket (it was created
            // outside): the supervisor refuses the connect (ECONNREFUSED), and
            // the bind is refused by the supervisor and Landlock alike (EACCES).
            let expected = if op[0] == "connect-fd" { "ECONNREFUSED" } else { "EACCES" };
            run_with_tcp_socket(&with(sbx(["--deny-net", "-q", "--"]).arg(probe()).args(op)))
                .success()
                .stdout_is(expected);
            // Only --deny-net handles TCP.
            run_with_tcp_socket(&with(sbx(["--", probe().to_str().unwrap()]).args(op))).success().stdout_is("ok");
        }
    }
}

/// Connections `listener` (non-blocking) has waiting, accepted and dropped.
fn drain(listener: &TcpListener) -> usize {
    std::iter::from_fn(|| listener.accept().ok()).count()
}

/// Landlock's TCP rights on their own, the supervisor out of the way: under a
/// filter refusing `pidfd_getfd` (as Docker's default profile does without
/// CAP_SYS_PTRACE) sbx's supervisor cannot act on the command's sockets, so
/// its filter hands it no connect or bind, and `--deny-net --best-effort`
/// leaves an inherited TCP socket to Landlock (ABI 4): EACCES, where the
/// supervisor answers a connect with ECONNREFUSED. Below ABI 4 nothing
/// refuses them, and sbx says so before the command starts.
#[test]
fn landlock_alone_refuses_tcp_connect_and_bind_on_an_inherited_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let fd = TCP_FD.to_string();
    let without_fd_taking = |flags: &[&str]| {
        Cmd::new(util::refuse())
            .args(["pidfd_getfd=EPERM", "--"])
            .arg(util::sbx_path())
            .args(flags)
            .arg("--")
            .arg(probe())
            .simulated()
    };
    let landlock = util::landlock_abi() >= 4;
    for nobody in users(false) {
        let with = |c: Cmd| if nobody { c.nobody() } else { c };
        for op in [["connect-fd", fd.as_str(), port.as_str()], ["bind-fd", fd.as_str(), "0"]] {
            // Controls: bare, and under the same filter with sbx restricting
            // no network, the socket connects and binds.
            run_with_tcp_socket(&with(bare(probe()).args(op))).success().stdout_is("ok");
            run_with_tcp_socket(&with(without_fd_taking(&[]).args(op))).success().stdout_is("ok");
            drain(&listener);
            // Without --best-effort sbx refuses to start (it cannot enforce
            // the rest of --deny-net there either).
            let refused = run_with_tcp_socket(&with(without_fd_taking(&["--deny-net"]).args(op)));
            refused.code(125).stderr_has("pidfd_getfd");
            assert!(refused.stdout.is_empty(), "the command ran{}", refused.report());
            let out = run_with_tcp_socket(&with(without_fd_taking(&["--deny-net", "--best-effort"]).args(op)));
            if landlock {
                out.success().stdout_is("EACCES").stderr_has("sending on UDP sockets inherited from outside");
                assert_eq!(drain(&listener), 0, "a connection arrived{}", out.report());
            } else {
                // The gap, named and real.
                out.success().stdout_is("ok").stderr_has("on TCP and UDP sockets inherited from outside");
            }
        }
    }
    if !landlock {
        eprintln!("Landlock ABI {} < 4: asserted that the gap is named, not Landlock's rights", util::landlock_abi());
    }
}

// ---------------------------------------------------------------- Landlock scopes: abstract unix sockets

fn abstract_listener() -> (UnixListener, String) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!("sbx-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    (UnixListener::bind_addr(&addr).unwrap(), name)
}

#[test]
fn no_connect_to_abstract_sockets_outside() {
    let (_listener, name) = abstract_listener();
    assert_denied(&["--deny-net"], &["connect-abstract", &name], &["ok"], "EPERM", false);
    // Landlock ABI 6 scopes them on every run; below, only a network
    // restriction does (without one the command may reach any service).
    for flags in super::scope::policies().into_iter().filter(|f| !f.contains(&"--deny-net")) {
        if util::landlock_abi() >= 6 {
            assert_denied(flags, &["connect-abstract", &name], &["ok"], "EPERM", false);
        } else {
            assert_allowed(flags, &["connect-abstract", &name], "ok");
        }
    }
    // A name nobody holds is refused as by the kernel, not as a denial.
    let missing = format!("{name}-nobody");
    assert_allowed(&["--deny-net"], &["connect-abstract", &missing], "ECONNREFUSED");
}

#[test]
fn abstract_sockets_inside_the_sandbox_still_work() {
    // The probe binds an abstract listener and connects to it itself.
    let name = format!("sbx-test-self-{}", std::process::id());
    for flags in super::scope::policies() {
        assert_allowed(flags, &["abstract-self", &name], "ok");
    }
}

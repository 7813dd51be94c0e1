//! Per-address network rules (--allow-net=ADDRESS) and unix socket mediation
//! (--deny-net, --allow-unix), on loopback only. Every test first shows the
//! probe works without sbx, then what sbx allows and refuses, with the exact
//! errno the command sees and whether the listener really saw a connection.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixListener;
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use super::util::{Cmd, Listener, Output, bare, listener, probe, sbx, tempdir};

/// Runs the probe bare and asserts `expected`, to show the probe works.
#[track_caller]
fn bare_probe(args: &[&str], expected: &str) {
    bare(probe()).args(args).run().success().stdout_is(expected);
}

/// `cmd` started, once it has printed the line `first` (stderr dropped).
#[track_caller]
fn spawned(cmd: Cmd, first: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = cmd.command().stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    if line.trim() != first {
        let _ = child.kill();
        panic!("{:?} printed {line:?}, not {first:?}", cmd.command());
    }
    (child, stdout)
}

/// `sbx FLAGS -- probe ARGS…`, started, once it has printed the line `first`.
#[track_caller]
fn spawn_probe(flags: &[&str], args: &[&str], first: &str) -> (Child, BufReader<ChildStdout>) {
    spawned(sbx(flags).arg("--").arg(probe()).args(args), first)
}

/// `sbx FLAGS probe ARGS…`, run.
fn sbx_probe(flags: &[&str], args: &[&str]) -> Output {
    sbx(flags).arg(probe()).args(args).run()
}

#[test]
fn allowed_address_connects_denied_address_is_refused() {
    let good = listener("127.0.0.1");
    let bad = listener("127.0.0.2");
    bare_probe(&["connect", &good.ip(), &good.port()], "ok");
    bare_probe(&["connect", &bad.ip(), &bad.port()], "ok");
    let before = bad.accepted();
    sbx_probe(&[good.allow().as_str(), "--"], &["connect", &good.ip(), &good.port()]).success().stdout_is("ok");
    let out = sbx_probe(&[good.allow().as_str(), "--"], &["connect", &bad.ip(), &bad.port()]);
    out.success()
        .stdout_is("ECONNREFUSED")
        .stderr_has(&format!("sbx: blocked connect to {} — allow with --allow-net={}", bad.addr, bad.addr));
    assert_eq!(bad.accepted(), before, "the denied listener saw a connection{}", out.report());
}

#[test]
fn ports_are_part_of_the_rule() {
    let a = listener("127.0.0.1");
    let b = listener("127.0.0.1");
    bare_probe(&["connect", &b.ip(), &b.port()], "ok");
    let before = b.accepted();
    sbx_probe(&[a.allow().as_str()], &["connect", &a.ip(), &a.port()]).success().stdout_is("ok");
    sbx_probe(&[a.allow().as_str()], &["connect", &b.ip(), &b.port()]).success().stdout_is("ECONNREFUSED");
    assert_eq!(b.accepted(), before);
    // A host entry without a port allows every port.
    sbx_probe(&["--allow-net=127.0.0.1"], &["connect", &b.ip(), &b.port()]).success().stdout_is("ok");
}

#[test]
fn cidr_ranges_match_their_addresses_only() {
    let one = listener("127.0.0.1");
    let three = listener("127.0.0.3");
    let five = listener("127.0.0.5");
    bare_probe(&["connect", &five.ip(), &five.port()], "ok");
    for (l, expected) in [(&one, "ok"), (&three, "ok"), (&five, "ECONNREFUSED")] {
        sbx_probe(&["--allow-net=127.0.0.0/30"], &["connect", &l.ip(), &l.port()]).success().stdout_is(expected);
    }
}

#[test]
fn ipv6_loopback_and_localhost() {
    let Some(v6) = Listener::on("::1", 0) else {
        return super::util::skip("no IPv6 loopback here");
    };
    let v4 = listener("127.0.0.1");
    bare_probe(&["connect", "::1", &v6.port()], "ok");
    let exact = format!("--allow-net=[::1]:{}", v6.port());
    sbx_probe(&[exact.as_str()], &["connect", "::1", &v6.port()]).success().stdout_is("ok");
    sbx_probe(&[exact.as_str()], &["connect", "127.0.0.1", &v4.port()]).success().stdout_is("ECONNREFUSED");
    let out = sbx_probe(&[v4.allow().as_str()], &["connect", "::1", &v6.port()]);
    out.success().stdout_is("ECONNREFUSED");
    // By the name /etc/hosts gives ::1 (`localhost` in containers and
    // Debian's default file), else by the address: either flag allows it.
    let (named, bare_addr) =
        (format!("--allow-net=localhost:{}", v6.port()), format!("--allow-net=[::1]:{}", v6.port()));
    assert!(out.stderr.contains(&named) || out.stderr.contains(&bare_addr), "no hint for [::1]{}", out.report());
    // localhost is 127.0.0.0/8 and ::1.
    for (ip, port) in [("::1", v6.port()), ("127.0.0.1", v4.port())] {
        sbx_probe(&["--allow-net=localhost"], &["connect", ip, &port]).success().stdout_is("ok");
    }
    // An IPv4-mapped IPv6 address is the IPv4 host it reaches.
    sbx_probe(&[v4.allow().as_str()], &["connect", "::ffff:127.0.0.1", &v4.port()]).success().stdout_is("ok");
}

#[test]
fn nonblocking_connects_keep_their_semantics() {
    let good = listener("127.0.0.1");
    let bad = listener("127.0.0.2");
    bare_probe(&["nonblock-connect", &good.ip(), &good.port()], "ok EINPROGRESS");
    sbx_probe(&[good.allow().as_str()], &["nonblock-connect", &good.ip(), &good.port()])
        .success()
        .stdout_is("ok EINPROGRESS");
    sbx_probe(&[good.allow().as_str()], &["nonblock-connect", &bad.ip(), &bad.port()])
        .success()
        .stdout_is("ECONNREFUSED");
}

/// A UDP socket on loopback that reports what it received.
fn udp_receiver(ip: &str) -> UdpSocket {
    let s = UdpSocket::bind((ip, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    s
}

fn received(s: &UdpSocket) -> Option<String> {
    let mut buf = [0u8; 64];
    s.recv(&mut buf).ok().map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn udp_sendto_allowed_arrives_denied_is_eacces() {
    let good = udp_receiver("127.0.0.1");
    let bad = udp_receiver("127.0.0.2");
    let (g, b) = (good.local_addr().unwrap(), bad.local_addr().unwrap());
    bare_probe(&["udp-send", &b.ip().to_string(), &b.port().to_string()], "ok");
    assert_eq!(received(&bad).as_deref(), Some("sbx-probe"));
    let allow = format!("--allow-net={g}");
    sbx_probe(&[allow.as_str()], &["udp-send", &g.ip().to_string(), &g.port().to_string()]).success().stdout_is("ok");
    assert_eq!(received(&good).as_deref(), Some("sbx-probe"));
    let out = sbx_probe(&[allow.as_str()], &["udp-send", &b.ip().to_string(), &b.port().to_string()]);
    out.success().stdout_is("EACCES").stderr_has(&format!("sbx: blocked sendto to {b}"));
    assert_eq!(received(&bad), None, "the denied datagram arrived{}", out.report());
    // sendmsg with a name and two iovecs.
    sbx_probe(&[allow.as_str()], &["udp-sendmsg", &g.ip().to_string(), &g.port().to_string()])
        .success()
        .stdout_is("ok");
    assert_eq!(received(&good).as_deref(), Some("sbx-sendmsg"));
    sbx_probe(&[allow.as_str()], &["udp-sendmsg", &b.ip().to_string(), &b.port().to_string()])
        .success()
        .stdout_is("EACCES");
    assert_eq!(received(&bad), None);
}

#[test]
fn udp_sendmmsg_sends_each_message_and_reports_lengths() {
    let good = udp_receiver("127.0.0.1");
    let bad = udp_receiver("127.0.0.2");
    let (g, b) = (good.local_addr().unwrap(), bad.local_addr().unwrap());
    bare_probe(&["udp-sendmmsg", &g.ip().to_string(), &g.port().to_string()], "ok 2 3 3");
    let _ = (received(&good), received(&good));
    let allow = format!("--allow-net={g}");
    sbx_probe(&[allow.as_str()], &["udp-sendmmsg", &g.ip().to_string(), &g.port().to_string()])
        .success()
        .stdout_is("ok 2 3 3");
    assert_eq!(received(&good).as_deref(), Some("one"));
    assert_eq!(received(&good).as_deref(), Some("two"));
    sbx_probe(&[allow.as_str()], &["udp-sendmmsg", &b.ip().to_string(), &b.port().to_string()])
        .success()
        .stdout_is("EACCES");
    assert_eq!(received(&bad), None);
}

#[test]
fn tcp_fastopen_to_a_denied_address_fails() {
    let good = listener("127.0.0.1");
    let bad = listener("127.0.0.2");
    bare_probe(&["fastopen", &bad.ip(), &bad.port()], "ok");
    let before = bad.accepted();
    assert!(before >= 1, "the bare fast-open send did not connect");
    sbx_probe(&[good.allow().as_str()], &["fastopen", &bad.ip(), &bad.port()]).success().stdout_is("EACCES");
    assert_eq!(bad.accepted(), before);
    sbx_probe(&[good.allow().as_str()], &["fastopen", &good.ip(), &good.port()]).success().stdout_is("ok");
}

#[test]
fn racing_threads_flipping_the_address_never_reach_the_denied_listener() {
    let good = listener("127.0.0.1");
    let bad = listener("127.0.0.2");
    // Bare, the race does reach both listeners (more rounds when a busy
    // machine makes the flips land between connects).
    let mut bad_before = 0;
    for rounds in ["100", "1000", "5000"] {
        let out = bare(probe()).args(["race", &good.ip(), &good.port(), &bad.ip(), &bad.port(), "4", rounds]).run();
        out.success().stdout_has("ok connected=");
        bad_before = bad.accepted();
        if bad_before > 0 {
            break;
        }
    }
    assert!(bad_before > 0, "the bare race never hit the second listener, even with 5000 rounds");
    let start = Instant::now();
    let out = sbx_probe(
        &["-q", good.allow().as_str(), "--"],
        &["race", &good.ip(), &good.port(), &bad.ip(), &bad.port(), "4", "1500"],
    );
    out.success().stdout_has("ok connected=");
    let connected: usize = out.stdout.trim().trim_start_matches("ok connected=").parse().unwrap();
    assert!(connected > 0, "no connect to the allowed listener succeeded{}", out.report());
    assert_eq!(bad.accepted(), bad_before, "the denied listener accepted a connection{}", out.report());
    assert!(start.elapsed() < Duration::from_secs(120), "the race took {:?}", start.elapsed());
}

/// A TCP port free on this machine now (bound on loopback, then released).
/// A TCP port free on every interface, IPv4 and IPv6, below the ephemeral
/// range: a port the kernel handed out and took back could be handed to
/// another test's socket before this one binds it again; one below the
/// range is only ever taken by a test that asks for it, and each call
/// here takes the next one.
fn free_port() -> String {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    // Below the UDP ports the bind race takes (the 2 000 under the range).
    let base = low.saturating_sub(6000);
    loop {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % 3000;
        let v4 = TcpListener::bind(("0.0.0.0", port)).is_ok();
        let v6 = TcpListener::bind(("::", port)).is_ok() || TcpListener::bind(("::1", 0)).is_err();
        if v4 && v6 {
            return port.to_string();
        }
    }
}

#[test]
fn binding_loopback_or_port_zero_is_allowed_fixed_ports_elsewhere_are_not() {
    let port = free_port();
    bare_probe(&["bind", "0.0.0.0", &port], "ok");
    for (ip, p, expected) in [
        ("127.0.0.1", port.as_str(), "ok"),
        ("127.0.0.7", "0", "ok"),
        ("0.0.0.0", "0", "ok"),
        ("0.0.0.0", &port, "EACCES"),
    ] {
        sbx_probe(&["--allow-net=127.0.0.1:1"], &["bind", ip, p]).success().stdout_is(expected);
    }
}

/// A URL pasted into --allow-net (as `npm config get registry` prints one)
/// allows its host on the port it names, or its scheme's: nothing else.
/// The same in a profile's allow_net. An unknown scheme is refused with
/// the entry to write instead.
#[test]
fn pasted_urls_allow_their_host_and_port() {
    let good = listener("127.0.0.1");
    let other = listener("127.0.0.1");
    bare_probe(&["connect", &other.ip(), &other.port()], "ok");
    let before = other.accepted();
    let url = format!("--allow-net=http://user@{}/path/?q=1#top", good.addr);
    let slash = format!("--allow-net={}/", good.addr);
    for flag in [url.as_str(), slash.as_str()] {
        sbx_probe(&[flag], &["connect", &good.ip(), &good.port()]).success().stdout_is("ok");
        let out = sbx_probe(&[flag], &["connect", &other.ip(), &other.port()]);
        out.success().stdout_is("ECONNREFUSED").stderr_has(&format!(
            "sbx: blocked connect to {} (localhost) — allow with --allow-net=localhost:{}",
            other.addr,
            other.port()
        ));
    }
    assert_eq!(other.accepted(), before, "a listener the URL does not name saw a connection");
    // No port in the URL: the scheme's (80), not every port.
    let out = sbx_probe(&["--allow-net=http://127.0.0.1/"], &["connect", &good.ip(), &good.port()]);
    out.success().stdout_is("ECONNREFUSED").stderr_has(&format!("sbx: blocked connect to {}", good.addr));

    let dir = tempdir();
    let config = dir.path().join("sbx.toml");
    let toml = format!("[profile.pasted]\nallow_net = [\"https://user@{}/registry/\"]\n", good.addr);
    std::fs::write(&config, toml).unwrap();
    let profile = |ip: &str, port: &str| {
        sbx(["--config".as_ref(), config.as_os_str(), "-p".as_ref(), "pasted".as_ref(), "--".as_ref()])
            .arg(probe())
            .args(["connect", ip, port])
            .run()
    };
    profile(&good.ip(), &good.port()).success().stdout_is("ok");
    profile(&other.ip(), &other.port()).success().stdout_is("ECONNREFUSED");

    let out = sbx_probe(&[&format!("--allow-net=ftp://{}/pub/", good.addr)], &["connect", &good.ip(), &good.port()]);
    out.code(125).stdout_is("").stderr_has(&format!("; use --allow-net={}", good.addr));
    assert!(out.stderr.starts_with("sbx: --allow-net=ftp://"), "{}", out.report());
}

/// A server a test suite starts on loopback port 0, and its client: the
/// client's connect is refused, with `--allow-net=localhost` as the hint
/// (the port differs every run); that allows both.
#[test]
fn a_local_server_on_port_zero_needs_only_localhost() {
    bare_probe(&["tcp-self", "127.0.0.1"], "ok");
    let out = sbx_probe(&["--allow-net=127.0.0.1:1"], &["tcp-self", "127.0.0.1"]);
    out.success().stdout_is("ECONNREFUSED").stderr_has("— allow with --allow-net=localhost (the command's own server");
    sbx_probe(&["--allow-net=localhost"], &["tcp-self", "127.0.0.1"]).success().stdout_is("ok");
    sbx_probe(&["--allow-net=localhost"], &["tcp-self", "0.0.0.0"]).success().stdout_is("ok");
    if Listener::on("::1", 0).is_some() {
        sbx_probe(&["--allow-net=localhost"], &["tcp-self", "::1"]).success().stdout_is("ok");
    }
}

/// A fixed port on all interfaces: refused under an allow-list, with the
/// entry that allows it; rerun with that entry it binds, listens and
/// accepts — and still connects nowhere else, not even to loopback.
#[test]
fn listening_on_all_interfaces_is_allowed_by_port() {
    let other = listener("127.0.0.1");
    let before = other.accepted();
    for (any, loopback) in [("0.0.0.0", "127.0.0.1"), ("::", "::1")] {
        if any == "::" && Listener::on("::1", 0).is_none() {
            super::util::skip("no IPv6 loopback here");
            continue;
        }
        let port = free_port();
        bare_probe(&["bind", any, &port], "ok");
        let shown = if any == "::" { format!("[::]:{port}") } else { format!("{any}:{port}") };
        let out = sbx_probe(&["--allow-net=127.0.0.1:1"], &["bind", any, &port]);
        let hint = format!("sbx: blocked bind to {shown} — allow with --allow-net={shown}");
        out.success().stdout_is("EACCES").stderr_has(&hint);

        let flag = format!("--allow-net={shown}");
        let (mut child, mut stdout) = spawn_probe(&[flag.as_str()], &["tcp-listen", any, &port], "listening");
        let client = std::net::TcpStream::connect((loopback, port.parse::<u16>().unwrap()));
        assert!(client.is_ok(), "connecting to the sandboxed server: {client:?}");
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(rest.trim(), "accepted");

        // Only that port, and no connect: not to the loopback listener,
        // not to the port itself.
        let other_port = free_port();
        sbx_probe(&[flag.as_str()], &["bind", any, &other_port]).success().stdout_is("EACCES");
        sbx_probe(&[flag.as_str()], &["connect", &other.ip(), &other.port()]).success().stdout_is("ECONNREFUSED");
        sbx_probe(&[flag.as_str()], &["connect", loopback, &port]).success().stdout_is("ECONNREFUSED");
    }
    assert_eq!(other.accepted(), before, "the loopback listener saw a connection");
    // `*` with a port is ambiguous: refused, naming both meanings.
    let out = sbx_probe(&["--allow-net=*:8080"], &["bind", "0.0.0.0", "8080"]);
    out.code(125).stderr_has("--allow-net=0.0.0.0:8080").stderr_has("--allow-net=0.0.0.0/0:8080");
}

#[test]
fn reports_once_per_destination_and_quiet_silences_them() {
    let bad = listener("127.0.0.2");
    let p = probe().display().to_string();
    let script = format!("{p} connect {ip} {port}; {p} connect {ip} {port}", ip = bad.ip(), port = bad.port());
    let out = sbx(["--allow-net=127.0.0.1:1", "sh", "-c", &script]).run();
    out.success().stdout_is("ECONNREFUSED\nECONNREFUSED");
    assert_eq!(out.stderr.matches("blocked connect").count(), 1, "{}", out.report());
    let out = sbx_probe(&["-q", "--allow-net=127.0.0.1:1"], &["connect", &bad.ip(), &bad.port()]);
    out.success().stdout_is("ECONNREFUSED").stderr_lacks("blocked");
}

/// Each socket kind, bare (the control: one of the answers given, the first
/// where the kernel has it) and under `--allow-net` (the answer given). Raw
/// and packet sockets need CAP_NET_RAW, so only root's control shows that
/// the kernel would make them (uid 65534 gets EPERM bare too); a kernel
/// without SCTP answers EPROTONOSUPPORT, and ICMP "ping" sockets outside
/// net.ipv4.ping_group_range EACCES, which sbx's EPERM is told apart from.
#[test]
fn other_socket_kinds_are_refused_in_per_address_mode() {
    let cases: [(&[&str], &[&str], &str, bool); 11] = [
        (&["socket", "inet"], &["ok"], "ok", false),
        (&["socket", "inet6", "dgram"], &["ok"], "ok", false),
        (&["socket", "unix"], &["ok"], "ok", false),
        (&["socket", "inet", "raw", "1"], &["ok"], "EPERM", true), // ICMP
        (&["socket", "inet6", "raw", "58"], &["ok"], "EPERM", true), // ICMPv6
        (&["socket", "inet", "dgram", "1"], &["ok", "EACCES"], "EPERM", false), // ping
        (&["socket", "netlink", "dgram"], &["ok"], "EPERM", false),
        (&["socket", "packet", "dgram"], &["ok"], "EPERM", true),
        (&["socket", "packet", "raw"], &["ok"], "EPERM", true),
        (&["socket", "inet", "stream", "132"], &["ok", "EPROTONOSUPPORT"], "EPERM", false), // SCTP
        (&["socket", "inet", "stream", "262"], &["ok"], "EPERM", false),                    // MPTCP
    ];
    let root = super::util::need_root();
    for (args, bare_ok, expected, root_only) in cases {
        let users: &[bool] = match (root, root_only) {
            (true, false) => &[false, true],
            (true, true) => &[false],
            (false, false) => &[false],
            (false, true) => &[],
        };
        for &nobody in users {
            let as_user = |c: Cmd| if nobody { c.nobody() } else { c };
            let b = as_user(bare(probe()).args(args)).run();
            b.success();
            assert!(bare_ok.contains(&b.stdout.trim_end()), "{args:?} bare: expected one of {bare_ok:?}{}", b.report());
            as_user(sbx(["--allow-net=127.0.0.1"]).arg(probe()).args(args)).run().success().stdout_is(expected);
        }
    }
    // io_uring: its socket operations bypass seccomp.
    bare_probe(&["io_uring"], "ok");
    sbx_probe(&["--allow-net=127.0.0.1"], &["io_uring"]).success().stdout_is("EPERM");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_i386_entry_gets_no_network() {
    let good = listener("127.0.0.1");
    let out = bare(probe()).args(["i386-connect", &good.ip(), &good.port()]).run();
    if out.stdout.trim() == "ENOSYS" {
        return super::util::skip("this kernel has no i386 entry (IA32_EMULATION off)");
    }
    out.success().stdout_is("ok");
    let before = good.accepted();
    for flag in [good.allow(), "--deny-net".to_string()] {
        sbx_probe(&[flag.as_str()], &["i386-connect", &good.ip(), &good.port()]).success().stdout_is("EPERM");
    }
    assert_eq!(good.accepted(), before);
}

#[test]
fn unix_sockets_outside_are_unreachable_inside_and_allowed_ones_are() {
    let dir = tempdir();
    let outside = dir.path().join("outside.sock");
    let _server = UnixListener::bind(&outside).unwrap();
    let outside_s = outside.to_str().unwrap();
    bare_probe(&["unix-connect", outside_s], "ok");
    let out = sbx_probe(&["--deny-net"], &["unix-connect", outside_s]);
    let canonical = std::fs::canonicalize(&outside).unwrap();
    out.success().stdout_is("ECONNREFUSED").stderr_has(&format!(
        "sbx: blocked connect to {} — allow with --allow-unix={}",
        canonical.display(),
        canonical.display()
    ));
    let allow = format!("--allow-unix={outside_s}");
    sbx_probe(&[allow.as_str()], &["unix-connect", outside_s]).success().stdout_is("ok");
    // A socket bound inside the sandbox is reachable, by absolute or relative path.
    let inside = dir.path().join("inside.sock");
    sbx_probe(&["--deny-net"], &["unix-self", inside.to_str().unwrap()]).success().stdout_is("ok");
    sbx(["--deny-net"]).arg(probe()).args(["unix-self", "rel.sock"]).cwd(dir.path()).run().success().stdout_is("ok");
    sbx(["--allow-net=127.0.0.1"])
        .arg(probe())
        .args(["unix-self", "rel2.sock"])
        .cwd(dir.path())
        .run()
        .success()
        .stdout_is("ok");
    sbx(["--deny-net"])
        .arg(probe())
        .args(["unix-dgram-self", "dg.sock"])
        .cwd(dir.path())
        .run()
        .success()
        .stdout_is("ok");
    sbx_probe(&["--deny-net"], &["socketpair", "unix"]).success().stdout_is("ok");
}

#[test]
fn abstract_sockets_outside_stay_out_of_reach_when_sbx_connects() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("sbx-test-abstract-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let _server = UnixListener::bind_addr(&addr).unwrap();
    bare_probe(&["connect-abstract", &name], "ok");
    for flag in ["--deny-net", "--allow-net=127.0.0.1"] {
        sbx_probe(&[flag], &["connect-abstract", &name]).success().stdout_is("EPERM");
    }
}

#[test]
fn unix_binds_obey_the_write_rules() {
    if !super::util::files_enforced() {
        return;
    }
    let dir = tempdir();
    let sock = dir.path().join("s.sock");
    bare_probe(&["unix-self", sock.to_str().unwrap()], "ok");
    std::fs::remove_file(&sock).unwrap();
    // The target dir is not writable under --deny-write: sbx must not create
    // the socket file for the command there.
    sbx_probe(&["--deny-net", "--deny-write"], &["unix-self", sock.to_str().unwrap()]).success().stdout_is("EACCES");
    assert!(!sock.exists());
    let allow = format!("--allow-write={}", dir.path().display());
    sbx_probe(&["--deny-net", allow.as_str()], &["unix-self", sock.to_str().unwrap()]).success().stdout_is("ok");
}

#[test]
fn nested_supervisors_cannot_widen_the_outer_rules() {
    // An inner sbx gets no supervisor of its own (the outer one holds the
    // one listener): its wider rules change nothing.
    let good = listener("127.0.0.1");
    let bad = listener("127.0.0.2");
    let sbx_path = super::util::sbx_path().to_str().unwrap().to_string();
    let outer = good.allow();
    let out = sbx_probe(
        &[outer.as_str(), "--", &sbx_path, "--allow-net=127.0.0.0/8", "--"],
        &["connect", &bad.ip(), &bad.port()],
    );
    out.success().stdout_is("ECONNREFUSED");
    assert_eq!(bad.accepted(), 0);
    // An inner sandbox without network rules still runs under the outer one.
    sbx_probe(&[outer.as_str(), "--", &sbx_path, "--deny-env", "--"], &["connect", &bad.ip(), &bad.port()])
        .success()
        .stdout_is("ECONNREFUSED");
}

#[test]
fn a_symlink_to_an_outside_socket_is_still_outside() {
    let dir = tempdir();
    let outside = dir.path().join("srv.sock");
    let _server = UnixListener::bind(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("link.sock")).unwrap();
    bare_probe(&["unix-connect", dir.path().join("link.sock").to_str().unwrap()], "ok");
    sbx(["--deny-net"])
        .arg(probe())
        .args(["unix-connect", "link.sock"])
        .cwd(dir.path())
        .run()
        .success()
        .stdout_is("ECONNREFUSED");
}

#[test]
fn fds_pass_through_sendmsg() {
    bare_probe(&["scm-rights", "/etc/hostname"], "ok");
    for flag in ["--deny-net", "--allow-net=127.0.0.1"] {
        sbx_probe(&[flag], &["scm-rights", "/etc/hostname"]).success().stdout_is("ok");
    }
}

#[test]
fn killing_the_supervisor_fails_the_next_connect_closed() {
    let good = listener("127.0.0.1");
    bare_probe(&["connect", &good.ip(), &good.port()], "ok");
    let before = good.accepted();
    let (mut child, mut stdout) =
        spawn_probe(&[good.allow().as_str()], &["sleep-connect", "2", &good.ip(), &good.port()], "ready");
    // SAFETY: kill with the pid of our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest.trim(), "ENOSYS", "the connect after the supervisor died did not fail closed");
    assert_eq!(good.accepted(), before);
}

/// A loopback listener with a full accept queue: after one connection (never
/// accepted) every further connect blocks, retrying its SYN.
fn clogged_listener() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a fresh fd that we own; the sockaddr is
    // a live, zeroed sockaddr_in.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as u16;
        sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
        assert_eq!(libc::bind(fd, (&sa as *const libc::sockaddr_in).cast(), len), 0);
        assert_eq!(libc::listen(fd, 0), 0);
        let mut got = len;
        libc::getsockname(fd, (&mut sa as *mut libc::sockaddr_in).cast(), &mut got);
        (owned, u16::from_be(sa.sin_port))
    }
}

/// How /proc/net/tcp shows 127.0.0.1:`port` as a remote address followed by
/// the state SYN_SENT (02): a connect to it pending, its SYN unanswered.
fn syn_sent_to(port: &str) -> String {
    let port: u16 = port.parse().unwrap();
    format!(" {:08X}:{port:04X} 02 ", u32::from_ne_bytes([127, 0, 0, 1]))
}

/// Waits (polling, up to 10 s) until a connect to 127.0.0.1:`port` is pending.
#[track_caller]
fn wait_for_pending_connect(port: &str) {
    let pattern = syn_sent_to(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string("/proc/net/tcp").unwrap().contains(&pattern) {
        assert!(Instant::now() < deadline, "no connect to 127.0.0.1:{port} pending after 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn killing_the_supervisor_fails_a_pending_connect_closed() {
    let (_listener, port) = clogged_listener();
    let port = port.to_string();
    let p = probe().display().to_string();
    let script = format!("{p} connect 127.0.0.1 {port}; {p} connect 127.0.0.1 {port}");
    let allow = format!("--allow-net=127.0.0.1:{port}");
    // The first connect fills the accept queue.
    let (mut child, mut stdout) = spawned(sbx([allow.as_str(), "sh", "-c", &script]), "ok");
    // The second connect now blocks inside the supervisor, retrying its SYN.
    wait_for_pending_connect(&port);
    let start = Instant::now();
    // SAFETY: kill with the pid of our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let mut second = String::new();
    stdout.read_line(&mut second).unwrap();
    assert_eq!(second.trim(), "ENOSYS", "the pending connect did not fail when the supervisor died");
    assert!(start.elapsed() < Duration::from_secs(30), "the pending connect hung for {:?}", start.elapsed());
}

#[test]
fn a_blocked_connect_does_not_delay_other_calls() {
    let (_clogged, port) = clogged_listener();
    let good = listener("127.0.0.1");
    let p = probe().display().to_string();
    // The first connect fills the queue; the second blocks (SYN retries)
    // inside the supervisor — the script waits until /proc/net/tcp shows it
    // pending (for at most 10 s) — while the third, to another listener,
    // goes on.
    let script = format!(
        "{p} connect 127.0.0.1 {port}; {p} connect 127.0.0.1 {port} >/dev/null & i=0; \
         until grep -q '{pending}' /proc/net/tcp; do [ $i -lt 1000 ] || exit 3; i=$((i+1)); sleep 0.01; done; \
         echo pending; {p} connect {} {}",
        good.ip(),
        good.port(),
        pending = syn_sent_to(&port.to_string()),
    );
    let start = Instant::now();
    let out = sbx(["--allow-net=127.0.0.1", "sh", "-c", &script]).run();
    out.success().stdout_is("ok\npending\nok");
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}{}", start.elapsed(), out.report());
}

/// A thread that changed its user gets its unix binds and connects made as
/// that user (see `a_command_that_changes_its_user_is_acted_for_as_that_user`),
/// but not its sends to a unix path: those stay refused, with the reason.
#[test]
fn a_command_that_changed_its_credentials_gets_no_unix_sends_made_for_it() {
    if !super::util::need_root() {
        return;
    }
    let dir = tempdir();
    super::util::make_reachable(dir.path());
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let sock = dir.path().join("s.sock");
    let dgram = dir.path().join("d.sock");
    let setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];
    let bare_as = |op: &str, path: &std::path::Path| {
        bare("setpriv").args(&setpriv[1..]).arg(probe()).args([op, path.to_str().unwrap()]).run()
    };
    bare_as("unix-self", &sock).success().stdout_is("ok");
    bare_as("unix-dgram-self", &dgram).success().stdout_is("ok");
    std::fs::remove_file(&sock).unwrap();
    std::fs::remove_file(&dgram).unwrap();
    let under_sbx = |op: &str, path: &std::path::Path| {
        sbx(["--deny-net"]).args(setpriv).arg(probe()).args([op, path.to_str().unwrap()]).run()
    };
    under_sbx("unix-self", &sock).success().stdout_is("ok").stderr_lacks("changed its user");
    under_sbx("unix-dgram-self", &dgram)
        .success()
        .stdout_is("EACCES")
        .stderr_has("changed its user, groups or capabilities");
}

#[test]
fn malformed_entries_are_usage_errors() {
    sbx(["--allow-net=127.0.0.1:0", "true"]).run().code(125).stderr_has("1-65535");
    sbx(["--allow-net=10.0.0.0/33", "true"]).run().code(125).stderr_has("too long");
    sbx(["--allow-net=a..b", "true"]).run().code(125).stderr_has("empty label");
}

#[test]
fn real_tools_work_through_the_supervisor() {
    // PATH is searched as the user sbx runs as (in a container, perhaps not root).
    super::util::files_as_sbx_user();
    let Ok(py) = which("python3") else { return super::util::skip("python3 not found") };
    let good = listener("127.0.0.1");
    let bad = listener("127.0.0.2");
    let code = format!(
        "import socket\nfor a in [('{}', {}), ('{}', {})]:\n    s = socket.socket()\n    try:\n        s.connect(a); print('ok')\n    except OSError as e:\n        print(e.errno)\n",
        good.ip(),
        good.port(),
        bad.ip(),
        bad.port()
    );
    sbx([good.allow().as_str(), "--"])
        .arg(&py)
        .args(["-c", &code])
        .run()
        .success()
        .stdout_is(&format!("ok\n{}", libc::ECONNREFUSED));
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|c| c.is_file()))
        .ok_or(())
}

#[test]
fn racing_threads_flipping_a_sendto_address_never_reach_the_denied_receiver() {
    race_udp("race-udp");
}

#[test]
fn racing_threads_flipping_a_sendmsg_address_never_reach_the_denied_receiver() {
    race_udp("race-udp-sendmsg");
}

#[test]
fn racing_threads_flipping_a_sendmmsg_address_never_reach_the_denied_receiver() {
    race_udp("race-udp-sendmmsg");
}

/// Threads send datagrams through an address another thread keeps flipping
/// between an allowed and a denied receiver (probe `op`).
fn race_udp(op: &str) {
    let good = udp_receiver("127.0.0.1");
    let bad = udp_receiver("127.0.0.2");
    let (g, b) = (good.local_addr().unwrap(), bad.local_addr().unwrap());
    let args = |rounds: &str| {
        [op, &g.ip().to_string(), &g.port().to_string(), &b.ip().to_string(), &b.port().to_string(), "4", rounds]
            .map(str::to_owned)
    };
    // Bare, the race does reach both receivers (more rounds on a busy machine).
    let mut hit = false;
    for rounds in ["200", "2000", "10000"] {
        bare(probe()).args(args(rounds)).run().success().stdout_has("ok sent=");
        if received(&bad).is_some() {
            hit = true;
            break;
        }
    }
    assert!(hit, "the bare {op} race never sent to the second receiver, even with 10000 rounds");
    while received(&bad).is_some() {}
    while received(&good).is_some() {}
    let out = sbx(["-q", &format!("--allow-net={g}"), "--"]).arg(probe()).args(args("2000")).run();
    out.success().stdout_has("ok sent=");
    assert!(received(&good).is_some(), "nothing reached the allowed receiver{}", out.report());
    assert_eq!(received(&bad), None, "a datagram reached the denied receiver{}", out.report());
}

#[test]
fn racing_threads_flipping_a_bind_address_never_bind_the_denied_one() {
    // Loopback with port 0 is allowed; a fixed port on 0.0.0.0 needs `*`.
    // The denied port lies below the ephemeral range: a torn read of the
    // flipping address (0.0.0.0 with port 0, allowed) gets an ephemeral port,
    // which must not be mistaken for the denied one.
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let port = (low.saturating_sub(2000)..low)
        .find(|p| std::net::UdpSocket::bind(("0.0.0.0", *p)).is_ok())
        .expect("a free UDP port below the ephemeral range")
        .to_string();
    let args = |rounds: &str| ["race-bind", "127.0.0.1", "0", "0.0.0.0", &port, "4", rounds].map(str::to_owned);
    let bad = |out: &super::util::Output| -> u64 { out.stdout.trim().trim_start_matches("ok bad=").parse().unwrap() };
    // Bare, some binds land on the second address (more rounds on a busy machine).
    let mut hit = false;
    for rounds in ["200", "2000", "10000"] {
        let out = bare(probe()).args(args(rounds)).run();
        out.success().stdout_has("ok bad=");
        if bad(&out) > 0 {
            hit = true;
            break;
        }
    }
    assert!(hit, "the bare bind race never bound the second address, even with 10000 rounds");
    let out = sbx(["-q", "--allow-net=127.0.0.1:1", "--"]).arg(probe()).args(args("2000")).run();
    out.success().stdout_has("ok bad=");
    assert_eq!(bad(&out), 0, "a bind landed on the denied address{}", out.report());
}

/// A command that drops to another user inside the sandbox (as apt's
/// methods drop to `_apt`, or `setpriv`/`su`) keeps its network calls, made
/// by sbx as that user with the same rules: an allowed unix socket it may
/// write is reached, one only root may write is not (EACCES, as without
/// sbx), a socket bound in a directory it may write works, and a port below
/// 1024 is not bound for it (EACCES: sbx does not lend it root's
/// capability).
#[test]
fn a_command_that_changes_its_user_is_acted_for_as_that_user() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;
    if !super::util::need_root() {
        return;
    }
    let dir = tempdir();
    super::util::make_reachable(dir.path());
    let open = dir.path().join("open.sock");
    let closed = dir.path().join("closed.sock");
    let _servers = [UnixListener::bind(&open).unwrap(), UnixListener::bind(&closed).unwrap()];
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];
    let run = |flags: &[String], args: &[&str]| {
        let mut cmd = sbx(flags).arg("--").args(as_nobody).arg(probe()).args(args);
        cmd = cmd.cwd(dir.path());
        cmd.run()
    };
    // Without sbx, as that user: what the kernel answers.
    let bare_as = |args: &[&str]| bare("setpriv").args(&as_nobody[1..4]).arg(probe()).args(args).run();
    bare_as(&["connect-unix", open.to_str().unwrap()]).success().stdout_is("ok");
    bare_as(&["connect-unix", closed.to_str().unwrap()]).success().stdout_is("EACCES");
    bare_as(&["udp-bind", "127.0.0.1", "81"]).success().stdout_is("EACCES");
    let allow = |p: &Path| format!("--allow-unix={}", p.display());
    let flags = vec!["--allow-net=localhost".to_owned(), allow(&open), allow(&closed)];
    let out = run(&flags, &["connect-unix", open.to_str().unwrap()]);
    out.success().stdout_is("ok").stderr_lacks("changed its user");
    run(&flags, &["connect-unix", closed.to_str().unwrap()]).success().stdout_is("EACCES");
    run(&flags, &["udp-bind", "127.0.0.1", "81"]).success().stdout_is("EACCES");
    run(&flags, &["udp-bind", "127.0.0.1", "0"]).success().stdout_is("ok");
    // A unix socket bound where the user may write (the directory is 0777).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bound = dir.path().join("mine.sock");
    run(&flags, &["unix-self", bound.to_str().unwrap()]).success().stdout_is("ok");
    assert_eq!(std::fs::metadata(&bound).unwrap().uid(), 65534, "the socket file is not the user's");
}

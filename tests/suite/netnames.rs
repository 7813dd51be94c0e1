//! `--allow-net=NAME` end to end: glibc (getent, python, curl) and raw DNS
//! queries sent straight to the nameserver, under sbx, in a private mount
//! namespace whose /etc/resolv.conf points at a test DNS server on
//! 127.53.x.y:53, connecting to listeners on 127.0.0.0/8. Each test shows
//! the probe working without sbx first where that means something, and
//! checks with the server's query log that a denied name never reached it.
//!
//! Only loopback addresses; the machine's resolver is never asked.

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};

use super::dnsutil::{self, Answer, CONNECT_PY, HOSTS, TestDns, within};
use super::util::{Listener, Output, listener, probe, python, sbx_path, skip};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Listeners on the same free port of each of `ips`.
fn listeners_on_one_port(ips: &[&str]) -> Vec<Listener> {
    for _ in 0..50 {
        let first = listener(ips[0]);
        let rest: Option<Vec<Listener>> = ips[1..].iter().map(|ip| Listener::on(ip, first.addr.port())).collect();
        if let Some(rest) = rest {
            return std::iter::once(first).chain(rest).collect();
        }
    }
    panic!("no port free on all of {ips:?}");
}

/// `sbx ARGS -- CMD…` in the namespace of `server`.
fn sbx_within(server: &TestDns, hosts: &str, args: &[&str], cmd: &[&str]) -> Output {
    let sbx = sbx_path().to_str().unwrap();
    let mut full = vec![sbx];
    full.extend_from_slice(args);
    full.push("--");
    full.extend_from_slice(cmd);
    within(server, hosts, &[], &full).expect("the namespace ran before")
}

/// Python that sends a DNS query for each `NAME` argument with `sendto` to
/// the nameserver of /etc/resolv.conf from an unconnected UDP socket, as
/// musl and dig do, and prints `answer FROM ADDRESS`, `nxdomain`, the
/// errno of the send, or `timeout`. `NAME:PORT` also connects to the
/// address the answer gave.
const SENDTO_PY: &str = r#"
import socket, struct, sys
ns = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
for i, arg in enumerate(sys.argv[1:]):
    name, _, port = arg.partition(":")
    query = struct.pack(">HHHHHH", 0x5000 + i, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(query, (ns, 53))
    except OSError as e:
        print("send errno", e.errno)
        continue
    try:
        reply, source = s.recvfrom(4096)
    except socket.timeout:
        print("timeout")
        continue
    if reply[3] & 15 == 3:
        print("nxdomain")
        continue
    addr = socket.inet_ntoa(reply[-4:])
    print("answer", source[0] if source[1] == 53 else source, addr)
    if port:
        c = socket.socket()
        try:
            c.connect((addr, int(port)))
            print("connected")
        except OSError as e:
            print("connect errno", e.errno)
"#;

#[test]
fn an_allowed_name_resolves_and_connects_a_denied_one_never_reaches_the_server() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let web = listener("127.0.0.2");
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    server.set("evil.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let py = py.to_str().unwrap();
    let targets = [format!("allowed.test:{}", web.port()), format!("evil.test:{}", web.port())];
    // Bare, both resolve and connect.
    let Some(bare) = within(&server, HOSTS, &[], &[py, "-c", CONNECT_PY, &targets[0], &targets[1]]) else { return };
    bare.success().stdout_is("ok 127.0.0.2\nok 127.0.0.2");
    let (evil_before, accepted_before) = (server.count("evil.test"), web.accepted());
    let log_before = server.log().len();

    sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &["getent", "hosts", "allowed.test"])
        .success()
        .stdout_has("127.0.0.2");
    // glibc asks over UDP; the supervisor sends its socket to the proxy.
    let log = server.log();
    assert!(log[log_before..].iter().any(|q| q.name == "allowed.test" && !q.tcp), "{log:?}");
    let out = sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &["getent", "hosts", "evil.test"]);
    out.code(2).stderr_has("sbx: blocked DNS lookup of evil.test — allow with --allow-net=evil.test");
    assert!(out.stdout.is_empty(), "{}", out.report());

    let out =
        sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[py, "-c", CONNECT_PY, &targets[0], &targets[1]]);
    out.success()
        .stdout_is(&format!("ok 127.0.0.2\nunresolved {}", -2))
        .stderr_has("sbx: blocked DNS lookup of evil.test");
    assert_eq!(web.accepted(), accepted_before + 1);
    assert_eq!(server.count("evil.test"), evil_before, "a denied query reached the server: {:?}", server.log());
}

#[test]
fn glibc_over_tcp_goes_through_the_proxy_too() {
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2"), ip("::1")]), 60);
    server.set("evil.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let sbx = sbx_path().to_str().unwrap();
    let env = [("RES_OPTIONS", "use-vc")];
    let Some(out) =
        within(&server, HOSTS, &env, &[sbx, "--allow-net=allowed.test", "getent", "ahosts", "allowed.test"])
    else {
        return;
    };
    out.success().stdout_has("127.0.0.2").stdout_has("::1");
    let log = server.log();
    assert!(!log.is_empty() && log.iter().all(|q| q.tcp), "expected only TCP queries: {log:?}");
    within(&server, HOSTS, &env, &[sbx, "--allow-net=allowed.test", "getent", "ahosts", "evil.test"]).unwrap().code(2);
    assert_eq!(server.count("evil.test"), 0, "{:?}", server.log());
}

#[test]
fn curl_fetches_from_an_allowed_name() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    if !std::path::Path::new("/usr/bin/curl").is_file() {
        return skip("needs /usr/bin/curl");
    }
    let dir = super::util::tempdir();
    std::fs::write(dir.path().join("hello.txt"), "hello through sbx\n").unwrap();
    let http = HttpServer::start(&py, "127.0.0.2", dir.path());
    server.set("web.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    server.set("other.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let url = |host: &str| format!("http://{host}:{}/hello.txt", http.port);
    let curl = |host: &str| ["/usr/bin/curl", "-sS", "--max-time", "10", &url(host)].map(String::from);
    let args = curl("web.test");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(bare) = within(&server, HOSTS, &[], &args) else { return };
    bare.success().stdout_is("hello through sbx");
    sbx_within(&server, HOSTS, &["--allow-net=web.test"], &args).success().stdout_is("hello through sbx");
    let other = curl("other.test");
    let other: Vec<&str> = other.iter().map(String::as_str).collect();
    let out = sbx_within(&server, HOSTS, &["--allow-net=web.test"], &other);
    assert_eq!(out.status.code(), Some(6), "curl: could not resolve host{}", out.report());
    out.stderr_has("sbx: blocked DNS lookup of other.test");
    assert_eq!(server.count("other.test"), 0);
    // By address: no name allows it.
    let by_ip = curl("127.0.0.2");
    let by_ip: Vec<&str> = by_ip.iter().map(String::as_str).collect();
    let out = sbx_within(&server, HOSTS, &["--allow-net=web.test:1"], &by_ip);
    assert_eq!(out.status.code(), Some(7), "curl: could not connect{}", out.report());
    out.stderr_has(&format!(
        "sbx: blocked connect to 127.0.0.2:{port} (web.test) — allow with --allow-net=web.test:{port}",
        port = http.port
    ));
}

/// `python3 -m http.server` on a loopback address, killed on drop.
struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    fn start(py: &std::path::Path, ip: &str, dir: &std::path::Path) -> HttpServer {
        let mut child = Command::new(py)
            .args(["-u", "-m", "http.server", "0", "--bind", ip, "--directory"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        // "Serving HTTP on 127.0.0.2 port 40123 (http://127.0.0.2:40123/) ..."
        let port = line.split_whitespace().skip_while(|w| *w != "port").nth(1).and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| panic!("http.server said {line:?}"));
        HttpServer { child, port }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_wildcard_allows_names_below_it_not_itself() {
    let Some(server) = dnsutil::need_port_53() else { return };
    for name in ["wild.test", "a.wild.test", "b.c.wild.test", "notwild.test"] {
        server.set(name, Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    }
    let Some(bare) = within(&server, HOSTS, &[], &["getent", "hosts", "wild.test"]) else { return };
    bare.success();
    let before = server.count("wild.test");
    let allow = ["--allow-net=*.wild.test"];
    for name in ["a.wild.test", "b.c.wild.test"] {
        sbx_within(&server, HOSTS, &allow, &["getent", "hosts", name]).success().stdout_has("127.0.0.2");
    }
    for name in ["wild.test", "notwild.test"] {
        sbx_within(&server, HOSTS, &allow, &["getent", "hosts", name])
            .code(2)
            .stderr_has(&format!("sbx: blocked DNS lookup of {name}"));
    }
    assert_eq!((server.count("wild.test"), server.count("notwild.test")), (before, 0), "{:?}", server.log());
}

#[test]
fn rotating_answers_still_connect() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let both = listeners_on_one_port(&["127.0.0.2", "127.0.0.3"]);
    let port = both[0].port();
    server.set("cdn.test", Answer::Rotate(vec![ip("127.0.0.2"), ip("127.0.0.3")]), 1);
    let target = format!("cdn.test:{port}");
    let args = [py.to_str().unwrap(), "-c", CONNECT_PY, &target, &target, &target, &target];
    let out = sbx_within(&server, HOSTS, &["--allow-net=cdn.test"], &args);
    out.success();
    let peers: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(peers.len(), 4, "{}", out.report());
    assert!(peers.iter().all(|l| l.starts_with("ok ")), "{}", out.report());
    assert!(peers.contains(&"ok 127.0.0.2") && peers.contains(&"ok 127.0.0.3"), "no rotation seen{}", out.report());
    assert!(both[0].accepted() >= 1 && both[1].accepted() >= 1);
}

#[test]
fn a_port_on_a_name_is_part_of_the_rule() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let (open, closed) = (listener("127.0.0.2"), listener("127.0.0.2"));
    server.set("api.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let py = py.to_str().unwrap();
    let (good, bad) = (format!("api.test:{}", open.port()), format!("api.test:{}", closed.port()));
    let Some(bare) = within(&server, HOSTS, &[], &[py, "-c", CONNECT_PY, &good, &bad]) else { return };
    bare.success().stdout_is("ok 127.0.0.2\nok 127.0.0.2");
    let before = closed.accepted();
    let allow = format!("--allow-net=api.test:{}", open.port());
    let out = sbx_within(&server, HOSTS, &[&allow], &[py, "-c", CONNECT_PY, &good, &bad]);
    out.success().stdout_is("ok 127.0.0.2\nrefused").stderr_has(&format!(
        "sbx: blocked connect to 127.0.0.2:{port} (api.test) — allow with --allow-net=api.test:{port}",
        port = closed.port()
    ));
    assert_eq!(closed.accepted(), before, "the refused port saw a connection");
}

#[test]
fn an_address_no_allowed_name_resolves_to_is_refused() {
    let Some(server) = dnsutil::need_port_53() else { return };
    let (named, other) = (listener("127.0.0.2"), listener("127.0.0.9"));
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let probe = probe().to_str().unwrap();
    let other_port = other.port().to_string();
    let Some(bare) = within(&server, HOSTS, &[], &[probe, "connect", "127.0.0.9", &other_port]) else { return };
    bare.success().stdout_is("ok");
    let before = other.accepted();
    // Before the command resolves anything: sbx looks the exact names up itself.
    let named_port = named.port().to_string();
    let out = sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[probe, "connect", "127.0.0.2", &named_port]);
    out.success().stdout_is("ok");
    let out = sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[probe, "connect", "127.0.0.9", &other_port]);
    out.success().stdout_is("ECONNREFUSED").stderr_has(&format!(
        "sbx: blocked connect to 127.0.0.9:{other_port} — allow with --allow-net=127.0.0.9:{other_port}"
    ));
    assert_eq!(other.accepted(), before);
    // UDP sends are decided the same way.
    let out = sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[probe, "udp-send", "127.0.0.9", "9"]);
    out.success().stdout_is("EACCES").stderr_has("sbx: blocked sendto to 127.0.0.9:9");
    sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[probe, "udp-send", "127.0.0.2", "9"])
        .success()
        .stdout_is("ok");
}

#[test]
fn names_from_etc_hosts_are_allowed_without_a_query() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let (hosted, unlisted) = (listener("127.0.0.4"), listener("127.0.0.5"));
    let hosts = format!("{HOSTS}127.0.0.4 hosted.test\n127.0.0.5 unlisted.test\n");
    let py = py.to_str().unwrap();
    let (a, b) = (format!("hosted.test:{}", hosted.port()), format!("unlisted.test:{}", unlisted.port()));
    let Some(bare) = within(&server, &hosts, &[], &[py, "-c", CONNECT_PY, &a, &b]) else { return };
    bare.success().stdout_is("ok 127.0.0.4\nok 127.0.0.5");
    let before = unlisted.accepted();
    let out = sbx_within(&server, &hosts, &["--allow-net=hosted.test"], &[py, "-c", CONNECT_PY, &a]);
    out.success().stdout_is("ok 127.0.0.4");
    assert_eq!(server.count("hosted.test"), 0, "a name /etc/hosts answers was asked about: {:?}", server.log());
    let out = sbx_within(&server, &hosts, &["--allow-net=hosted.test"], &[py, "-c", CONNECT_PY, &b]);
    out.success().stdout_is("refused").stderr_has(&format!(
        "sbx: blocked connect to 127.0.0.5:{port} (unlisted.test) — allow with --allow-net=unlisted.test:{port}",
        port = unlisted.port()
    ));
    assert_eq!(unlisted.accepted(), before);
    assert_eq!(server.count("unlisted.test"), 0, "{:?}", server.log());
}

#[test]
fn queries_sent_straight_to_the_nameserver_are_screened() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let web = listener("127.0.0.2");
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    server.set("evil.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let py = py.to_str().unwrap();
    let ns = server.addr.ip().to_string();
    let allowed = format!("allowed.test:{}", web.port());
    let Some(bare) = within(&server, HOSTS, &[], &[py, "-c", SENDTO_PY, &allowed, "evil.test"]) else { return };
    bare.success().stdout_is(&format!("answer {ns} 127.0.0.2\nconnected\nanswer {ns} 127.0.0.2"));
    let evil_before = server.count("evil.test");
    let out = sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[py, "-c", SENDTO_PY, &allowed, "evil.test"]);
    // The answer comes from the nameserver itself (musl insists), and sbx
    // learnt the address with a lookup of its own.
    out.success()
        .stdout_is(&format!("answer {ns} 127.0.0.2\nconnected\nsend errno {}", libc::EACCES))
        .stderr_has("sbx: blocked DNS lookup of evil.test — allow with --allow-net=evil.test");
    assert_eq!(server.count("evil.test"), evil_before, "a denied query reached the server: {:?}", server.log());
    // Anything but a DNS query to the nameserver is refused.
    let out =
        sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[probe().to_str().unwrap(), "udp-send", &ns, "53"]);
    out.success()
        .stdout_is("EACCES")
        .stderr_has(&format!("sbx: blocked sendto to nameserver {ns}:53 — not a DNS query"));
}

/// Python that asks about each `NAME` argument from IPv6 sockets, the
/// nameserver's IPv4 address mapped: a connected UDP socket, an unconnected
/// one (sendto), a TCP connection. Prints the answer's RCODE and first
/// address for each, or the errno.
const IPV6_PY: &str = r#"
import socket, struct, sys
ns = "::ffff:" + [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
def query(name):
    return struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
def show(how, reply):
    an = struct.unpack(">H", reply[6:8])[0]
    print(how, reply[3] & 15, socket.inet_ntoa(reply[-4:]) if an else "-")
for name in sys.argv[1:]:
    q = query(name)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(3)
    s.connect((ns, 53)); s.send(q); show("udp", s.recv(512))
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(3)
    try:
        s.sendto(q, (ns, 53)); show("sendto", s.recvfrom(512)[0])
    except OSError as e:
        print("sendto errno", e.errno)
    t = socket.socket(socket.AF_INET6); t.settimeout(3); t.connect((ns, 53))
    t.sendall(struct.pack(">H", len(q)) + q); show("tcp", t.recv(512)[2:])
"#;

#[test]
fn ipv6_sockets_reach_the_nameserver_through_the_filter_too() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    server.set("evil.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let py = py.to_str().unwrap();
    let Some(bare) = within(&server, HOSTS, &[], &[py, "-c", IPV6_PY, "allowed.test"]) else { return };
    bare.success().stdout_is("udp 0 127.0.0.2\nsendto 0 127.0.0.2\ntcp 0 127.0.0.2");
    let out =
        sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[py, "-c", IPV6_PY, "allowed.test", "evil.test"]);
    out.success().stdout_is(&format!(
        "udp 0 127.0.0.2\nsendto 0 127.0.0.2\ntcp 0 127.0.0.2\nudp 3 -\nsendto errno {}\ntcp 3 -",
        libc::EACCES
    ));
    assert_eq!(server.count("evil.test"), 0, "{:?}", server.log());
}

#[test]
fn quiet_silences_every_report() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let other = listener("127.0.0.9");
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let target = format!("127.0.0.9:{}", other.port());
    let args = [py.to_str().unwrap(), "-c", CONNECT_PY, "evil.test:80", &target];
    let out = sbx_within(&server, HOSTS, &["-q", "--allow-net=allowed.test"], &args);
    out.success().stdout_is(&format!("unresolved {}\nrefused", -2));
    assert!(out.stderr.is_empty(), "{}", out.report());
}

/// A shell script for `unshare -m`: a private /run (tmpfs) with a fake
/// nscd socket and a fake systemd-resolved varlink socket served by
/// python, then the command.
const FAKE_RESOLVERS: &str = r#"py=$1; resolv=$2; shift 2
mount --bind "$resolv" /etc/resolv.conf || exit 125
mount -t tmpfs sbx-test-run /run || exit 125
mkdir -p /run/nscd /run/systemd/resolve || exit 125
"$py" -c '
import os, socket, sys, threading, time
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(8)
    threading.Thread(target=lambda s=s: [s.accept() for _ in iter(int, 1)], daemon=True).start()
open("/run/ready", "w").close()
time.sleep(60)
' /run/nscd/socket /run/systemd/resolve/io.systemd.Resolve &
server=$!
while [ ! -e /run/ready ]; do sleep 0.05; done
"$@"
status=$?
kill $server
exit $status"#;

#[test]
fn resolver_sockets_cannot_bypass_the_filter() {
    let Some(py) = python() else { return };
    if !dnsutil::private_etc_works() {
        return;
    }
    let sockets = ["/run/nscd/socket", "/run/systemd/resolve/io.systemd.Resolve"];
    let probe = probe().to_str().unwrap();
    let sbx = sbx_path().to_str().unwrap();
    // Never the machine's resolver, even though nothing here resolves.
    let dir = super::util::tempdir();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
    let run = |cmd: &[&str]| {
        super::util::bare("unshare")
            .args(["-m", "--", "sh", "-c", FAKE_RESOLVERS, "sh", py.to_str().unwrap(), resolv.to_str().unwrap()])
            .args(cmd)
            .run()
    };
    for sock in sockets {
        // Bare, the fake service answers.
        run(&[probe, "connect-unix", sock]).success().stdout_is("ok");
        // The unix mediation already refuses a socket made outside the
        // sandbox; with names filtered (every restricted network: with name
        // rules, with address rules only, under --deny-net) that is not even
        // worth a report — glibc tries these before DNS, which sbx names.
        for flag in ["--allow-net=allowed.test", "--allow-net=127.0.0.1", "--deny-net"] {
            let out = run(&[sbx, flag, "--", probe, "connect-unix", sock]);
            out.success().stdout_is("ECONNREFUSED").stderr_lacks("sbx: blocked");
        }
        // Allowing it by hand next to a name is refused.
        let allow = format!("--allow-unix={sock}");
        let out = run(&[sbx, "--allow-net=allowed.test", &allow, "--", probe, "connect-unix", sock]);
        out.code(125).stderr_has("would bypass the DNS filter of --allow-net=allowed.test");
    }
}

/// Python that sends one SRV query (`_SERVICE._PROTO.HOST`, as apt does for
/// its mirrors) to the nameserver of /etc/resolv.conf with `sendto`, and
/// prints the answer's RCODE, `send errno N` or `timeout`.
const SRV_PY: &str = r#"
import socket, struct, sys
ns = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
name = sys.argv[1]
query = struct.pack(">HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 33, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
try:
    s.sendto(query, (ns, 53))
    reply, _ = s.recvfrom(4096)
    print("rcode", reply[3] & 15)
except socket.timeout:
    print("timeout")
except OSError as e:
    print("send errno", e.errno)
"#;

/// Every lookup the sandbox refuses is named by its host name with the
/// flag that allows it — under --deny-net (where the lookup fails at once
/// with NXDOMAIN, not after retries), and under an allow-list without names
/// (never as a connect to the resolver, whose address would open DNS to
/// every name); the named flag, added, makes the lookup work. A denied
/// query never reaches the server.
#[test]
fn refused_lookups_are_named_by_host_with_the_flag_that_allows_them() {
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("pkg.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let Some(bare) = within(&server, HOSTS, &[], &["getent", "hosts", "pkg.test"]) else { return };
    bare.success().stdout_has("127.0.0.2");
    let resolver = server.addr.ip().to_string();
    for flags in [&["--deny-net"][..], &["--allow-net=localhost"], &["--allow-net=127.0.0.3:80"]] {
        let before = server.count("pkg.test");
        let out = sbx_within(&server, HOSTS, flags, &["getent", "hosts", "pkg.test"]);
        out.code(2).stderr_has("sbx: blocked DNS lookup of pkg.test — allow with --allow-net=pkg.test");
        out.stderr_lacks(&format!("--allow-net={resolver}"));
        assert_eq!(server.count("pkg.test"), before, "{flags:?}: the denied query reached the server");
        let mut allowed = flags.to_vec();
        if flags != ["--deny-net"] {
            allowed.push("--allow-net=pkg.test");
        } else {
            allowed = vec!["--allow-net=pkg.test"];
        }
        sbx_within(&server, HOSTS, &allowed, &["getent", "hosts", "pkg.test"])
            .success()
            .stdout_has("127.0.0.2")
            .stderr_lacks("sbx: blocked");
    }
}

/// An SRV lookup (`_http._tcp.mirror.test`, as apt asks) is named with the
/// host, which --allow-net takes (never the service name, which it would
/// refuse), and allowing the host lets the lookup through.
#[test]
fn a_service_lookup_suggests_the_host() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("_http._tcp.mirror.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let py = py.to_str().unwrap();
    let srv = ["-c", SRV_PY, "_http._tcp.mirror.test"];
    let cmd = |extra: &[&'static str]| [&[py][..], extra].concat();
    let Some(bare) = within(&server, HOSTS, &[], &cmd(&srv)) else { return };
    bare.success().stdout_is("rcode 0");
    let out = sbx_within(&server, HOSTS, &["--allow-net=localhost"], &cmd(&srv));
    // A datagram sent straight to the nameserver is refused (EACCES).
    out.success()
        .stdout_is("send errno 13")
        .stderr_has("sbx: blocked DNS lookup of _http._tcp.mirror.test — allow with --allow-net=mirror.test");
    assert_eq!(server.count("_http._tcp.mirror.test"), 1, "the denied query reached the server: {:?}", server.log());
    sbx_within(&server, HOSTS, &["--allow-net=localhost", "--allow-net=mirror.test"], &cmd(&srv))
        .success()
        .stdout_is("rcode 0")
        .stderr_lacks("sbx: blocked");
    // The allowed query reached it (and sbx's own lookups of the name).
    assert!(server.count("_http._tcp.mirror.test") >= 2, "{:?}", server.log());
}

/// `apt-get update` under a per-host allow-list: apt's download methods drop
/// to the `_apt` user, and sbx makes their calls as that user by the same
/// rules (it used to refuse every call of a thread whose user changed). The
/// repository is a flat one on a loopback HTTP server named `repo.test`.
#[test]
fn apt_get_update_works_under_a_per_host_allow_list() {
    // apt-get update runs as root (it drops to _apt itself).
    if !super::util::need_root() {
        return;
    }
    let Some(py) = python() else { return };
    if !std::path::Path::new("/usr/bin/apt-get").is_file() {
        return skip("needs /usr/bin/apt-get");
    }
    let Some(server) = dnsutil::need_port_53() else { return };
    let dir = super::util::tempdir();
    let (repo, lists, cache) = (dir.path().join("repo"), dir.path().join("lists"), dir.path().join("cache"));
    for d in [&repo, &lists.join("partial"), &cache.join("archives/partial")] {
        std::fs::create_dir_all(d).unwrap();
    }
    let stanza = "Package: sbx-test-pkg\nVersion: 1.0\nArchitecture: all\nFilename: ./sbx-test-pkg.deb\nSize: 1\n\
                  Description: a package of sbx's tests\n";
    std::fs::write(repo.join("Packages"), stanza).unwrap();
    std::fs::write(repo.join("Release"), "Origin: sbx-test\nSuite: stable\nCodename: stable\n").unwrap();
    super::util::make_reachable(dir.path());
    // apt's methods write the lists as _apt.
    super::util::bare("chown").args(["-R", "_apt"]).arg(&lists).run().success();
    let http = HttpServer::start(&py, "127.0.0.2", &repo);
    server.set("repo.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let sources = dir.path().join("sources.list");
    std::fs::write(&sources, format!("deb [trusted=yes] http://repo.test:{}/ ./\n", http.port)).unwrap();
    let opts = [
        format!("Dir::Etc::SourceList={}", sources.display()),
        "Dir::Etc::SourceParts=/dev/null".to_owned(),
        format!("Dir::State::Lists={}", lists.display()),
        format!("Dir::Cache={}", cache.display()),
    ];
    let mut cmd = vec!["apt-get".to_owned(), "update".to_owned()];
    for o in &opts {
        cmd.extend(["-o".to_owned(), o.clone()]);
    }
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let allow = format!("--allow-net=repo.test:{}", http.port);
    let out = sbx_within(&server, HOSTS, &[&allow], &cmd);
    out.success().stdout_has("Get:").stderr_lacks("changed its user").stderr_lacks("sbx: blocked connect");
    let fetched = std::fs::read_dir(&lists).unwrap().filter_map(Result::ok);
    let names: Vec<String> = fetched.map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|n| n.contains("_Packages")), "apt stored no Packages list: {names:?}{}", out.report());
}

/// A resolver that checks where answers come from, as c-ares (Node's
/// `dns.resolve*`, gRPC) does: for each `NAME` argument, connects a socket
/// of the kind `$SRC_MODE` says to the nameserver of /etc/resolv.conf,
/// sends a query, and insists that the answer's source (recvfrom) and the
/// socket's peer (getpeername) are the nameserver's port 53; prints
/// `answer ADDRESS`, `nxdomain`, or `wrong source SOURCE PEER`. Modes:
/// `udp` (non-blocking, as resolvers read), `udp6` (an IPv6 socket, the
/// address mapped), `blocking` (a blocking read, after peeking one byte
/// and with a short buffer first), `tcp` (getpeername only: a stream has no
/// source per read).
const CHECK_SOURCE_PY: &str = r#"
import os, select, socket, struct, sys
ns = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
mode = os.environ["SRC_MODE"]
for i, name in enumerate(sys.argv[1:]):
    q = struct.pack(">HHHHHH", 0x5100 + i, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    want = (ns, 53)
    if mode == "tcp":
        s = socket.create_connection((ns, 53), timeout=5)
        peer = s.getpeername()
        s.sendall(struct.pack(">H", len(q)) + q)
        reply = b""
        while len(reply) < 2 or len(reply) < 2 + struct.unpack(">H", reply[:2])[0]:
            reply += s.recv(4096)
        reply, source = reply[2:], peer
    else:
        family = socket.AF_INET6 if mode == "udp6" else socket.AF_INET
        if mode == "udp6":
            want = ("::ffff:" + ns, 53, 0, 0)
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.connect((want[0], 53))
        s.send(q)
        if mode == "blocking":
            first, _ = s.recvfrom(1, socket.MSG_PEEK)
            short, _ = s.recvfrom(1, socket.MSG_PEEK)
            assert first == short == q[:1], (first, short)
            reply, source = s.recvfrom(4096)
        else:
            s.setblocking(False)
            select.select([s], [], [], 5)
            reply, source = s.recvfrom(4096)
        peer = s.getpeername()
    if source != want or peer != want:
        print("wrong source", source, peer)
    elif reply[3] & 15 == 3:
        print("nxdomain")
    else:
        print("answer", socket.inet_ntoa(reply[-4:]))
"#;

#[test]
fn answers_come_from_the_nameserver_as_the_resolver_asked() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    server.set("evil.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let py = py.to_str().unwrap();
    for mode in ["udp", "udp6", "blocking", "tcp"] {
        let env = [("SRC_MODE", mode)];
        let Some(bare) = within(&server, HOSTS, &env, &[py, "-c", CHECK_SOURCE_PY, "allowed.test"]) else { return };
        bare.success().stdout_is("answer 127.0.0.2");
        let sbx = sbx_path().to_str().unwrap();
        let cmd = [sbx, "--allow-net=allowed.test", "--", py, "-c", CHECK_SOURCE_PY, "allowed.test", "evil.test"];
        let out = within(&server, HOSTS, &env, &cmd).unwrap();
        out.success()
            .stdout_is("answer 127.0.0.2\nnxdomain")
            .stderr_has("sbx: blocked DNS lookup of evil.test — allow with --allow-net=evil.test");
        assert_eq!(server.count("evil.test"), 0, "{mode}: a denied query reached the server: {:?}", server.log());
    }
}

/// Node's `dns.resolve4` (c-ares, which drops answers from any address but
/// the nameserver's) resolves an allowed name under sbx, and a denied one
/// is answered NXDOMAIN without reaching the server.
#[test]
fn node_resolves_with_c_ares() {
    const NODE: &str = "/usr/bin/node";
    if !std::path::Path::new(NODE).is_file() {
        return skip("needs node in /usr/bin (c-ares)");
    }
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    server.set("evil.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let script = "const r = new (require('dns').Resolver)({timeout: 3000, tries: 1}); \
                  for (const n of process.argv.slice(1)) r.resolve4(n, (e, a) => console.log(n, e ? e.code : a.join()))";
    let Some(bare) = within(&server, HOSTS, &[], &[NODE, "-e", script, "allowed.test"]) else { return };
    bare.success().stdout_is("allowed.test 127.0.0.2");
    let out = sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[NODE, "-e", script, "allowed.test"]);
    out.success().stdout_is("allowed.test 127.0.0.2");
    let out = sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[NODE, "-e", script, "evil.test"]);
    out.success().stdout_is("evil.test ENOTFOUND").stderr_has("sbx: blocked DNS lookup of evil.test");
    // Under --deny-net too the lookup is answered (NXDOMAIN) and named, not left to time out.
    let out = sbx_within(&server, HOSTS, &["--deny-net"], &[NODE, "-e", script, "allowed.test"]);
    out.success()
        .stdout_is("allowed.test ENOTFOUND")
        .stderr_has("sbx: blocked DNS lookup of allowed.test — allow with --allow-net=allowed.test");
    assert_eq!(server.count("evil.test"), 0, "a denied query reached the server: {:?}", server.log());
}

/// Python that waits in a blocking `recvfrom` on a UDP socket connected to
/// the nameserver: a signal handler that sends the query for `NAME` (the
/// receive is restarted and gets the answer, from the nameserver), a
/// handler that raises (the receive is interrupted), and SO_RCVTIMEO (the
/// receive fails with EAGAIN in time).
const BLOCKED_RECEIVE_PY: &str = r#"
import signal, socket, struct, sys, time
ns = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
q = struct.pack(">HHHHHH", 0x5200, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in sys.argv[1].split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((ns, 53))
def send_query(sig, frame):
    print("signal", flush=True)
    s.send(q)
signal.signal(signal.SIGALRM, send_query)
signal.setitimer(signal.ITIMER_REAL, 0.3)
reply, source = s.recvfrom(4096)
print("answer", socket.inet_ntoa(reply[-4:]), "from", "nameserver" if source == (ns, 53) else source)
def stop(sig, frame):
    raise TimeoutError
signal.signal(signal.SIGALRM, stop)
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    s.recvfrom(4096)
    print("no interruption")
except TimeoutError:
    print("interrupted")
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 300000))
start = time.monotonic()
try:
    s.recvfrom(4096)
    print("data")
except BlockingIOError as e:
    print("errno", e.errno, "in time" if time.monotonic() - start < 3 else "late")
"#;

#[test]
fn a_blocked_receive_on_a_redirected_socket_keeps_signals_and_timeouts() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let py = py.to_str().unwrap();
    let expected = format!("signal\nanswer 127.0.0.2 from nameserver\ninterrupted\nerrno {} in time", libc::EAGAIN);
    let Some(bare) = within(&server, HOSTS, &[], &[py, "-c", BLOCKED_RECEIVE_PY, "allowed.test"]) else { return };
    bare.success().stdout_is(&expected);
    let out =
        sbx_within(&server, HOSTS, &["--allow-net=allowed.test"], &[py, "-c", BLOCKED_RECEIVE_PY, "allowed.test"]);
    out.success().stdout_is(&expected);
}

/// Python that receives, with recvfrom, a UDP echo from a server on
/// 127.0.0.3 and prints the source it reports.
const ECHO_SOURCE_PY: &str = r#"
import socket
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.3", 0))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(5)
c.connect(server.getsockname())
c.send(b"ping")
data, peer = server.recvfrom(64)
server.sendto(data, peer)
print(c.recvfrom(64)[1] == server.getsockname(), c.getpeername() == server.getsockname())
"#;

#[test]
fn sockets_sbx_did_not_redirect_report_their_own_peer() {
    let Some(py) = python() else { return };
    let Some(server) = dnsutil::need_port_53() else { return };
    let py = py.to_str().unwrap();
    // A lookup first, so that sbx has redirected a socket.
    let script =
        format!("import socket\ntry: socket.gethostbyname('allowed.test')\nexcept OSError: pass\n{ECHO_SOURCE_PY}");
    server.set("allowed.test", Answer::Addrs(vec![ip("127.0.0.2")]), 60);
    let out = sbx_within(&server, HOSTS, &["--allow-net=allowed.test", "--allow-net=localhost"], &[py, "-c", &script]);
    out.success().stdout_is("True True");
}

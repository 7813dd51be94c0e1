//! DNS test tooling, loopback only: a tiny DNS server answering from a table
//! and logging every query it gets ([`TestDns`]), a DNS client ([`ask`]),
//! and a runner that gives a command its own /etc/resolv.conf, /etc/hosts
//! and /etc/nsswitch.conf in a private mount namespace ([`with_private_etc`]),
//! so glibc can be pointed at a test server without touching the machine's
//! resolver.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use simple_dns::rdata::{A, AAAA, CNAME, RData};
use simple_dns::{CLASS, Name, Packet, PacketFlag, QTYPE, RCODE, ResourceRecord, TYPE};

use super::util::{self, Output, bare};

/// What the test server answers for a name.
#[derive(Debug, Clone)]
pub enum Answer {
    /// These addresses (A queries get the IPv4 ones, AAAA the IPv6 ones).
    Addrs(Vec<IpAddr>),
    /// One of these per query, the next one each time (per query type).
    Rotate(Vec<IpAddr>),
    /// A CNAME to another name of the table, followed by that name's answer.
    Cname(String),
    /// SERVFAIL.
    ServFail,
    /// REFUSED.
    Refused,
    /// Nothing at all (the query is logged, then ignored).
    Silent,
}

/// One query the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub tcp: bool,
    /// Lower-case, no trailing dot.
    pub name: String,
    pub qtype: u16,
}

#[derive(Default)]
struct State {
    table: Mutex<HashMap<String, (Answer, u32)>>,
    log: Mutex<Vec<Logged>>,
    turns: Mutex<HashMap<(String, u16), usize>>,
    /// UDP answers go out from this socket instead of the one queried.
    reply_from: Mutex<Option<UdpSocket>>,
    stop: AtomicBool,
}

/// A DNS server on a loopback address, UDP and TCP on the same port.
pub struct TestDns {
    pub addr: SocketAddr,
    state: Arc<State>,
    threads: Vec<JoinHandle<()>>,
}

impl TestDns {
    /// On 127.0.0.1, UDP and TCP on the same ephemeral port (no root needed).
    pub fn ephemeral() -> TestDns {
        for _ in 0..50 {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = udp.local_addr().unwrap();
            if let Ok(tcp) = TcpListener::bind(addr) {
                return Self::serve(udp, tcp);
            }
        }
        panic!("could not find a free port on 127.0.0.1 for UDP and TCP at once");
    }

    /// On port 53 of a loopback address no other test uses (resolv.conf
    /// cannot name a port); `None` if port 53 cannot be bound (not root).
    pub fn on_port_53() -> Option<TestDns> {
        loop {
            let ip = unique_loopback()?;
            let addr = SocketAddr::new(IpAddr::V4(ip), 53);
            match (UdpSocket::bind(addr), TcpListener::bind(addr)) {
                (Ok(udp), Ok(tcp)) => return Some(Self::serve(udp, tcp)),
                (Err(e), _) | (_, Err(e)) if e.kind() == io::ErrorKind::PermissionDenied => return None,
                _ => continue,
            }
        }
    }

    fn serve(udp: UdpSocket, tcp: TcpListener) -> TestDns {
        let addr = udp.local_addr().unwrap();
        let state = Arc::new(State::default());
        let s = Arc::clone(&state);
        let udp_thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65535];
            loop {
                let Ok((len, client)) = udp.recv_from(&mut buf) else { continue };
                if s.stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Some(reply) = s.answer(&buf[..len], false) {
                    let from = s.reply_from.lock().unwrap();
                    let socket = from.as_ref().unwrap_or(&udp);
                    let _ = socket.send_to(&reply, client);
                }
            }
        });
        let s = Arc::clone(&state);
        let tcp_thread = std::thread::spawn(move || {
            for stream in tcp.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    while let Ok(query) = read_framed(&mut stream) {
                        let Some(reply) = s.answer(&query, true) else { break };
                        if write_framed(&mut stream, &reply).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        TestDns { addr, state, threads: vec![udp_thread, tcp_thread] }
    }

    /// Answers `name` with `answer`, records with `ttl` seconds.
    pub fn set(&self, name: &str, answer: Answer, ttl: u32) {
        self.state.table.lock().unwrap().insert(name.to_ascii_lowercase(), (answer, ttl));
    }

    /// Sends UDP answers from `from` (port 53 of another loopback address)
    /// instead of the address queried.
    pub fn reply_from(&self, from: SocketAddr) {
        *self.state.reply_from.lock().unwrap() = Some(UdpSocket::bind(from).unwrap());
    }

    /// Every query received so far.
    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    /// How many queries about `name` (any type, any transport) arrived.
    pub fn count(&self, name: &str) -> usize {
        self.log().iter().filter(|q| q.name == name).count()
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Ok(socket) = UdpSocket::bind("127.0.0.1:0") {
            let _ = socket.send_to(&[], self.addr);
        }
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl State {
    /// The answer to `bytes`, after logging it; `None` to stay silent.
    fn answer(&self, bytes: &[u8], tcp: bool) -> Option<Vec<u8>> {
        let query = match Packet::parse(bytes) {
            Ok(query) => query,
            Err(simple_dns::SimpleDnsError::InvalidQType(qtype)) => return self.empty_answer(bytes, qtype, tcp),
            Err(_) => return None,
        };
        let question = query.questions.first()?.clone();
        let name = question.qname.to_string().to_ascii_lowercase();
        let qtype = u16::from(question.qtype);
        self.log.lock().unwrap().push(Logged { tcp, name: name.clone(), qtype });
        let mut reply = Packet::new_reply(query.id());
        reply.set_flags(PacketFlag::RECURSION_AVAILABLE | PacketFlag::AUTHORITATIVE_ANSWER);
        if query.has_flags(PacketFlag::RECURSION_DESIRED) {
            reply.set_flags(PacketFlag::RECURSION_DESIRED);
        }
        reply.questions.push(question.clone());
        let mut current = name;
        let mut found = false;
        for _ in 0..8 {
            let Some((answer, ttl)) = self.table.lock().unwrap().get(&current).cloned() else { break };
            found = true;
            let owner = Name::new_unchecked(&current).into_owned();
            match answer {
                Answer::Silent => return None,
                Answer::ServFail => {
                    *reply.rcode_mut() = RCODE::ServerFailure;
                    break;
                }
                Answer::Refused => {
                    *reply.rcode_mut() = RCODE::Refused;
                    break;
                }
                Answer::Cname(target) => {
                    let target_name = Name::new_unchecked(&target).into_owned();
                    reply.answers.push(ResourceRecord::new(owner, CLASS::IN, ttl, RData::CNAME(CNAME(target_name))));
                    current = target.to_ascii_lowercase();
                }
                Answer::Addrs(addrs) => {
                    reply.answers.extend(records(&owner, ttl, &addrs, qtype));
                    break;
                }
                Answer::Rotate(addrs) => {
                    let family: Vec<IpAddr> = addrs.into_iter().filter(|a| wanted(a, qtype)).collect();
                    if !family.is_empty() {
                        let mut turns = self.turns.lock().unwrap();
                        let turn = turns.entry((current.clone(), qtype)).or_default();
                        let pick = family[*turn % family.len()];
                        *turn += 1;
                        reply.answers.extend(records(&owner, ttl, &[pick], qtype));
                    }
                    break;
                }
            }
        }
        if !found {
            *reply.rcode_mut() = RCODE::NameError;
        }
        reply.build_bytes_vec_compressed().ok()
    }
}

impl State {
    /// NOERROR without records for a query of a type simple-dns cannot read
    /// (TLSA, …): the query itself with QR and RA set.
    fn empty_answer(&self, bytes: &[u8], qtype: u16, tcp: bool) -> Option<Vec<u8>> {
        let mut at = 12;
        let mut labels = Vec::new();
        while let Some(&len) = bytes.get(at).filter(|&&len| len != 0) {
            labels.push(String::from_utf8_lossy(bytes.get(at + 1..at + 1 + usize::from(len))?).to_ascii_lowercase());
            at += 1 + usize::from(len);
        }
        self.log.lock().unwrap().push(Logged { tcp, name: labels.join("."), qtype });
        let mut reply = bytes.get(..at + 5)?.to_vec();
        reply[2] |= 0x80;
        reply[3] = 0x80;
        reply[6..12].fill(0);
        Some(reply)
    }
}

fn wanted(addr: &IpAddr, qtype: u16) -> bool {
    match addr {
        IpAddr::V4(_) => qtype == 1 || qtype == 255,
        IpAddr::V6(_) => qtype == 28 || qtype == 255,
    }
}

fn records(owner: &Name<'static>, ttl: u32, addrs: &[IpAddr], qtype: u16) -> Vec<ResourceRecord<'static>> {
    addrs
        .iter()
        .filter(|a| wanted(a, qtype))
        .map(|addr| {
            let rdata = match addr {
                IpAddr::V4(v4) => RData::A(A::from(*v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA::from(*v6)),
            };
            ResourceRecord::new(owner.clone(), CLASS::IN, ttl, rdata)
        })
        .collect()
}

/// A loopback address in 127.53.0.0/16 not handed out before in this process
/// (the third byte varies with the process, so concurrent runs rarely meet).
fn unique_loopback() -> Option<Ipv4Addr> {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = (std::process::id() % 200) as u16 * 250;
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    if n >= 2000 {
        return None;
    }
    let host = base.wrapping_add(n) % (250 * 250);
    Some(Ipv4Addr::new(127, 53, (host / 250) as u8, (host % 250) as u8 + 2))
}

/// Another unused loopback address on port 53, for a second server.
pub fn another_port_53_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(unique_loopback().unwrap()), 53)
}

// ------------------------------------------------------------------ client

/// A parsed reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub id: u16,
    pub rcode: RCODE,
    pub addrs: Vec<IpAddr>,
    pub raw: Vec<u8>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0x4000);

/// A query for `name` of type `qtype`, and its ID.
pub fn query(name: &str, qtype: TYPE) -> (u16, Vec<u8>) {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst) as u16;
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    packet.questions.push(simple_dns::Question::new(
        Name::new_unchecked(name),
        QTYPE::TYPE(qtype),
        CLASS::IN.into(),
        false,
    ));
    (id, packet.build_bytes_vec().unwrap())
}

/// Asks `server` about `name` over UDP or TCP; `None` if no answer came
/// within 3 s (or the TCP connection was closed).
pub fn ask(server: SocketAddr, name: &str, qtype: TYPE, tcp: bool) -> Option<Reply> {
    let (id, bytes) = query(name, qtype);
    let raw = if tcp { exchange_tcp(server, &bytes) } else { exchange_udp(server, &bytes, Duration::from_secs(3)) }?;
    let packet = Packet::parse(&raw).unwrap();
    assert_eq!(packet.id(), id, "reply with another ID");
    assert!(packet.has_flags(PacketFlag::RESPONSE));
    assert_eq!(packet.questions.len(), 1);
    assert_eq!(packet.questions[0].qname.to_string(), name, "reply for another name");
    let addrs = packet
        .answers
        .iter()
        .filter_map(|r| match &r.rdata {
            RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
            RData::AAAA(a) => Some(IpAddr::V6(a.address.into())),
            _ => None,
        })
        .collect();
    Some(Reply { id, rcode: packet.rcode(), addrs, raw })
}

/// Sends raw bytes over UDP; the first datagram back within `wait`.
pub fn exchange_udp(server: SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind(if server.is_ipv4() { "127.0.0.1:0" } else { "[::1]:0" }).unwrap();
    socket.connect(server).unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    socket.send(bytes).unwrap();
    let mut buf = vec![0u8; 65535];
    let len = socket.recv(&mut buf).ok()?;
    Some(buf[..len].to_vec())
}

/// Sends one framed message over a new TCP connection; the framed answer,
/// or `None` if the connection ended first.
pub fn exchange_tcp(server: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&server, Duration::from_secs(3)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write_framed(&mut stream, bytes).unwrap();
    read_framed(&mut stream).ok()
}

pub fn read_framed(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut bytes = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut bytes)?;
    Ok(bytes)
}

pub fn write_framed(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed)
}

// ------------------------------------------------------------------ runner

/// Runs `cmd` with `env` in a private mount namespace whose /etc/resolv.conf,
/// /etc/hosts and /etc/nsswitch.conf (`hosts: files dns`) are the given
/// texts; the machine's files are untouched. `None` (after a skip message)
/// when this cannot be done here: it needs root.
pub fn with_private_etc(resolv_conf: &str, hosts: &str, env: &[(&str, &str)], cmd: &[&str]) -> Option<Output> {
    if !private_etc_works() {
        return None;
    }
    let dir = util::tempdir();
    let files = [("resolv.conf", resolv_conf), ("hosts", hosts), ("nsswitch.conf", "hosts: files dns\n")];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    // sbx in the suite's container gets these files as Docker's own: bound
    // by the launcher before the container's seccomp filter forbids mounts.
    let mut run = if util::container().is_some() && std::path::Path::new(cmd[0]) == util::sbx_path() {
        util::sbx(&cmd[1..]).container_etc(dir.path())
    } else {
        bare("unshare").args(["-m", "--", "sh", "-c", BIND_SCRIPT, "sh"]).arg(dir.path()).args(cmd)
    };
    for (k, v) in env {
        run = run.env(k, v);
    }
    Some(run.run())
}

/// An /etc/hosts with only localhost.
pub const HOSTS: &str = "127.0.0.1 localhost\n::1 localhost\n";

/// Runs `cmd` in a private namespace whose resolv.conf names only `server`
/// (hosts file `hosts`).
pub fn within(server: &TestDns, hosts: &str, env: &[(&str, &str)], cmd: &[&str]) -> Option<Output> {
    let resolv_conf = format!("nameserver {}\noptions timeout:1 attempts:1\n", server.addr.ip());
    with_private_etc(&resolv_conf, hosts, env, cmd)
}

/// Binds $1/{resolv.conf,hosts,nsswitch.conf} over /etc's, then runs the rest.
const BIND_SCRIPT: &str = r#"dir=$1; shift
for f in resolv.conf hosts nsswitch.conf; do mount --bind "$dir/$f" "/etc/$f" || exit 125; done
exec "$@""#;

/// Whether [`with_private_etc`] can run here; skips (see `util::skip`) if not.
#[track_caller]
pub fn private_etc_works() -> bool {
    static WORKS: OnceLock<Result<(), String>> = OnceLock::new();
    let works = WORKS.get_or_init(|| {
        // The test process (outside the suite's container, if any).
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("needs root to unshare a mount namespace and bind-mount files over /etc".into());
        }
        let out = bare("unshare").args(["-m", "--", "mount", "--bind", "/etc/hosts", "/etc/hosts"]).run();
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("unshare -m / mount --bind do not work here:{}", out.report()))
        }
    });
    match works {
        Ok(()) => true,
        Err(why) => {
            util::skip(why);
            false
        }
    }
}

/// Skips unless port 53 on a loopback address can be bound; the server if so.
#[track_caller]
pub fn need_port_53() -> Option<TestDns> {
    let server = TestDns::on_port_53();
    if server.is_none() {
        util::skip("needs root to listen on port 53 (resolv.conf cannot name another port)");
    }
    server
}

/// Python that resolves and connects to each `NAME:PORT` argument with
/// `socket.create_connection` and prints `ok PEER` or the failure.
pub const CONNECT_PY: &str = r#"
import socket, sys
for arg in sys.argv[1:]:
    host, port = arg.rsplit(":", 1)
    try:
        s = socket.create_connection((host, int(port)), timeout=5)
        print("ok", s.getpeername()[0])
        s.close()
    except socket.gaierror as e:
        print("unresolved", e.errno)
    except OSError as e:
        print("refused" if e.errno == 111 else "errno %d" % e.errno)
"#;

//! Installing a release (issue #16): `install.sh` and the GitHub Action that
//! runs it, against a fake release served on 127.0.0.1 — an archive holding
//! the sbx under test, and its SHA256SUMS. A download that does not match
//! must be refused with nothing installed. And `sbx --version` names the
//! commit it was built from.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::util::{Output, bare, sbx, sbx_path, skip, tempdir};

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The archive install.sh picks on this machine.
fn asset_target() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x86_64-unknown-linux-musl",
        "aarch64" => "aarch64-unknown-linux-musl",
        other => panic!("install.sh has no archive for {other}; these tests need x86_64 or aarch64"),
    }
}

fn asset_name() -> String {
    format!("sbx-{}.tar.gz", asset_target())
}

/// A release archive laid out as scripts/release-build makes it, holding the
/// sbx under test: sbx-TARGET/sbx (made once: compressing it takes seconds).
fn archive() -> Vec<u8> {
    static ARCHIVE: OnceLock<Vec<u8>> = OnceLock::new();
    ARCHIVE.get_or_init(|| archive_of(sbx_path())).clone()
}

/// A release archive whose sbx-TARGET/sbx is a copy of `binary`.
fn archive_of(binary: &Path) -> Vec<u8> {
    let stage = tempdir();
    let inner = stage.path().join(format!("sbx-{}", asset_target()));
    std::fs::create_dir(&inner).unwrap();
    std::fs::copy(binary, inner.join("sbx")).unwrap();
    let tarball = stage.path().join("release.tar.gz");
    let out = bare("tar")
        .args(["-I", "gzip -1", "-cf"])
        .arg(&tarball)
        .arg("-C")
        .arg(stage.path())
        .arg(format!("sbx-{}", asset_target()))
        .run();
    out.success();
    std::fs::read(tarball).unwrap()
}

fn sums_line(bytes: &[u8], name: &str) -> Vec<u8> {
    format!("{}  {name}\n", sbx::trust::sha256_hex(bytes)).into_bytes()
}

/// A file server on 127.0.0.1 (one thread, until dropped): `GET /PATH`
/// answers `files[PATH]`, anything else 404. It records the paths asked for.
struct Server {
    port: u16,
    asked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn new(files: HashMap<String, Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (Arc::clone(&asked), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => answer(conn, &files, &a),
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self { port, asked, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn answer(mut conn: TcpStream, files: &HashMap<String, Vec<u8>>, asked: &Mutex<Vec<String>>) {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
    asked.lock().unwrap().push(path.clone());
    let (status, body): (&str, &[u8]) = match files.get(path.trim_start_matches('/')) {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not found\n"),
    };
    let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = conn.write_all(head.as_bytes()).and_then(|()| conn.write_all(body));
}

/// `sh install.sh ARGS` with a clean environment (nothing from the caller's
/// SBX_* or GITHUB_* variables).
fn install_sh(args: &[&str]) -> Output {
    bare("sh").arg(repo_file("install.sh")).args(args).env_clear().env("PATH", "/usr/bin:/bin").run()
}

/// The release's files, under `dir/` on the server.
fn release(dir: &str, archive: &[u8], sums: &[u8]) -> HashMap<String, Vec<u8>> {
    HashMap::from([(format!("{dir}/{}", asset_name()), archive.to_vec()), (format!("{dir}/SHA256SUMS"), sums.to_vec())])
}

fn tampered(archive: &[u8]) -> Vec<u8> {
    let mut bytes = archive.to_vec();
    bytes.push(b'x');
    bytes
}

#[test]
fn install_sh_installs_a_release_whose_archive_matches_its_sums() {
    let archive = archive();
    let mut sums = b"0000000000000000000000000000000000000000000000000000000000000000  sbx-other.tar.gz\n".to_vec();
    sums.extend(sums_line(&archive, &asset_name()));
    let server = Server::new(release("v0.1.0", &archive, &sums));
    let dest = tempdir();
    let bin = dest.path().join("bin");

    let out = install_sh(&["--base-url", &server.url("/v0.1.0"), "--dir", bin.to_str().unwrap()]);
    out.success().stderr_has("matches").stderr_has("installed");
    assert_eq!(std::fs::read(bin.join("sbx")).unwrap(), std::fs::read(sbx_path()).unwrap(), "{}", out.report());
    assert_eq!(server.asked(), [format!("/v0.1.0/{}", asset_name()), "/v0.1.0/SHA256SUMS".to_owned()]);
    // The installed sbx runs.
    bare(bin.join("sbx")).arg("--version").run().success().stdout_is(&format!("sbx {}", sbx::cli::VERSION));
    // No temporary file is left next to it.
    let names: Vec<_> = std::fs::read_dir(&bin).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["sbx"]);
}

#[test]
fn install_sh_refuses_a_tampered_archive_and_installs_nothing() {
    let archive = archive();
    let server = Server::new(release("v0.1.0", &tampered(&archive), &sums_line(&archive, &asset_name())));
    let dest = tempdir();
    let bin = dest.path().join("bin");

    let out = install_sh(&["--base-url", &server.url("/v0.1.0"), "--dir", bin.to_str().unwrap()]);
    out.code(1).stderr_has("refusing to install").stderr_has(&sbx::trust::sha256_hex(&archive));
    assert!(!bin.exists(), "{} was created{}", bin.display(), out.report());
}

#[test]
fn install_sh_refuses_an_archive_the_sums_do_not_list() {
    let archive = archive();
    let sums = sums_line(&archive, "sbx-universal-apple-darwin.tar.gz");
    let server = Server::new(release("r", &archive, &sums));
    let dest = tempdir();

    let out = install_sh(&["--base-url", &server.url("/r"), "--dir", dest.path().to_str().unwrap()]);
    out.code(1).stderr_has(&format!("lists no {}", asset_name()));
    assert!(!dest.path().join("sbx").exists(), "{}", out.report());
}

#[test]
fn install_sh_with_a_pinned_hash_ignores_sums_that_vouch_for_a_swapped_archive() {
    // Archive and sums both replaced: the sums agree with the swapped
    // archive, whose "sbx" is another program.
    let archive = archive();
    let swapped = archive_of(Path::new("/bin/true"));
    let server = Server::new(release("r", &swapped, &sums_line(&swapped, &asset_name())));
    let dest = tempdir();
    let pin = sbx::trust::sha256_hex(&archive);

    let out = install_sh(&["--base-url", &server.url("/r"), "--dir", dest.path().to_str().unwrap(), "--sha256", &pin]);
    out.code(1).stderr_has("refusing to install").stderr_has(&format!("--sha256 says {pin}"));
    assert!(!dest.path().join("sbx").exists(), "{}", out.report());
    // Without the pin the swap goes through: what the sums file cannot catch.
    install_sh(&["--base-url", &server.url("/r"), "--dir", dest.path().to_str().unwrap()]).success();
    assert_eq!(std::fs::read(dest.path().join("sbx")).unwrap(), std::fs::read("/bin/true").unwrap());

    // The right archive with the pin installs without asking for SHA256SUMS.
    let server = Server::new(HashMap::from([(format!("r/{}", asset_name()), archive.clone())]));
    let dest = tempdir();
    install_sh(&["--base-url", &server.url("/r"), "--dir", dest.path().to_str().unwrap(), "--sha256", &pin]).success();
    assert_eq!(server.asked(), [format!("/r/{}", asset_name())]);
}

#[test]
fn install_sh_refuses_plain_http_beyond_loopback_and_needs_a_source() {
    let dest = tempdir();
    let dir = dest.path().to_str().unwrap();
    install_sh(&["--base-url", "http://example.com/sbx", "--dir", dir]).code(1).stderr_has("not https");
    install_sh(&["--dir", dir]).code(1).stderr_has("no repository to install from");
    install_sh(&["--repo", "../x", "--dir", dir]).code(1).stderr_has("is not OWNER/NAME");
    install_sh(&["--repo", "o/sbx", "--sha256", "abc", "--dir", dir]).code(1).stderr_has("is not a SHA-256");
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

/// The shell command of action.yml's one `run:` step.
fn action_run_line() -> String {
    let action = std::fs::read_to_string(repo_file("action.yml")).unwrap();
    let runs: Vec<&str> = action.lines().filter_map(|l| l.trim_start().strip_prefix("run: ")).collect();
    assert_eq!(runs.len(), 1, "action.yml should have one run step: {runs:?}");
    runs[0].to_owned()
}

#[test]
fn the_action_installs_from_its_own_repository_and_tag_and_extends_path() {
    // As the runner lays out `uses: owner/sbx@v0.1.0`: the action's checkout
    // at RUNNER/_actions/owner/sbx/v0.1.0, and the github.action_* contexts
    // empty (they are not promised inside composite actions).
    let archive = archive();
    let dir = "owner/sbx/releases/download/v0.1.0";
    let server = Server::new(release(dir, &archive, &sums_line(&archive, &asset_name())));
    let runner = tempdir();
    let action_path = runner.path().join("_actions/owner/sbx/v0.1.0");
    std::fs::create_dir_all(&action_path).unwrap();
    std::fs::copy(repo_file("install.sh"), action_path.join("install.sh")).unwrap();
    let temp = runner.path().join("temp");
    std::fs::create_dir(&temp).unwrap();
    let (github_path, github_output) = (runner.path().join("path.txt"), runner.path().join("output.txt"));

    let mut run = bare("sh").args(["-c", &action_run_line()]).env_clear().env("PATH", "/usr/bin:/bin");
    for (k, v) in [
        ("GITHUB_ACTION_PATH", action_path.to_str().unwrap()),
        ("RUNNER_TEMP", temp.to_str().unwrap()),
        ("GITHUB_PATH", github_path.to_str().unwrap()),
        ("GITHUB_OUTPUT", github_output.to_str().unwrap()),
        ("GITHUB_SERVER_URL", &server.url("")),
        // The action's env: its inputs (empty: the defaults) and contexts.
        ("SBX_VERSION", ""),
        ("SBX_SHA256", ""),
        ("SBX_INSTALL_DIR", ""),
        ("SBX_REPO", ""),
        ("SBX_ACTION_REPOSITORY", ""),
        ("SBX_ACTION_REF", ""),
    ] {
        run = run.env(k, v);
    }
    let out = run.run();
    out.success();
    assert_eq!(server.asked(), [format!("/{dir}/{}", asset_name()), format!("/{dir}/SHA256SUMS")]);
    let bin = temp.join("sbx/bin");
    assert_eq!(std::fs::read_to_string(&github_path).unwrap(), format!("{}\n", bin.display()));
    assert_eq!(std::fs::read_to_string(&github_output).unwrap(), format!("path={}\n", bin.join("sbx").display()));
    bare(bin.join("sbx")).arg("--version").run().success().stdout_is(&format!("sbx {}", sbx::cli::VERSION));
}

/// `git ARGS` in the source tree, or `None` (git missing, not a checkout).
fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git").arg("-C").arg(env!("CARGO_MANIFEST_DIR")).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn version_names_the_commit() {
    let out = sbx(["--version"]).run();
    out.success();
    let Some(head) = git(&["rev-parse", "HEAD"]) else {
        return skip("needs git and the source tree's history to know its commit");
    };
    // The files that build.rs counts as the binary's sources.
    let changed =
        git(&["status", "--porcelain", "--", "src", "build.rs", "Cargo.toml", "Cargo.lock"]).unwrap_or_default();
    let modified = if changed.is_empty() { "" } else { ", modified" };
    out.stdout_is(&format!("sbx {} (commit {}{modified})", env!("CARGO_PKG_VERSION"), &head[..12]));
}

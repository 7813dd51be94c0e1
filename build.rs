//! Build script: tells the crate which commit it is built from, and lets
//! `cargo build` link libseccomp on a machine that has only the runtime
//! package (`libseccomp2`: `libseccomp.so.2`, no unversioned `libseccomp.so`).
//!
//! libseccomp-sys asks the linker for `-lseccomp`, which only finds the
//! unversioned name shipped by `libseccomp-dev`. When that name is missing
//! everywhere we look but the versioned runtime library exists, we point a
//! link-search directory in OUT_DIR at it through a `libseccomp.so` symlink.
//! The binary still records `libseccomp.so.2` as its dependency (the soname).
//!
//! A musl build links libseccomp statically instead (`scripts/release-build`
//! builds `libseccomp.a` and sets `LIBSECCOMP_LINK_TYPE=static` and
//! `LIBSECCOMP_LIB_PATH`, which libseccomp-sys reads); a glibc `.so` cannot
//! serve it, so that case fails here with what to do.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const LIB_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib/arm-linux-gnueabihf",
    "/usr/lib/riscv64-linux-gnu",
    "/usr/lib/powerpc64le-linux-gnu",
    "/usr/lib/s390x-linux-gnu",
    "/usr/lib/i386-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/lib64",
    "/lib",
    "/usr/local/lib",
];

/// What goes into the binary: an uncommitted change to one of these (or an
/// untracked file among them) marks the build as modified from its commit.
const SOURCES: &[&str] = &["src", "build.rs", "Cargo.toml", "Cargo.lock"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rustc-env=SBX_BUILD_COMMIT={}", build_commit(&manifest_dir));
    link_libseccomp();
}

/// `0123456789ab` (the commit's first 12 hex digits), `0123456789ab,
/// modified` when the sources differ from it, or `unknown` (a source tree
/// without git history or cargo's `.cargo_vcs_info.json`).
fn build_commit(dir: &Path) -> String {
    // A package from a registry: `cargo package` recorded its commit.
    let vcs_info = dir.join(".cargo_vcs_info.json");
    if let Ok(text) = std::fs::read_to_string(&vcs_info) {
        println!("cargo:rerun-if-changed={}", vcs_info.display());
        return match sha1_of_vcs_info(&text) {
            Some(sha1) if text.contains("\"dirty\": true") => format!("{}, modified", &sha1[..12]),
            Some(sha1) => sha1[..12].to_owned(),
            None => "unknown".to_owned(),
        };
    }
    git_commit(dir).unwrap_or_else(|| "unknown".to_owned())
}

/// The `"sha1"` value of cargo's `.cargo_vcs_info.json` (40 hex digits).
fn sha1_of_vcs_info(text: &str) -> Option<String> {
    let after = &text[text.find("\"sha1\"")? + "\"sha1\"".len()..];
    let value = after.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let sha1 = value.get(..40)?;
    sha1.bytes().all(|b| b.is_ascii_hexdigit()).then(|| sha1.to_owned())
}

/// The commit of the git work tree whose top level is `dir` (not of some
/// repository that merely contains it, such as a home directory under git).
fn git_commit(dir: &Path) -> Option<String> {
    let toplevel = git(dir, &["rev-parse", "--show-toplevel"])?;
    if std::fs::canonicalize(toplevel).ok()? != std::fs::canonicalize(dir).ok()? {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--verify", "HEAD"])?;
    if commit.len() < 12 {
        return None;
    }
    // Rerun when HEAD moves (a commit, a checkout) or the sources change;
    // not on index updates (staging changes nothing here, and a refresh by
    // `git status` would rebuild the crate for nothing).
    let mut watched = vec![git(dir, &["rev-parse", "--path-format=absolute", "--git-path", "HEAD"])?];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.extend(git(dir, &["rev-parse", "--path-format=absolute", "--git-path", &branch]));
    }
    watched.extend(git(dir, &["rev-parse", "--path-format=absolute", "--git-path", "packed-refs"]));
    watched.extend(SOURCES.iter().map(|s| dir.join(s).display().to_string()));
    // A file that does not exist would make cargo rerun this script on every build.
    for path in watched.iter().filter(|p| Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
    // Untracked files under src count too: a module can be compiled in
    // before it is committed.
    let mut status = vec!["status", "--porcelain", "--"];
    status.extend(SOURCES);
    let changes = git(dir, &status)?;
    let short = &commit[..12];
    Some(if changes.is_empty() { short.to_owned() } else { format!("{short}, modified") })
}

/// `git ARGS` in `dir`: its trimmed output, or `None` when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

fn link_libseccomp() {
    println!("cargo:rerun-if-env-changed=LIBSECCOMP_LIB_PATH");
    println!("cargo:rerun-if-env-changed=LIBSECCOMP_LINK_TYPE");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    let given = env::var_os("LIBSECCOMP_LIB_PATH").map(PathBuf::from);
    if env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        let static_lib = given.as_ref().is_some_and(|d| d.join("libseccomp.a").exists());
        if !static_lib || env::var("LIBSECCOMP_LINK_TYPE").as_deref() != Ok("static") {
            // A build script reports a fatal error by failing; the message is what to do.
            eprintln!(
                "sbx: a musl build links libseccomp statically, and no libseccomp.a for it was given: run \
                 `scripts/release-build {target}`, or set LIBSECCOMP_LINK_TYPE=static and LIBSECCOMP_LIB_PATH to \
                 the directory of a libseccomp.a built for musl",
                target = env::var("TARGET").unwrap_or_default()
            );
            std::process::exit(1);
        }
        return;
    }
    dirs.extend(given);
    dirs.extend(LIB_DIRS.iter().map(PathBuf::from));
    if dirs.iter().any(|d| d.join("libseccomp.so").exists() || d.join("libseccomp.a").exists()) {
        return;
    }
    let Some(runtime) = dirs.iter().map(|d| d.join("libseccomp.so.2")).find(|p| p.exists()) else {
        println!(
            "cargo:warning=libseccomp not found: install the runtime package (Debian/Ubuntu: libseccomp2, Fedora: libseccomp) or set LIBSECCOMP_LIB_PATH"
        );
        return;
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("libseccomp-link");
    if let Err(e) = link_dir(&out, &runtime) {
        println!("cargo:warning=could not prepare libseccomp link directory {}: {e}", out.display());
        return;
    }
    println!("cargo:rustc-link-search=native={}", out.display());
}

fn link_dir(out: &Path, runtime: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let link = out.join("libseccomp.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(runtime, link)
}

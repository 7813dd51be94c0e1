//! Lets `cargo build` link libseccomp on a machine that has only the runtime
//! package (`libseccomp2`: `libseccomp.so.2`, no unversioned `libseccomp.so`).
//!
//! libseccomp-sys asks the linker for `-lseccomp`, which only finds the
//! unversioned name shipped by `libseccomp-dev`. When that name is missing
//! everywhere we look but the versioned runtime library exists, we point a
//! link-search directory in OUT_DIR at it through a `libseccomp.so` symlink.
//! The binary still records `libseccomp.so.2` as its dependency (the soname).

use std::env;
use std::path::{Path, PathBuf};

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

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBSECCOMP_LIB_PATH");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(p) = env::var_os("LIBSECCOMP_LIB_PATH") {
        dirs.push(PathBuf::from(p));
    }
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

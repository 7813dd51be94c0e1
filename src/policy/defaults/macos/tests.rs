//! The macOS defaults that depend on the Mac, from given facts: pure, run on
//! every platform.

use std::path::{Path, PathBuf};

use super::*;

fn facts(temp: &str, cache: &str, developer: &str) -> Facts {
    let some = |p: &str| (!p.is_empty()).then(|| PathBuf::from(p));
    Facts { user_temp: some(temp), user_cache: some(cache), developer_dir: some(developer), home: some("/Users/me") }
}

#[test]
fn per_user_directories_are_writable_and_the_developer_bundle_readable() {
    let got = extra_paths(&facts(
        "/private/var/folders/xy/abc/T",
        "/private/var/folders/xy/abc/C",
        "/Applications/Xcode-beta.app/Contents/Developer",
    ));
    let paths: Vec<(&Path, Access)> = got.iter().map(|(p, a, _)| (p.as_path(), *a)).collect();
    assert_eq!(
        paths,
        [
            (Path::new("/private/var/folders/xy/abc/T"), Access::Write),
            (Path::new("/private/var/folders/xy/abc/C"), Access::Write),
            (Path::new("/Applications/Xcode-beta.app"), Access::Read),
        ]
    );
    assert!(got[1].2.contains("module caches"), "{got:?}");
}

#[test]
fn the_developer_root_is_the_app_bundle_or_the_directory() {
    assert_eq!(
        developer_root(Path::new("/Applications/Xcode.app/Contents/Developer")),
        Path::new("/Applications/Xcode.app")
    );
    assert_eq!(
        developer_root(Path::new("/Library/Developer/CommandLineTools")),
        Path::new("/Library/Developer/CommandLineTools")
    );
    // The innermost bundle: a developer directory inside an app inside an app.
    assert_eq!(
        developer_root(Path::new("/Applications/Outer.app/Contents/Xcode.app/Contents/Developer")),
        Path::new("/Applications/Outer.app/Contents/Xcode.app")
    );
}

#[test]
fn nothing_that_is_root_or_holds_the_home_directory_is_granted() {
    // A DEVELOPER_DIR of / or the home directory, or a relative one, grants nothing.
    for developer in ["/", "/Users", "/Users/me", "relative/dir"] {
        let got = extra_paths(&facts("", "", developer));
        assert!(got.is_empty(), "{developer}: {got:?}");
    }
    assert!(extra_paths(&facts("", "", "")).is_empty());
    assert_eq!(extra_paths(&facts("", "", "/Users/me/Xcode.app/Contents/Developer")).len(), 1);
}

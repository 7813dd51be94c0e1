//! The child's environment, built explicitly (sbx never changes its own):
//! everything under the default, or under `--deny-env` only the base variables
//! and the `--allow-env` glob matches. Names and values that are not UTF-8
//! pass through untouched.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use anyhow::{Context, Result};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// Variables kept under `--deny-env`, as mise does.
pub const BASE_VARS: &[&str] = &["PATH", "HOME", "USER", "SHELL", "TERM", "COLORTERM", "LANG"];

/// Which variables reach the child.
#[derive(Debug, Clone)]
pub enum EnvPolicy {
    /// The caller's whole environment.
    Inherit,
    /// Only [`BASE_VARS`] and names matching one of these patterns.
    Filter { patterns: Vec<String>, set: GlobSet },
}

impl EnvPolicy {
    /// A filter from `--allow-env` patterns: `*` any run of characters, `?` one
    /// character; everything else literal (so `[` or `{` in a name mean themselves).
    pub fn filter(patterns: &[String]) -> Result<Self> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            builder.add(glob(pattern)?);
        }
        let set = builder.build().context("building the --allow-env patterns")?;
        Ok(Self::Filter { patterns: patterns.to_vec(), set })
    }

    /// Whether the variable `name` reaches the child.
    pub fn keeps(&self, name: &std::ffi::OsStr) -> bool {
        match self {
            Self::Inherit => true,
            Self::Filter { set, .. } => {
                BASE_VARS.iter().any(|base| base.as_bytes() == name.as_bytes())
                    || set.is_match(std::path::Path::new(name))
            }
        }
    }

    /// The child's environment out of `vars` (normally `std::env::vars_os()`).
    pub fn apply<I: IntoIterator<Item = (OsString, OsString)>>(&self, vars: I) -> Vec<(OsString, OsString)> {
        vars.into_iter().filter(|(name, _)| self.keeps(name)).collect()
    }
}

fn glob(pattern: &str) -> Result<Glob> {
    let mut escaped = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '*' | '?' => escaped.push(c),
            '[' | ']' | '{' | '}' | '\\' | '!' => {
                escaped.push('[');
                escaped.push(c);
                escaped.push(']');
            }
            _ => escaped.push(c),
        }
    }
    GlobBuilder::new(&escaped)
        .literal_separator(false)
        .backslash_escape(false)
        .build()
        .with_context(|| format!("invalid --allow-env pattern {pattern:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn vars(list: &[(&[u8], &[u8])]) -> Vec<(OsString, OsString)> {
        list.iter().map(|(k, v)| (OsStr::from_bytes(k).to_owned(), OsStr::from_bytes(v).to_owned())).collect()
    }

    #[test]
    fn keeps_base_and_globs() {
        let policy = EnvPolicy::filter(&["AWS_*".into(), "X?".into()]).unwrap();
        let out = policy.apply(vars(&[
            (b"PATH", b"/bin"),
            (b"AWS_KEY", b"k"),
            (b"AWS", b"no"),
            (b"XY", b"1"),
            (b"XYZ", b"no"),
            (b"SECRET", b"no"),
            (b"LANG", b"\xff\xfe"),
        ]));
        let names: Vec<_> = out.iter().map(|(k, _)| k.to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["PATH", "AWS_KEY", "XY", "LANG"], "{out:?}");
        assert_eq!(out[3].1.as_bytes(), b"\xff\xfe");
    }

    #[test]
    fn brackets_are_literal() {
        let policy = EnvPolicy::filter(&["A[B]".into(), "C{D,E}".into()]).unwrap();
        assert!(policy.keeps(OsStr::new("A[B]")));
        assert!(!policy.keeps(OsStr::new("AB")));
        assert!(policy.keeps(OsStr::new("C{D,E}")));
        assert!(!policy.keeps(OsStr::new("CD")));
    }

    #[test]
    fn star_crosses_slashes_and_non_utf8_names() {
        let policy = EnvPolicy::filter(&["A*".into()]).unwrap();
        assert!(policy.keeps(OsStr::new("A/B")));
        assert!(policy.keeps(OsStr::from_bytes(b"A\xff")));
        assert!(!policy.keeps(OsStr::from_bytes(b"\xffA")));
    }

    #[test]
    fn inherit_keeps_everything() {
        assert!(EnvPolicy::Inherit.keeps(OsStr::new("ANYTHING")));
    }
}

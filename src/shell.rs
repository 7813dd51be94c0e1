//! Command lines as POSIX `sh` reads them: each argument single-quoted where
//! it needs to be, so that pasting the line runs exactly these arguments.
//!
//! Guarantees: `sh -c LINE` splits [`line`]'s result back into the same
//! arguments, byte for byte (newlines and bytes that are not UTF-8 included);
//! an argument made only of characters no shell treats specially is left
//! bare.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Whether `byte` may stand unquoted anywhere but in the first word
/// (where `=` would make an assignment).
fn plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'/' | b'=' | b':' | b',' | b'+' | b'@' | b'%')
}

/// `arg` as one shell word: bare if every byte is [`plain`], else in single
/// quotes, each `'` written `'\''`.
pub fn quote_bytes(arg: &[u8]) -> Vec<u8> {
    if !arg.is_empty() && arg.iter().copied().all(plain) {
        return arg.to_vec();
    }
    let mut out = Vec::with_capacity(arg.len() + 2);
    out.push(b'\'');
    for &byte in arg {
        if byte == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(byte);
        }
    }
    out.push(b'\'');
    out
}

/// [`quote_bytes`] for text.
pub fn quote(arg: &str) -> String {
    String::from_utf8(quote_bytes(arg.as_bytes()))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The arguments as one command line, each quoted where needed, separated
/// by spaces. An argument holding a newline keeps it (inside its quotes):
/// the line is exact, not necessarily one line.
pub fn line<'a>(args: impl IntoIterator<Item = &'a OsStr>) -> OsString {
    let words: Vec<Vec<u8>> = args.into_iter().map(|a| quote_bytes(a.as_bytes())).collect();
    OsString::from_vec(words.join(&b' '))
}

/// The arguments as one line of text for messages: like [`line`], but an
/// argument holding a control character or bytes that are not UTF-8 is
/// written in `$'…'` form (`\n`, `\t`, `\xHH`), which bash, zsh, ksh and
/// POSIX.1-2024 sh read back as the same bytes.
pub fn one_line<'a>(args: impl IntoIterator<Item = &'a OsStr>) -> String {
    let words: Vec<String> = args
        .into_iter()
        .map(|arg| match arg.to_str() {
            Some(text) if !text.chars().any(char::is_control) => quote(text),
            _ => dollar_quote(arg.as_bytes()),
        })
        .collect();
    words.join(" ")
}

/// `$'…'`: printable ASCII as itself (`\` and `'` escaped), the rest as
/// escapes; UTF-8 text other than control characters kept as it is.
fn dollar_quote(arg: &[u8]) -> String {
    let mut out = String::from("$'");
    for chunk in arg.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{byte:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&[u8]]) -> Vec<OsString> {
        args.iter().map(|a| OsStr::from_bytes(a).to_owned()).collect()
    }

    #[test]
    fn plain_words_stay_bare_and_the_rest_is_single_quoted() {
        let args = os(&[b"sh", b"-c", b"rm -rf .venv && python3 -m venv .venv", b"", b"it's", b"a=b:c,d@e%f+g"]);
        let shown = line(args.iter().map(OsString::as_os_str));
        assert_eq!(
            shown.to_str().unwrap(),
            r"sh -c 'rm -rf .venv && python3 -m venv .venv' '' 'it'\''s' a=b:c,d@e%f+g"
        );
    }

    #[test]
    fn words_a_shell_would_expand_are_quoted() {
        for word in
            ["$HOME", "~", "~/x", "#x", "a*", "a?", "[a]", "{a,b}", "a;b", "a|b", "a&b", "`x`", "a\\b", "!x", "a b"]
        {
            assert_eq!(quote(word), format!("'{word}'"), "{word}");
        }
    }

    #[test]
    fn newlines_and_other_bytes_are_kept_exactly() {
        let args = os(&[b"printf", b"a\nb", b"\xff\xfe"]);
        let shown = line(args.iter().map(OsString::as_os_str));
        assert_eq!(shown.as_bytes(), b"printf 'a\nb' '\xff\xfe'");
    }

    #[test]
    fn one_line_escapes_control_characters_and_foreign_bytes() {
        let args = os(&[b"echo", b"a\nb", b"\xffx", b"it's \\ \x1b", "caf\u{e9}".as_bytes(), b"a b"]);
        assert_eq!(
            one_line(args.iter().map(OsString::as_os_str)),
            r"echo $'a\nb' $'\xffx' $'it\'s \\ \x1b' 'café' 'a b'"
        );
    }
}

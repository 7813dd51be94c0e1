//! Generated documentation stays in step with the clap definition
//! (`sbx::cli::Cli::definition()`): the man page, the shell completions and
//! the README's flag table are generated from it and checked in. Each test
//! regenerates one and compares; `SBX_BLESS=1 cargo test --test all docs::`
//! rewrites the checked-in files instead.

use std::path::{Path, PathBuf};

use clap::Command;
use clap_complete::Shell;

const BLESS: &str = "SBX_BLESS=1 cargo test --test all docs::";

fn definition() -> Command {
    let mut cmd = sbx::cli::Cli::definition();
    cmd.build();
    cmd
}

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn blessing() -> bool {
    std::env::var_os("SBX_BLESS").is_some_and(|v| v == "1")
}

/// Compares `generated` with the checked-in `relative`, or rewrites it under
/// `SBX_BLESS=1`.
#[track_caller]
fn check(relative: &str, generated: &str) {
    let path = repo_file(relative);
    if blessing() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&path, generated).unwrap();
        eprintln!("blessed {relative}");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{relative} cannot be read ({e}); generate it from the clap definition with: {BLESS}")
    });
    if current != generated {
        let line = current
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| current.lines().count().min(generated.lines().count()) + 1, |i| i + 1);
        panic!(
            "{relative} is out of date with the clap definition in src/cli.rs (first difference at line {line}); \
             regenerate it with: {BLESS}\n--- checked in, line {line}:\n{}\n--- generated, line {line}:\n{}",
            current.lines().nth(line - 1).unwrap_or("(end of file)"),
            generated.lines().nth(line - 1).unwrap_or("(end of file)"),
        );
    }
}

/// Escapes text for a roff text line (the whole paragraph on one line).
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', r"\e").replace('-', r"\-").replace('\'', r"\*(Aq");
    if escaped.starts_with('.') { format!(r"\&{escaped}") } else { escaped }
}

/// The man page: clap_mangen's rendering, with the long after-help paragraphs
/// ("Exit status: …", "Network: …", "Environment: …") as sections of their own instead of
/// clap_mangen's catch-all EXTRA, and a SEE ALSO section.
fn man_page() -> String {
    let cmd = definition();
    let after_help = cmd.get_after_long_help().map(|s| s.to_string()).unwrap_or_default();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.after_help(None).after_long_help(None)).render(&mut page).unwrap();
    let page = String::from_utf8(page).unwrap();

    let mut extra = String::new();
    for paragraph in after_help.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        let (heading, body) = match paragraph.split_once(": ") {
            Some((heading, body)) if !heading.is_empty() && heading.chars().all(|c| c.is_alphabetic() || c == ' ') => {
                let mut body = body.to_owned();
                if let Some(first) = body.get(..1) {
                    body.replace_range(..1, &first.to_uppercase());
                }
                (heading.to_uppercase(), body)
            }
            _ => ("NOTES".to_owned(), paragraph.clone()),
        };
        extra.push_str(&format!(".SH \"{heading}\"\n{}\n", roff_text(&body)));
    }
    extra.push_str(".SH \"SEE ALSO\"\n.BR landlock (7),\n.BR seccomp (2),\n.BR prctl (2)\n");

    match page.find(".SH VERSION\n") {
        Some(at) => format!("{}{extra}{}", &page[..at], &page[at..]),
        None => format!("{page}{extra}"),
    }
}

fn completion(shell: Shell) -> String {
    let mut cmd = definition();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "sbx", &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn man_page_is_current() {
    check("man/sbx.1", &man_page());
}

/// The man page of sbx's action `name` (`sbx-learn(1)`), which sbx(1) names.
fn action_man_page(name: &str) -> String {
    let mut cmd = definition();
    cmd.build();
    let action = cmd.find_subcommand(name).unwrap_or_else(|| panic!("no action {name}")).clone();
    let mut page = Vec::new();
    let (page_name, bin_name): (&'static str, &'static str) = match name {
        "trust" => ("sbx-trust", "sbx trust"),
        _ => ("sbx-learn", "sbx learn"),
    };
    clap_mangen::Man::new(action.name(page_name).bin_name(bin_name)).render(&mut page).unwrap();
    String::from_utf8(page).unwrap()
}

#[test]
fn action_man_pages_are_current() {
    for name in ["trust", "learn"] {
        check(&format!("man/sbx-{name}.1"), &action_man_page(name));
    }
}

#[test]
fn bash_completion_is_current() {
    check("completions/sbx.bash", &completion(Shell::Bash));
}

#[test]
fn zsh_completion_is_current() {
    check("completions/_sbx", &completion(Shell::Zsh));
}

#[test]
fn fish_completion_is_current() {
    check("completions/sbx.fish", &completion(Shell::Fish));
}

const TABLE_START: &str =
    "<!-- flags: generated from src/cli.rs; regenerate with SBX_BLESS=1 cargo test --test all docs:: -->";
const TABLE_END: &str = "<!-- end of flags -->";

/// The README's flag table: every option, grouped under its --help heading in
/// --help's order, with its --help text.
fn flag_table() -> String {
    let cmd = definition();
    let options: Vec<_> = cmd.get_arguments().filter(|a| !a.is_positional() && !a.is_hide_set()).collect();
    let mut headings: Vec<Option<&str>> = Vec::new();
    for arg in &options {
        if !headings.contains(&arg.get_help_heading()) {
            headings.push(arg.get_help_heading());
        }
    }
    // As --help shows them: options without a heading first (a stable sort).
    headings.sort_by_key(|heading| heading.is_some());
    let mut out = String::new();
    for heading in headings {
        out.push_str(&format!("\n| {} | |\n| --- | --- |\n", heading.unwrap_or("Options")));
        for arg in options.iter().filter(|a| a.get_help_heading() == heading) {
            let mut name = String::new();
            if let Some(short) = arg.get_short() {
                name.push_str(&format!("-{short}, "));
            }
            name.push_str(&format!("--{}", arg.get_long().unwrap_or_default()));
            if arg.get_action().takes_values() {
                for value in arg.get_value_names().unwrap_or_default() {
                    name.push_str(&format!("={value}"));
                }
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default().replace('|', r"\|");
            out.push_str(&format!("| `{name}` | {help} |\n"));
        }
    }
    out
}

#[test]
fn readme_flag_table_is_current() {
    let path = repo_file("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (readme.find(TABLE_START), readme.find(TABLE_END)) else {
        panic!("README.md lacks the flag table markers:\n{TABLE_START}\n{TABLE_END}");
    };
    assert!(start < end, "README.md: the flag table markers are out of order");
    let body_start = start + TABLE_START.len();
    let generated = format!("{}{}\n{}", &readme[..body_start], flag_table(), &readme[end..]);
    check("README.md", &generated);
}

/// Every test ESCAPES.md names as evidence (`FILE::NAME`) exists in
/// tests/suite/FILE.rs, so a renamed or removed test cannot leave the
/// claim standing without proof.
#[test]
fn escapes_md_names_existing_tests() {
    let escapes = std::fs::read_to_string(repo_file("ESCAPES.md")).unwrap();
    let mut named = 0;
    for cite in escapes.split('`').skip(1).step_by(2) {
        let Some((file, name)) = cite.split_once("::") else { continue };
        if !file.chars().all(|c| c.is_ascii_lowercase()) || name.is_empty() {
            continue;
        }
        let source = std::fs::read_to_string(repo_file(&format!("tests/suite/{file}.rs")))
            .unwrap_or_else(|e| panic!("ESCAPES.md cites {cite}, but tests/suite/{file}.rs cannot be read: {e}"));
        assert!(source.contains(&format!("fn {name}(")), "ESCAPES.md cites {cite}, which tests/suite/{file}.rs lacks");
        named += 1;
    }
    assert!(named > 30, "ESCAPES.md cites only {named} tests");
}

/// Every claim of ESCAPES.md names its proof: each row of the technique
/// tables, and each vector of "What closes each vector", cites at least one
/// test (`FILE::NAME`, checked to exist by `escapes_md_names_existing_tests`).
#[test]
fn every_escapes_md_row_names_a_test() {
    let escapes = std::fs::read_to_string(repo_file("ESCAPES.md")).unwrap();
    let section = |heading: &str| {
        let start = escapes.find(heading).unwrap_or_else(|| panic!("ESCAPES.md lost its section {heading:?}"));
        let rest = &escapes[start + heading.len()..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
    };
    let cites_a_test = |claim: &str| {
        claim.split('`').skip(1).step_by(2).any(|cite| {
            cite.split_once("::").is_some_and(|(file, name)| {
                !file.is_empty() && file.chars().all(|c| c.is_ascii_lowercase()) && !name.is_empty()
            })
        })
    };
    let rows: Vec<String> = section("\n## Techniques\n")
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| technique ") && !l.starts_with("| ---"))
        .map(str::to_owned)
        .collect();
    // Bullets run on over several lines, up to the next bullet or blank line.
    let mut vectors: Vec<String> = Vec::new();
    for line in section("\n## What closes each vector").lines() {
        if line.starts_with("- ") {
            vectors.push(line.to_owned());
        } else if line.starts_with("  ") && !vectors.is_empty() {
            let last = vectors.last_mut().unwrap();
            last.push(' ');
            last.push_str(line.trim());
        }
    }
    assert!(
        rows.len() > 40 && vectors.len() > 5,
        "{} rows, {} vectors read from ESCAPES.md",
        rows.len(),
        vectors.len()
    );
    let unproven: Vec<&String> = rows.iter().chain(&vectors).filter(|claim| !cites_a_test(claim)).collect();
    assert!(
        unproven.is_empty(),
        "ESCAPES.md claims without a test:\n{}",
        unproven.iter().map(|c| format!("  {c}\n")).collect::<String>()
    );
}

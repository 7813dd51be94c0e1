//! The command line itself: a consistent clap definition, `--help` that lists
//! every flag, `--version`.

use super::util::sbx;

#[test]
fn definition_is_consistent() {
    sbx::cli::Cli::definition().debug_assert();
}

#[test]
fn help_exits_0_and_lists_every_flag() {
    let definition = sbx::cli::Cli::definition();
    let longs: Vec<String> =
        definition.get_arguments().filter_map(|a| a.get_long()).map(|l| format!("--{l}")).collect();
    // The definition has the flags this suite relies on (so the loop below is not vacuous).
    for expected in ["--deny-read", "--deny-write", "--deny-net", "--deny-env", "--deny-all", "--allow-read"] {
        assert!(longs.iter().any(|l| l == expected), "{expected} missing from the definition: {longs:?}");
    }
    for flag in ["--help", "-h"] {
        let out = sbx([flag]).run();
        out.success();
        assert!(out.stderr.is_empty(), "{}", out.report());
        for long in &longs {
            out.stdout_has(long);
        }
        for long in ["--help", "--version", "--allow-write", "--allow-net", "--allow-env", "--best-effort", "--verbose"]
        {
            out.stdout_has(long);
        }
        out.stdout_has("COMMAND");
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let out = sbx(["--help"]).run();
    out.success();
    for code in ["125", "126", "127"] {
        out.stdout_has(code);
    }
}

#[test]
fn version_exits_0() {
    for flag in ["--version", "-V"] {
        let out = sbx([flag]).run();
        // What the version names is checked in release::version_names_the_commit.
        out.success().stdout_is(&format!("sbx {}", sbx::cli::VERSION));
        assert!(out.stderr.is_empty(), "{}", out.report());
    }
}

#[test]
fn help_after_command_belongs_to_the_command() {
    // `sbx echo --help` runs `echo --help`; it does not print sbx's help.
    let out = sbx([super::util::any_restriction(), "sh", "-c", "echo \"$@\"", "sh", "--help", "--version"]).run();
    out.success().stdout_is("--help --version");
}

//! `sbx`: parse the command line, run the sandboxed command, exit as it did.

fn main() {
    let code = sbx::run(std::env::args_os());
    sbx::exit::exit_with(code)
}

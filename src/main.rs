//! The `bankscore` command: parse the arguments and run the command (one module per command in
//! `src/cli/`). An error reaches the user as one line, its causes joined with `: `, whatever
//! `RUST_BACKTRACE` says, and the exit status is 1.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    match cli::Cli::parse().run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli::one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

//! The `pxos` command-line tool: a thin layer over the `pxos` library (see `cli/`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

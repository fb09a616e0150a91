//! `pxos asm` and `pxos disasm`.

use anyhow::Result;
use clap::Args;
use pxos::runtime::kernel;
use pxos::util::userfile;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct AsmArgs {
    /// The assembly source.
    input: PathBuf,
    /// Where to write the bytecode (default: the input with a .bin extension).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DisasmArgs {
    /// Bytecode to disassemble (a .asm file is assembled first).
    input: PathBuf,
}

pub fn asm(args: AsmArgs) -> Result<ExitCode> {
    if !kernel::is_assembly(&args.input) {
        anyhow::bail!(
            "{} does not end in .asm; `pxos asm` assembles source files",
            args.input.display()
        );
    }
    let output = args
        .output
        .unwrap_or_else(|| args.input.with_extension("bin"));
    userfile::check_distinct(&[("-o", &output)], &[("the source file", &args.input)])?;
    let bytes = kernel::load(&args.input)?;
    userfile::write_output(&output, &bytes)?;
    println!(
        "assembled {} -> {} ({} bytes)",
        args.input.display(),
        output.display(),
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn disasm(args: DisasmArgs) -> Result<ExitCode> {
    // As `run` and `register` read a kernel: an empty one is refused, not listed.
    let bytes = kernel::load(&args.input)?;
    print!("{}", pxvm::disasm::disassemble(&bytes));
    Ok(ExitCode::SUCCESS)
}

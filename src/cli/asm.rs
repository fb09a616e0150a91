//! `pxos asm` and `pxos disasm`.

use anyhow::{Context, Result};
use clap::Args;
use pxos::kernel;
use pxvm::MEM_SIZE;
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
    let bytes = kernel::load(&args.input)?;
    let output = args
        .output
        .unwrap_or_else(|| args.input.with_extension("bin"));
    std::fs::write(&output, &bytes)
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "assembled {} -> {} ({} bytes)",
        args.input.display(),
        output.display(),
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn disasm(args: DisasmArgs) -> Result<ExitCode> {
    let bytes = if kernel::is_assembly(&args.input) {
        kernel::load(&args.input)?
    } else {
        let size = std::fs::metadata(&args.input)
            .with_context(|| format!("cannot read {}", args.input.display()))?
            .len();
        if size > MEM_SIZE as u64 {
            anyhow::bail!(
                "{}: {size} bytes; bytecode is at most {MEM_SIZE} bytes",
                args.input.display()
            );
        }
        std::fs::read(&args.input)
            .with_context(|| format!("cannot read {}", args.input.display()))?
    };
    print!("{}", pxvm::disasm::disassemble(&bytes));
    Ok(ExitCode::SUCCESS)
}

//! Command-line parsing (clap) and dispatch to one module per subcommand. Errors are
//! reported as `pxos: <message>` on stderr with exit status 2 (bad usage or input) —
//! clap's usage errors included — each cause printed once; a kernel that ran, whatever
//! its exit, gives status 0. A closed standard output (`pxos disasm k.bin | head -1`)
//! ends pxos quietly, as it ends other Unix tools: see [`restore_sigpipe`].

mod asm;
mod batch;
mod bench;
mod boot;
mod demo;
mod evolve;
mod evolve_islands;
mod evolve_suite;
mod fuzz;
mod manage;
mod pipeline;
mod run;
mod versions;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// pxOS: run, assemble and inspect self-evolving pxVM kernels.
#[derive(Debug, Parser)]
#[command(name = "pxos", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Assemble a .asm file to bytecode.
    Asm(asm::AsmArgs),
    /// Disassemble bytecode (or a .asm file) to an annotated listing.
    Disasm(asm::DisasmArgs),
    /// The seed's self-evolution demonstration, end to end: v1.0 boots, asks to become
    /// v2.0, the host replaces it atomically and reboots; both outputs rendered to PNG.
    Demo(demo::DemoArgs),
    /// Boot a kernel (.asm or bytecode) on a fresh machine and run it.
    Run(run::RunArgs),
    /// Run generated programs on every engine until time is up; report divergences.
    Fuzz(fuzz::FuzzArgs),
    /// Benchmark the engines on the kernel suite against native references.
    Bench(bench::BenchArgs),
    /// Run many kernels headless, one JSON line each; resumable and shardable.
    Batch(batch::BatchArgs),
    /// Combine batch outputs (e.g. shards) into one, sorted by kernel.
    Merge(batch::MergeArgs),
    /// Evolve kernels toward a goal (output lines, a picture, or speed).
    Evolve(Box<evolve::EvolveArgs>),
    /// Boot the store's current kernel; take its replacement requests, generation after
    /// generation, rolling back a new version that fails.
    Boot(boot::BootArgs),
    /// List the store's versions (or `versions tree`: the lineage).
    Versions(versions::VersionsArgs),
    /// Add a kernel (.asm or bytecode) to the store as a new version and make it current.
    Register(manage::RegisterArgs),
    /// Make another version current.
    Switch(manage::SwitchArgs),
    /// Make an ancestor of the current version current again.
    Rollback(manage::RollbackArgs),
    /// Check the store and repair what can be repaired.
    Verify(manage::VerifyArgs),
    /// The evolution pipeline as a service: take kernels dropped into build/, validate and
    /// A/B-test them, start their staged rollout inside evolution windows, evolve in the
    /// background.
    Watch(pipeline::WatchArgs),
    /// A/B-test two kernels over a workload: outputs, cycles, memory, verdict.
    Ab(pipeline::AbArgs),
    /// Show or change the store's evolution policy (policy.json).
    Policy(pipeline::PolicyArgs),
    /// Where the evolution pipeline stands: current, canary, candidates, windows.
    Status(pipeline::StatusArgs),
}

/// Let a write to a closed pipe end the process quietly (SIGPIPE's default action), as in
/// other Unix tools, instead of failing every `println!` with a panic. The Rust runtime
/// ignores SIGPIPE before `main`; this puts the default back, once, for every command.
/// The store stays whole: its writes are atomic and crash-safe, and an end by SIGPIPE is
/// no different from a kill.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called at the start of `main`, before any other thread exists; setting
    // SIGPIPE's disposition to SIG_DFL installs no handler, so no Rust code runs in
    // signal context.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Standard output that cannot be written (`> /dev/full`, a disk full) makes `println!`
/// panic; every command prints through it, so the answer is given here, once: the panic
/// becomes `pxos: cannot write to standard output: …` and exit status 2, with no
/// backtrace. (A closed pipe ends pxos by SIGPIPE before any of this, see above.)
fn stdout_errors_end_quietly() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if let Some(cause) = message.strip_prefix("failed printing to stdout: ") {
            eprintln!("pxos: cannot write to standard output: {cause}");
            std::process::exit(2);
        }
        default(info)
    }));
}

/// `err` and its causes, each said once: a cause whose text the message already holds
/// (a library error that prints its source, wrapped in context that does too) is skipped.
pub fn describe(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message += ": ";
            message += &text;
        }
    }
    message
}

/// Parse the command line; clap's own errors are printed as `pxos: ...` (exit status 2),
/// help and version as clap prints them (exit status 0).
fn parse() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            Err(ExitCode::SUCCESS)
        }
        Err(err)
            if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            // `pxos` alone: the help, as clap prints it, and the usage-error status.
            let _ = err.print();
            Err(ExitCode::from(2))
        }
        Err(err) => {
            let text = err.render().to_string();
            let text = text.trim_end();
            let text = text.strip_prefix("error: ").unwrap_or(text);
            eprintln!("pxos: {text}");
            Err(ExitCode::from(2))
        }
    }
}

pub fn main() -> ExitCode {
    restore_sigpipe();
    stdout_errors_end_quietly();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = match cli.command {
        Command::Asm(args) => asm::asm(args),
        Command::Disasm(args) => asm::disasm(args),
        Command::Demo(args) => demo::demo(args),
        Command::Run(args) => run::run(args),
        Command::Fuzz(args) => fuzz::fuzz(args),
        Command::Bench(args) => bench::bench(args),
        Command::Batch(args) => batch::batch(args),
        Command::Merge(args) => batch::merge(args),
        Command::Evolve(args) => evolve::evolve(*args),
        Command::Boot(args) => boot::boot(args),
        Command::Versions(args) => versions::versions(args),
        Command::Register(args) => manage::register(args),
        Command::Switch(args) => manage::switch(args),
        Command::Rollback(args) => manage::rollback(args),
        Command::Verify(args) => manage::verify(args),
        Command::Watch(args) => pipeline::watch(args),
        Command::Ab(args) => pipeline::ab(args),
        Command::Policy(args) => pipeline::policy(args),
        Command::Status(args) => pipeline::status(args),
    };
    // What is still buffered must reach its destination too, or be reported.
    let flushed = std::io::Write::flush(&mut std::io::stdout());
    match (result, flushed) {
        (Err(err), _) => {
            eprintln!("pxos: {}", describe(&err));
            ExitCode::from(2)
        }
        (Ok(_), Err(err)) => {
            eprintln!("pxos: cannot write to standard output: {err}");
            ExitCode::from(2)
        }
        (Ok(code), Ok(())) => code,
    }
}

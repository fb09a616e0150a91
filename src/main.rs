//! The `pxos` command-line tool: a thin layer over the `pxos` library (see `cli/`).

mod cli;

/// mimalloc: evolution allocates and frees a genome and its items per child on every
/// thread, and the system allocator's cross-thread frees were a measurable part of a
/// generation (the log's evaluations/s rose by about 8 % on 2 cores with it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}

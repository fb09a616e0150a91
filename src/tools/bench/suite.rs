//! The benchmark kernel suite: each kernel's source (compiled into the binary, so
//! `pxos bench` runs from any folder), the problem size used for timing, its native
//! reference (step by step; it also gives the output every engine must produce) and,
//! where LLVM changes the algorithm when left free, the unconstrained native reference.

use super::native;

/// Address of the problem-size word in every parameterised bench kernel
/// (`JMP START` is 5 bytes, then `N: .word …`).
pub const PARAM_ADDR: usize = 5;

/// One benchmark kernel.
#[derive(Clone, Copy, Debug)]
pub struct BenchKernel {
    /// Short name (`countdown`, `sieve`, ...).
    pub name: &'static str,
    /// What it exercises, for the report.
    pub what: &'static str,
    /// Assembly source.
    pub source: &'static str,
    /// The problem size written at [`PARAM_ADDR`] for timing (`None`: not parameterised).
    pub param: Option<i32>,
    /// The native reference, given the problem size; `None` for kernels with no
    /// algorithmic core to compare (the seed's v1.0 kernel).
    pub native: Option<fn(i32) -> i32>,
    /// The unconstrained native reference ([`native::optimised`]: LLVM free to vectorise
    /// and restructure), for kernels where that changes the algorithm; reported as
    /// `native-optimised` next to `native`.
    pub native_optimised: Option<fn(i32) -> i32>,
}

macro_rules! kernel {
    ($name:literal, $what:literal, $param:expr, $native:expr) => {
        kernel!(@ $name, $what, $param, $native, None)
    };
    ($name:literal, $what:literal, $param:expr, $native:expr, $optimised:expr) => {
        kernel!(@ $name, $what, $param, $native, Some($optimised))
    };
    (@ $name:literal, $what:literal, $param:expr, $native:expr, $optimised:expr) => {
        BenchKernel {
            name: $name,
            what: $what,
            source: include_str!(concat!("../../../kernels/bench/", $name, ".asm")),
            param: Some($param),
            native: Some($native),
            native_optimised: $optimised,
        }
    };
}

/// The suite, in report order.
pub const SUITE: &[BenchKernel] = &[
    kernel!(
        "countdown",
        "SUB/CMP/JZ loop",
        30_000_000,
        native::countdown
    ),
    kernel!(
        "fib_iter",
        "iterative Fibonacci",
        10_000_000,
        native::fib_iter
    ),
    kernel!(
        "fib_rec",
        "recursive Fibonacci (CALL/RET)",
        27,
        native::fib_rec,
        native::optimised::fib_rec
    ),
    kernel!(
        "sieve",
        "sieve of Eratosthenes (LDB/STB)",
        40,
        native::sieve,
        native::optimised::sieve
    ),
    kernel!(
        "matmul",
        "32x32 matrix multiply (LDW/STW/MUL)",
        80,
        native::matmul,
        native::optimised::matmul
    ),
    kernel!(
        "memcpy",
        "32 KiB moved per repetition (LDW/STW)",
        400,
        native::memcpy,
        native::optimised::memcpy
    ),
    kernel!(
        "syscall_loop",
        "host round trip per iteration",
        2_000_000,
        native::syscall_loop
    ),
    kernel!(
        "self_patch_loop",
        "rewrites its own code every iteration",
        5_000_000,
        native::self_patch_loop
    ),
    BenchKernel {
        name: "kernel_v1",
        what: "the seed's v1.0 kernel: boot, draw, request evolution",
        source: include_str!("../../../kernels/kernel_v1.asm"),
        param: None,
        native: None,
        native_optimised: None,
    },
];

impl BenchKernel {
    /// The bytecode with problem size `param` (if the kernel takes one).
    pub fn bytecode(&self, param: Option<i32>) -> Result<Vec<u8>, pxvm::asm::AsmErrors> {
        let mut bytes = pxvm::asm::assemble(self.source, &format!("{}.asm", self.name))?;
        if let (Some(n), true) = (param, bytes.len() >= PARAM_ADDR + 4) {
            bytes[PARAM_ADDR..PARAM_ADDR + 4].copy_from_slice(&n.to_le_bytes());
        }
        Ok(bytes)
    }

    /// The output lines a correct run with problem size `param` prints.
    pub fn expected_output(&self, param: Option<i32>) -> Option<Vec<String>> {
        let native = self.native?;
        Some(vec![native(param?).to_string()])
    }

    /// Find a kernel by name.
    pub fn find(name: &str) -> Option<&'static BenchKernel> {
        SUITE.iter().find(|k| k.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::difftest::{Scenario, run_everywhere};

    #[test]
    fn every_kernel_assembles_with_its_parameter_in_place() {
        for k in SUITE {
            let bytes = k.bytecode(k.param).unwrap();
            if let Some(n) = k.param {
                assert_eq!(bytes[0], pxvm::isa::byte::JMP, "{}", k.name);
                assert_eq!(
                    bytes[PARAM_ADDR..PARAM_ADDR + 4],
                    n.to_le_bytes(),
                    "{}",
                    k.name
                );
            }
        }
    }

    #[test]
    fn small_sizes_match_the_native_references_on_every_engine() {
        let small = [
            ("countdown", 50),
            ("fib_iter", 47),
            ("fib_rec", 12),
            ("sieve", 1),
            ("matmul", 2),
            ("memcpy", 2),
            ("syscall_loop", 30),
            ("self_patch_loop", 40),
        ];
        for (name, n) in small {
            let k = BenchKernel::find(name).unwrap();
            let o = run_everywhere(&Scenario::new(k.bytecode(Some(n)).unwrap(), 50_000_000))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(o.report.exit, pxvm::Exit::Halt, "{name}");
            assert_eq!(Some(o.report.sysout), k.expected_output(Some(n)), "{name}");
        }
    }
}

//! `pxvm`'s integration tests, built as one test binary with one module per topic in
//! `suite/`: the assembler (errors, syntax, the original kernels, round trips with the
//! disassembler), the generated ISA documentation, and the fast interpreter against the
//! reference through the testing kit (`pxvm::testkit`).

mod suite;

//! `pxvm`'s test modules, one per topic.

mod asm_errors;
mod asm_kernels;
mod asm_roundtrip;
mod asm_syntax;
mod interp_fast;
mod isa_doc;

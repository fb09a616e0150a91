//! The JIT's integration tests, built as one test binary (Cranelift is linked once) with
//! one module per topic in `suite/`. Every test compares the JIT engines with the
//! reference stepper through the testing kit (`pxvm::testkit`).

mod suite;

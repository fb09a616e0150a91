//! The integration test suite, built as one test binary with one module per topic.
//! Every test that executes guest code goes through `pxos::check::difftest::check` (the
//! testing kit's `agree` with the real host), which runs it on the reference and every
//! engine and compares everything observable; programs are written with
//! `pxvm::testkit::code`.

mod suite;

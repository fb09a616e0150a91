//! The integration test suite, built as one test binary with one module per topic.
//! Every test that executes guest code goes through `util::check`, which runs it on every
//! engine and compares everything observable.

mod suite;

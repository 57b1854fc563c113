//! The integration tests: one test binary (so CI links once), one module per
//! feature, sharing the harness in `common/` (the `meshsynth` binary, temp
//! workspaces, the AWS emulator). Fixtures live in `tests/fixtures/`; insta
//! snapshots in `tests/it/snapshots/`, named `it__<module>__<name>.snap`.
//!
//! Run one module with a filter: `cargo test --locked --test it -- cli::`.

mod access_eval;
mod cli;
mod codeowners;
mod common;
mod contracts;
mod deploy;
mod diff;
mod drift;
mod lakeformation;
mod lifecycle;
mod load_errors;
mod org;
mod proptest_topology;
mod render_fast;
mod synth;
mod validate_rules;

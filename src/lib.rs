//! meshsynth turns one org-wide description of a data mesh on AWS into
//! CloudFormation stacks, one set per account, and deploys them.
//!
//! Data flows one way through the pipeline:
//! `cli` → `settings` → `model` (load raw, then `validate`) → `graph` →
//! `synth` (pure) → `render` → `emit` / `deploy`.
//! A module may only use modules to its left.

#![forbid(unsafe_code)]

pub(crate) mod change;
pub mod cli;
pub(crate) mod commands;
pub(crate) mod contract;
pub(crate) mod deploy;
pub(crate) mod diff;
pub(crate) mod emit;
pub mod error;
pub mod exit;
pub mod graph;
pub(crate) mod lifecycle;
pub mod model;
pub mod render;
pub(crate) mod settings;
pub mod synth;
pub mod validate;

pub use commands::{run, Io};

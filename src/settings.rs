//! Resolved settings: what the user asked for, with no clap types.

use std::path::PathBuf;

/// Where and how to reach AWS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AwsSettings {
    /// Send every AWS call here instead of the real endpoints (`--endpoint-url`, else `AWS_ENDPOINT_URL`).
    pub(crate) endpoint_url: Option<String>,
    /// Overrides `org.region` for AWS calls (`--region`).
    pub(crate) region: Option<String>,
    /// The AWS profile for the starting credentials (`--profile`); the standard chain otherwise.
    pub(crate) profile: Option<String>,
}

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verbosity {
    /// Only errors.
    Quiet,
    Normal,
    /// Also what happens step by step.
    Verbose,
}

/// Settings shared by every command.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The topology file or directory, as the user wrote it (messages show it that way).
    pub(crate) topology: PathBuf,
    /// AWS connection settings.
    pub(crate) aws: AwsSettings,
    /// Whether stdout gets ANSI colours.
    pub(crate) color: bool,
    /// How much to print on stderr.
    pub(crate) verbosity: Verbosity,
    /// Topology warnings fail the command (`--deny-warnings`).
    pub(crate) deny_warnings: bool,
}

//! Resolved settings: what the user asked for, with no clap types.

use std::path::PathBuf;

/// Where and how to reach AWS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// Send every AWS call here instead of the real endpoints (`--endpoint-url`, else `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
    /// Overrides `org.region` for AWS calls (`--region`).
    pub region: Option<String>,
    /// The AWS profile for the starting credentials (`--profile`); the standard chain otherwise.
    pub profile: Option<String>,
}

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Only errors.
    Quiet,
    Normal,
    /// Also what happens step by step.
    Verbose,
}

/// Settings shared by every command.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The topology file or directory, as the user wrote it (messages show it that way).
    pub topology: PathBuf,
    /// AWS connection settings.
    pub aws: AwsSettings,
    /// Whether stdout gets ANSI colours.
    pub color: bool,
    /// How much to print on stderr.
    pub verbosity: Verbosity,
    /// Topology warnings fail the command (`--deny-warnings`).
    pub deny_warnings: bool,
}

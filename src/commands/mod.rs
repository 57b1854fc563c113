//! One file per subcommand. `run` turns the clap `Cli` into `Settings` and
//! dispatches; every command writes to injected writers so tests can run it
//! in-process.

mod deploy;
mod diff;
mod graph;
mod impact;
mod new_team;
mod org;
mod plan;
mod schema;
mod synth;
mod validate;

use std::io::{IsTerminal, Write};

use crate::cli::{Cli, ColorChoice, Command};
use crate::exit::ExitCode;
use crate::model::Topology;
use crate::settings::{AwsSettings, Settings, Verbosity};

/// Where a command writes: stdout for results, stderr for progress, warnings and errors.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Whether stdin and stderr are terminals (prompts and progress bars need them).
    pub interactive: bool,
}

/// Runs a parsed command line.
pub fn run(cli: Cli, io: &mut Io<'_>) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    let settings = Settings {
        topology: g.topology.clone(),
        aws: AwsSettings {
            endpoint_url: g
                .endpoint_url
                .clone()
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .filter(|s| !s.is_empty()),
            region: g.region.clone(),
            profile: g.profile.clone(),
        },
        color: match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        },
        verbosity: if g.quiet {
            Verbosity::Quiet
        } else if g.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        },
    };
    match cli.command {
        Command::Validate => validate::run(&settings, io),
        Command::Graph(args) => graph::run(&settings, &args, io),
        Command::Impact(args) => impact::run(&settings, &args, io),
        Command::Schema(args) => schema::run(&args, io),
        Command::Synth(args) => synth::run(&settings, &args, io),
        Command::Diff(args) => diff::run(&settings, &args, io),
        Command::Plan(args) => plan::run(&settings, &args, io),
        Command::Deploy(args) => deploy::run(&settings, &args, io),
        Command::Org(cmd) => org::run(&settings, &cmd, io),
        Command::NewTeam(args) => new_team::run(&settings, &args, io),
    }
}

/// Loads and validates the topology, printing warnings (unless quiet).
pub(crate) fn load_topology(settings: &Settings, io: &mut Io<'_>) -> anyhow::Result<Topology> {
    match crate::model::read_topology(&settings.topology) {
        Ok((topology, warnings)) => {
            if settings.verbosity != Verbosity::Quiet {
                for w in &warnings {
                    writeln!(io.err, "warning: {w}")?;
                }
            }
            Ok(topology)
        }
        Err(e) => Err(e.into()),
    }
}

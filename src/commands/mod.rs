//! One file per subcommand. `run` turns the clap `Cli` into `Settings` and
//! dispatches; every command writes to injected writers so tests can run it
//! in-process.

mod blueprint_context;
mod codeowners;
mod deploy;
mod diff;
mod drift;
mod graph;
mod impact;
mod migrate;
mod new_team;
mod org;
mod plan;
mod schema;
mod synth;
mod validate;
mod warnings;

use std::io::{IsTerminal, Write};

use crate::cli::{Cli, ColorChoice, Command};
use crate::error::{Failure, Result};
use crate::exit::{ExitCode, Finding};
use crate::model::Topology;
use crate::settings::{AwsSettings, Settings, Verbosity};

/// Where a command writes: stdout for results, stderr for progress, warnings and errors.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Whether stdin and stderr are terminals (prompts and progress bars need them).
    pub interactive: bool,
    /// Large values a command is done with (the raw and the validated
    /// topology), handed back instead of freed: freeing millions of small
    /// strings takes a noticeable share of a run, and `main` lets the
    /// process's exit free them at once. Other callers (tests) free them
    /// when they drop the `Io`. What to do with them is the caller's
    /// decision, not the library's.
    pub leftovers: Vec<Box<dyn std::any::Any>>,
}

impl Io<'_> {
    /// Hands `value` to the caller (see [`Io::leftovers`]).
    pub(crate) fn leave<T: 'static>(&mut self, value: T) {
        self.leftovers.push(Box::new(value));
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli, io: &mut Io<'_>) -> std::result::Result<ExitCode, Failure> {
    dispatch(cli, io).map_err(Failure)
}

fn dispatch(cli: Cli, io: &mut Io<'_>) -> Result<ExitCode> {
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
        deny_warnings: g.deny_warnings,
        verbosity: if g.quiet {
            Verbosity::Quiet
        } else if g.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        },
    };
    match cli.command {
        Command::Validate(args) => validate::run(&settings, &args, io),
        Command::Graph(args) => graph::run(&settings, &args, io),
        Command::Impact(args) => impact::run(&settings, &args, io),
        Command::Schema(args) => schema::run(&args, io),
        Command::BlueprintContext(args) => blueprint_context::run(&settings, &args, io),
        Command::Synth(args) => synth::run(&settings, &args, io),
        Command::Diff(args) => diff::run(&settings, &args, io),
        Command::Plan(args) => plan::run(&settings, &args, io),
        Command::Deploy(args) => deploy::run(&settings, &args, io),
        Command::Drift(args) => drift::run(&settings, &args, io),
        Command::Org(cmd) => org::run(&settings, &cmd, io),
        Command::NewTeam(args) => new_team::run(&settings, &args, io),
        Command::Migrate => migrate::run(&settings, io),
        Command::Codeowners(args) => codeowners::run(&settings, &args, io),
    }
}

/// Loads and validates the topology, printing its warnings once, grouped by
/// kind (unless quiet); with `--deny-warnings` any warning fails the command.
pub(crate) fn load_topology(settings: &Settings, io: &mut Io<'_>) -> Result<Topology> {
    load_topology_with(settings, io, false)
}

/// [`load_topology`], listing every warning on its own line when `each`
/// (`validate`, the command for reading them).
pub(crate) fn load_topology_with(settings: &Settings, io: &mut Io<'_>, each: bool) -> Result<Topology> {
    let started = std::time::Instant::now();
    let raw = crate::model::load::load(&settings.topology)?;
    let loaded = started.elapsed();
    let validated = crate::validate::validate_ref(&raw);
    // Freed on a worker while the caller goes on: its memory (a fifth of a large org's peak)
    // is then reused by planning and rendering instead of fresh pages.
    rayon::spawn(move || drop(raw));
    if settings.verbosity == Verbosity::Verbose {
        writeln!(
            io.err,
            "read {} in {} ms, validated in {} ms",
            settings.topology.display(),
            loaded.as_millis(),
            (started.elapsed() - loaded).as_millis()
        )?;
    }
    match validated {
        Ok((topology, warnings)) => {
            if settings.verbosity != Verbosity::Quiet {
                let lines = if each {
                    warnings.iter().map(ToString::to_string).collect()
                } else {
                    warnings::grouped(&warnings)
                };
                for line in lines {
                    writeln!(io.err, "warning: {line}")?;
                }
            }
            if settings.deny_warnings && !warnings.is_empty() {
                return Err(Finding(format!(
                    "{} topology warning{} and --deny-warnings",
                    warnings.len(),
                    if warnings.len() == 1 { "" } else { "s" }
                ))
                .into());
            }
            Ok(topology)
        }
        Err(errors) => Err(crate::model::load::LoadError::Invalid(errors).into()),
    }
}

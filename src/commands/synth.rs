//! `meshsynth synth`: topology → stack plans → rendered files → the output folder
//! (or, with `--check`, a comparison with it that writes nothing).

use std::time::Instant;

use super::{load_topology, Io};
use crate::cli::SynthArgs;
use crate::error::{Context as _, Result};
use crate::exit::{ExitCode, Finding};
use crate::render::Blueprints;
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, args: &SynthArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let verbose = settings.verbosity == Verbosity::Verbose;
    let started = Instant::now();
    let blueprints = Blueprints::new(args.blueprints.as_deref())?;
    let topology = load_topology(settings, io)?;
    let loaded = started.elapsed();
    let mut synthesis = crate::synth::plan(&topology)?;
    let contracts = crate::contract::from_topology(&topology);
    // Freeing a large topology costs time just before the process exits anyway.
    io.leave(topology);
    let planned = started.elapsed();
    let mut files = crate::render::render(&blueprints, &mut synthesis)?;
    files.push(crate::render::contracts_file(&contracts));
    files.push(crate::render::manifest::access_file(&synthesis.access));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let rendered = started.elapsed();
    let out = args.out.as_path();
    let changes = if args.check {
        crate::emit::diff(out, &files)
    } else {
        crate::emit::write(out, &files)
    }
    .with_context(|| format!("synth into `{}` failed", out.display()))?;
    if verbose {
        writeln!(
            io.err,
            "timing: load+validate {:.2}s, plan {:.2}s, render {:.2}s, {} {:.2}s",
            loaded.as_secs_f64(),
            (planned - loaded).as_secs_f64(),
            (rendered - planned).as_secs_f64(),
            if args.check { "check" } else { "write" },
            (started.elapsed() - rendered).as_secs_f64(),
        )?;
    }
    if args.check {
        if changes.is_empty() {
            if settings.verbosity != Verbosity::Quiet {
                writeln!(io.err, "`{}` is up to date ({} files)", out.display(), files.len())?;
            }
            return Ok(ExitCode::Success);
        }
        io.err.write_all(changes.listing().as_bytes())?;
        return Err(Finding(format!(
            "`{}` is not what synth would write: {} (run `meshsynth synth --out {}`)",
            out.display(),
            changes.summary(),
            out.display()
        ))
        .into());
    }
    if settings.verbosity != Verbosity::Quiet {
        writeln!(
            io.err,
            "synth: {} stacks and {} Glue catalog policies in `{}`: {}, {} unchanged",
            synthesis.stacks.len(),
            synthesis.policies.len(),
            out.display(),
            changes.summary(),
            changes.unchanged
        )?;
    }
    Ok(ExitCode::Success)
}

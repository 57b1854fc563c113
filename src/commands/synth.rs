//! `meshsynth synth`: topology → stack plans → rendered files → the output folder
//! (or, with `--check`, a comparison with it that writes nothing).

use std::time::Instant;

use super::{load_topology, Io};
use crate::cli::SynthArgs;
use crate::emit::{Mode, Output};
use crate::error::Result;
use crate::exit::{ExitCode, Finding};
use crate::render::Blueprints;
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, args: &SynthArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let verbose = settings.verbosity == Verbosity::Verbose;
    let started = Instant::now();
    let blueprints = Blueprints::new(args.blueprints.as_deref())?;
    let topology = load_topology(settings, io)?;
    let loaded = started.elapsed();
    // Each job's stacks are rendered, compared (and staged) on the core that planned them,
    // as soon as they are planned, and then freed: only paths and hashes outlive the render.
    // The contracts file needs only the topology: it is built and put out beside them. The
    // target changes only in `finish`.
    let out = args.out.as_path();
    let failed = |e: crate::emit::EmitError| crate::error::Error::Context {
        context: format!("synth into `{}` failed", out.display()),
        source: Box::new(e.into()),
    };
    let mode = if args.check { Mode::Check } else { Mode::Write };
    let output = Output::new(out, mode).map_err(failed)?;
    let sink = |files: Vec<crate::render::File>| output.put(&files).map_err(failed);
    let (planned, contracts) = rayon::join(
        || {
            crate::synth::plan_each(&topology, |stacks, policy| {
                crate::render::render_stacks(&blueprints, stacks, policy, &sink)
            })
        },
        || {
            sink(vec![crate::render::contracts_file(
                &crate::contract::from_topology_borrowed(&topology),
            )])
        },
    );
    let (synthesis, rendered) = planned?;
    contracts?;
    // Freeing a large topology costs time just before the process exits anyway.
    io.leave(topology);
    sink(vec![crate::render::manifest::access_file(&synthesis.access)])?;
    // The manifest needs every template's hash, so it comes last.
    let manifest = crate::render::manifest_file(&synthesis, rendered);
    let rendered = started.elapsed();
    let changes = output.finish(&[manifest]).map_err(failed)?;
    let (stacks, policies) = (synthesis.stacks.len(), synthesis.policies.len());
    // As with the topology: the plans and blueprints are freed by the exit, not value by value.
    io.leave(synthesis);
    io.leave(blueprints);
    if verbose {
        writeln!(
            io.err,
            "timing: load+validate {:.2}s, plan+render {:.2}s, {} {:.2}s (each job's stacks are rendered, compared and staged as soon as they are planned)",
            loaded.as_secs_f64(),
            (rendered - loaded).as_secs_f64(),
            if args.check { "check" } else { "write" },
            (started.elapsed() - rendered).as_secs_f64(),
        )?;
    }
    if args.check {
        if changes.is_empty() {
            if settings.verbosity != Verbosity::Quiet {
                writeln!(
                    io.err,
                    "`{}` is up to date ({} files)",
                    out.display(),
                    changes.unchanged
                )?;
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
            stacks,
            policies,
            out.display(),
            changes.summary(),
            changes.unchanged
        )?;
    }
    Ok(ExitCode::Success)
}

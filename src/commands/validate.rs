//! `meshsynth validate [--against OLD_TOPOLOGY]`: check the topology; warnings
//! on stderr. With `--against`, also compare the contracts of its live
//! product versions with those of an older topology (`crate::contract`):
//! breaking changes are listed on stdout and exit 1, for a pre-commit hook.

use super::{load_topology_with, Io};
use crate::cli::ValidateArgs;
use crate::error::{Context as _, Result};
use crate::exit::{ExitCode, Finding};
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, args: &ValidateArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let t = load_topology_with(settings, io, true)?;
    if settings.verbosity != Verbosity::Quiet {
        writeln!(
            io.err,
            "{} is valid: {} teams, {} accounts, {} domains, {} products, {} consume entries",
            settings.topology.display(),
            t.teams.len(),
            t.accounts.len(),
            t.domains.len(),
            t.products.len(),
            t.consumes.len()
        )?;
    }
    let Some(against) = &args.against else {
        io.leave(t);
        return Ok(ExitCode::Success);
    };
    let new = crate::contract::from_topology(&t);
    io.leave(t);
    // The older topology must be valid too: its errors are reported (exit 1),
    // since contracts of an invalid topology mean nothing.
    let (old_topology, _) = crate::validate::read_topology(against)
        .with_context(|| format!("cannot compare with `{}`", against.display()))?;
    let old = crate::contract::from_topology(&old_topology);
    let breaking = crate::contract::breaking(&old.versions, &new.versions, &new.versions);
    if breaking.is_empty() {
        if settings.verbosity != Verbosity::Quiet {
            writeln!(
                io.err,
                "no breaking change to the {} live versions of `{}`",
                old.versions.len(),
                against.display()
            )?;
        }
        return Ok(ExitCode::Success);
    }
    io.out.write_all(crate::contract::render_text(&breaking).as_bytes())?;
    io.out.flush()?;
    let n: usize = breaking.iter().map(|b| b.changes.len()).sum();
    Err(Finding(format!(
        "{n} breaking change{} to live versions since `{}`",
        if n == 1 { "" } else { "s" },
        against.display()
    ))
    .into())
}

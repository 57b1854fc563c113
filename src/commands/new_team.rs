//! `meshsynth new-team NAME --domain D --account ID`: scaffold
//! `<topology>/teams/NAME.yaml`, validated with the rest of the topology
//! before it is written (see `crate::lifecycle::scaffold`).

use super::Io;
use crate::cli::NewTeamArgs;
use crate::exit::{ExitCode, Finding};
use crate::lifecycle::scaffold::{self, NewTeam};
use crate::lifecycle::{self, LifecycleError};
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, args: &NewTeamArgs, io: &mut Io<'_>) -> anyhow::Result<ExitCode> {
    let team = NewTeam::from_args(
        &args.name,
        &args.domain,
        &args.accounts,
        &args.account_names,
        &args.environments,
        args.steward.as_deref(),
        args.contact.as_deref(),
    )
    .map_err(refusal)?;
    let prepared = scaffold::prepare(&settings.topology, &team).map_err(refusal)?;
    lifecycle::write_new(&prepared.path, &prepared.text, "new-team").map_err(refusal)?;
    if settings.verbosity != Verbosity::Quiet {
        for w in &prepared.warnings {
            writeln!(io.err, "warning: {w}")?;
        }
    }
    let first = team.accounts.first().map_or("", |a| a.id.as_str());
    writeln!(io.out, "wrote `{}`", prepared.path.display())?;
    writeln!(io.out, "next:")?;
    writeln!(io.out, "  meshsynth synth")?;
    writeln!(io.out, "  meshsynth plan --account {first}")?;
    writeln!(io.out, "  meshsynth deploy --account {first}")?;
    Ok(ExitCode::Success)
}

/// A refusal exits 1 (a finding about the input); IO and usage problems exit 2.
fn refusal(e: LifecycleError) -> anyhow::Error {
    if e.is_finding() {
        anyhow::Error::new(Finding(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

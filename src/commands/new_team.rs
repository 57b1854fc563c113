//! `meshsynth new-team NAME --domain D --account ID`: scaffold
//! `<topology>/teams/NAME.yaml`, validated with the rest of the topology
//! before it is written (see `crate::lifecycle::scaffold`).

use super::Io;
use crate::cli::NewTeamArgs;
use crate::error::Result;
use crate::exit::ExitCode;
use crate::lifecycle;
use crate::lifecycle::scaffold::{self, NewTeam};
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, args: &NewTeamArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let team = NewTeam::from_args(
        &args.name,
        &args.domain,
        &args.accounts,
        &args.account_names,
        &args.environments,
        args.steward.as_deref(),
        args.contact.as_deref(),
    )?;
    let prepared = scaffold::prepare(&settings.topology, &team)?;
    lifecycle::write_new(&prepared.path, &prepared.text, "new-team")?;
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

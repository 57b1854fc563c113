//! `meshsynth validate`: check the topology; warnings on stderr.

use super::{load_topology_with, Io};
use crate::exit::ExitCode;
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, io: &mut Io<'_>) -> anyhow::Result<ExitCode> {
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
    super::drop_later(t);
    Ok(ExitCode::Success)
}

//! `meshsynth org` (being built).

use super::Io;
use crate::exit::ExitCode;
use crate::settings::Settings;

pub(crate) fn run(_settings: &Settings, _args: &crate::cli::OrgCommand, _io: &mut Io<'_>) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("this command is not built yet"))
}

//! `meshsynth schema`: the JSON Schema of the topology format, for editors.

use super::Io;
use crate::error::Result;
use crate::exit::ExitCode;

pub(crate) fn run(args: &crate::cli::SchemaArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let schema = if args.team {
        crate::model::schema::team_schema()
    } else {
        crate::model::schema::topology_schema()
    };
    let mut text = serde_json::to_string_pretty(&schema)?;
    text.push('\n');
    io.out.write_all(text.as_bytes())?;
    Ok(ExitCode::Success)
}

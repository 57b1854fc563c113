//! `meshsynth schema`: the JSON Schema of the topology format, for editors.

use super::Io;
use crate::exit::ExitCode;

pub(crate) fn run(io: &mut Io<'_>) -> anyhow::Result<ExitCode> {
    let mut text = serde_json::to_string_pretty(&crate::model::schema::topology_schema())?;
    text.push('\n');
    io.out.write_all(text.as_bytes())?;
    Ok(ExitCode::Success)
}

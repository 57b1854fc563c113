//! `meshsynth diff OLD_DIR NEW_DIR`: an offline review of two syntheses
//! (see `crate::diff`). Exit 0 with the changes listed; with `--exit-code`,
//! exit 1 when anything changed.

use super::Io;
use crate::cli::{DiffArgs, ReviewFormat};
use crate::diff::{self, Format};
use crate::error::Result;
use crate::exit::ExitCode;
use crate::settings::Settings;

pub(crate) fn run(_settings: &Settings, args: &DiffArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let review = diff::compare(&args.old_dir, &args.new_dir)?;
    let format = match args.format {
        ReviewFormat::Text => Format::Text,
        ReviewFormat::Markdown => Format::Markdown,
        ReviewFormat::Json => Format::Json,
    };
    diff::render(&review, format, io.out)?;
    io.out.flush()?;
    Ok(if args.exit_code && !review.is_empty() {
        ExitCode::Finding
    } else {
        ExitCode::Success
    })
}

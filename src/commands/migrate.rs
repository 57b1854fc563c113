//! `meshsynth migrate`: rewrite a format-v1 topology as v2 in place (see
//! `crate::lifecycle::migrate`). Every file is written to a temporary file
//! beside it first and renamed over it only when all of them are ready; the
//! result is validated and its warnings printed.

use std::collections::BTreeMap;
use std::io::Write as _;

use super::Io;
use crate::error::{Context as _, Result};
use crate::exit::ExitCode;
use crate::lifecycle::migrate::migrate;
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, io: &mut Io<'_>) -> Result<ExitCode> {
    let path = &settings.topology;
    let raw = crate::model::load::load(path)?;
    if raw.top.version.value != 1 {
        writeln!(
            io.out,
            "`{}` is format version {}: nothing to migrate",
            path.display(),
            raw.top.version.value
        )?;
        return Ok(ExitCode::Success);
    }
    let files = if path.is_dir() {
        let (org, teams) = crate::model::load::directory_files(path)?;
        std::iter::once(org).chain(teams).collect()
    } else {
        vec![path.clone()]
    };
    let mut sources = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).with_context(|| format!("cannot read `{}`", f.display()))?;
        sources.insert(f, text);
    }
    let m = migrate(&raw, &sources)?;
    // Stage every file, then rename: a failure before the renames changes nothing.
    let mut staged = Vec::new();
    for (file, text) in &m.files {
        let dir = file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write beside `{}`", file.display()))?;
        tmp.write_all(text.as_bytes())
            .with_context(|| format!("cannot write beside `{}`", file.display()))?;
        staged.push((tmp, file));
    }
    for (tmp, file) in staged {
        // The persist error's own message repeats its cause: show the cause once.
        tmp.persist(file)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot replace `{}`", file.display()))?;
    }
    writeln!(
        io.out,
        "migrated `{}` to format version 2: {} approval{} moved into {} grant{}, {} file{} rewritten",
        path.display(),
        m.approvals,
        if m.approvals == 1 { "" } else { "s" },
        m.grants,
        if m.grants == 1 { "" } else { "s" },
        m.files.len(),
        if m.files.len() == 1 { "" } else { "s" },
    )?;
    for (file, _) in &m.files {
        writeln!(io.out, "  {}", file.display())?;
    }
    match crate::validate::read_topology(path) {
        Ok((_, warnings)) => {
            if settings.verbosity != Verbosity::Quiet {
                for w in &warnings {
                    writeln!(io.err, "warning: {w}")?;
                }
            }
            writeln!(
                io.out,
                "next: review the grants with each producer's steward, then `meshsynth synth`"
            )?;
            Ok(ExitCode::Success)
        }
        Err(e) => {
            writeln!(io.out, "the migrated topology does not validate yet; fix what follows")?;
            Err(e.into())
        }
    }
}

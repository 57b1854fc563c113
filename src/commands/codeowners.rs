//! `meshsynth codeowners [--check] [--out FILE]`: the CODEOWNERS lines that
//! give each team's file to its team's `owners` and the org file to the org's
//! (see `crate::lifecycle::codeowners`); on stdout, written to FILE, or
//! compared with FILE.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Io;
use crate::cli::CodeownersArgs;
use crate::error::{Context as _, Result};
use crate::exit::{ExitCode, Finding};
use crate::lifecycle::codeowners::{self, Owners};
use crate::model::load::LoadError;
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, args: &CodeownersArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let quiet = settings.verbosity == Verbosity::Quiet;
    // Loaded here rather than through `load_topology`: the org file's name
    // (org.yaml, org.yml or org.json) is known only to the raw input.
    let raw = crate::model::load::load(&settings.topology)?;
    let org_file = raw.org_file.clone();
    let (topology, warnings) = crate::validate::validate_ref(&raw).map_err(LoadError::Invalid)?;
    if !quiet {
        for w in &warnings {
            writeln!(io.err, "warning: {w}")?;
        }
    }
    let team_files: BTreeMap<String, PathBuf> = topology
        .teams
        .values()
        .map(|t| (t.name.clone(), t.loc.file.clone()))
        .collect();
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = codeowners::repo_root(&settings.topology, &cwd)?;
    let layout = codeowners::repo_layout(&root, &settings.topology, &org_file, &team_files)?;
    let itself = match &args.out {
        Some(out) => codeowners::repo_path(&root, &cwd, out)?,
        None => None,
    };
    let generated = codeowners::generate(&Owners::of(&topology), &layout, itself.as_deref())?;
    if !quiet {
        for w in &generated.warnings {
            writeln!(io.err, "warning: {w}")?;
        }
    }
    let Some(out) = &args.out else {
        io.out.write_all(generated.text.as_bytes())?;
        return Ok(ExitCode::Success);
    };
    let current = read_if_exists(out)?;
    let shown = out.display().to_string();
    if current.as_deref() == Some(generated.text.as_str()) {
        if !quiet {
            writeln!(io.err, "`{shown}` is up to date ({} rules)", generated.rules)?;
        }
        return Ok(ExitCode::Success);
    }
    if args.check {
        io.err
            .write_all(codeowners::difference(&shown, current.as_deref(), &generated.text).as_bytes())?;
        return Err(Finding(format!(
            "`{shown}` is not what `meshsynth codeowners` would write (run `meshsynth codeowners --out {shown}`)"
        ))
        .into());
    }
    write_atomically(out, &generated.text).with_context(|| format!("cannot write `{shown}`"))?;
    if !quiet {
        writeln!(io.err, "wrote `{shown}` ({} rules)", generated.rules)?;
    }
    Ok(ExitCode::Success)
}

/// The file's text, `None` when it does not exist.
fn read_if_exists(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        // A file that is not UTF-8 is simply not what we would write.
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Writes through a temporary folder beside the file (the folder created if
/// need be), so a reader never sees half a file; the file gets the usual
/// permissions, as if written in place.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let staging = tempfile::Builder::new().prefix(".meshsynth-").tempdir_in(dir)?;
    let tmp = staging.path().join("CODEOWNERS");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    staging.close()
}

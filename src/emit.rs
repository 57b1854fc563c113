//! Writing the output folder, or checking it (`synth --check`).
//!
//! [`Output`] compares the rendered files with what is on disk as they come,
//! account folder by account folder (so the caller need not hold all of them),
//! stages every added or changed file in a temporary folder next to the target,
//! and only when all are staged moves them into place (new account folders whole, other files one
//! by one, the manifest last), then removes stale files. Unchanged files are
//! never rewritten, so their mtimes stay. If anything fails before the moves,
//! nothing in the target has changed.
//!
//! Only files meshsynth owns are compared or removed: `manifest.json`,
//! `contracts.json`, `access.json` and, in
//! folders named by a 12-digit account id, `*.template.json` and
//! `glue-resource-policy.json`. Anything else in the folder is left alone.
//! This module does IO only; what to write comes from `render`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::render::File;

#[derive(Debug, thiserror::Error)]
pub(crate) enum EmitError {
    #[error("cannot read `{}`: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("cannot write `{}`: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("`{}` exists and is not a folder", path.display())]
    NotAFolder { path: PathBuf },
}

/// What differs between the rendered output and the folder, by relative path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) added: Vec<String>,
    pub(crate) changed: Vec<String>,
    pub(crate) removed: Vec<String>,
    pub(crate) unchanged: usize,
}

impl Changes {
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// `3 added, 1 changed, 0 removed`
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} added, {} changed, {} removed",
            self.added.len(),
            self.changed.len(),
            self.removed.len()
        )
    }

    /// One line per differing file: `added    <path>`.
    pub(crate) fn listing(&self) -> String {
        let mut lines: Vec<(&str, &str)> = Vec::new();
        lines.extend(self.added.iter().map(|p| ("added", p.as_str())));
        lines.extend(self.changed.iter().map(|p| ("changed", p.as_str())));
        lines.extend(self.removed.iter().map(|p| ("removed", p.as_str())));
        lines.sort_by(|a, b| a.1.cmp(b.1));
        lines.iter().map(|(k, p)| format!("  {k:<8} {p}\n")).collect()
    }
}

fn read_err(path: &Path, e: &std::io::Error) -> EmitError {
    EmitError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

fn write_err(path: &Path, e: &std::io::Error) -> EmitError {
    EmitError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

fn is_account_dir(name: &str) -> bool {
    name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit())
}

fn is_owned_file(name: &str) -> bool {
    name.ends_with(".template.json") || name == "glue-resource-policy.json"
}

/// The relative paths of the files meshsynth owns in `out` (none when it does not exist).
fn owned_files(out: &Path) -> Result<Vec<String>, EmitError> {
    let entries = match std::fs::read_dir(out) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) if e.kind() == ErrorKind::NotADirectory => return Err(EmitError::NotAFolder { path: out.to_owned() }),
        Err(e) => return Err(read_err(out, &e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| read_err(out, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(|e| read_err(&entry.path(), &e))?;
        if kind.is_file()
            && (name == "manifest.json"
                || name == crate::contract::CONTRACTS_FILE
                || name == crate::synth::decisions::ACCESS_FILE)
        {
            found.push(name);
        } else if kind.is_dir() && is_account_dir(&name) {
            let dir = entry.path();
            for f in std::fs::read_dir(&dir).map_err(|e| read_err(&dir, &e))? {
                let f = f.map_err(|e| read_err(&dir, &e))?;
                let fname = f.file_name().to_string_lossy().into_owned();
                if is_owned_file(&fname) && f.file_type().is_ok_and(|t| t.is_file()) {
                    found.push(format!("{name}/{fname}"));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// What a file is next to its twin on disk.
enum State {
    Added,
    Changed,
    Unchanged,
}

fn compare(out: &Path, f: &File) -> Result<State, EmitError> {
    let path = out.join(&f.path);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(State::Added),
        Err(e) => Err(read_err(&path, &e)),
        Ok(m) if m.len() != f.bytes.len() as u64 || !m.is_file() => Ok(State::Changed),
        Ok(_) => {
            let existing = std::fs::read(&path).map_err(|e| read_err(&path, &e))?;
            Ok(if existing == f.bytes {
                State::Unchanged
            } else {
                State::Changed
            })
        }
    }
}

/// A folder beside the target where files are written before they move into place;
/// removed with whatever is left in it when dropped (after a failure, everything).
/// Made with `create_dir`, so its mode follows the umask like any folder synth makes:
/// when the target does not exist yet, the staging folder itself becomes the target.
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn new(parent: &Path) -> Result<Staging, EmitError> {
        let pid = std::process::id();
        let mut last = None;
        for attempt in 0..100u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = parent.join(format!(".meshsynth-{pid}-{nanos:x}-{attempt}"));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Staging { path }),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(write_err(&path, &e)),
            }
        }
        let e = last.unwrap_or_else(|| std::io::Error::from(ErrorKind::AlreadyExists));
        Err(write_err(parent, &e))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Best effort: after a successful synth it is empty or already renamed away.
        if std::fs::remove_dir_all(&self.path).is_err() {
            // Nothing to do: a leftover `.meshsynth-*` folder is harmless and says what happened.
        }
    }
}

/// Writes `files` (relative paths) under `root` on every core, one folder per task: each
/// task makes its folder and writes the files in it, so folders are made in parallel too
/// and a folder's entries are written by one thread (no contention on its directory lock).
fn write_files(root: &Path, files: &[&File]) -> Result<(), EmitError> {
    use rayon::prelude::*;
    let mut by_dir: BTreeMap<&str, Vec<&File>> = BTreeMap::new();
    for f in files {
        let dir = f.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        by_dir.entry(dir).or_default().push(f);
    }
    let by_dir: Vec<(&str, Vec<&File>)> = by_dir.into_iter().collect();
    by_dir.into_par_iter().with_max_len(1).try_for_each(|(dir, files)| {
        if !dir.is_empty() {
            let path = root.join(dir);
            std::fs::create_dir_all(&path).map_err(|e| write_err(&path, &e))?;
        }
        files.iter().try_for_each(|f| {
            let path = root.join(&f.path);
            std::fs::write(&path, &f.bytes).map_err(|e| write_err(&path, &e))
        })
    })
}

/// Brings the folder to exactly the rendered files (of those meshsynth owns); returns what changed.
/// All the files at once: [`Output`] takes them folder by folder as they are rendered.
#[cfg(test)]
pub(crate) fn write(out: &Path, files: &[File]) -> Result<Changes, EmitError> {
    let output = Output::new(out, Mode::Write)?;
    output.put(files)?;
    output.finish(&[])
}

/// What [`Output`] does with the files it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Compare only (`synth --check`): nothing is written.
    Check,
    /// Stage what differs, and move it into place in [`Output::finish`].
    Write,
}

/// The files compared (and staged) so far.
#[derive(Default)]
struct Seen {
    added: Vec<String>,
    changed: Vec<String>,
    /// Every path given, to find the stale files on disk at the end.
    wanted: Vec<String>,
    unchanged: usize,
    staging: Option<Staging>,
}

/// An output folder being brought up to date, a batch of files at a time (from every core),
/// so the caller can drop each batch's bytes once it is handed over: only paths are kept.
///
/// Every added or changed file is first written to a staging folder beside the target;
/// only in [`Output::finish`], when every batch has been given, do they move into place,
/// so a failure before that (here or in the caller, which then drops the `Output`, and with
/// it the staging folder) leaves the target as it was. An account folder that does not exist
/// yet moves as a whole (one rename instead of one per file); into a target that does not
/// exist yet, the staging folder itself is renamed. Within existing folders, files move one by
/// one, the manifest last: until it is in place, the folder reads as stale, never as current.
/// Unchanged files are never rewritten, so their mtimes stay.
pub(crate) struct Output {
    out: PathBuf,
    mode: Mode,
    /// The files meshsynth owns in the target before the synth.
    on_disk: Vec<String>,
    /// The target does not exist: every file is new, and nothing needs comparing.
    fresh: bool,
    seen: std::sync::Mutex<Seen>,
}

impl Output {
    /// Lists what the target holds; makes nothing yet (the staging folder comes with the
    /// first file that differs, so an unchanged synth touches nothing).
    pub(crate) fn new(out: &Path, mode: Mode) -> Result<Output, EmitError> {
        let on_disk = owned_files(out)?;
        let fresh = on_disk.is_empty() && !out.exists();
        Ok(Output {
            out: out.to_owned(),
            mode,
            on_disk,
            fresh,
            seen: std::sync::Mutex::new(Seen::default()),
        })
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        // A panic elsewhere while holding the lock leaves plain lists behind: still usable.
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The staging folder, made on first use.
    fn staging(&self) -> Result<PathBuf, EmitError> {
        let mut seen = self.seen();
        if let Some(s) = &seen.staging {
            return Ok(s.path.clone());
        }
        let parent = match self.out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| write_err(&parent, &e))?;
        let staging = Staging::new(&parent)?;
        let path = staging.path.clone();
        seen.staging = Some(staging);
        Ok(path)
    }

    /// Compares a batch of files with the target and, when writing, stages those that differ.
    /// Batches may come from several threads at once; paths must not repeat across batches.
    pub(crate) fn put(&self, files: &[File]) -> Result<(), EmitError> {
        use rayon::prelude::*;
        let states: Vec<State> = if self.fresh {
            files.iter().map(|_| State::Added).collect()
        } else {
            files
                .par_iter()
                .with_min_len(16)
                .map(|f| compare(&self.out, f))
                .collect::<Result<_, _>>()?
        };
        let differ: Vec<&File> = files
            .iter()
            .zip(&states)
            .filter(|(_, s)| !matches!(s, State::Unchanged))
            .map(|(f, _)| f)
            .collect();
        if self.mode == Mode::Write && !differ.is_empty() {
            write_files(&self.staging()?, &differ)?;
        }
        let mut seen = self.seen();
        for (f, state) in files.iter().zip(states) {
            seen.wanted.push(f.path.clone());
            match state {
                State::Added => seen.added.push(f.path.clone()),
                State::Changed => seen.changed.push(f.path.clone()),
                State::Unchanged => seen.unchanged += 1,
            }
        }
        Ok(())
    }

    /// Takes the last files (e.g. the manifest) and, when writing, moves everything staged
    /// into place and removes stale files. Returns what changed, paths sorted.
    pub(crate) fn finish(self, last: &[File]) -> Result<Changes, EmitError> {
        self.put(last)?;
        let Output {
            out,
            mode,
            on_disk,
            seen,
            ..
        } = self;
        let mut seen = seen.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.added.sort();
        seen.changed.sort();
        seen.wanted.sort();
        let removed = on_disk
            .into_iter()
            .filter(|p| seen.wanted.binary_search(p).is_err())
            .collect();
        let changes = Changes {
            added: std::mem::take(&mut seen.added),
            changed: std::mem::take(&mut seen.changed),
            removed,
            unchanged: seen.unchanged,
        };
        if mode == Mode::Check || changes.is_empty() {
            return Ok(changes);
        }
        let staging = match seen.staging.take() {
            Some(s) => s,
            // Only removals: an empty staging folder keeps the code below uniform.
            None => Staging::new(
                out.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new(".")),
            )?,
        };
        move_into_place(&out, &staging.path, &changes)?;
        drop(staging);
        Ok(changes)
    }
}

/// Moves staged files into the target (new account folders whole, the manifest last) and
/// removes the stale ones.
fn move_into_place(out: &Path, staging: &Path, changes: &Changes) -> Result<(), EmitError> {
    if !out.exists() {
        // Nothing there, so nothing removed: the staged folder is the whole output.
        return std::fs::rename(staging, out).map_err(|e| write_err(out, &e));
    }
    // Account folders that are new move whole; the other files one by one.
    let mut new_dirs: BTreeSet<&str> = BTreeSet::new();
    let mut singles: Vec<&str> = Vec::new();
    for path in changes.added.iter().chain(&changes.changed) {
        match path.split_once('/') {
            Some((dir, _)) if new_dirs.contains(dir) => {}
            Some((dir, _)) if !out.join(dir).exists() => {
                new_dirs.insert(dir);
            }
            _ => singles.push(path),
        }
    }
    singles.sort_by_key(|p| (*p == "manifest.json", *p));
    for dir in &new_dirs {
        let target = out.join(dir);
        std::fs::rename(staging.join(dir), &target).map_err(|e| write_err(&target, &e))?;
    }
    for rel in &singles {
        let target = out.join(rel);
        std::fs::rename(staging.join(rel), &target).map_err(|e| write_err(&target, &e))?;
    }
    for rel in &changes.removed {
        let path = out.join(rel);
        std::fs::remove_file(&path).map_err(|e| write_err(&path, &e))?;
        if let Some(dir) = path.parent().filter(|d| *d != out) {
            // Only an account folder meshsynth emptied; one with other files stays.
            if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none()) {
                std::fs::remove_dir(dir).map_err(|e| write_err(dir, &e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "emit_tests.rs"]
mod tests;

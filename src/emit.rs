//! Writing the output folder, or checking it (`synth --check`).
//!
//! `write` compares the rendered files with what is on disk, stages every added
//! or changed file in a temporary folder next to the target, and only when all
//! are staged moves them into place (the manifest last), then removes stale
//! files. Unchanged files are never rewritten, so their mtimes stay. If anything
//! fails before the moves, nothing in the target has changed.
//!
//! Only files meshsynth owns are compared or removed: `manifest.json`,
//! `contracts.json` and, in
//! folders named by a 12-digit account id, `*.template.json` and
//! `glue-resource-policy.json`. Anything else in the folder is left alone.
//! This module does IO only; what to write comes from `render`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::render::File;

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("cannot read `{}`: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("cannot write `{}`: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("`{}` exists and is not a folder", path.display())]
    NotAFolder { path: PathBuf },
}

/// What differs between the rendered output and the folder, by relative path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// `3 added, 1 changed, 0 removed`
    pub fn summary(&self) -> String {
        format!(
            "{} added, {} changed, {} removed",
            self.added.len(),
            self.changed.len(),
            self.removed.len()
        )
    }

    /// One line per differing file: `added    <path>`.
    pub fn listing(&self) -> String {
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
        if kind.is_file() && (name == "manifest.json" || name == crate::contract::CONTRACTS_FILE) {
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

/// Compares the rendered files with the folder. Reads only.
pub fn diff(out: &Path, files: &[File]) -> Result<Changes, EmitError> {
    let on_disk = owned_files(out)?;
    let wanted: BTreeMap<&str, &File> = files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut changes = Changes::default();
    for f in files {
        let path = out.join(&f.path);
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == ErrorKind::NotFound => changes.added.push(f.path.clone()),
            Err(e) => return Err(read_err(&path, &e)),
            Ok(m) if m.len() != f.bytes.len() as u64 || !m.is_file() => changes.changed.push(f.path.clone()),
            Ok(_) => {
                let existing = std::fs::read(&path).map_err(|e| read_err(&path, &e))?;
                if existing == f.bytes {
                    changes.unchanged += 1;
                } else {
                    changes.changed.push(f.path.clone());
                }
            }
        }
    }
    changes.removed = on_disk
        .into_iter()
        .filter(|p| !wanted.contains_key(p.as_str()))
        .collect();
    Ok(changes)
}

/// Brings the folder to exactly the rendered files (of those meshsynth owns); returns what changed.
pub fn write(out: &Path, files: &[File]) -> Result<Changes, EmitError> {
    let changes = diff(out, files)?;
    if changes.is_empty() {
        return Ok(changes);
    }
    std::fs::create_dir_all(out).map_err(|e| write_err(out, &e))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let staging = tempfile::Builder::new()
        .prefix(".meshsynth-")
        .tempdir_in(&parent)
        .map_err(|e| write_err(&parent, &e))?;
    let by_path: BTreeMap<&str, &File> = files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut staged: Vec<&str> = changes
        .added
        .iter()
        .chain(&changes.changed)
        .map(String::as_str)
        .collect();
    // The manifest goes last: until it is in place, the folder reads as stale, never as current.
    staged.sort_by_key(|p| (*p == "manifest.json", *p));
    let mut made: BTreeSet<PathBuf> = BTreeSet::new();
    let mut make_parent = |path: &Path| -> Result<(), EmitError> {
        if let Some(dir) = path.parent() {
            if !made.contains(dir) {
                std::fs::create_dir_all(dir).map_err(|e| write_err(dir, &e))?;
                made.insert(dir.to_owned());
            }
        }
        Ok(())
    };
    for rel in &staged {
        let Some(file) = by_path.get(rel) else { continue };
        let tmp = staging.path().join(rel);
        make_parent(&tmp)?;
        std::fs::write(&tmp, &file.bytes).map_err(|e| write_err(&tmp, &e))?;
    }
    for rel in &staged {
        let target = out.join(rel);
        make_parent(&target)?;
        std::fs::rename(staging.path().join(rel), &target).map_err(|e| write_err(&target, &e))?;
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
    staging.close().map_err(|e| write_err(&parent, &e))?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> File {
        File {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn writes_changes_removes_stale_and_keeps_foreign_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let v1 = vec![
            file("manifest.json", "1"),
            file("111111111111/mesh-a.template.json", "a"),
        ];
        let c = write(&out, &v1).expect("write");
        assert_eq!(c.added.len(), 2);
        std::fs::write(out.join("README.md"), "mine").expect("write");
        let v2 = vec![
            file("manifest.json", "2"),
            file("222222222222/mesh-b.template.json", "b"),
        ];
        let c = write(&out, &v2).expect("write");
        assert_eq!(c.added, vec!["222222222222/mesh-b.template.json"]);
        assert_eq!(c.changed, vec!["manifest.json"]);
        assert_eq!(c.removed, vec!["111111111111/mesh-a.template.json"]);
        assert!(!out.join("111111111111").exists());
        assert!(out.join("README.md").exists());
        assert!(write(&out, &v2).expect("write").is_empty());
        // Nothing is left beside the target.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
        assert_eq!(leftovers.len(), 1);
    }
}

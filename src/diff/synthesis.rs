//! Reading one synthesis folder (`out/`) for `diff`: its manifest, and the
//! templates and Glue resource policies on demand.
//!
//! Only the manifest is read up front. A template is read when its stack may
//! have changed, so diffing two syntheses of a 2,000-account org reads only
//! what differs. It must not write anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::render::manifest::{self, MANIFEST_FILE};

use super::DiffError;

/// A stack's identity in a synthesis: (account id, stack name).
pub(crate) type StackKey = (String, String);

/// One synthesis folder, as far as its manifest tells.
#[derive(Debug)]
pub(crate) struct Synthesis {
    pub(crate) root: PathBuf,
    pub(crate) stacks: BTreeMap<StackKey, StackEntry>,
    /// The Glue resource policy file of each account that has one.
    pub(crate) policies: BTreeMap<String, FileEntry>,
}

#[derive(Debug, Clone)]
pub(crate) struct StackEntry {
    pub(crate) file: FileEntry,
}

#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    /// Relative to the synthesis root.
    pub(crate) path: String,
    /// From the manifest, when it lists one.
    pub(crate) sha256: Option<String>,
}

impl Synthesis {
    /// Reads `dir/manifest.json` and finds the Glue resource policies
    /// (listed in the manifest, or `<account>/glue-resource-policy.json`).
    pub(crate) fn open(dir: &Path) -> Result<Synthesis, DiffError> {
        let manifest_path = dir.join(MANIFEST_FILE);
        let bytes = read(&manifest_path)?;
        let manifest = manifest::parse(&bytes).map_err(|reason| DiffError::Malformed {
            path: manifest_path.clone(),
            reason,
        })?;
        let mut stacks = BTreeMap::new();
        for s in manifest.stacks {
            let key = (s.account, s.name);
            if stacks.contains_key(&key) {
                return Err(DiffError::Malformed {
                    path: manifest_path,
                    reason: format!("stack `{}/{}` is listed twice", key.0, key.1),
                });
            }
            stacks.insert(
                key,
                StackEntry {
                    file: FileEntry {
                        path: s.template,
                        sha256: Some(s.sha256).filter(|h| !h.is_empty()),
                    },
                },
            );
        }
        let mut policies = BTreeMap::new();
        for p in manifest.policies {
            policies.insert(
                p.account,
                FileEntry {
                    path: p.file,
                    sha256: Some(p.sha256).filter(|h| !h.is_empty()),
                },
            );
        }
        // Manifests that do not list the policies: look in every account folder.
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(account) = name.to_str() else { continue };
                if policies.contains_key(account) || crate::model::AccountId::parse(account).is_none() {
                    continue;
                }
                let rel = manifest::policy_file(account);
                if dir.join(&rel).is_file() {
                    policies.insert(
                        account.to_owned(),
                        FileEntry {
                            path: rel,
                            sha256: None,
                        },
                    );
                }
            }
        }
        Ok(Synthesis {
            root: dir.to_owned(),
            stacks,
            policies,
        })
    }

    /// The bytes of a file of this synthesis.
    pub(crate) fn bytes(&self, file: &FileEntry) -> Result<Vec<u8>, DiffError> {
        read(&self.root.join(&file.path))
    }

    /// Parses a file of this synthesis as JSON.
    pub(crate) fn json(&self, file: &FileEntry, bytes: &[u8]) -> Result<Value, DiffError> {
        serde_json::from_slice(bytes).map_err(|e| DiffError::Malformed {
            path: self.root.join(&file.path),
            reason: e.to_string(),
        })
    }
}

/// Whether two files are known to be identical without reading them: both
/// manifests give the same sha256.
pub(crate) fn same_by_hash(a: &FileEntry, b: &FileEntry) -> bool {
    matches!((&a.sha256, &b.sha256), (Some(x), Some(y)) if x == y)
}

impl Synthesis {
    /// The synthesis's `contracts.json`, or `None` when it has none (written by
    /// a meshsynth from before contracts).
    pub(crate) fn contracts(&self) -> Result<Option<crate::contract::Contracts>, DiffError> {
        let path = self.root.join(crate::contract::CONTRACTS_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = read(&path)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| DiffError::Malformed {
                path,
                reason: e.to_string(),
            })
    }
}

impl Synthesis {
    /// The synthesis's `access.json`, or `None` when it has none (written by
    /// a meshsynth from before it).
    pub(crate) fn access(&self) -> Result<Option<crate::synth::decisions::AccessModel>, DiffError> {
        let path = self.root.join(crate::synth::decisions::ACCESS_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = read(&path)?;
        let model: crate::synth::decisions::AccessModel =
            serde_json::from_slice(&bytes).map_err(|e| DiffError::Malformed {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if model.format != crate::synth::decisions::ACCESS_FORMAT {
            return Err(DiffError::Malformed {
                path,
                reason: format!(
                    "format {} is not supported (this meshsynth reads format {})",
                    model.format,
                    crate::synth::decisions::ACCESS_FORMAT
                ),
            });
        }
        Ok(Some(model))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, DiffError> {
    std::fs::read(path).map_err(|e| DiffError::Unreadable {
        path: path.to_owned(),
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => e.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_count_only_when_both_sides_have_one() {
        let f = |h: Option<&str>| FileEntry {
            path: "x".into(),
            sha256: h.map(str::to_owned),
        };
        assert!(same_by_hash(&f(Some("a")), &f(Some("a"))));
        assert!(!same_by_hash(&f(Some("a")), &f(Some("b"))));
        assert!(!same_by_hash(&f(None), &f(Some("a"))));
        assert!(!same_by_hash(&f(None), &f(None)));
    }
}

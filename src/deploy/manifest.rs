//! Reading a synthesis (`out/`): `manifest.json`, every template it lists and
//! every Glue resource policy, checked against their hashes.
//!
//! What `plan` and `deploy` act on is exactly what `synth` wrote: a template
//! edited by hand after synthesis (its sha256 no longer matches) is refused,
//! as is a manifest whose dependencies do not follow its waves. No AWS here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::render::manifest::{parse, sha256_hex, MANIFEST_FILE};

/// What can be wrong with a synthesis folder.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ManifestError {
    #[error("cannot read `{path}`: {reason} (run `meshsynth synth` first)")]
    Unreadable { path: PathBuf, reason: String },
    #[error("`{path}` is not a meshsynth manifest: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("`{path}` does not match its sha256 in manifest.json (edited after synthesis? run `meshsynth synth`)")]
    Stale { path: PathBuf },
}

pub(crate) use crate::render::manifest::{Manifest, ManifestStack};

/// A stack's identity across the org: (account, stack name).
pub(crate) type StackKey = (String, String);

/// A template as read from disk.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    /// The exact text (what is sent to CloudFormation).
    pub(crate) text: String,
    /// The same, parsed (what change classification compares).
    pub(crate) json: Value,
}

/// A synthesis folder, read and checked.
#[derive(Debug, Clone)]
pub(crate) struct Synthesis {
    pub(crate) manifest: Manifest,
    pub(crate) templates: BTreeMap<StackKey, Template>,
    /// Policy text per account.
    pub(crate) policies: BTreeMap<String, String>,
}

impl Synthesis {
    /// The manifest entry of a stack.
    pub(crate) fn stack(&self, key: &StackKey) -> Option<&ManifestStack> {
        self.manifest
            .stacks
            .iter()
            .find(|s| s.account == key.0 && s.name == key.1)
    }
}

fn read_text(path: &Path) -> Result<String, ManifestError> {
    std::fs::read_to_string(path).map_err(|e| ManifestError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Reads `dir/manifest.json` and everything it lists.
pub(crate) fn read(dir: &Path) -> Result<Synthesis, ManifestError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = read_text(&manifest_path)?;
    let invalid = |reason: String| ManifestError::Invalid {
        path: manifest_path.clone(),
        reason,
    };
    let manifest = parse(text.as_bytes()).map_err(invalid)?;
    check(&manifest).map_err(invalid)?;

    let mut templates = BTreeMap::new();
    for stack in &manifest.stacks {
        let path = dir.join(&stack.template);
        let text = read_text(&path)?;
        if !stack.sha256.eq_ignore_ascii_case(&sha256_hex(text.as_bytes())) {
            return Err(ManifestError::Stale { path });
        }
        let json: Value = serde_json::from_str(&text).map_err(|e| ManifestError::Invalid {
            path: path.clone(),
            reason: format!("not JSON: {e}"),
        })?;
        templates.insert((stack.account.clone(), stack.name.clone()), Template { text, json });
    }
    let mut policies = BTreeMap::new();
    for policy in &manifest.policies {
        let path = dir.join(&policy.file);
        let text = read_text(&path)?;
        if !policy.sha256.eq_ignore_ascii_case(&sha256_hex(text.as_bytes())) {
            return Err(ManifestError::Stale { path });
        }
        serde_json::from_str::<Value>(&text).map_err(|e| ManifestError::Invalid {
            path: path.clone(),
            reason: format!("not JSON: {e}"),
        })?;
        policies.insert(policy.account.clone(), text);
    }
    Ok(Synthesis {
        manifest,
        templates,
        policies,
    })
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The manifest's own consistency: names, hashes, and dependencies that
/// point at stacks of earlier waves (or earlier in the same account's wave).
fn check(manifest: &Manifest) -> Result<(), String> {
    let mut seen = BTreeMap::new();
    for s in &manifest.stacks {
        if !is_account(&s.account) {
            return Err(format!("stack `{}` has account `{}`, not 12 digits", s.name, s.account));
        }
        if !s.name.starts_with("mesh-") {
            return Err(format!("stack `{}/{}` is not named `mesh-*`", s.account, s.name));
        }
        if s.sha256.len() < 12 || !s.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("stack `{}/{}` has no valid sha256", s.account, s.name));
        }
        if seen.insert(format!("{}/{}", s.account, s.name), s).is_some() {
            return Err(format!("stack `{}/{}` is listed twice", s.account, s.name));
        }
    }
    for s in &manifest.stacks {
        for dep in &s.depends_on {
            let Some(d) = seen.get(dep.as_str()) else {
                return Err(format!(
                    "stack `{}/{}` depends on `{dep}`, which is not in the manifest",
                    s.account, s.name
                ));
            };
            if d.wave > s.wave || (d.wave == s.wave && d.account != s.account) {
                return Err(format!(
                    "stack `{}/{}` (wave {}) depends on `{dep}` (wave {}), which is not deployed before it",
                    s.account, s.name, s.wave, d.wave
                ));
            }
        }
    }
    let mut policy_accounts = BTreeSet::new();
    for p in &manifest.policies {
        if !is_account(&p.account) || !policy_accounts.insert(p.account.as_str()) {
            return Err(format!("policy of account `{}` is invalid or listed twice", p.account));
        }
    }
    Ok(())
}

/// Orders stacks of one account and wave so each comes after those it depends on.
/// Returns `None` on a cycle (which `check` cannot see across one wave).
pub(crate) fn order_within(stacks: &[&ManifestStack]) -> Option<Vec<usize>> {
    let ids: Vec<String> = stacks.iter().map(|s| format!("{}/{}", s.account, s.name)).collect();
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < stacks.len() {
        let next = (0..stacks.len()).find(|&i| {
            !done.contains(&i)
                && stacks[i]
                    .depends_on
                    .iter()
                    .all(|d| ids.iter().position(|id| id == d).is_none_or(|j| done.contains(&j)))
        })?;
        done.insert(next);
        order.push(next);
    }
    Some(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(account: &str, name: &str, wave: u32, deps: &[&str]) -> ManifestStack {
        ManifestStack {
            name: name.to_owned(),
            account: account.to_owned(),
            region: "eu-west-1".to_owned(),
            template: format!("{account}/{name}.template.json"),
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
            wave,
            resources: 1,
            sha256: "0123456789abcdef".to_owned(),
            upload: None,
        }
    }

    fn manifest(stacks: Vec<ManifestStack>) -> Manifest {
        Manifest {
            format: 1,
            org: "acast".to_owned(),
            region: "eu-west-1".to_owned(),
            stacks,
            policies: vec![],
        }
    }

    #[test]
    fn dependencies_must_come_first() {
        let a = "333333333333";
        let ok = manifest(vec![
            stack(a, "mesh-baseline", 0, &[]),
            stack(a, "mesh-products", 1, &["333333333333/mesh-baseline"]),
        ]);
        assert_eq!(check(&ok), Ok(()));
        let late = manifest(vec![
            stack(a, "mesh-baseline", 1, &[]),
            stack(a, "mesh-products", 1, &["333333333333/mesh-consumer"]),
        ]);
        assert!(check(&late).unwrap_err().contains("not in the manifest"));
        let other = manifest(vec![
            stack("444444444444", "mesh-products", 1, &[]),
            stack(a, "mesh-consumer", 1, &["444444444444/mesh-products"]),
        ]);
        assert!(check(&other).unwrap_err().contains("not deployed before it"));
    }

    #[test]
    fn stacks_of_one_wave_are_ordered_by_their_dependencies() {
        let a = "333333333333";
        let first = stack(a, "mesh-products", 1, &[]);
        let second = stack(a, "mesh-products-2", 1, &["333333333333/mesh-products"]);
        assert_eq!(order_within(&[&second, &first]), Some(vec![1, 0]));
        let loop_a = stack(a, "mesh-a", 1, &["333333333333/mesh-b"]);
        let loop_b = stack(a, "mesh-b", 1, &["333333333333/mesh-a"]);
        assert_eq!(order_within(&[&loop_a, &loop_b]), None);
    }
}

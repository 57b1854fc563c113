//! `diff`: an offline review of two syntheses (`out/` of a pull request's
//! base and head). Per account and stack: resources added, removed and
//! modified with the changed property paths; the Glue resource policies;
//! access changes in plain words; and, first of all, every stateful resource
//! that would be replaced or removed, including one that moves to another
//! stack (CloudFormation removes it from one stack before the other creates it).
//!
//! The classification of each resource is `crate::change`, the same engine
//! `plan` uses. This module reads files but never writes, and never talks to
//! AWS. Output order is sorted throughout, so two runs print the same bytes.
//!
//! Speed: a stack is compared only when its manifest sha256 (or, without
//! one, its bytes) differs, so a one-team change in a 2,000-account org
//! parses only the templates that changed. Access changes come from the two
//! `access.json` files (`access`), the decisions synth made, not from reading
//! policies back out of templates.

pub(crate) mod access;
pub(crate) mod identity;
mod render;
mod synthesis;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::change::{self, Action, PropertyChange, Replacement, ResourceChange};

pub(crate) use access::AccessChange;
pub(crate) use render::{render, Format};

use synthesis::{same_by_hash, FileEntry, StackKey, Synthesis};

/// Why two syntheses could not be compared.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DiffError {
    #[error("cannot read `{path}`: {reason} (is it the output folder of `meshsynth synth`?)")]
    Unreadable { path: PathBuf, reason: String },
    #[error("`{path}` is not valid: {reason}")]
    Malformed { path: PathBuf, reason: String },
}

/// What changes between two syntheses.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Review {
    /// The version of this JSON shape.
    pub(crate) format: u32,
    pub(crate) summary: Summary,
    /// Breaking changes to live product versions (from the two `contracts.json`).
    pub(crate) breaking: Vec<crate::contract::BreakingVersion>,
    /// Every stateful resource removed, replaced (even conditionally) or moved to another stack.
    pub(crate) destructive: Vec<Destructive>,
    /// Access granted or taken away, in words (from the two `access.json`).
    pub(crate) access: Vec<AccessChange>,
    /// Why access was not compared: a side has no `access.json` (written before it existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) access_unknown: Option<String>,
    /// Changed stacks only, by (account, name).
    pub(crate) stacks: Vec<StackDiff>,
    /// Changed Glue resource policies only, by account.
    pub(crate) policies: Vec<PolicyDiff>,
}

/// Counts, for the last line of a review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    pub(crate) stacks_added: usize,
    pub(crate) stacks_removed: usize,
    pub(crate) stacks_modified: usize,
    pub(crate) resources_added: usize,
    pub(crate) resources_removed: usize,
    pub(crate) resources_modified: usize,
    pub(crate) destructive: usize,
    pub(crate) access_changes: usize,
    pub(crate) policies_changed: usize,
    /// Breaking changes to live versions (each column, table or key list).
    pub(crate) breaking: usize,
}

/// Whether a stack or policy is new, gone, or different.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Added,
    Removed,
    Modified,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Modified => "modified",
        }
    }
}

/// One changed stack.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StackDiff {
    pub(crate) account: String,
    pub(crate) name: String,
    pub(crate) status: Status,
    /// As `change::classify` gives them: destructive first, then by logical id.
    pub(crate) changes: Vec<ResourceChange>,
}

/// One changed Glue catalog resource policy.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PolicyDiff {
    pub(crate) account: String,
    /// Always `glue-resource-policy` for now.
    pub(crate) kind: &'static str,
    pub(crate) status: Status,
    /// Paths start with `Policy`; statements with a `Sid` are matched by it.
    pub(crate) changes: Vec<PropertyChange>,
    /// What the change grants or takes away: the access changes on this account's data.
    pub(crate) access: Vec<String>,
}

/// A stateful resource that loses its data (or may).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Destructive {
    pub(crate) account: String,
    pub(crate) stack: String,
    pub(crate) logical_id: String,
    #[serde(rename = "type")]
    pub(crate) resource_type: String,
    pub(crate) action: Action,
    pub(crate) replacement: Option<Replacement>,
    /// `<account>/<stack>` where the same physical resource is added, when it moves.
    pub(crate) moved_to: Option<String>,
    /// The removed resource has `DeletionPolicy: Retain`: AWS keeps it, unmanaged.
    pub(crate) retained: bool,
    /// Why, in words.
    pub(crate) reason: String,
}

impl Review {
    /// Whether nothing at all changed.
    pub(crate) fn is_empty(&self) -> bool {
        self.stacks.is_empty() && self.policies.is_empty() && self.breaking.is_empty()
    }
}

/// Where a stateful resource was removed or added, to pair moves.
struct Placed {
    key: StackKey,
    logical_id: String,
    identity: String,
}

/// Compares the synthesis in `old_dir` with the one in `new_dir`.
pub(crate) fn compare(old_dir: &Path, new_dir: &Path) -> Result<Review, DiffError> {
    let old = Synthesis::open(old_dir)?;
    let new = Synthesis::open(new_dir)?;
    let compared = compare_stacks(&old, &new)?;
    let mut policies = compare_policies(&old, &new)?;
    let destructive = destructive_changes(&compared);
    let stacks = compared.stacks;
    let (access, access_unknown) = match (old.access()?, new.access()?) {
        (Some(o), Some(n)) => (access::compare(&o, &n), None),
        (o, _) => {
            let dir = if o.is_none() { old_dir } else { new_dir };
            (Vec::new(), Some(missing_access(dir)))
        }
    };
    for p in &mut policies {
        p.access = access::of_producer(&access, &p.account)
            .map(|c| c.text.clone())
            .collect();
    }
    // Contracts: both sides need a `contracts.json` (syntheses before it have none).
    let breaking = match (old.contracts()?, new.contracts()?) {
        (Some(o), Some(n)) => crate::contract::breaking(&o.versions, &n.versions, &n.versions),
        _ => Vec::new(),
    };
    let mut summary = Summary {
        breaking: breaking.iter().map(|b| b.changes.len()).sum(),
        destructive: destructive.len(),
        access_changes: access.len(),
        policies_changed: policies.len(),
        ..Summary::default()
    };
    for s in &stacks {
        match s.status {
            Status::Added => summary.stacks_added += 1,
            Status::Removed => summary.stacks_removed += 1,
            Status::Modified => summary.stacks_modified += 1,
        }
        for c in &s.changes {
            match c.action {
                Action::Add | Action::Import => summary.resources_added += 1,
                Action::Remove => summary.resources_removed += 1,
                Action::Modify | Action::Dynamic => summary.resources_modified += 1,
            }
        }
    }
    Ok(Review {
        format: 1,
        summary,
        breaking,
        destructive,
        access,
        access_unknown,
        stacks,
        policies,
    })
}

/// The stacks of two syntheses that differ, with the stateful resources removed and added
/// (to pair moves) and the removed ones that `DeletionPolicy: Retain` keeps.
struct Compared {
    stacks: Vec<StackDiff>,
    removed: Vec<Placed>,
    added: Vec<Placed>,
    retained: BTreeSet<(StackKey, String)>,
}

fn compare_stacks(old: &Synthesis, new: &Synthesis) -> Result<Compared, DiffError> {
    let mut stacks = Vec::new();
    let mut removed: Vec<Placed> = Vec::new();
    let mut added: Vec<Placed> = Vec::new();
    let mut retained: BTreeSet<(StackKey, String)> = BTreeSet::new();

    let keys: BTreeSet<&StackKey> = old.stacks.keys().chain(new.stacks.keys()).collect();
    for key in keys {
        let o = old.stacks.get(key);
        let n = new.stacks.get(key);
        if let (Some(o), Some(n)) = (o, n) {
            if same_by_hash(&o.file, &n.file) {
                continue;
            }
        }
        let (old_bytes, new_bytes) = (
            o.map(|s| old.bytes(&s.file)).transpose()?,
            n.map(|s| new.bytes(&s.file)).transpose()?,
        );
        if old_bytes.is_some() && old_bytes == new_bytes {
            continue;
        }
        let old_t = match (o, &old_bytes) {
            (Some(s), Some(b)) => Some(old.json(&s.file, b)?),
            _ => None,
        };
        let new_t = match (n, &new_bytes) {
            (Some(s), Some(b)) => Some(new.json(&s.file, b)?),
            _ => None,
        };
        let changes = change::classify(old_t.as_ref(), new_t.as_ref());
        if changes.is_empty() {
            continue;
        }
        let account = &key.0;
        for c in &changes {
            if !c.stateful {
                continue;
            }
            match c.action {
                Action::Remove => {
                    if let Some(t) = &old_t {
                        if t.pointer(&format!("/Resources/{}/DeletionPolicy", pointer_escape(&c.logical_id)))
                            .and_then(Value::as_str)
                            == Some("Retain")
                        {
                            retained.insert((key.clone(), c.logical_id.clone()));
                        }
                        removed.push(Placed {
                            key: key.clone(),
                            logical_id: c.logical_id.clone(),
                            identity: identity::physical_identity(account, t, &c.logical_id),
                        });
                    }
                }
                Action::Add => {
                    if let Some(t) = &new_t {
                        added.push(Placed {
                            key: key.clone(),
                            logical_id: c.logical_id.clone(),
                            identity: identity::physical_identity(account, t, &c.logical_id),
                        });
                    }
                }
                Action::Modify | Action::Import | Action::Dynamic => {}
            }
        }
        let status = match (o, n) {
            (None, _) => Status::Added,
            (_, None) => Status::Removed,
            _ => Status::Modified,
        };
        stacks.push(StackDiff {
            account: key.0.clone(),
            name: key.1.clone(),
            status,
            changes,
        });
    }

    Ok(Compared {
        stacks,
        removed,
        added,
        retained,
    })
}

/// The Glue resource policies that differ, by account (`access` filled in later).
fn compare_policies(old: &Synthesis, new: &Synthesis) -> Result<Vec<PolicyDiff>, DiffError> {
    let mut policies = Vec::new();
    let accounts: BTreeSet<&String> = old.policies.keys().chain(new.policies.keys()).collect();
    for account in accounts {
        let o = old.policies.get(account);
        let n = new.policies.get(account);
        if let (Some(o), Some(n)) = (o, n) {
            if same_by_hash(o, n) {
                continue;
            }
        }
        let old_doc = read_policy(old, o)?;
        let new_doc = read_policy(new, n)?;
        let changes = change::diff_documents("Policy", old_doc.as_ref(), new_doc.as_ref());
        if changes.is_empty() {
            continue;
        }
        policies.push(PolicyDiff {
            account: account.clone(),
            kind: "glue-resource-policy",
            status: match (o, n) {
                (None, _) => Status::Added,
                (_, None) => Status::Removed,
                _ => Status::Modified,
            },
            changes,
            access: Vec::new(),
        });
    }

    Ok(policies)
}

/// Every stateful resource removed, replaced or moved to another stack, with why.
fn destructive_changes(c: &Compared) -> Vec<Destructive> {
    let (stacks, removed, added, retained) = (&c.stacks, &c.removed, &c.added, &c.retained);
    // A stateful resource removed from one stack and added to another (same
    // account, same physical name) has moved: CloudFormation deletes it from
    // the old stack, and the new stack cannot create it while it exists.
    let mut added_at: BTreeMap<(&str, &str), &Placed> = BTreeMap::new();
    for a in added {
        added_at.insert((a.key.0.as_str(), a.identity.as_str()), a);
    }
    let moves: BTreeMap<(StackKey, String), (String, String)> = removed
        .iter()
        .filter_map(|r| {
            let to = added_at.get(&(r.key.0.as_str(), r.identity.as_str()))?;
            (to.key != r.key).then(|| {
                let mut place = format!("`{}/{}`", to.key.0, to.key.1);
                if to.logical_id != r.logical_id {
                    place.push_str(&format!(" as `{}`", to.logical_id));
                }
                (
                    (r.key.clone(), r.logical_id.clone()),
                    (format!("{}/{}", to.key.0, to.key.1), place),
                )
            })
        })
        .collect();

    let mut destructive = Vec::new();
    for s in stacks {
        let key = (s.account.clone(), s.name.clone());
        for c in s.changes.iter().filter(|c| c.destructive) {
            let id = (key.clone(), c.logical_id.clone());
            let (moved_to, place) = moves.get(&id).cloned().unzip();
            let kept = retained.contains(&id);
            destructive.push(Destructive {
                account: s.account.clone(),
                stack: s.name.clone(),
                logical_id: c.logical_id.clone(),
                resource_type: c.resource_type.clone(),
                action: c.action,
                replacement: c.replacement,
                reason: reason(c, place.as_deref(), kept),
                moved_to,
                retained: kept,
            });
        }
    }

    destructive
}

/// Why access is not compared when a side has no `access.json`.
fn missing_access(dir: &Path) -> String {
    format!(
        "`{}` has no {} (written by a meshsynth from before it existed), so access is not compared; \
         run `meshsynth synth` on that side to compare it",
        dir.join(crate::synth::decisions::ACCESS_FILE).display(),
        crate::synth::decisions::ACCESS_FILE
    )
}

fn read_policy(synthesis: &Synthesis, file: Option<&FileEntry>) -> Result<Option<Value>, DiffError> {
    file.map(|f| {
        let bytes = synthesis.bytes(f)?;
        synthesis.json(f, &bytes)
    })
    .transpose()
}

/// A JSON pointer token (`~` and `/` escaped).
fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Why a destructive change loses data, in words.
fn reason(c: &ResourceChange, moved_to: Option<&str>, retained: bool) -> String {
    match c.action {
        Action::Remove => match (moved_to, retained) {
            (Some(to), true) => format!(
                "moves to stack {to}: DeletionPolicy Retain keeps it when it leaves this stack, so creating it there fails (it exists); import it into that stack instead"
            ),
            (Some(to), false) => format!("moves to stack {to}: deleted here with its data, then created empty there"),
            (None, true) => "removed (DeletionPolicy Retain keeps it in AWS, no longer managed)".to_owned(),
            (None, false) => "removed, with its data".to_owned(),
        },
        Action::Modify => {
            let paths: Vec<&str> = c
                .properties
                .iter()
                .filter(|p| p.requires_replacement)
                .map(|p| p.path.as_str())
                .collect();
            let unchanged_refs = c
                .properties
                .iter()
                .filter(|p| p.requires_replacement)
                .all(|p| p.old == p.new);
            match c.replacement {
                Some(Replacement::Conditional) if unchanged_refs => format!(
                    "may be replaced: {} refers to a resource that is replaced",
                    paths.join(", ")
                ),
                Some(Replacement::Conditional) => format!("may be replaced: {} changes", paths.join(", ")),
                _ => format!("replaced: {} changes", paths.join(", ")),
            }
        }
        Action::Add => "added".to_owned(),
        Action::Import => "imported".to_owned(),
        Action::Dynamic => "may change when deployed".to_owned(),
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;

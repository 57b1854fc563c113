//! `meshsynth migrate`: a format-v1 topology rewritten as v2.
//!
//! In v1 a consumer wrote `approved_by` on its own consume entry; in v2 the
//! producer's steward grants access under `grants:` of the product, in the
//! producer's file. This moves every approval: it removes each `approved_by`
//! line, adds the grant it stood for (`validate::v1::needed_grants`, the same
//! list the refusal of a v1 topology prints) to the producing product, and
//! sets `version: 2`. YAML files are edited line by line, so comments and
//! layout survive; JSON files are re-serialised. Pure: text in, text out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::load::RawInput;
use crate::model::ProductId;
use crate::validate::v1::{needed_grants, NeededGrant};

/// What a migration changes: the new text of every file it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Migration {
    /// (file, new contents), sorted by file.
    pub(crate) files: Vec<(PathBuf, String)>,
    /// Grants added.
    pub(crate) grants: usize,
    /// `approved_by` entries removed.
    pub(crate) approvals: usize,
}

/// Why a topology cannot be migrated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum MigrateError {
    #[error("{file}:{line}: product `{product}` is written as a flow mapping; add its grants by hand: {grants}")]
    FlowProduct {
        file: String,
        line: u32,
        product: String,
        grants: String,
    },
    #[error("{file}:{line}: cannot find the `approved_by` written here; remove it by hand")]
    Lost { file: String, line: u32 },
    #[error("`{file}` is not a JSON object: {reason}")]
    Json { file: String, reason: String },
}

/// Grants merged per (product, grantee, approver): versions gathered.
fn merged(grants: &[NeededGrant]) -> BTreeMap<(ProductId, String, String), (PathBuf, Vec<u32>)> {
    let mut out: BTreeMap<(ProductId, String, String), (PathBuf, Vec<u32>)> = BTreeMap::new();
    for g in grants {
        let e = out
            .entry((g.product.clone(), g.to.clone(), g.approved_by.clone()))
            .or_insert_with(|| (g.file.clone(), Vec::new()));
        if !e.1.contains(&g.version) {
            e.1.push(g.version);
        }
    }
    for (_, vs) in out.values_mut() {
        vs.sort_unstable();
    }
    out
}

fn is_json(path: &Path, text: &str) -> bool {
    path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{')
}

/// Rewrites a v1 topology: `sources` maps every file of the topology to its text.
pub(crate) fn migrate(input: &RawInput, sources: &BTreeMap<PathBuf, String>) -> Result<Migration, MigrateError> {
    let needed = needed_grants(input);
    let approvals: BTreeMap<PathBuf, Vec<u32>> = needed.iter().fold(BTreeMap::new(), |mut m, (at, _)| {
        let lines: &mut Vec<u32> = m.entry(at.file.clone()).or_default();
        if !lines.contains(&at.line) {
            lines.push(at.line);
        }
        m
    });
    let n_approvals = approvals.values().map(Vec::len).sum();
    let grants: Vec<NeededGrant> = needed.into_iter().map(|(_, g)| g).collect();
    let merged = merged(&grants);
    // Where each product is written: (file, line, column of its first key).
    let mut at: BTreeMap<ProductId, (PathBuf, u32, u32)> = BTreeMap::new();
    for (file, t) in &input.teams {
        for p in &t.value.products {
            let id = ProductId {
                domain: t.value.domain.value.clone(),
                name: p.value.name.value.clone(),
            };
            at.insert(id, (file.clone(), p.line, p.col));
        }
    }
    let mut out = Vec::new();
    for (file, text) in sources {
        let mine: Vec<_> = merged.iter().filter(|(_, (f, _))| f == file).collect();
        let removals = approvals.get(file).cloned().unwrap_or_default();
        let is_org = *file == input.org_file;
        if mine.is_empty() && removals.is_empty() && !is_org {
            continue;
        }
        let new = if is_json(file, text) {
            json_rewrite(file, text, is_org, &mine)?
        } else {
            yaml_rewrite(
                file,
                text,
                is_org.then_some(input.top.version.line),
                &removals,
                &mine,
                &at,
            )?
        };
        if new != *text {
            out.push((file.clone(), new));
        }
    }
    Ok(Migration {
        files: out,
        grants: merged.len(),
        approvals: n_approvals,
    })
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn grant_lines(indent: usize, to: &str, versions: &[u32], approved_by: &str) -> Vec<String> {
    let pad = " ".repeat(indent);
    let vs: Vec<String> = versions.iter().map(u32::to_string).collect();
    vec![
        format!("{pad}- {to}"),
        format!("{pad}  versions: [{}]", vs.join(", ")),
        format!("{pad}  approved_by: {approved_by}"),
    ]
}

type Mine<'a> = [(&'a (ProductId, String, String), &'a (PathBuf, Vec<u32>))];

fn yaml_rewrite(
    file: &Path,
    text: &str,
    version_line: Option<u32>,
    removals: &[u32],
    mine: &Mine<'_>,
    at: &BTreeMap<ProductId, (PathBuf, u32, u32)>,
) -> Result<String, MigrateError> {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    // Insertions after line index → lines; deletions by index.
    let mut insert: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut delete: Vec<usize> = Vec::new();
    for line in removals {
        let i = (*line as usize).saturating_sub(1);
        let Some(l) = lines.get_mut(i) else {
            return Err(MigrateError::Lost {
                file: file.display().to_string(),
                line: *line,
            });
        };
        if l.trim_start().starts_with("approved_by:") {
            delete.push(i);
        } else if let Some(start) = l.find("approved_by:") {
            // A flow mapping: `{ ..., approved_by: x }` — drop the pair and its comma.
            let end = l[start..].find([',', '}']).map_or(l.len(), |e| start + e);
            let mut cut_from = start;
            let before = l[..start].trim_end();
            if before.ends_with(',') {
                cut_from = before.len() - 1;
            }
            let rest = if l[end..].starts_with(',') && cut_from == start {
                end + 1
            } else {
                end
            };
            l.replace_range(cut_from..rest, "");
        } else {
            return Err(MigrateError::Lost {
                file: file.display().to_string(),
                line: *line,
            });
        }
    }
    if let Some(v) = version_line {
        if let Some(l) = lines.get_mut((v as usize).saturating_sub(1)) {
            *l = l.replacen('1', "2", 1);
        }
    }
    let mut by_product: BTreeMap<&ProductId, Vec<String>> = BTreeMap::new();
    for ((product, to, approved_by), (_, versions)) in mine {
        by_product.entry(product).or_default().push(format!(
            "{to}\u{0}{}\u{0}{approved_by}",
            versions.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
        ));
    }
    for (product, entries) in by_product {
        let Some((_, line, col)) = at.get(product) else {
            continue;
        };
        let start = (*line as usize).saturating_sub(1);
        let key_indent = (*col as usize).saturating_sub(1);
        let first = lines.get(start).map(String::as_str).unwrap_or("");
        if first.get(key_indent..).is_some_and(|s| s.starts_with('{')) {
            return Err(MigrateError::FlowProduct {
                file: file.display().to_string(),
                line: *line,
                product: product.to_string(),
                grants: entries
                    .iter()
                    .map(|e| e.replace('\u{0}', " "))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        // The product's block: every following line more indented than its keys' dash.
        let mut end = start + 1;
        while end < lines.len() {
            let l = &lines[end];
            let t = l.trim_start();
            if !t.is_empty() && !t.starts_with('#') && indent_of(l) < key_indent {
                break;
            }
            end += 1;
        }
        while end > start + 1 && {
            let t = lines[end - 1].trim_start();
            t.is_empty() || t.starts_with('#')
        } {
            end -= 1;
        }
        let mut block = vec![format!("{}grants:", " ".repeat(key_indent))];
        for e in entries {
            let mut parts = e.split('\u{0}');
            let to = parts.next().unwrap_or_default();
            let versions: Vec<u32> = parts
                .next()
                .unwrap_or_default()
                .split(',')
                .filter_map(|v| v.parse().ok())
                .collect();
            let by = parts.next().unwrap_or_default();
            block.extend(grant_lines(key_indent + 2, to, &versions, by));
        }
        insert.entry(end - 1).or_default().extend(block);
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        if !delete.contains(&i) {
            out.push(l);
        }
        if let Some(extra) = insert.remove(&i) {
            out.extend(extra);
        }
    }
    Ok(out.join("\n"))
}

fn json_rewrite(file: &Path, text: &str, is_org: bool, mine: &Mine<'_>) -> Result<String, MigrateError> {
    let bad = |reason: String| MigrateError::Json {
        file: file.display().to_string(),
        reason,
    };
    let mut v: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let root = v
        .as_object_mut()
        .ok_or_else(|| bad("the top level is not an object".to_owned()))?;
    if is_org && root.contains_key("version") {
        root.insert("version".into(), Value::from(2));
    }
    let single_team = !root.contains_key("teams") && root.contains_key("name");
    let teams: Vec<&mut Value> = if single_team {
        vec![&mut v]
    } else {
        match v.get_mut("teams") {
            Some(Value::Array(teams)) => teams.iter_mut().collect(),
            _ => Vec::new(),
        }
    };
    for team in teams {
        let domain = team
            .get("domain")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(Value::Array(consumes)) = team.get_mut("consumes") {
            for c in consumes.iter_mut().filter_map(Value::as_object_mut) {
                c.remove("approved_by");
            }
        }
        if let Some(Value::Array(products)) = team.get_mut("products") {
            for p in products.iter_mut().filter_map(Value::as_object_mut) {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let list: Vec<Value> = mine
                    .iter()
                    .filter(|((id, _, _), _)| id.domain == domain && id.name == name)
                    .map(|((_, to, by), (_, versions))| {
                        let (key, value) = to.split_once(": ").unwrap_or((to.as_str(), ""));
                        let mut g = serde_json::Map::new();
                        g.insert(key.to_owned(), Value::from(value.trim_matches('"')));
                        g.insert("versions".into(), Value::from(versions.clone()));
                        g.insert("approved_by".into(), Value::from(by.clone()));
                        Value::Object(g)
                    })
                    .collect();
                if !list.is_empty() {
                    p.insert("grants".into(), Value::Array(list));
                }
            }
        }
    }
    let mut s = serde_json::to_string_pretty(&v).map_err(|e| bad(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

//! Versions as contracts: what each live (active or deprecated) product
//! version promises its consumers — its tables, their columns and partition
//! keys — and the breaking changes between two states of those promises.
//!
//! A live version may gain columns; anything else a consumer's query relies
//! on (a table or column removed, renamed or retyped, the partition keys
//! changed) must come as a new version. The same comparison serves three
//! commands: `diff` compares the `contracts.json` of two syntheses, `plan`
//! compares the Glue tables deployed with the ones synthesised, and
//! `validate --against OLD` compares two topologies.
//!
//! Pure: no IO. Every collection is ordered, so the verdict prints the same
//! bytes on every run.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{AccountId, ProductId, Topology, VersionStatus};

/// The name of the contracts file in a synthesis folder.
pub(crate) const CONTRACTS_FILE: &str = "contracts.json";

/// Every live product version's contract, keyed by `<domain>.<product>@<version>`.
///
/// The text the types here take from the topology (names, accounts, teams) is `S`: `String`
/// wherever contracts are read or compared; `synth` writes `contracts.json` from contracts
/// that borrow the topology's strings ([`from_topology_borrowed`]), which serialise to the
/// same bytes. Text made here (keys, `product`) is always a `String`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "S: Deserialize<'de> + Ord"))]
pub(crate) struct Contracts<S = String> {
    /// The version of this JSON shape.
    pub(crate) format: u32,
    pub(crate) versions: BTreeMap<String, VersionContract<S>>,
}

/// What one live product version promises, and whom to tell when it breaks.
///
/// Fields are declared in the byte order of their JSON names (here and in every type of
/// this file), so serde_json's pretty printer writes canonical JSON directly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "S: Deserialize<'de> + Ord"))]
pub(crate) struct VersionContract<S = String> {
    /// The producing account.
    pub(crate) account: S,
    /// Sorted by (team, account).
    #[serde(default)]
    pub(crate) consumers: Vec<Consumer<S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) contact: Option<S>,
    /// The highest version number the product declares, retired ones included
    /// (a new version must be numbered above it). 0 when unknown.
    #[serde(default)]
    pub(crate) highest_version: u32,
    /// `<domain>.<product>`.
    pub(crate) product: String,
    /// `active` or `deprecated`.
    pub(crate) status: S,
    pub(crate) tables: BTreeMap<S, TableContract<S>>,
    pub(crate) team: S,
    pub(crate) version: u32,
}

/// A table's schema as consumers query it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "S: Deserialize<'de> + Ord"))]
pub(crate) struct TableContract<S = String> {
    /// In the order written.
    pub(crate) columns: Vec<Field<S>>,
    pub(crate) partition_keys: Vec<Field<S>>,
}

/// A column or partition key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Field<S = String> {
    pub(crate) name: S,
    #[serde(rename = "type")]
    pub(crate) ty: S,
}

/// A consuming team and account of a version, with whom to notify. Ordered by (team, account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "S: Deserialize<'de>"))]
pub(crate) struct Consumer<S = String> {
    pub(crate) account: S,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) contact: Option<S>,
    pub(crate) team: S,
}

impl<S: Ord> Ord for Consumer<S> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.team, &self.account, &self.contact).cmp(&(&other.team, &other.account, &other.contact))
    }
}

impl<S: Ord> PartialOrd for Consumer<S> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "team {} (account {}", self.team, self.account)?;
        if let Some(c) = &self.contact {
            write!(f, ", {c}")?;
        }
        f.write_str(")")
    }
}

/// The kinds of breaking change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BreakingKind {
    TableRemoved,
    ColumnRemoved,
    ColumnRenamed,
    ColumnRetyped,
    PartitionKeysChanged,
}

/// One breaking change of a version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct BreakingChange {
    pub(crate) kind: BreakingKind,
    pub(crate) table: String,
    /// In words: "column `title` removed from table `episodes`".
    pub(crate) detail: String,
}

/// The breaking changes of one live version, whom they break, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BreakingVersion {
    pub(crate) product: String,
    pub(crate) version: u32,
    /// The status before the change.
    pub(crate) status: String,
    pub(crate) changes: Vec<BreakingChange>,
    /// The consumers to notify (of the version, as the newer side lists them).
    pub(crate) consumers: Vec<Consumer>,
    /// The version number to publish the change under instead.
    pub(crate) suggested_version: u32,
}

impl BreakingVersion {
    /// `publish the change as podcasts.episodes@3 and deprecate @2`.
    pub(crate) fn suggestion(&self) -> String {
        format!(
            "publish the change as {}@{} (a new version) and deprecate @{}, so consumers move when they are ready",
            self.product, self.suggested_version, self.version
        )
    }
}

/// The contracts of every live version of a validated topology (products on every core).
pub(crate) fn from_topology(t: &Topology) -> Contracts {
    build(t)
}

/// [`from_topology`], borrowing the topology's strings: what `synth` writes (a large org's
/// contracts hold about a million strings, which need not be copied to be written).
pub(crate) fn from_topology_borrowed(t: &Topology) -> Contracts<&str> {
    build(t)
}

fn build<'t, S: From<&'t str> + Ord + Send>(t: &'t Topology) -> Contracts<S> {
    use rayon::prelude::*;
    // Borrowed, so the 200,000 consumes of a large org allocate nothing here. Each version's
    // list is put in (team, account) order (a team's contact follows from the team) on the
    // core that builds its contract.
    let mut consumers: HashMap<(&ProductId, u32), Vec<(&str, &AccountId)>> = HashMap::new();
    for c in &t.consumes {
        consumers
            .entry((&c.product, c.version))
            .or_default()
            .push((c.team.as_str(), &c.account));
    }
    let contact = |team: &str| -> Option<S> { t.teams.get(team).and_then(|team| team.contact.as_deref()).map(S::from) };
    let fields = |cols: &'t [crate::model::Column]| -> Vec<Field<S>> {
        cols.iter()
            .map(|c| Field {
                name: S::from(&c.name),
                ty: S::from(&c.ty),
            })
            .collect()
    };
    let products: Vec<&crate::model::Product> = t.products.values().collect();
    let versions: Vec<(String, VersionContract<S>)> = products
        .par_iter()
        .flat_map_iter(|p| {
            let product = p.id.to_string();
            let highest_version = p.versions.keys().copied().max().unwrap_or(0);
            let (consumers, fields, contact) = (&consumers, &fields, &contact);
            p.versions
                .values()
                .filter(|v| v.status != VersionStatus::Retired)
                .map(move |v| {
                    let tables = v
                        .tables
                        .iter()
                        .map(|tb| {
                            let table = TableContract {
                                columns: fields(&tb.columns),
                                partition_keys: fields(&tb.partition_keys),
                            };
                            (S::from(&tb.name), table)
                        })
                        .collect();
                    let mut listed = consumers.get(&(&p.id, v.number)).cloned().unwrap_or_default();
                    listed.sort_unstable();
                    listed.dedup();
                    let consumers = listed
                        .into_iter()
                        .map(|(team, account)| Consumer {
                            account: S::from(account.as_str()),
                            contact: contact(team),
                            team: S::from(team),
                        })
                        .collect();
                    let contract = VersionContract {
                        account: S::from(p.account.as_str()),
                        consumers,
                        contact: contact(&p.team),
                        highest_version,
                        product: product.clone(),
                        status: S::from(v.status.as_str()),
                        tables,
                        team: S::from(&p.team),
                        version: v.number,
                    };
                    (format!("{product}@{}", v.number), contract)
                })
        })
        .collect();
    Contracts {
        format: 1,
        versions: versions.into_iter().collect(),
    }
}

/// The live versions a products template deploys, as far as its Glue
/// resources tell (no consumers: templates do not name them). Databases are
/// recognised by their `meshsynth:product` and `meshsynth:version` parameters;
/// a table belongs to the database its `DatabaseName` refers to.
pub(crate) fn from_template(account: &str, template: &Value) -> BTreeMap<String, VersionContract> {
    let mut out = BTreeMap::new();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return out;
    };
    let mut by_db: BTreeMap<&str, String> = BTreeMap::new();
    for (id, r) in resources {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::Glue::Database") {
            continue;
        }
        let params = r.pointer("/Properties/DatabaseInput/Parameters");
        let param = |k: &str| params.and_then(|p| p.get(k)).and_then(Value::as_str);
        let (Some(product), Some(version)) = (param("meshsynth:product"), param("meshsynth:version")) else {
            continue;
        };
        let Ok(version) = version.parse::<u32>() else { continue };
        let key = format!("{product}@{version}");
        by_db.insert(id.as_str(), key.clone());
        out.insert(
            key,
            VersionContract {
                product: product.to_owned(),
                version,
                status: param("meshsynth:status").unwrap_or("active").to_owned(),
                account: account.to_owned(),
                team: param("meshsynth:team").unwrap_or_default().to_owned(),
                contact: param("meshsynth:contact").map(str::to_owned),
                highest_version: 0,
                tables: BTreeMap::new(),
                consumers: Vec::new(),
            },
        );
    }
    for r in resources.values() {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::Glue::Table") {
            continue;
        }
        let Some(db) = r.pointer("/Properties/DatabaseName/Ref").and_then(Value::as_str) else {
            continue;
        };
        let Some(key) = by_db.get(db) else { continue };
        let Some(input) = r.pointer("/Properties/TableInput") else {
            continue;
        };
        let Some(name) = input.get("Name").and_then(Value::as_str) else {
            continue;
        };
        let fields = |v: Option<&Value>| -> Vec<Field> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| {
                            Some(Field {
                                name: c.get("Name")?.as_str()?.to_owned(),
                                ty: c.get("Type")?.as_str()?.to_owned(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        if let Some(v) = out.get_mut(key) {
            v.tables.insert(
                name.to_owned(),
                TableContract {
                    columns: fields(input.pointer("/StorageDescriptor/Columns")),
                    partition_keys: fields(input.get("PartitionKeys")),
                },
            );
        }
    }
    out
}

/// The breaking changes from `old` to `new`, per live version of `old`.
/// Consumers come from `new` (or from `consumers` when `new` has none, as a
/// template-derived side does). A version that is no longer live was retired
/// or removed: that is the version lifecycle (`validate` refuses it while the
/// version is consumed), not a change to a live contract.
pub(crate) fn breaking(
    old: &BTreeMap<String, VersionContract>,
    new: &BTreeMap<String, VersionContract>,
    consumers: &BTreeMap<String, VersionContract>,
) -> Vec<BreakingVersion> {
    // The highest version number of each product on either side, for the suggestion.
    let mut highest: BTreeMap<&str, u32> = BTreeMap::new();
    for v in old.values().chain(new.values()).chain(consumers.values()) {
        let h = highest.entry(v.product.as_str()).or_default();
        *h = (*h).max(v.version).max(v.highest_version);
    }
    let mut out = Vec::new();
    for (key, o) in old {
        let Some(n) = new.get(key) else { continue };
        let changes = compare_version(o, n);
        if changes.is_empty() {
            continue;
        }
        let listed = if n.consumers.is_empty() {
            consumers.get(key).map(|c| c.consumers.clone()).unwrap_or_default()
        } else {
            n.consumers.clone()
        };
        out.push(BreakingVersion {
            product: o.product.clone(),
            version: o.version,
            status: o.status.clone(),
            changes,
            consumers: listed,
            suggested_version: highest.get(o.product.as_str()).copied().unwrap_or(o.version) + 1,
        });
    }
    out
}

fn compare_version(o: &VersionContract, n: &VersionContract) -> Vec<BreakingChange> {
    let mut out = Vec::new();
    for (name, ot) in &o.tables {
        let Some(nt) = n.tables.get(name) else {
            out.push(BreakingChange {
                kind: BreakingKind::TableRemoved,
                table: name.clone(),
                detail: format!("table `{name}` removed"),
            });
            continue;
        };
        compare_columns(name, &ot.columns, &nt.columns, &mut out);
        if ot.partition_keys != nt.partition_keys {
            let show = |keys: &[Field]| {
                if keys.is_empty() {
                    "none".to_owned()
                } else {
                    keys.iter()
                        .map(|k| format!("{} {}", k.name, k.ty))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            out.push(BreakingChange {
                kind: BreakingKind::PartitionKeysChanged,
                table: name.clone(),
                detail: format!(
                    "partition keys of table `{name}` change from ({}) to ({})",
                    show(&ot.partition_keys),
                    show(&nt.partition_keys)
                ),
            });
        }
    }
    out.sort();
    out
}

/// Columns are matched by name (Athena reads Parquet by name, so order does
/// not break a query). A removed column whose place is taken by a new column
/// of the same type reads as a rename.
fn compare_columns(table: &str, old: &[Field], new: &[Field], out: &mut Vec<BreakingChange>) {
    let new_by_name: BTreeMap<&str, &Field> = new.iter().map(|f| (f.name.as_str(), f)).collect();
    let old_names: BTreeSet<&str> = old.iter().map(|f| f.name.as_str()).collect();
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    for (i, f) in old.iter().enumerate() {
        match new_by_name.get(f.name.as_str()) {
            Some(n) if n.ty != f.ty => out.push(BreakingChange {
                kind: BreakingKind::ColumnRetyped,
                table: table.to_owned(),
                detail: format!(
                    "column `{}` of table `{table}` changes type from {} to {}",
                    f.name, f.ty, n.ty
                ),
            }),
            Some(_) => {}
            None => {
                let successor = new.get(i).filter(|n| {
                    n.ty == f.ty && !old_names.contains(n.name.as_str()) && !taken.contains(n.name.as_str())
                });
                if let Some(n) = successor {
                    taken.insert(n.name.as_str());
                    out.push(BreakingChange {
                        kind: BreakingKind::ColumnRenamed,
                        table: table.to_owned(),
                        detail: format!("column `{}` of table `{table}` renamed to `{}`", f.name, n.name),
                    });
                } else {
                    out.push(BreakingChange {
                        kind: BreakingKind::ColumnRemoved,
                        table: table.to_owned(),
                        detail: format!("column `{}` removed from table `{table}`", f.name),
                    });
                }
            }
        }
    }
}

/// The verdict in text: one block per version, its changes, whom to notify
/// and what to do instead. Empty when nothing breaks.
pub(crate) fn render_text(breaking: &[BreakingVersion]) -> String {
    let mut s = String::new();
    if breaking.is_empty() {
        return s;
    }
    let n: usize = breaking.iter().map(|b| b.changes.len()).sum();
    s.push_str(&format!("Breaking changes to live versions ({n}):\n"));
    for b in breaking {
        s.push_str(&format!("  {}@{} ({}):\n", b.product, b.version, b.status));
        for c in &b.changes {
            s.push_str(&format!("    ! {}\n", c.detail));
        }
        if b.consumers.is_empty() {
            s.push_str("    notify: no consumers yet\n");
        } else {
            let list: Vec<String> = b.consumers.iter().map(ToString::to_string).collect();
            s.push_str(&format!("    notify: {}\n", list.join("; ")));
        }
        s.push_str(&format!("    instead: {}\n", b.suggestion()));
    }
    s
}

/// The verdict in Markdown, for a pull-request comment.
pub(crate) fn render_markdown(breaking: &[BreakingVersion]) -> String {
    let mut s = String::new();
    if breaking.is_empty() {
        return s;
    }
    let n: usize = breaking.iter().map(|b| b.changes.len()).sum();
    s.push_str(&format!("### Breaking changes to live versions ({n})\n\n"));
    for b in breaking {
        s.push_str(&format!("**{}@{}** ({})\n\n", b.product, b.version, b.status));
        for c in &b.changes {
            s.push_str(&format!("- :x: {}\n", c.detail));
        }
        if b.consumers.is_empty() {
            s.push_str("- notify: no consumers yet\n");
        } else {
            let list: Vec<String> = b.consumers.iter().map(ToString::to_string).collect();
            s.push_str(&format!("- notify: {}\n", list.join("; ")));
        }
        s.push_str(&format!("- instead: {}\n\n", b.suggestion()));
    }
    s
}

#[cfg(test)]
#[path = "contract_tests.rs"]
mod tests;

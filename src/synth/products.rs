//! The `products` part: in a producer account, a Glue database per live product
//! version and its tables (their parameters describe them), the version's Lake
//! Formation grants (access mode lakeformation), freshness rules and alarms, the
//! account's alert topic and its registered data location; and, beside the
//! stacks, the account's Glue Data Catalog resource policy (access mode iam).
//! Pure: no IO.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use super::access::{Decisions, Pv};
use super::alarms::{self, Alarm, AlertTopic};
use super::context::{assemble, common, unit, Common, Paths};
use super::doc::Doc;
use super::links::TableGrant;
use super::split::Unit;
use super::{lakeformation, names, policy, projection, Context, Part, PolicyPlan, StackPlan, SynthError};
use crate::model::{AccountId, Column, Product, Version, VersionStatus};

/// The context of `products.json.hbs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ProductsContext {
    #[serde(flatten)]
    pub(crate) common: Common,
    /// A Glue database per live (not retired) product version of the account.
    pub(crate) versions: Vec<VersionContext>,
    /// Access mode lakeformation, first stack: the data location's role (one entry, else none).
    pub(crate) lakeformation_location: Vec<LakeFormationLocation>,
    /// First stack, when a version of the account has a freshness alarm: the alert topic (one entry, else none).
    pub(crate) alert_topic: Vec<AlertTopic>,
}

/// One product version: its database, tables, grants and alarms.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct VersionContext {
    /// Logical id of the database.
    pub(crate) db_id: String,
    /// The database's name: `<domain>_<product>_v<n>`.
    pub(crate) db_name: String,
    pub(crate) description: String,
    /// `s3://<data bucket>/<domain>/<product>/v<n>/`.
    pub(crate) location: String,
    /// The database's parameters: `meshsynth:org`, `:domain`, `:product`, `:version`, `:status`,
    /// `:classification`, `:team`, and when known `:steward`, `:contact`, `:slo-freshness`,
    /// `:slo-available-by`.
    pub(crate) parameters: BTreeMap<String, String>,
    pub(crate) tables: Vec<TableContext>,
    /// The tables' logical ids (a grant depends on them).
    pub(crate) table_ids: Vec<String>,
    /// Access mode lakeformation: the version's grants (to the org, or to each reading account).
    pub(crate) lf_grants: Vec<LfGrant>,
    /// The version's freshness rule and alarm (one entry, or none).
    pub(crate) alarms: Vec<Alarm>,
}

/// A Glue table of a version.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct TableContext {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    /// `s3://<data bucket>/<domain>/<product>/v<n>/<table>/`.
    pub(crate) location: String,
    pub(crate) columns: Vec<GlueColumn>,
    pub(crate) partition_keys: Vec<GlueColumn>,
    /// The product's classification (`open`, `internal`, `restricted`, …).
    pub(crate) classification: String,
    /// Table parameters: Parquet, partition projection, `meshsynth:classification`.
    pub(crate) parameters: BTreeMap<String, String>,
}

/// A column in Glue's CloudFormation shape.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct GlueColumn {
    #[serde(rename = "Name")]
    pub(crate) name: String,
    #[serde(rename = "Type")]
    pub(crate) ty: String,
    /// At most 255 bytes (Glue's limit).
    #[serde(rename = "Comment", skip_serializing_if = "Option::is_none")]
    pub(crate) comment: Option<String>,
}

/// A Lake Formation grant of a version to one principal (the org, or an account).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct LfGrant {
    /// Logical id of the DESCRIBE grant on the database.
    pub(crate) db_id: String,
    /// Logical id of the grant on every table (used when `tables` is null).
    pub(crate) tables_id: String,
    /// The organization's ARN, or an account id.
    pub(crate) principal: String,
    /// Null: every table and column; else per table the columns it leaves out.
    pub(crate) tables: Option<Vec<TableGrant>>,
}

/// The role Lake Formation reads the data bucket with.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct LakeFormationLocation {
    pub(crate) role_name: String,
    /// The account's keys (`arn:aws:kms:<region>:<account>:key/*`).
    pub(crate) key_arn: String,
    /// `s3.<region>.amazonaws.com` (the `kms:ViaService` condition).
    pub(crate) via_s3: String,
}

/// The context of `glue-resource-policy.json.hbs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct GluePolicyContext {
    pub(crate) account: String,
    pub(crate) org: String,
    /// The policy document.
    pub(crate) policy: Doc,
}

enum ProductsUnit {
    Version(VersionContext),
    Location(LakeFormationLocation),
    Topic(AlertTopic),
}

/// Glue column lists in CloudFormation's shape. Glue caps comments at 255 characters.
fn columns(cols: &[Column]) -> Vec<GlueColumn> {
    cols.iter()
        .map(|c| GlueColumn {
            name: c.name.clone(),
            ty: c.ty.clone(),
            comment: c.comment.as_deref().map(|s| truncate(s, 255).to_owned()),
        })
        .collect()
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The Glue parameters that describe a version's database.
fn version_parameters(d: &Decisions<'_>, p: &Product, v: &Version) -> BTreeMap<String, String> {
    let team = d.t.teams.get(&p.team);
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    let mut put = |k: &str, v: String| params.insert(k.to_owned(), v);
    put("meshsynth:org", d.t.org.name.clone());
    put("meshsynth:domain", p.id.domain.clone());
    put("meshsynth:product", p.id.to_string());
    put("meshsynth:version", v.number.to_string());
    put("meshsynth:status", v.status.as_str().to_owned());
    put("meshsynth:classification", p.classification.as_str().to_owned());
    put("meshsynth:team", p.team.clone());
    if let Some(s) = team.and_then(|t| t.steward.clone()) {
        put("meshsynth:steward", s);
    }
    if let Some(c) = team.and_then(|t| t.contact.clone()) {
        put("meshsynth:contact", c);
    }
    if let Some(slo) = &p.slo {
        if let Some(f) = &slo.freshness {
            put("meshsynth:slo-freshness", f.clone());
        }
        if let Some(a) = &slo.available_by {
            put("meshsynth:slo-available-by", a.clone());
        }
    }
    params
}

/// Access mode lakeformation: a version's grants, and how many resources they render to.
fn lf_grants(d: &Decisions<'_>, p: &Product, v: &Version) -> (Vec<LfGrant>, usize) {
    let org = &d.t.org;
    let pv: Pv<'_> = (&p.id, v.number);
    // (id suffix, principal, whether it reads the sensitive columns too)
    let mut principals: Vec<(String, String, bool)> = Vec::new();
    if d.is_open(pv) {
        let org_principal = format!(
            "arn:aws:organizations::{}:organization/{}",
            org.management_account, org.organization_id
        );
        principals.push(("Org".into(), org_principal, false));
    } else if let Some(readers) = d.readers(pv) {
        let accounts: BTreeSet<&AccountId> = readers.iter().map(|(a, _)| a).collect();
        principals.extend(accounts.iter().map(|a| {
            let all = lakeformation::account_reads_all_columns(d, a, pv);
            (format!("Acct{a}"), a.to_string(), all)
        }));
    }
    let mut resources = 0;
    let grants = principals
        .into_iter()
        .map(|(suffix, principal, all)| {
            let stem = format!("{}V{}{suffix}", p.id.camel(), v.number);
            let tables =
                lakeformation::table_grants(&format!("LfTable{stem}"), lakeformation::exclusions(p, v.number, all));
            resources += 1 + tables.as_ref().map_or(1, Vec::len);
            LfGrant {
                db_id: format!("LfDb{stem}"),
                tables_id: format!("LfTables{stem}"),
                principal,
                tables,
            }
        })
        .collect();
    (grants, resources)
}

fn version(d: &Decisions<'_>, account: &AccountId, p: &Product, v: &Version, paths: Paths) -> Unit<VersionContext> {
    let t = d.t;
    let bucket = names::data_bucket(&t.org, account);
    let prefix = names::version_prefix(&p.id, v.number);
    let tables: Vec<TableContext> = v
        .tables
        .iter()
        .map(|tb| {
            let location = ["s3://", &bucket, "/", &prefix, &tb.name, "/"].concat();
            let mut parameters = projection::table_parameters(tb, &location);
            parameters.insert("meshsynth:classification".into(), p.classification.as_str().into());
            TableContext {
                id: names::glue_table_id(&p.id, v.number, &tb.name),
                name: tb.name.clone(),
                description: truncate(tb.description.as_deref().unwrap_or(""), 2048).to_owned(),
                location,
                columns: columns(&tb.columns),
                partition_keys: columns(&tb.partition_keys),
                classification: p.classification.as_str().to_owned(),
                parameters,
            }
        })
        .collect();
    let (lf_grants, lf_resources) = if !paths.lakeformation {
        (Vec::new(), 0)
    } else {
        lf_grants(d, p, v)
    };
    let description = p.description.as_deref().unwrap_or_default();
    let alarms = alarms::version_alarms(t, p, v);
    let resources = 1 + tables.len() + lf_resources + 2 * alarms.len();
    let value = VersionContext {
        db_id: names::glue_db_id(&p.id, v.number),
        db_name: names::glue_database(&p.id, v.number),
        description: truncate(
            &format!("{} (version {}, {})", description.trim(), v.number, v.status.as_str()),
            2048,
        )
        .to_owned(),
        location: ["s3://", &bucket, "/", &prefix].concat(),
        parameters: version_parameters(d, p, v),
        table_ids: tables.iter().map(|tb| tb.id.clone()).collect(),
        tables,
        lf_grants,
        alarms,
    };
    unit(format!("{}@{}", p.id, v.number), resources, value)
}

pub(crate) fn stacks(d: &Decisions<'_>, account: &AccountId, products: &[&Product], paths: Paths) -> Vec<StackPlan> {
    let t = d.t;
    let org = &t.org;
    let mut units = Vec::new();
    for p in products {
        // A retired version has no Glue resources: its database and tables leave the stack
        // (a destructive change `diff`, `plan` and `deploy` flag); its data in S3 stays.
        for v in p.versions.values().filter(|v| v.status != VersionStatus::Retired) {
            units.push(version(d, account, p, v, paths).map(ProductsUnit::Version));
        }
    }
    let mut fixed = Vec::new();
    if let Some(topic) = alarms::alert_topic(t, account, products, d.consuming_accounts(account)) {
        let resources = 2 + topic.emails.len();
        fixed.push(unit("alert-topic".into(), resources, topic).map(ProductsUnit::Topic));
    }
    if paths.lakeformation {
        let location = LakeFormationLocation {
            role_name: names::bounded("mesh-lakeformation-", &org.name, 64),
            key_arn: format!("arn:aws:kms:{}:{account}:key/*", org.region),
            via_s3: format!("s3.{}.amazonaws.com", org.region),
        };
        fixed.push(unit("lakeformation".into(), 2, location).map(ProductsUnit::Location));
    }
    assemble(fixed, units)
        .into_iter()
        .map(|(index, values)| {
            let mut ctx = ProductsContext {
                common: common(d, account, Part::Products, paths, index),
                versions: Vec::new(),
                lakeformation_location: Vec::new(),
                alert_topic: Vec::new(),
            };
            for v in values {
                match v {
                    ProductsUnit::Version(v) => ctx.versions.push(v),
                    ProductsUnit::Location(l) => ctx.lakeformation_location.push(l),
                    ProductsUnit::Topic(t) => ctx.alert_topic.push(t),
                }
            }
            StackPlan::new(account, Part::Products, index, Context::Products(ctx))
        })
        .collect()
}

/// The iam mode's path: the account's Glue Data Catalog resource policy, if it grants anything.
pub(crate) fn glue_policy(
    d: &Decisions<'_>,
    account: &AccountId,
    products: &[&Product],
    lakeformation: bool,
) -> Result<Option<PolicyPlan>, SynthError> {
    let Some(policy) = policy::glue_resource_policy(d, account, products, lakeformation) else {
        return Ok(None);
    };
    policy::check_size(&policy, policy::GLUE_POLICY_MAX).map_err(|e| {
        SynthError::too_large(
            format!("the Glue catalog resource policy of account {account}"),
            e,
            "it grants each product version of the account to its readers; move products to another account of \
             the team, or retire old versions",
        )
    })?;
    Ok(Some(PolicyPlan {
        account: account.clone(),
        context: GluePolicyContext {
            account: account.to_string(),
            org: d.t.org.name.clone(),
            policy: policy.into(),
        },
    }))
}

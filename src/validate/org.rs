//! The org pass: the org's own settings (ids, region, roles, tags).

use std::collections::BTreeMap;
use std::path::Path;

use super::roles::is_role_name;
use super::{owners, Cx};
use crate::model::raw::{RawIdentityCenter, RawOrg, S};
use crate::model::{AccessMode, IdentityCenter, Org};

/// The org's settings, when they are all valid.
pub(super) fn validate_org(cx: &mut Cx, of: &Path, org: &S<RawOrg>) -> Option<Org> {
    let o = &org.value;
    let mut ok = cx.name(of, &o.name, "org name");
    let valid_org_id = o.organization_id.value.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if !valid_org_id {
        cx.error(
            of,
            &o.organization_id,
            format!("`{}` is not an AWS Organizations id", o.organization_id.value),
            "it looks like o-a1b2c3d4e5; see `aws organizations describe-organization`",
        );
        ok = false;
    }
    let management = cx.account_id(of, &o.management_account);
    let central = cx.account_id(of, &o.central_account);
    if !is_region(&o.region.value) {
        cx.error(
            of,
            &o.region,
            format!("`{}` is not an AWS region", o.region.value),
            "e.g. eu-west-1",
        );
        ok = false;
    }
    // The staging bucket has the longest bucket name, and it must fit S3's limit.
    if ok && o.name.value.len() > crate::model::physical::max_org_name_len(&o.region.value) {
        cx.error(
            of,
            &o.name,
            format!(
                "org name `{}` is too long for S3 bucket names in {}",
                o.name.value, o.region.value
            ),
            format!(
                "use at most {} characters",
                crate::model::physical::max_org_name_len(&o.region.value)
            ),
        );
        ok = false;
    }
    let deploy_role = match &o.deploy_role {
        Some(r) if !is_role_name(&r.value) => {
            cx.error(
                of,
                r,
                format!("`{}` is not an IAM role name", r.value),
                "e.g. OrganizationAccountAccessRole",
            );
            ok = false;
            String::new()
        }
        Some(r) => r.value.clone(),
        None => "OrganizationAccountAccessRole".to_owned(),
    };
    let access_mode = match o.access_mode.as_ref().map(|m| m.value.as_str()) {
        None | Some("iam") => AccessMode::Iam,
        Some("lakeformation") => AccessMode::LakeFormation,
        Some(other) => {
            if let Some(m) = &o.access_mode {
                cx.error(
                    of,
                    m,
                    format!("unknown access mode `{other}`"),
                    "use iam or lakeformation",
                );
            }
            ok = false;
            AccessMode::Iam
        }
    };
    let keep_iam_paths = keep_iam_paths(cx, of, o.keep_iam_paths.as_ref(), access_mode, &mut ok);
    let identity_center = o.identity_center.as_ref().map(|ic| identity_center(cx, of, ic));
    let owners = owners::validate_owners(cx, of, o.owners.as_ref());
    let tags = tags(cx, of, o.tags.as_ref());
    let query_results_days = query_results_days(cx, of, o.query_results_days.as_ref(), &mut ok);
    let data_lake_admins = data_lake_admins(cx, of, o.data_lake_admins.as_ref(), &mut ok);
    let (Some(management_account), Some(central_account)) = (management, central) else {
        return None;
    };
    ok.then(|| Org {
        name: o.name.value.clone(),
        organization_id: o.organization_id.value.clone(),
        management_account,
        central_account,
        region: o.region.value.clone(),
        deploy_role,
        access_mode,
        identity_center,
        owners,
        tags,
        query_results_days,
        data_lake_admins,
        keep_iam_paths,
        access_logs: o.access_logs.as_ref().is_none_or(|a| a.value),
    })
}

/// `keep_iam_paths`: only beside `access_mode: lakeformation` (in mode iam the paths are the
/// mode itself); a reminder that it is meant for one deploy.
fn keep_iam_paths(cx: &mut Cx, of: &Path, keep: Option<&S<bool>>, mode: AccessMode, ok: &mut bool) -> bool {
    let Some(keep) = keep.filter(|k| k.value) else {
        return false;
    };
    if mode != AccessMode::LakeFormation {
        cx.error(
            of,
            keep,
            "`keep_iam_paths: true` needs `access_mode: lakeformation`",
            "it keeps the iam mode's read paths beside the Lake Formation grants while an org switches; \
             set `access_mode: lakeformation` with it, or remove it",
        );
        *ok = false;
        return false;
    }
    cx.warn(
        of,
        keep,
        "`keep_iam_paths: true` keeps the iam mode's read paths beside the Lake Formation grants",
        "it is the first of two deploys that switch an org from iam (see README, \"Switching an existing org\"); \
         remove it and deploy again once this deploy is done",
    );
    true
}

/// Identity Center: an instance ARN and an identity store id.
fn identity_center(cx: &mut Cx, of: &Path, ic: &S<RawIdentityCenter>) -> IdentityCenter {
    let ic = &ic.value;
    if !ic.instance_arn.value.starts_with("arn:aws:sso:::instance/ssoins-") {
        cx.error(
            of,
            &ic.instance_arn,
            format!("`{}` is not an Identity Center instance ARN", ic.instance_arn.value),
            "it looks like arn:aws:sso:::instance/ssoins-0123456789abcdef",
        );
    }
    if !ic.identity_store_id.value.starts_with("d-") || ic.identity_store_id.value.len() < 4 {
        cx.error(
            of,
            &ic.identity_store_id,
            format!("`{}` is not an identity store id", ic.identity_store_id.value),
            "it looks like d-0123456789",
        );
    }
    IdentityCenter {
        instance_arn: ic.instance_arn.value.clone(),
        identity_store_id: ic.identity_store_id.value.clone(),
    }
}

/// The org's tags, each a valid AWS tag.
fn tags(cx: &mut Cx, of: &Path, raw: Option<&S<BTreeMap<String, String>>>) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    if let Some(t) = raw {
        for (k, v) in &t.value {
            let valid = !k.is_empty() && k.len() <= 128 && v.len() <= 256 && !k.starts_with("aws:");
            if !valid {
                cx.error(
                    of,
                    t,
                    format!("tag `{k}` is not a valid AWS tag"),
                    "keys are 1-128 characters and may not start with `aws:`; values at most 256",
                );
            }
            tags.insert(k.clone(), v.clone());
        }
    }
    tags
}

/// How long query results are kept: 1 to 3650 days, 30 by default.
fn query_results_days(cx: &mut Cx, of: &Path, days: Option<&S<i64>>, ok: &mut bool) -> u32 {
    match days {
        None => 30,
        Some(d) => match u32::try_from(d.value).ok().filter(|d| (1..=3650).contains(d)) {
            Some(d) => d,
            None => {
                cx.error(
                    of,
                    d,
                    format!("`query_results_days: {}` is out of range", d.value),
                    "give a number of days from 1 to 3650; the default is 30",
                );
                *ok = false;
                30
            }
        },
    }
}

/// The data lake administrators: IAM role names.
fn data_lake_admins(cx: &mut Cx, of: &Path, admins: Option<&S<Vec<S<String>>>>, ok: &mut bool) -> Vec<String> {
    let mut data_lake_admins = Vec::new();
    for r in admins.iter().flat_map(|l| &l.value) {
        if is_role_name(&r.value) {
            data_lake_admins.push(r.value.clone());
        } else {
            cx.error(
                of,
                r,
                format!("`{}` is not an IAM role name", r.value),
                "name a role that exists in every account, e.g. DataLakeAdmin",
            );
            *ok = false;
        }
    }
    data_lake_admins
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::model::AccessMode;

    /// An invalid fixture with `edit` applied, read through `model::load` (the fast YAML
    /// reader, for this block style) and validated: the model's org and the messages.
    fn validated(fixture: &str, edit: impl Fn(String) -> String) -> (Option<crate::model::Org>, Vec<String>) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/invalid")
            .join(fixture);
        let text = edit(std::fs::read_to_string(&path).expect("the fixture"));
        let raw = crate::model::load::from_str(Path::new("org.yaml"), &text).expect("reads");
        match crate::validate::validate(raw) {
            Ok((t, warnings)) => (Some(t.org), warnings.iter().map(ToString::to_string).collect()),
            Err(errors) => (None, errors.iter().map(ToString::to_string).collect()),
        }
    }

    #[test]
    fn keep_iam_paths_is_read_beside_lakeformation_and_warned_of() {
        let lakeformation = |s: String| {
            s.replace(
                "  region: eu-west-1\n",
                "  region: eu-west-1\n  access_mode: lakeformation\n",
            )
        };
        let (org, warnings) = validated("keep-iam-paths-in-iam-mode.yaml", lakeformation);
        let org = org.expect("valid");
        assert_eq!((org.access_mode, org.keep_iam_paths), (AccessMode::LakeFormation, true));
        assert!(
            warnings.iter().any(|w| w
                .contains("`keep_iam_paths: true` keeps the iam mode's read paths beside the Lake Formation grants")),
            "{warnings:?}"
        );
        let (org, warnings) = validated("keep-iam-paths-in-iam-mode.yaml", |s| {
            lakeformation(s).replace("keep_iam_paths: true", "keep_iam_paths: false")
        });
        assert_eq!(org.map(|o| o.keep_iam_paths), Some(false));
        assert!(!warnings.iter().any(|w| w.contains("keep_iam_paths")), "{warnings:?}");
        // While the iam paths are kept, IAM still cannot hide a column.
        let (org, errors) = validated("sensitive-column-in-open-product-iam.yaml", |s| {
            s.replace(
                "  region: eu-west-1\n",
                "  region: eu-west-1\n  access_mode: lakeformation\n  keep_iam_paths: true\n",
            )
        });
        assert!(org.is_none());
        assert!(
            errors
                .iter()
                .any(|e| e.contains("which the iam read paths that `keep_iam_paths` keeps cannot hide")),
            "{errors:?}"
        );
    }
}

//! Every rule of the topology spec has a fixture here that fails with the
//! exact message, file, line and column.

mod common;

use common::{meshsynth, repo};

/// (fixture under tests/fixtures/invalid/, the exact stderr of `validate`)
const CASES: &[(&str, &str)] = &[
    (
        "access-group-unknown-access",
        r#"error: tests/fixtures/invalid/access-group-unknown-access.yaml:20:13: unknown access `everyone` (use open or restricted)
"#,
    ),
    (
        "access-group-unknown-product",
        r#"error: tests/fixtures/invalid/access-group-unknown-product.yaml:24:16: product `finance.payout` does not exist (products of domain `finance` include finance.payouts)
"#,
    ),
    (
        "access-groups-without-identity-center",
        r#"error: tests/fixtures/invalid/access-groups-without-identity-center.yaml:4:3: access groups are declared but `org.identity_center` is not (add `identity_center: { instance_arn, identity_store_id }` so permission sets can be assigned)
"#,
    ),
    (
        "bad-account-id",
        r#"error: tests/fixtures/invalid/bad-account-id.yaml:44:15: `33333333333x` is not an AWS account id (write the 12 digits as a quoted string, e.g. "012345678901")
"#,
    ),
    (
        "bad-available-by",
        r#"error: tests/fixtures/invalid/bad-available-by.yaml:50:48: `6am` is not a time of day (write HH:MMZ in UTC, e.g. "06:00Z")
"#,
    ),
    (
        "bad-column-type",
        r#"error: tests/fixtures/invalid/bad-column-type.yaml:65:47: `integer` is not a Glue column type: unknown type `integer` (use string, boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), date, timestamp, binary, array<T>, map<K,V> or struct<a:T,...>)
"#,
    ),
    (
        "bad-freshness",
        r#"error: tests/fixtures/invalid/bad-freshness.yaml:50:27: unknown freshness `nightly` (use hourly, daily or weekly)
"#,
    ),
    (
        "bad-nested-column-type",
        r#"error: tests/fixtures/invalid/bad-nested-column-type.yaml:66:41: `array<struct<key:string,value:text>>` is not a Glue column type: unknown type `text` (use string, boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), date, timestamp, binary, array<T>, map<K,V> or struct<a:T,...>)
"#,
    ),
    (
        "bad-org-id",
        r#"error: tests/fixtures/invalid/bad-org-id.yaml:5:20: `org-1234` is not an AWS Organizations id (it looks like o-a1b2c3d4e5; see `aws organizations describe-organization`)
"#,
    ),
    (
        "bad-org-name",
        r#"error: tests/fixtures/invalid/bad-org-name.yaml:4:9: org name `Tiny_Org` is not a valid name (use lowercase letters, digits and `-`, at most 63 characters, not starting or ending with `-`)
"#,
    ),
    (
        "bad-region",
        r#"error: tests/fixtures/invalid/bad-region.yaml:8:11: `europe` is not an AWS region (e.g. eu-west-1)
"#,
    ),
    (
        "bad-table-name",
        r#"error: tests/fixtures/invalid/bad-table-name.yaml:96:23: table `Payouts` is not a valid name (use lowercase letters, digits and `_`)
"#,
    ),
    (
        "bad-team-name",
        r#"error: tests/fixtures/invalid/bad-team-name.yaml:82:11: team `Payouts Team` is not a valid name (use lowercase letters, digits and `-`, at most 63 characters, not starting or ending with `-`)
"#,
    ),
    (
        "consume-bad-reference",
        r#"error: tests/fixtures/invalid/consume-bad-reference.yaml:102:18: `podcasts.episodes` is not a product version reference (write `<domain>.<product>@<version>`, e.g. podcasts.episodes@2)
"#,
    ),
    (
        "consume-own-product",
        r#"error: tests/fixtures/invalid/consume-own-product.yaml:75:18: account `333333333333` consumes `podcasts.episodes`, which it produces itself (reading your own product is not a cross-account grant; remove this entry)
"#,
    ),
    (
        "consume-restricted-without-approval",
        r#"error: tests/fixtures/invalid/consume-restricted-without-approval.yaml:70:18: `finance.payouts` is restricted: consuming it needs `approved_by` (ask the data steward finance-steward@example.com, then add `approved_by: finance-steward@example.com`)
error: tests/fixtures/invalid/consume-restricted-without-approval.yaml:80:20: service role `revenue-job` reads `finance.payouts`, but account `333333333333` has no approved consume of it (add a consume of `finance.payouts` by account `333333333333` with `approved_by`)
"#,
    ),
    (
        "consume-retired-version",
        r#"error: tests/fixtures/invalid/consume-retired-version.yaml:102:18: `podcasts.episodes@1` is retired and can no longer be consumed, but team `payouts` (account `444444444444`) still consumes it (move to podcasts.episodes@2)
"#,
    ),
    (
        "consume-through-unowned-account",
        r#"error: tests/fixtures/invalid/consume-through-unowned-account.yaml:103:18: team `payouts` consumes through account `333333333333`, which it does not own (the team's accounts are 444444444444)
"#,
    ),
    (
        "consume-unknown-product",
        r#"error: tests/fixtures/invalid/consume-unknown-product.yaml:102:18: consumed product `podcasts.episode` does not exist (products of domain `podcasts` include podcasts.episodes)
"#,
    ),
    (
        "consume-unknown-version",
        r#"error: tests/fixtures/invalid/consume-unknown-version.yaml:102:18: product `podcasts.episodes` has no version 7 (its versions are @1, @2)
"#,
    ),
    (
        "duplicate-account",
        r#"error: tests/fixtures/invalid/duplicate-account.yaml:44:15: account `111111111111` is already declared by team `platform` at tests/fixtures/invalid/duplicate-account.yaml:31:15 (one account belongs to one team)
"#,
    ),
    (
        "duplicate-column",
        r#"error: tests/fixtures/invalid/duplicate-column.yaml:65:29: column `episode_id` appears twice in table `episodes` (column and partition key names are unique within a table)
"#,
    ),
    (
        "duplicate-consume",
        r#"error: tests/fixtures/invalid/duplicate-consume.yaml:105:18: account `444444444444` already consumes `podcasts.episodes@2` at tests/fixtures/invalid/duplicate-consume.yaml:102:18 (remove the duplicate entry)
"#,
    ),
    (
        "duplicate-domain",
        r#"error: tests/fixtures/invalid/duplicate-domain.yaml:17:11: domain `podcasts` is declared twice (remove one of them)
"#,
    ),
    (
        "duplicate-product",
        r#"error: tests/fixtures/invalid/duplicate-product.yaml:93:15: product `finance.payouts` is declared twice, also at tests/fixtures/invalid/duplicate-product.yaml:89:15 (product ids `<domain>.<name>` are unique across the org)
"#,
    ),
    (
        "duplicate-table",
        r#"error: tests/fixtures/invalid/duplicate-table.yaml:99:23: table `payouts` appears twice in `finance.payouts@1` (table names are unique within a version)
"#,
    ),
    (
        "duplicate-team",
        r#"error: tests/fixtures/invalid/duplicate-team.yaml:82:11: team `shows` is declared twice, also at tests/fixtures/invalid/duplicate-team.yaml:38:11 (team names are unique across the org)
"#,
    ),
    (
        "duplicate-version",
        r#"error: tests/fixtures/invalid/duplicate-version.yaml:58:22: version 1 of `podcasts.episodes` is declared twice (each version number appears once; add a new number for a new version)
"#,
    ),
    (
        "logical-id-collision",
        r#"error: tests/fixtures/invalid/logical-id-collision.yaml:93:15: product `finance.payouts1` would share CloudFormation logical ids with `finance.payouts-1` (rename one of them: names that differ only in `-` or `_` collide)
"#,
    ),
    (
        "no-active-version",
        r#"error: tests/fixtures/invalid/no-active-version.yaml:93:11: product `finance.payouts` has no active version (mark the current version `status: active`)
"#,
    ),
    (
        "no-versions",
        r#"error: tests/fixtures/invalid/no-versions.yaml:92:19: product `finance.payouts` has no versions (declare at least one `active` version)
"#,
    ),
    (
        "open-access-group-lists-products",
        r#"error: tests/fixtures/invalid/open-access-group-lists-products.yaml:21:15: an open access group lists no products (it reads every open product) (remove `products`, or make it `access: restricted`)
"#,
    ),
    (
        "partition-key-clashes-with-column",
        r#"error: tests/fixtures/invalid/partition-key-clashes-with-column.yaml:68:29: column `duration_s` appears twice in table `episodes` (column and partition key names are unique within a table)
"#,
    ),
    (
        "product-account-not-owned",
        r#"error: tests/fixtures/invalid/product-account-not-owned.yaml:47:18: product `podcasts.episodes` is published from account `444444444444`, which team `shows` does not own (the team's accounts are 333333333333, 333333333334)
"#,
    ),
    (
        "product-in-central-account",
        r#"error: tests/fixtures/invalid/product-in-central-account.yaml:31:15: product `podcasts.reference` lives in the central account `222222222222` (the central account holds no products; publish from one of the team's other accounts)
"#,
    ),
    (
        "product-in-management-account",
        r#"error: tests/fixtures/invalid/product-in-management-account.yaml:31:15: product `podcasts.reference` lives in the management account `111111111111` (the management account holds no products; publish from one of the team's other accounts)
"#,
    ),
    (
        "product-team-without-contact",
        r#"error: tests/fixtures/invalid/product-team-without-contact.yaml:88:15: product `finance.payouts` belongs to team `payouts`, which has no contact (add `contact:` to the team: consumers are notified there when versions change)
"#,
    ),
    (
        "restricted-product-without-steward",
        r#"error: tests/fixtures/invalid/restricted-product-without-steward.yaml:88:15: restricted product `finance.payouts` belongs to team `payouts`, which has no steward (add `steward:` to the team: the steward approves access to restricted data)
"#,
    ),
    (
        "service-role-bad-name",
        r#"error: tests/fixtures/invalid/service-role-bad-name.yaml:75:15: service role `mwaa exec!` is not a valid IAM role name (use letters, digits and `+=,.@_-`, at most 64 characters)
"#,
    ),
    (
        "service-role-open-lists-products",
        r#"error: tests/fixtures/invalid/service-role-open-lists-products.yaml:78:19: an open service role lists no products (it reads every open product) (remove `products`, or make it `access: restricted`)
"#,
    ),
    (
        "service-role-restricted-lists-nothing",
        r#"error: tests/fixtures/invalid/service-role-restricted-lists-nothing.yaml:80:17: restricted service role `revenue-job` lists no products (list the restricted products it reads, or make it `access: open`)
"#,
    ),
    (
        "service-role-unapproved-product",
        r#"error: tests/fixtures/invalid/service-role-unapproved-product.yaml:81:37: service role `revenue-job` reads `podcasts.episodes`, but account `333333333333` has no approved consume of it (add a consume of `podcasts.episodes` by account `333333333333` with `approved_by`)
"#,
    ),
    (
        "service-role-unowned-account",
        r#"error: tests/fixtures/invalid/service-role-unowned-account.yaml:76:18: service role `mwaa-exec` is in account `444444444444`, which team `shows` does not own (the team's accounts are 333333333333, 333333333334)
"#,
    ),
    (
        "undeclared-domain",
        r#"error: tests/fixtures/invalid/undeclared-domain.yaml:39:13: team `shows` names domain `podcast`, which is not declared (declare it under `domains` in org.yaml, or fix the spelling)
error: tests/fixtures/invalid/undeclared-domain.yaml:102:18: consumed product `podcasts.episodes` does not exist (did you mean podcast.episodes?)
"#,
    ),
    (
        "unknown-classification",
        r#"error: tests/fixtures/invalid/unknown-classification.yaml:48:25: unknown classification `public` (use open or restricted)
"#,
    ),
    (
        "unknown-environment",
        r#"error: tests/fixtures/invalid/unknown-environment.yaml:44:61: unknown environment `development` (use prod, staging, dev or sandbox)
"#,
    ),
    (
        "unknown-key",
        r#"error: tests/fixtures/invalid/unknown-key.yaml:5:3: unknown field `colour`, expected one of name, organization_id, management_account, central_account, region, deploy_role, access_mode, identity_center, tags, access_logs (see `meshsynth schema` for the format)
"#,
    ),
    (
        "unknown-status",
        r#"error: tests/fixtures/invalid/unknown-status.yaml:53:21: unknown version status `sunset` (use active, deprecated or retired)
"#,
    ),
    (
        "unquoted-short-account-id",
        r#"error: tests/fixtures/invalid/unquoted-short-account-id.yaml:44:15: `1234` is not an AWS account id (write the 12 digits as a quoted string, e.g. "012345678901")
"#,
    ),
    (
        "version-not-positive",
        r#"error: tests/fixtures/invalid/version-not-positive.yaml:52:22: version `0` of `podcasts.episodes` is not a positive integer (versions are numbered 1, 2, 3, … up to 9999)
"#,
    ),
    (
        "version-unsupported",
        r#"error: tests/fixtures/invalid/version-unsupported.yaml:2:10: unsupported topology version `2` (this meshsynth reads `version: 1`)
"#,
    ),
    (
        "yaml-syntax",
        r#"error: tests/fixtures/invalid/yaml-syntax.yaml:9:9: mapping values are not allowed in this context (see `meshsynth schema` for the format)
"#,
    ),
];

#[test]
fn every_invalid_fixture_fails_with_its_exact_message() {
    let mut failures = Vec::new();
    for (name, want) in CASES {
        let path = format!("tests/fixtures/invalid/{name}.yaml");
        let output = meshsynth(&repo())
            .args(["-t", &path, "validate"])
            .output()
            .expect("run meshsynth");
        let got = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(1) || got != *want || !output.stdout.is_empty() {
            failures.push(format!(
                "{name}: exit {:?}\n--- want\n{want}--- got\n{got}",
                output.status.code()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixtures differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fixture_file_has_a_case() {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("tests/fixtures/invalid"))
        .expect("read fixtures")
        .map(|e| {
            e.expect("entry")
                .path()
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut cases: Vec<String> = CASES.iter().map(|(n, _)| (*n).to_owned()).collect();
    cases.sort();
    assert_eq!(names, cases);
}

//! Every rule of the topology spec has a fixture here that fails with the
//! exact message, file, line and column.

use crate::common;

use common::repo;

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
        "alerts-not-a-destination",
        r#"error: tests/fixtures/invalid/alerts-not-a-destination.yaml:42:9: `#team-shows` is neither an e-mail address nor an SNS topic ARN (alerts are e-mail addresses (name@example.com) or topic ARNs (arn:aws:sns:…))
error: tests/fixtures/invalid/alerts-not-a-destination.yaml:43:9: `arn:aws:chatbot::333333333333:chat-configuration/slack-channel/shows` is a chat configuration, which an alarm cannot notify directly (give the ARN of an SNS topic the chat channel already receives (arn:aws:sns:<region>:<account>:<topic>))
"#,
    ),
    (
        "bad-account-id",
        r#"error: tests/fixtures/invalid/bad-account-id.yaml:43:15: `33333333333x` is not an AWS account id (write the 12 digits as a quoted string, e.g. "012345678901")
"#,
    ),
    (
        "bad-available-by",
        r#"error: tests/fixtures/invalid/bad-available-by.yaml:49:48: `6am` is not a time of day (write HH:MMZ in UTC, e.g. "06:00Z")
"#,
    ),
    (
        "bad-column-type",
        r#"error: tests/fixtures/invalid/bad-column-type.yaml:64:47: `integer` is not a Glue column type: unknown type `integer` (use string, boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), date, timestamp, binary, array<T>, map<K,V> or struct<a:T,...>)
"#,
    ),
    (
        "bad-freshness",
        r#"error: tests/fixtures/invalid/bad-freshness.yaml:49:27: unknown freshness `nightly` (use hourly, daily or weekly)
"#,
    ),
    (
        "bad-nested-column-type",
        r#"error: tests/fixtures/invalid/bad-nested-column-type.yaml:65:41: `array<struct<key:string,value:text>>` is not a Glue column type: unknown type `text` (use string, boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), date, timestamp, binary, array<T>, map<K,V> or struct<a:T,...>)
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
        r#"error: tests/fixtures/invalid/bad-table-name.yaml:94:23: table `Payouts` is not a valid name (use lowercase letters, digits and `_`)
"#,
    ),
    (
        "bad-team-name",
        r#"error: tests/fixtures/invalid/bad-team-name.yaml:80:11: team `Payouts Team` is not a valid name (use lowercase letters, digits and `-`, at most 63 characters, not starting or ending with `-`)
"#,
    ),
    (
        "consume-approved-by",
        r#"error: tests/fixtures/invalid/consume-approved-by.yaml:72:22: `approved_by` on a consume entry is not format v2: a consumer cannot approve its own access (remove it, and ask finance-steward@example.com to add a grant for account `333333333333` to `finance.payouts` in tests/fixtures/invalid/consume-approved-by.yaml)
"#,
    ),
    (
        "consume-bad-reference",
        r#"error: tests/fixtures/invalid/consume-bad-reference.yaml:110:18: `podcasts.episodes` is not a product version reference (write `<domain>.<product>@<version>`, e.g. podcasts.episodes@2)
"#,
    ),
    (
        "consume-own-product",
        r#"error: tests/fixtures/invalid/consume-own-product.yaml:73:18: account `333333333333` consumes `podcasts.episodes`, which it produces itself (reading your own product is not a cross-account grant; remove this entry)
"#,
    ),
    (
        "consume-retired-version",
        r#"error: tests/fixtures/invalid/consume-retired-version.yaml:110:18: `podcasts.episodes@1` is retired and can no longer be consumed, but team `payouts` (account `444444444444`) still consumes it (move to podcasts.episodes@2)
"#,
    ),
    (
        "consume-through-unowned-account",
        r#"error: tests/fixtures/invalid/consume-through-unowned-account.yaml:111:18: team `payouts` consumes through account `333333333333`, which it does not own (the team's accounts are 444444444444)
"#,
    ),
    (
        "consume-unknown-product",
        r#"error: tests/fixtures/invalid/consume-unknown-product.yaml:110:18: consumed product `podcasts.episode` does not exist (products of domain `podcasts` include podcasts.episodes)
"#,
    ),
    (
        "consume-unknown-version",
        r#"error: tests/fixtures/invalid/consume-unknown-version.yaml:110:18: product `podcasts.episodes` has no version 7 (its versions are @1, @2)
"#,
    ),
    (
        "data-lake-admin-bad-name",
        r#"error: tests/fixtures/invalid/data-lake-admin-bad-name.yaml:13:22: `Data Lake Admin` is not an IAM role name (name a role that exists in every account, e.g. DataLakeAdmin)
"#,
    ),
    (
        "duplicate-account",
        r#"error: tests/fixtures/invalid/duplicate-account.yaml:43:15: account `111111111111` is already declared by team `platform` at tests/fixtures/invalid/duplicate-account.yaml:31:15 (one account belongs to one team)
"#,
    ),
    (
        "duplicate-column",
        r#"error: tests/fixtures/invalid/duplicate-column.yaml:64:29: column `episode_id` appears twice in table `episodes` (column and partition key names are unique within a table)
"#,
    ),
    (
        "duplicate-consume",
        r#"error: tests/fixtures/invalid/duplicate-consume.yaml:113:18: account `444444444444` already consumes `podcasts.episodes@2` at tests/fixtures/invalid/duplicate-consume.yaml:110:18 (remove the duplicate entry)
"#,
    ),
    (
        "duplicate-domain",
        r#"error: tests/fixtures/invalid/duplicate-domain.yaml:17:11: domain `podcasts` is declared twice (remove one of them)
"#,
    ),
    (
        "duplicate-product",
        r#"error: tests/fixtures/invalid/duplicate-product.yaml:91:15: product `finance.payouts` is declared twice, also at tests/fixtures/invalid/duplicate-product.yaml:87:15 (product ids `<domain>.<name>` are unique across the org)
error: tests/fixtures/invalid/duplicate-product.yaml:104:11: `grants` on open product `finance.payouts` (open products are readable by the whole organisation; remove `grants`, or make the product `classification: restricted`)
"#,
    ),
    (
        "duplicate-table",
        r#"error: tests/fixtures/invalid/duplicate-table.yaml:97:23: table `payouts` appears twice in `finance.payouts@1` (table names are unique within a version)
"#,
    ),
    (
        "duplicate-team",
        r#"error: tests/fixtures/invalid/duplicate-team.yaml:80:11: team `shows` is declared twice, also at tests/fixtures/invalid/duplicate-team.yaml:37:11 (team names are unique across the org)
"#,
    ),
    (
        "duplicate-version",
        r#"error: tests/fixtures/invalid/duplicate-version.yaml:57:22: version 1 of `podcasts.episodes` is declared twice (each version number appears once; add a new number for a new version)
"#,
    ),
    (
        "grant-account-and-group",
        r#"error: tests/fixtures/invalid/grant-account-and-group.yaml:106:13: a grant on `finance.payouts` names both of `account` and `access_group` (write one grant per consuming account or access group)
"#,
    ),
    (
        "grant-bad-expires",
        r#"error: tests/fixtures/invalid/grant-bad-expires.yaml:109:22: `expires: 2027-02-30` is not a date (write the day as a quoted "YYYY-MM-DD", e.g. "2027-06-30")
"#,
    ),
    (
        "grant-columns-not-all",
        r#"error: tests/fixtures/invalid/grant-columns-not-all.yaml:104:22: `columns: some` on a grant of `finance.payouts` (write `columns: all` to let the grantee read the sensitive columns too, or leave it out)
"#,
    ),
    (
        "grant-on-open-product",
        r#"error: tests/fixtures/invalid/grant-on-open-product.yaml:69:11: `grants` on open product `podcasts.episodes` (open products are readable by the whole organisation; remove `grants`, or make the product `classification: restricted`)
"#,
    ),
    (
        "grant-open-access-group",
        r#"error: tests/fixtures/invalid/grant-open-access-group.yaml:103:27: a grant on `finance.payouts` names access group `business-open`, which is open (open access groups read open products only; grant to a restricted access group)
"#,
    ),
    (
        "grant-open-role",
        r#"error: tests/fixtures/invalid/grant-open-role.yaml:107:21: a grant on `finance.payouts` names service role `mwaa-exec`, which is open (open service roles read open products only; name a restricted service role)
"#,
    ),
    (
        "grant-own-account",
        r#"error: tests/fixtures/invalid/grant-own-account.yaml:106:22: a grant on `finance.payouts` names account `444444444444`, which produces it (principals of the producing account need no grant; remove it)
"#,
    ),
    (
        "grant-roles-on-access-group",
        r#"error: tests/fixtures/invalid/grant-roles-on-access-group.yaml:104:20: a grant on `finance.payouts` to an access group names `roles` (`roles` narrows a grant to an account; remove it)
"#,
    ),
    (
        "grant-unknown-access-group",
        r#"error: tests/fixtures/invalid/grant-unknown-access-group.yaml:103:27: a grant on `finance.payouts` names access group `finance-analyst`, which is not declared (restricted access groups: finance-analysts)
"#,
    ),
    (
        "grant-unknown-account",
        r#"error: tests/fixtures/invalid/grant-unknown-account.yaml:106:22: a grant on `finance.payouts` names account `999999999999`, which no team owns (grant to a consuming account of the topology, or fix the id)
"#,
    ),
    (
        "grant-unknown-role",
        r#"error: tests/fixtures/invalid/grant-unknown-role.yaml:107:21: a grant on `finance.payouts` names service role `revenue-jobs`, which account `333333333333` does not declare (restricted service roles of account `333333333333`: revenue-job)
"#,
    ),
    (
        "grant-unknown-version",
        r#"error: tests/fixtures/invalid/grant-unknown-version.yaml:107:27: a grant on `finance.payouts` names version 7, which it does not have (its versions are 1)
"#,
    ),
    (
        "grant-wrong-approver",
        r#"error: tests/fixtures/invalid/grant-wrong-approver.yaml:108:26: grant on `finance.payouts` is approved by `shows-steward@example.com`, but the data steward of team `payouts` is `finance-steward@example.com` (only the producing team's steward approves access to its restricted products)
"#,
    ),
    (
        "keep-iam-paths-in-iam-mode",
        r#"error: tests/fixtures/invalid/keep-iam-paths-in-iam-mode.yaml:13:19: `keep_iam_paths: true` needs `access_mode: lakeformation` (it keeps the iam mode's read paths beside the Lake Formation grants while an org switches; set `access_mode: lakeformation` with it, or remove it)
"#,
    ),
    (
        "logical-id-collision",
        r#"error: tests/fixtures/invalid/logical-id-collision.yaml:91:15: product `finance.payouts1` would share CloudFormation logical ids with `finance.payouts-1` (rename one of them: names that differ only in `-` or `_` collide)
"#,
    ),
    (
        "no-active-version",
        r#"error: tests/fixtures/invalid/no-active-version.yaml:91:11: product `finance.payouts` has no active version (mark the current version `status: active`)
"#,
    ),
    (
        "no-versions",
        r#"error: tests/fixtures/invalid/no-versions.yaml:90:19: product `finance.payouts` has no versions (declare at least one `active` version)
"#,
    ),
    (
        "open-access-group-lists-products",
        r#"error: tests/fixtures/invalid/open-access-group-lists-products.yaml:21:15: an open access group lists no products (it reads every open product) (remove `products`, or make it `access: restricted`)
"#,
    ),
    (
        "owner-listed-twice",
        r#"error: tests/fixtures/invalid/owner-listed-twice.yaml:11:7: code owner `@Tiny/Platform` is listed twice (remove the duplicate)
"#,
    ),
    (
        "owner-not-a-handle",
        r#"error: tests/fixtures/invalid/owner-not-a-handle.yaml:15:14: `tiny/shows` is not a code owner (write `@org/team`, `@user` or an e-mail address; did you mean `@tiny/shows`?)
"#,
    ),
    (
        "partition-key-clashes-with-column",
        r#"error: tests/fixtures/invalid/partition-key-clashes-with-column.yaml:67:29: column `duration_s` appears twice in table `episodes` (column and partition key names are unique within a table)
"#,
    ),
    (
        "product-account-not-owned",
        r#"error: tests/fixtures/invalid/product-account-not-owned.yaml:46:18: product `podcasts.episodes` is published from account `444444444444`, which team `shows` does not own (the team's accounts are 333333333333, 333333333334)
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
        r#"error: tests/fixtures/invalid/product-team-without-contact.yaml:86:15: product `finance.payouts` belongs to team `payouts`, which has no contact (add `contact:` to the team: consumers are notified there when versions change)
"#,
    ),
    (
        "projection-enum-without-values",
        r#"error: tests/fixtures/invalid/projection-enum-without-values.yaml:68:65: enum projection of partition key `platform` has no `values` (list every value the key takes, e.g. `values: [web, ios, android]`)
"#,
    ),
    (
        "projection-integer-out-of-range",
        r#"error: tests/fixtures/invalid/projection-integer-out-of-range.yaml:67:67: partition key `dt` is of type date, whose values are written `yyyy-MM-dd` (remove `format`, or make the key a string to use `yyyy/MM/dd`)
error: tests/fixtures/invalid/projection-integer-out-of-range.yaml:68:75: `300` does not fit partition key `hour` of type tinyint (tinyint holds -128 to 127)
"#,
    ),
    (
        "projection-on-column",
        r#"error: tests/fixtures/invalid/projection-on-column.yaml:64:64: column `duration_s` has a `projection` (projection applies to partition keys only; move it to the key under `partition_keys`)
"#,
    ),
    (
        "projection-since-not-a-date",
        r#"error: tests/fixtures/invalid/projection-since-not-a-date.yaml:67:66: `2024-02-30` is not a date (write the first day with data as YYYY-MM-DD, e.g. "2023-01-01")
"#,
    ),
    (
        "query-results-days-out-of-range",
        r#"error: tests/fixtures/invalid/query-results-days-out-of-range.yaml:13:23: `query_results_days: 0` is out of range (give a number of days from 1 to 3650; the default is 30)
"#,
    ),
    (
        "restricted-product-without-steward",
        r#"error: tests/fixtures/invalid/restricted-product-without-steward.yaml:86:15: restricted product `finance.payouts` belongs to team `payouts`, which has no steward (add `steward:` to the team: the steward approves access to restricted data)
"#,
    ),
    (
        "sensitive-column-in-open-product-iam",
        r#"error: tests/fixtures/invalid/sensitive-column-in-open-product-iam.yaml:45:15: open product `podcasts.episodes` has a sensitive column (`episodes.host_email`), which access mode iam cannot hide (make the product `classification: restricted`, or set `org.access_mode: lakeformation` so org-wide grants leave sensitive columns out)
"#,
    ),
    (
        "sensitive-partition-key",
        r#"error: tests/fixtures/invalid/sensitive-partition-key.yaml:98:56: partition key `dt` is marked sensitive (partition keys name where data lives and every reader needs them; mark columns instead)
"#,
    ),
    (
        "service-role-bad-name",
        r#"error: tests/fixtures/invalid/service-role-bad-name.yaml:73:15: service role `mwaa exec!` is not a valid IAM role name (use letters, digits and `+=,.@_-`, at most 64 characters)
"#,
    ),
    (
        "service-role-bad-path",
        r#"error: tests/fixtures/invalid/service-role-bad-path.yaml:74:15: `service-role` is not an IAM path (write `/` or `/name/…/`: letters, digits and `+=,.@_-` between slashes, at most 512 characters)
"#,
    ),
    (
        "service-role-open-lists-products",
        r#"error: tests/fixtures/invalid/service-role-open-lists-products.yaml:76:19: an open service role lists no products (it reads every open product) (remove `products`, or make it `access: restricted`)
"#,
    ),
    (
        "service-role-restricted-lists-nothing",
        r#"error: tests/fixtures/invalid/service-role-restricted-lists-nothing.yaml:78:17: restricted service role `revenue-job` lists no products (list the restricted products it reads, or make it `access: open`)
"#,
    ),
    (
        "service-role-unapproved-product",
        r#"error: tests/fixtures/invalid/service-role-unapproved-product.yaml:79:37: service role `revenue-job` reads `podcasts.episodes`, but account `333333333333` does not consume it (add a consume of `podcasts.episodes@<version>` by account `333333333333`)
"#,
    ),
    (
        "service-role-unowned-account",
        r#"error: tests/fixtures/invalid/service-role-unowned-account.yaml:74:18: service role `mwaa-exec` is in account `444444444444`, which team `shows` does not own (the team's accounts are 333333333333, 333333333334)
"#,
    ),
    (
        "undeclared-domain",
        r#"error: tests/fixtures/invalid/undeclared-domain.yaml:38:13: team `shows` names domain `podcast`, which is not declared (declare it under `domains` in org.yaml, or fix the spelling)
error: tests/fixtures/invalid/undeclared-domain.yaml:110:18: consumed product `podcasts.episodes` does not exist (did you mean podcast.episodes?)
"#,
    ),
    (
        "unknown-classification",
        r#"error: tests/fixtures/invalid/unknown-classification.yaml:47:25: unknown classification `public` (use open or restricted)
"#,
    ),
    (
        "unknown-environment",
        r#"error: tests/fixtures/invalid/unknown-environment.yaml:43:61: unknown environment `development` (use prod, staging, dev or sandbox)
"#,
    ),
    (
        "unknown-key",
        r#"error: tests/fixtures/invalid/unknown-key.yaml:5:3: unknown field `colour`, expected one of name, organization_id, management_account, central_account, region, deploy_role, access_mode, identity_center, owners, tags, data_lake_admins, keep_iam_paths, query_results_days, access_logs (see `meshsynth schema` for the format)
"#,
    ),
    (
        "unknown-status",
        r#"error: tests/fixtures/invalid/unknown-status.yaml:52:21: unknown version status `sunset` (use active, deprecated or retired)
"#,
    ),
    (
        "unquoted-short-account-id",
        r#"error: tests/fixtures/invalid/unquoted-short-account-id.yaml:43:15: `1234` is not an AWS account id (write the 12 digits as a quoted string, e.g. "012345678901")
"#,
    ),
    (
        "version-1",
        r#"error: tests/fixtures/invalid/version-1.yaml:2:10: format version 1 is no longer read: in version 2 the producer's data steward grants access to restricted products, in the producer's file (run `meshsynth migrate` to rewrite the topology, or set `version: 2`, remove every `approved_by` from consume entries and add the grants listed below)
error: tests/fixtures/invalid/version-1.yaml:37:22: `approved_by` moves to the producer of `finance.payouts` (remove it here and add under `grants:` of product `payouts` in tests/fixtures/invalid/version-1.yaml: - { account: "222222222222", versions: [1], approved_by: finance-steward@example.com } - { access_group: finance-analysts, versions: [1], approved_by: finance-steward@example.com })
error: tests/fixtures/invalid/version-1.yaml:73:22: `approved_by` moves to the producer of `finance.payouts` (remove it here and add under `grants:` of product `payouts` in tests/fixtures/invalid/version-1.yaml: - { account: "333333333333", versions: [1], approved_by: finance-steward@example.com })
"#,
    ),
    (
        "version-not-positive",
        r#"error: tests/fixtures/invalid/version-not-positive.yaml:51:22: version `0` of `podcasts.episodes` is not a positive integer (versions are numbered 1, 2, 3, … up to 9999)
"#,
    ),
    (
        "version-unsupported",
        r#"error: tests/fixtures/invalid/version-unsupported.yaml:2:10: unsupported topology version `3` (this meshsynth reads `version: 2`)
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
    let failures = common::exact_validate_failures("invalid", "yaml", CASES);
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

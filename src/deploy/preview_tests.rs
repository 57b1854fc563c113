//! Snapshots of the three renderings of one plan, and of a deploy report.

use std::collections::BTreeMap;

use super::*;
use crate::deploy::execute::{DeployReport, Step, StepStatus};
use crate::deploy::planned::{Exec, PolicyPlan};

fn change(action: Action, id: &str, ty: &str, replacement: Option<Replacement>, destructive: bool) -> ResourceChange {
    ResourceChange {
        action,
        logical_id: id.to_owned(),
        resource_type: ty.to_owned(),
        replacement,
        stateful: crate::change::is_stateful(ty),
        destructive,
        properties: if action == Action::Modify {
            vec![crate::change::PropertyChange {
                path: "Properties.DatabaseInput.Description".to_owned(),
                old: None,
                new: None,
                requires_replacement: false,
            }]
        } else {
            Vec::new()
        },
    }
}

fn stack(account: &str, name: &str, status: StackStatus, changes: Vec<ResourceChange>) -> StackPlan {
    StackPlan {
        account: account.to_owned(),
        name: name.to_owned(),
        region: "eu-west-1".to_owned(),
        status,
        changes,
        wave: (status != StackStatus::Delete).then_some(1),
        note: (status == StackStatus::Delete).then(|| "no longer synthesised".to_owned()),
        contracts: Default::default(),
        exec: Exec::Nothing,
    }
}

fn plan() -> Plan {
    let db = "AWS::Glue::Database";
    Plan {
        org: "acast".to_owned(),
        region: "eu-west-1".to_owned(),
        accounts: BTreeMap::from([
            ("111111111111".to_owned(), "management".to_owned()),
            ("333333333333".to_owned(), "shows-prod".to_owned()),
            ("444444444444".to_owned(), "ads-prod".to_owned()),
            ("555555555555".to_owned(), "feeds-prod".to_owned()),
        ]),
        stacks: vec![
            stack("111111111111", "mesh-identity", StackStatus::NoChanges, vec![]),
            stack("333333333333", "mesh-baseline", StackStatus::NoChanges, vec![]),
            stack(
                "333333333333",
                "mesh-products",
                StackStatus::Update,
                vec![
                    change(Action::Remove, "GlueDbPodcastsEpisodesV1", db, None, true),
                    change(Action::Add, "GlueDbPodcastsEpisodesV3", db, None, false),
                    change(
                        Action::Modify,
                        "GlueDbPodcastsShowsV1",
                        db,
                        Some(Replacement::False),
                        false,
                    ),
                ],
            ),
            stack(
                "444444444444",
                "mesh-consumer",
                StackStatus::Create,
                vec![change(Action::Add, "ReaderRole", "AWS::IAM::Role", None, false)],
            ),
            stack(
                "555555555555",
                "mesh-products",
                StackStatus::Delete,
                vec![change(Action::Remove, "GlueDbFeedsRssV1", db, None, true)],
            ),
        ],
        policies: vec![PolicyPlan {
            account: "333333333333".to_owned(),
            region: "eu-west-1".to_owned(),
            status: PolicyStatus::Update,
            changes: vec![
                "+ `ApprovedRead2`: grants arn:aws:iam::444444444444:root on database finance_payouts_v2".to_owned(),
                "- `ApprovedRead1`: grants arn:aws:iam::555555555555:root on database finance_payouts_v1".to_owned(),
            ],
            document: Some("{}".to_owned()),
            deployed_hash: None,
        }],
    }
}

#[test]
fn text() {
    insta::assert_snapshot!(render_text(&plan(), false, false));
}

#[test]
fn text_has_colour_only_when_asked() {
    assert!(render_text(&plan(), true, false).contains("\x1b[31m"));
    assert!(!render_text(&plan(), false, true).contains('\x1b'));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(render_markdown(&plan()));
}

#[test]
fn json_is_the_documented_format() {
    insta::assert_snapshot!(render_json(&plan()));
    let parsed: Value = serde_json::from_str(&render_json(&plan())).expect("valid JSON");
    assert_eq!(parsed["destructive"], 2);
    let keys: Vec<&String> = parsed["stacks"][2]["changes"][0]
        .as_object()
        .expect("an object")
        .keys()
        .collect();
    assert_eq!(
        keys,
        ["action", "logical_id", "type", "replacement", "stateful", "destructive"]
    );
}

#[test]
fn a_successful_report_is_one_line() {
    let report = DeployReport {
        steps: vec![
            Step {
                account: "333333333333".to_owned(),
                name: "mesh-products".to_owned(),
                status: StepStatus::Updated,
            },
            Step {
                account: "333333333333".to_owned(),
                name: "glue-resource-policy".to_owned(),
                status: StepStatus::Applied,
            },
            Step {
                account: "444444444444".to_owned(),
                name: "mesh-baseline".to_owned(),
                status: StepStatus::Unchanged,
            },
        ],
    };
    assert_eq!(
        render_report(&report, false, false),
        "Deployed: 0 created, 1 updated, 0 deleted, 1 policy applied, 1 unchanged\n"
    );
}

//! Fault injection through the fakes, for the Glue catalog policies beside
//! the stacks: one no longer synthesised is deleted, one changed since the
//! plan is not overwritten, and one readers relied on goes only after the
//! grants that replace it.

use super::*;

/// A catalog policy of A granting B's account a database.
fn granting_policy() -> String {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "ApprovedRead1", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
        "Action": ["glue:GetTable"],
        "Resource": ["arn:aws:glue:eu-west-1:333333333333:database/episodes_v1"]}]})
    .to_string()
}

fn without_policies(mut synth: Synthesis) -> Synthesis {
    synth.manifest.policies.clear();
    synth.policies.clear();
    synth
}

#[tokio::test]
async fn a_policy_no_longer_synthesised_is_deleted() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    let granting = granting_policy();
    let mut synth = synthesis(org());
    synth.policies.insert(A.to_owned(), granting);
    let first = plan_with(&fakes, &synth).await;
    let created = first.policies.iter().find(|p| p.account == A).expect("A's policy");
    assert_eq!(created.status, PolicyStatus::Create);
    assert_eq!(
        created.changes,
        vec!["+ `ApprovedRead1`: grants arn:aws:iam::444444444444:root on database episodes_v1"]
    );
    assert!(deploy(&fakes, &synth, &first).await.is_success());

    // The last grant goes: the synthesis has no policy for A any more.
    let synth = without_policies(synth);
    let second = plan_with(&fakes, &synth).await;
    assert_eq!(second.policies.len(), 1, "{:#?}", second.policies);
    let gone = &second.policies[0];
    assert_eq!((gone.account.as_str(), gone.status), (A, PolicyStatus::Delete));
    assert_eq!(
        gone.changes,
        vec!["- `ApprovedRead1`: grants arn:aws:iam::444444444444:root on database episodes_v1"]
    );
    assert!(!second.is_unchanged());
    let text = crate::deploy::preview::render_text(&second, false, false);
    assert!(
        text.contains(
            "  glue resource policy  delete\n    - `ApprovedRead1`: grants arn:aws:iam::444444444444:root on database episodes_v1\n"
        ),
        "{text}"
    );
    let report = deploy(&fakes, &synth, &second).await;
    assert_eq!(status(&report, A, "glue-resource-policy"), &StepStatus::Deleted);
    assert_eq!(*fakes.accounts[A].glue.policy.lock().expect("lock"), None);
    assert!(plan_with(&fakes, &synth).await.is_unchanged());
}

#[tokio::test]
async fn a_policy_changed_after_the_plan_is_not_overwritten() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    let synth = synthesis(org());
    assert!(deploy(&fakes, &synth, &plan_with(&fakes, &synth).await)
        .await
        .is_success());
    *fakes.accounts[A].glue.policy.lock().expect("lock") = Some("{\"Statement\": []}".to_owned());
    let mut wanted = synth.clone();
    wanted.policies.insert(
        A.to_owned(),
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "X", "Effect": "Allow", "Principal": "*",
               "Action": "glue:GetTable", "Resource": "*",
               "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]})
        .to_string(),
    );
    let planned = plan_with(&fakes, &wanted).await;
    // Someone writes the policy between plan and deploy.
    use crate::deploy::glue::GlueApi as _;
    fakes.accounts[A]
        .glue
        .put_resource_policy("{\"Statement\": [{\"Sid\": \"Theirs\"}]}", None)
        .await
        .expect("put");
    let report = deploy(&fakes, &wanted, &planned).await;
    match status(&report, A, "glue-resource-policy") {
        StepStatus::Failed { reason, .. } => assert!(
            reason.starts_with("the catalog policy changed since it was planned (run deploy again"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fakes.accounts[A].glue.policy.lock().expect("lock").as_deref(),
        Some("{\"Statement\": [{\"Sid\": \"Theirs\"}]}")
    );
}

/// The switch from access mode `iam` to `lakeformation`: the Glue catalog policy readers
/// relied on is deleted after every wave, so after the Lake Formation grants of the
/// consuming accounts (their `mesh-access` stacks); if those fail, the policy stays.
#[tokio::test]
async fn a_deleted_policy_goes_after_the_grants_that_replace_it() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    let granting = granting_policy();
    let mut synth = synthesis(org());
    synth.policies.insert(A.to_owned(), granting);
    let first = plan_with(&fakes, &synth).await;
    assert!(deploy(&fakes, &synth, &first).await.is_success());

    // Lake Formation: no catalog policy; B reads through a resource link in a new stack.
    let link = json!({"Type": "AWS::Glue::Database", "Properties": {"DatabaseInput": {"Name": "episodes_v1",
        "TargetDatabase": {"CatalogId": A, "DatabaseName": "episodes_v1"}}}});
    let mut specs = org();
    specs.push((
        B,
        "mesh-access",
        2,
        &["333333333333/mesh-products"],
        json!({"LinkEpisodesV1": link}),
    ));
    let synth = without_policies(synthesis(specs));
    let second = plan_with(&fakes, &synth).await;
    assert_eq!(second.policies[0].status, PolicyStatus::Delete);
    fakes
        .cfn(B)
        .fail
        .lock()
        .expect("lock")
        .insert("mesh-access".into(), "LinkEpisodesV1".into());
    let report = deploy(&fakes, &synth, &second).await;
    assert!(matches!(status(&report, B, "mesh-access"), StepStatus::Failed { .. }));
    assert_eq!(status(&report, A, "glue-resource-policy"), &StepStatus::Skipped);
    assert!(
        fakes.accounts[A].glue.policy.lock().expect("lock").is_some(),
        "B's readers keep the policy while their grants are missing"
    );

    // The grants land on the next run, and then the policy goes.
    fakes.cfn(B).fail.lock().expect("lock").clear();
    let third = plan_with(&fakes, &synth).await;
    let report = deploy(&fakes, &synth, &third).await;
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(status(&report, B, "mesh-access"), &StepStatus::Created);
    assert_eq!(status(&report, A, "glue-resource-policy"), &StepStatus::Deleted);
    assert_eq!(*fakes.accounts[A].glue.policy.lock().expect("lock"), None);
}

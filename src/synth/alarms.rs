//! Freshness alarms: for each active version of a product with an hourly,
//! daily or weekly SLO, an alarm in the producer's account that goes off when
//! no new object has landed under the version's prefix within the freshness
//! window, and the account's alert topic the alarms notify.
//!
//! The mechanism needs no change to the producer's pipeline: the data bucket
//! sends its events to EventBridge (baseline), a rule per version matches
//! `Object Created` under `<domain>/<product>/v<n>/`, and the alarm watches the
//! rule's `MatchedEvents` metric (`AWS/Events`, free): no event in the window
//! is no data point, and `TreatMissingData: breaching` turns that into ALARM.
//! The README explains the choice over S3 request metrics, and the cost.
//!
//! Pure: the topology in, blueprint context values out. `impact` uses
//! [`freshness`] to say where each version's alarm goes.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};

use super::doc::Doc;
use super::names;
use crate::model::{AccountId, AlertTarget, Product, Topology, Version, VersionStatus};

/// The name of each producer account's alert topic.
pub(crate) const ALERT_TOPIC: &str = "mesh-alerts";

/// One version's freshness check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Freshness {
    /// `hourly`, `daily` or `weekly`, as the SLO says.
    pub(crate) freshness: String,
    /// The SLO's `available_by`, when it has one.
    pub(crate) available_by: Option<String>,
    /// The trailing window without a new object that is "late", in seconds.
    pub(crate) window_seconds: u32,
    /// The alarm's period (its resolution) and how many periods make the window.
    pub(crate) period_seconds: u32,
    pub(crate) evaluation_periods: u32,
    pub(crate) rule_name: String,
    pub(crate) alarm_name: String,
    /// `s3://<bucket>/<domain>/<product>/v<n>/`.
    pub(crate) prefix: String,
    /// The account's alert topic, then the team's own topics.
    pub(crate) actions: Vec<String>,
    /// The e-mail addresses subscribed to the account's alert topic.
    pub(crate) emails: Vec<String>,
}

/// A version's freshness check in a products stack: an EventBridge rule counting new objects
/// under the version's prefix, and a CloudWatch alarm when too few land.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Alarm {
    pub(crate) rule_id: String,
    pub(crate) rule_name: String,
    pub(crate) rule_description: String,
    /// The rule's event pattern (S3 `Object Created` under the version's prefix).
    pub(crate) event_pattern: Doc,
    pub(crate) alarm_id: String,
    pub(crate) alarm_name: String,
    pub(crate) alarm_description: String,
    /// Seconds per evaluation period.
    pub(crate) period: u32,
    pub(crate) evaluation_periods: u32,
    /// Topic ARNs notified on alarm and on recovery.
    pub(crate) actions: Vec<String>,
}

/// The account's alert topic, which its freshness alarms notify.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct AlertTopic {
    pub(crate) topic_name: String,
    /// The topic's policy.
    pub(crate) policy: Doc,
    /// E-mail subscriptions (the team's `alerts`).
    pub(crate) emails: Vec<AlertEmail>,
}

/// An e-mail subscription to the alert topic.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct AlertEmail {
    pub(crate) id: String,
    pub(crate) endpoint: String,
}

/// Window and resolution per freshness: the period is as long as CloudWatch
/// allows for the window (periods under an hour may span one day at most,
/// longer ones seven days), so "late" is detected within one period.
fn window(freshness: &str) -> Option<(u32, u32)> {
    match freshness {
        // 12 × 5 minutes: the last hour.
        "hourly" => Some((300, 12)),
        // 24 × 1 hour: the last day.
        "daily" => Some((3_600, 24)),
        // 28 × 6 hours: the last seven days, CloudWatch's longest window.
        "weekly" => Some((21_600, 28)),
        _ => None,
    }
}

/// `arn:aws:sns:<region>:<account>:mesh-alerts`.
pub(crate) fn topic_arn(t: &Topology, account: &AccountId) -> String {
    format!("arn:aws:sns:{}:{account}:{ALERT_TOPIC}", t.org.region)
}

/// The freshness check of a product version, or `None` when it has none (not
/// active, or no freshness in the SLO).
pub(crate) fn freshness(t: &Topology, p: &Product, v: &Version) -> Option<Freshness> {
    let (f, (period, periods)) = checked_window(p, v)?;
    let slo = p.slo.as_ref()?;
    let stem = format!("{}-{}-v{}", p.id.domain, p.id.name, v.number);
    let team = t.teams.get(&p.team);
    let alerts = team.map_or(&[][..], |t| t.alerts.as_slice());
    let mut actions = vec![topic_arn(t, &p.account)];
    let mut emails = Vec::new();
    for a in alerts {
        match a {
            AlertTarget::Topic(arn) => actions.push(arn.clone()),
            AlertTarget::Email(e) => emails.push(e.clone()),
        }
    }
    Some(Freshness {
        freshness: f.to_owned(),
        available_by: slo.available_by.clone(),
        window_seconds: period * periods,
        period_seconds: period,
        evaluation_periods: periods,
        rule_name: names::bounded("mesh-landed-", &stem, 64),
        alarm_name: names::bounded("mesh-late-", &stem, 255),
        prefix: format!(
            "s3://{}/{}",
            names::data_bucket(&t.org, &p.account),
            names::version_prefix(&p.id, v.number)
        ),
        actions,
        emails,
    })
}

/// A version's freshness SLO and its window (period, periods), when it has a freshness check.
fn checked_window<'p>(p: &'p Product, v: &Version) -> Option<(&'p str, (u32, u32))> {
    if v.status != VersionStatus::Active {
        return None;
    }
    let f = p.slo.as_ref()?.freshness.as_deref()?;
    Some((f, window(f)?))
}

/// The window in words: `1 hour`, `24 hours`, `7 days`.
pub(crate) fn window_words(seconds: u32) -> String {
    match seconds {
        s if s % 86_400 == 0 && s > 86_400 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => {
            let h = s / 3_600;
            format!("{h} hour{}", if h == 1 { "" } else { "s" })
        }
        s => format!("{} minutes", s / 60),
    }
}

/// The blueprint context of a version's rule and alarm (an empty list when it
/// has none, so the blueprint loops over it).
pub(crate) fn version_alarms(t: &Topology, p: &Product, v: &Version) -> Vec<Alarm> {
    let Some(f) = freshness(t, p, v) else {
        return Vec::new();
    };
    let stem = format!("{}V{}", p.id.camel(), v.number);
    let bucket = names::data_bucket(&t.org, &p.account);
    let key_prefix = names::version_prefix(&p.id, v.number);
    let by = f
        .available_by
        .as_deref()
        .map(|a| format!(", available by {a}"))
        .unwrap_or_default();
    // No team name or contact here: reorganising teams changes tags and Glue
    // parameters only (the database's `meshsynth:contact` says whom to call).
    let description = format!(
        "{}@{} is late: no new object under {} in the last {} (SLO: {}{by}). Producer and consumers: meshsynth impact {}",
        p.id,
        v.number,
        f.prefix,
        window_words(f.window_seconds),
        f.freshness,
        p.id
    );
    vec![Alarm {
        rule_id: format!("LandedRule{stem}"),
        rule_name: f.rule_name,
        rule_description: format!("meshsynth: objects landing under {}", f.prefix),
        event_pattern: json!({
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {
                "bucket": {"name": [bucket]},
                "object": {"key": [{"prefix": key_prefix}]}
            }
        })
        .into(),
        alarm_id: format!("LateAlarm{stem}"),
        alarm_name: f.alarm_name,
        alarm_description: description,
        period: f.period_seconds,
        evaluation_periods: f.evaluation_periods,
        actions: f.actions,
    }]
}

/// The account's alert topic (context of the products stack's first part), or
/// `None` when no version of the account has an alarm.
pub(crate) fn alert_topic(
    t: &Topology,
    account: &AccountId,
    products: &[&Product],
    consuming: Option<&BTreeSet<&AccountId>>,
) -> Option<AlertTopic> {
    let alarmed: Vec<&&Product> = products
        .iter()
        .filter(|p| p.versions.values().any(|v| checked_window(p, v).is_some()))
        .collect();
    let first = alarmed.first()?;
    let arn = topic_arn(t, account);
    // Accounts that consume a product of this account may subscribe (their
    // queues, functions or addresses): late data is their business too.
    let none = BTreeSet::new();
    let consumers = consuming.unwrap_or(&none);
    let mut statements = vec![json!({
        "Sid": "AlarmsOfThisAccountPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": arn,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": format!("arn:aws:cloudwatch:{}:{account}:alarm:*", t.org.region)}
        }
    })];
    if !consumers.is_empty() {
        let roots: Vec<String> = consumers.iter().map(|a| names::account_root(a)).collect();
        statements.push(json!({
            "Sid": "ConsumingAccountsSubscribe",
            "Effect": "Allow",
            "Principal": {"AWS": roots},
            "Action": ["sns:Subscribe", "sns:GetTopicAttributes"],
            "Resource": arn
        }));
    }
    let team = t.teams.get(&first.team);
    let emails: Vec<AlertEmail> = team
        .map(|team| {
            team.alerts
                .iter()
                .filter_map(|a| match a {
                    AlertTarget::Email(e) => Some(AlertEmail {
                        id: format!("AlertEmail{}", names::short_hash(e)),
                        endpoint: e.clone(),
                    }),
                    AlertTarget::Topic(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Some(AlertTopic {
        topic_name: ALERT_TOPIC.to_owned(),
        policy: json!({"Version": "2012-10-17", "Statement": statements}).into(),
        emails,
    })
}

/// The key policy statement that lets CloudWatch alarms publish to the
/// account's alert topic, which is encrypted with the account's key (an alarm
/// cannot use a topic under the AWS managed key). Empty when the account has
/// no alarm.
pub(crate) fn key_policy_statements(t: &Topology, products: &[&Product]) -> Vec<Value> {
    let alarmed = products
        .iter()
        .any(|p| p.versions.values().any(|v| freshness(t, p, v).is_some()));
    if !alarmed {
        return Vec::new();
    }
    vec![json!({
        "Sid": "CloudWatchAlarmsEncryptAlerts",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*"
    })]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::example_topology;

    #[test]
    fn windows_fit_cloudwatch_limits() {
        for f in ["hourly", "daily", "weekly"] {
            let (period, n) = window(f).expect("known");
            let total = period * n;
            // Under an hour per period: at most a day; otherwise at most seven days.
            let max = if period < 3_600 { 86_400 } else { 604_800 };
            assert!(total <= max, "{f}");
            assert!(period % 60 == 0 && (period < 3_600 || period % 3_600 == 0), "{f}");
        }
        assert_eq!(window("hourly").map(|(p, n)| p * n), Some(3_600));
        assert_eq!(window("daily").map(|(p, n)| p * n), Some(86_400));
        assert_eq!(window("weekly").map(|(p, n)| p * n), Some(604_800));
        assert_eq!(window_words(3_600), "1 hour");
        assert_eq!(window_words(86_400), "24 hours");
        assert_eq!(window_words(604_800), "7 days");
    }

    #[test]
    fn every_active_version_with_a_freshness_slo_has_an_alarm_and_only_those() {
        let t = example_topology();
        let mut alarms = 0;
        for p in t.products.values() {
            for v in p.versions.values() {
                let has = !version_alarms(&t, p, v).is_empty();
                let should =
                    v.status == VersionStatus::Active && p.slo.as_ref().and_then(|s| s.freshness.as_ref()).is_some();
                assert_eq!(has, should, "{}@{}", p.id, v.number);
                alarms += usize::from(has);
            }
        }
        assert!(alarms > 0, "the example org has SLOs");
    }

    #[test]
    fn alarms_notify_the_account_topic_first() {
        let t = example_topology();
        for p in t.products.values() {
            for v in p.versions.values() {
                if let Some(f) = freshness(&t, p, v) {
                    assert_eq!(f.actions[0], topic_arn(&t, &p.account));
                    assert!(f.actions.len() <= 5);
                    assert!(f.rule_name.len() <= 64);
                }
            }
        }
    }
}

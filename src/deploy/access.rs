//! The access decisions in force: the `access.json` of the last complete
//! deploy, kept in the central account's staging bucket
//! (`s3://<org>-<central>-<region>-staging/meshsynth/access.json`), so that
//! `plan` can say in plain words what a deploy grants or takes away, as
//! `diff` does between two output folders.
//!
//! `deploy` records the file after a deploy of every account succeeded (a
//! deploy of some accounts leaves the record alone: it would describe access
//! that is not all in force). Before the first deploy the bucket does not
//! exist: nothing is in force, so every reader is new. A bucket without the
//! file was deployed by a meshsynth from before it; `plan` says so instead of
//! guessing.

use super::session::Connector;
use super::DeployError;
use crate::diff::access::{self, AccessChange};
use crate::synth::decisions::{AccessModel, ACCESS_FORMAT};

/// The object key of the record in the staging bucket.
pub(crate) const RECORD_KEY: &str = "meshsynth/access.json";

/// Where the record lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordPlace {
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) bucket: String,
}

impl RecordPlace {
    /// The central account's staging bucket.
    #[cfg(test)]
    pub(crate) fn new(org: &str, central: &str, region: &str) -> RecordPlace {
        RecordPlace {
            account: central.to_owned(),
            region: region.to_owned(),
            bucket: crate::model::physical::staging_bucket(org, central, region),
        }
    }

    fn url(&self) -> String {
        format!("s3://{}/{RECORD_KEY}", self.bucket)
    }
}

/// What is in force, as far as the record tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InForce {
    /// The record of the last complete deploy.
    Recorded(AccessModel),
    /// No staging bucket: nothing deployed yet, so nobody reads anything.
    NothingDeployed,
    /// Deployed, but by a meshsynth that kept no record.
    Unknown { url: String },
    /// The record could not be read (no `s3:GetObject`, say): the plan goes on without it.
    Unreadable { url: String, reason: String },
}

/// Reads the record. Only an unreachable central account is an error: a record that cannot
/// be read leaves the access section unknown, not the plan undone.
pub(crate) async fn in_force(connector: &dyn Connector, place: &RecordPlace) -> Result<InForce, DeployError> {
    let apis = connector.account(&place.account, &place.region).await?;
    match apis.s3.get_object(&place.bucket, RECORD_KEY).await {
        Ok(Some(text)) => {
            let model: AccessModel = serde_json::from_str(&text).map_err(|e| DeployError::Record {
                url: place.url(),
                reason: e.to_string(),
            })?;
            if model.format != ACCESS_FORMAT {
                return Err(DeployError::Record {
                    url: place.url(),
                    reason: format!(
                        "format {} is not supported (this meshsynth reads format {ACCESS_FORMAT})",
                        model.format
                    ),
                });
            }
            Ok(InForce::Recorded(model))
        }
        Ok(None) => Ok(InForce::Unknown { url: place.url() }),
        Err(e) if e.code.as_deref() == Some("NoSuchBucket") => Ok(InForce::NothingDeployed),
        Err(e) if e.kind == super::ApiErrorKind::Unreachable => Err(DeployError::Api {
            account: place.account.clone(),
            stack: None,
            error: e,
        }),
        Err(e) => Ok(InForce::Unreadable {
            url: place.url(),
            reason: e.to_string(),
        }),
    }
}

/// Records `access.json` (its bytes as synth wrote them) as what is in force.
pub(crate) async fn record(connector: &dyn Connector, place: &RecordPlace, text: &str) -> Result<(), DeployError> {
    let apis = connector.account(&place.account, &place.region).await?;
    apis.s3
        .put_object(&place.bucket, RECORD_KEY, text)
        .await
        .map_err(|error| DeployError::Api {
            account: place.account.clone(),
            stack: None,
            error,
        })
}

/// The access section of a plan: what changes from what is in force to `new`, or why that
/// cannot be told.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct AccessSection {
    pub(crate) changes: Vec<AccessChange>,
    /// Why access was not compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unknown: Option<String>,
    /// Readers that would lose access mid-way (a switch from iam straight to lakeformation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) warning: Option<String>,
}

impl AccessSection {
    /// Compares what is in force with the synthesis's access decisions (`None`: the output
    /// folder has no `access.json`).
    pub(crate) fn new(in_force: &InForce, new: Option<&AccessModel>, out_file: &str) -> AccessSection {
        let Some(new) = new else {
            return AccessSection {
                changes: Vec::new(),
                warning: None,
                unknown: Some(format!(
                    "`{out_file}` does not exist (written by a meshsynth from before it); run `meshsynth synth`"
                )),
            };
        };
        match in_force {
            InForce::Recorded(old) => AccessSection {
                changes: access::compare(old, new),
                unknown: None,
                warning: access::switch_gap(old, new),
            },
            InForce::NothingDeployed => AccessSection {
                changes: access::compare(&AccessModel::default(), new),
                unknown: None,
                warning: None,
            },
            InForce::Unknown { url } => AccessSection {
                changes: Vec::new(),
                warning: None,
                unknown: Some(format!(
                    "no record of the access in force at `{url}` (deployed by a meshsynth from before it); \
                     the next complete `meshsynth deploy` records it"
                )),
            },
            InForce::Unreadable { url, reason } => AccessSection {
                changes: Vec::new(),
                warning: None,
                unknown: Some(format!(
                    "cannot read the record of the access in force at `{url}` ({reason}); the plan role needs \
                     `s3:GetObject` on it"
                )),
            },
        }
    }

    /// The section as text: a heading and a line per change, or why there is none.
    pub(crate) fn render_text(&self) -> String {
        if let Some(why) = &self.unknown {
            return format!("Access changes: not compared: {why}\n");
        }
        let mut s = self
            .warning
            .as_ref()
            .map_or_else(String::new, |w| format!("Warning: {w}\n"));
        if self.changes.is_empty() {
            return s;
        }
        s.push_str(&format!("Access changes ({}):\n", self.changes.len()));
        for c in &self.changes {
            s.push_str(&format!("  {}\n", access::line(c)));
        }
        s
    }

    /// The section as Markdown.
    pub(crate) fn render_markdown(&self) -> String {
        if let Some(why) = &self.unknown {
            return format!("**Access changes:** not compared: {}\n", why.replace('|', "\\|"));
        }
        let mut s = self
            .warning
            .as_ref()
            .map_or_else(String::new, |w| format!("> **Warning:** {}\n\n", w.replace('|', "\\|")));
        if self.changes.is_empty() {
            return s;
        }
        s.push_str(&format!("### Access changes ({})\n\n", self.changes.len()));
        for c in &self.changes {
            let line = access::line(c);
            let (sign, rest) = line.split_at(1);
            s.push_str(&format!("- `{sign}`{rest}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(org_wide: bool) -> AccessModel {
        AccessModel {
            format: ACCESS_FORMAT,
            paths: vec!["iam".into()],
            versions: vec![crate::synth::decisions::VersionAccess {
                product: "podcasts.episodes".into(),
                version: 1,
                producer: "333333333333".into(),
                classification: "open".into(),
                status: if org_wide { "active" } else { "retired" }.into(),
                org_wide,
                readers: vec![],
            }],
            readers: vec![],
        }
    }

    #[test]
    fn the_section_says_what_changes_or_why_it_cannot() {
        let gained = AccessSection::new(&InForce::NothingDeployed, Some(&model(true)), "out/access.json");
        assert_eq!(
            gained.render_text(),
            "Access changes (1):\n  + podcasts.episodes v1 becomes readable org-wide\n"
        );
        let lost = AccessSection::new(&InForce::Recorded(model(true)), Some(&model(false)), "out/access.json");
        assert_eq!(
            lost.render_markdown(),
            "### Access changes (1)\n\n- `-` podcasts.episodes v1 is no longer readable org-wide\n"
        );
        let same = AccessSection::new(&InForce::Recorded(model(true)), Some(&model(true)), "out/access.json");
        assert_eq!(same.render_text(), "");
        let unknown = AccessSection::new(
            &InForce::Unknown {
                url: "s3://b/meshsynth/access.json".into(),
            },
            Some(&model(true)),
            "out/access.json",
        );
        assert_eq!(
            unknown.render_text(),
            "Access changes: not compared: no record of the access in force at `s3://b/meshsynth/access.json` \
             (deployed by a meshsynth from before it); the next complete `meshsynth deploy` records it\n"
        );
        let no_file = AccessSection::new(&InForce::NothingDeployed, None, "out/access.json");
        assert!(no_file.render_text().contains("`out/access.json` does not exist"));
        let unreadable = AccessSection::new(
            &InForce::Unreadable {
                url: "s3://b/meshsynth/access.json".into(),
                reason: "s3:GetObject: AccessDenied: denied".into(),
            },
            Some(&model(true)),
            "out/access.json",
        );
        assert_eq!(
            unreadable.render_text(),
            "Access changes: not compared: cannot read the record of the access in force at \
             `s3://b/meshsynth/access.json` (s3:GetObject: AccessDenied: denied); the plan role needs \
             `s3:GetObject` on it\n"
        );
    }

    #[test]
    fn a_switch_straight_from_iam_to_lakeformation_is_warned_of() {
        let with = |paths: &[&str]| AccessModel {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            ..model(true)
        };
        let (iam, both, lf) = (
            with(&["iam"]),
            with(&["iam", "lakeformation"]),
            with(&["lakeformation"]),
        );
        let straight = AccessSection::new(&InForce::Recorded(iam.clone()), Some(&lf), "out/access.json");
        assert_eq!(
            straight.render_text(),
            "Warning: this deploy switches from access mode iam straight to lakeformation: every reader of the 1 \
             open versions lose access from wave 1 (bucket and key policies narrow) until wave 4 (`mesh-access` \
             grants them through Lake Formation); deploy with `org.keep_iam_paths: true` first, then without it \
             (README, \"Switching an existing org\")\n"
        );
        assert!(straight
            .render_markdown()
            .starts_with("> **Warning:** this deploy switches"));
        // The two steps of the switch, and a record from before `paths` (read as iam), warn of nothing.
        let old: AccessModel = serde_json::from_str(r#"{"format": 1, "versions": [], "readers": []}"#).expect("reads");
        assert_eq!(old.paths, vec!["iam".to_owned()]);
        for (from, to) in [(&iam, &both), (&both, &lf), (&lf, &lf), (&iam, &iam)] {
            let s = AccessSection::new(&InForce::Recorded(from.clone()), Some(to), "out/access.json");
            assert_eq!(s.warning, None, "{:?} -> {:?}", from.paths, to.paths);
        }
        assert!(AccessSection::new(&InForce::Recorded(old), Some(&lf), "f")
            .warning
            .is_some());
    }

    #[tokio::test]
    async fn without_a_staging_bucket_nothing_is_in_force() {
        let connector = crate::deploy::fake::FakeConnector::new(&["222222222222"]);
        let place = RecordPlace::new("acast", "222222222222", "eu-west-1");
        assert_eq!(place.bucket, "acast-222222222222-eu-west-1-staging");
        let found = in_force(&connector, &place).await.expect("no bucket is an answer");
        assert_eq!(found, InForce::NothingDeployed);
    }
}

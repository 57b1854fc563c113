//! One deployed stack's access surface checked against what is live: each
//! bucket policy, key policy, IAM role and permission set the template
//! sets, read back through the account's clients and compared statement by
//! statement (`drift_surface`). Findings, errors and the count of documents
//! checked accumulate in a [`SurfaceCheck`], which `drift` folds into the
//! account's report.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::drift::{compact, parse, AccessDrift, DriftError, Fix};
use super::drift_api::{DriftApis, StackResource};
use super::drift_surface::{self as surface, PermissionSetSurface, RoleSurface, StatementChange};

/// The check of one stack, and what it found so far.
pub(crate) struct SurfaceCheck<'a> {
    apis: &'a DriftApis,
    account: &'a str,
    region: &'a str,
    stack: &'a str,
    resources: &'a [StackResource],
    pub(crate) found: Vec<AccessDrift>,
    pub(crate) errors: Vec<DriftError>,
    pub(crate) checked: usize,
}

impl<'a> SurfaceCheck<'a> {
    pub(crate) fn new(
        apis: &'a DriftApis,
        account: &'a str,
        region: &'a str,
        stack: &'a str,
        resources: &'a [StackResource],
    ) -> Self {
        SurfaceCheck {
            apis,
            account,
            region,
            stack,
            resources,
            found: Vec::new(),
            errors: Vec::new(),
            checked: 0,
        }
    }

    fn error(&mut self, message: String) {
        self.errors.push(DriftError {
            account: self.account.to_owned(),
            stack: Some(self.stack.to_owned()),
            message,
        });
    }

    /// Keeps a finding when something differs (or the resource is gone).
    fn record(&mut self, kind: &'static str, resource: String, missing: bool, changes: Vec<StatementChange>, fix: Fix) {
        if !changes.is_empty() || missing {
            self.found.push(AccessDrift {
                account: self.account.to_owned(),
                region: self.region.to_owned(),
                stack: Some(self.stack.to_owned()),
                kind,
                resource,
                missing,
                changes,
                fix,
            });
        }
    }

    /// Fills what only the deployed stack knows; a document that stays
    /// unresolved cannot be compared, which is an error, not drift.
    fn resolve(&self, doc: &Value, what: &str) -> Result<Value, String> {
        let mut doc = doc.clone();
        let unknown = surface::fill(&mut doc, self.account, self.region, self.resources);
        if unknown.is_empty() {
            Ok(doc)
        } else {
            let unknown: Vec<String> = unknown.into_iter().map(|u| format!("`{u}`")).collect();
            Err(format!(
                "cannot work out the {what} from the template: {} unknown",
                unknown.join(", ")
            ))
        }
    }

    /// [`Self::resolve`], recording the error when it fails.
    fn resolved(&mut self, doc: &Value, what: &str) -> Option<Value> {
        self.resolve(doc, what).map_err(|e| self.error(e)).ok()
    }

    fn physical(&self, logical: &str) -> Option<String> {
        self.resources
            .iter()
            .find(|r| r.logical_id == logical)
            .map(|r| r.physical_id.clone())
    }

    pub(crate) async fn bucket(&mut self, bucket: &str, doc: &Value) {
        let Some(doc) = self.resolved(doc, &format!("policy of bucket {bucket}")) else {
            return;
        };
        self.checked += 1;
        let resource = format!("bucket {bucket}");
        match self.apis.drift.bucket_policy(bucket).await {
            Ok(live) => {
                let live = live.as_deref().map(parse);
                let fix = Fix::BucketPolicy {
                    bucket: bucket.to_owned(),
                    policy: compact(&doc),
                };
                let changes = surface::compare_policies(Some(&doc), live.as_ref());
                self.record("bucket-policy", resource, false, changes, fix);
            }
            Err(e) if e.is_code("NoSuchBucket") => {
                let changes = surface::compare_policies(Some(&doc), None);
                self.record("bucket-policy", resource, true, changes, Fix::Missing);
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    pub(crate) async fn key(&mut self, logical: &str, doc: &Value) {
        let Some(key_id) = self.physical(logical) else {
            return self.error(format!("KMS key `{logical}` is not a resource of the deployed stack"));
        };
        let Some(doc) = self.resolved(doc, &format!("policy of KMS key `{logical}`")) else {
            return;
        };
        self.checked += 1;
        let resource = format!("KMS key {logical} ({key_id})");
        match self.apis.drift.key_policy(&key_id).await {
            Ok(live) => {
                let changes = surface::compare_policies(Some(&doc), Some(&parse(&live)));
                let fix = Fix::KeyPolicy {
                    key_id,
                    policy: compact(&doc),
                };
                self.record("key-policy", resource, false, changes, fix);
            }
            Err(e) if e.is_code("NotFoundException") => {
                let changes = surface::compare_policies(Some(&doc), None);
                self.record("key-policy", resource, true, changes, Fix::Missing);
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// The role's documents as the synthesis has them: trust, inline
    /// policies by name, managed policy ARNs.
    fn role_documents(&self, role: &RoleSurface, name: &str) -> Result<RoleDocuments, String> {
        let trust = self.resolve(&role.trust, &format!("trust policy of role {name}"))?;
        let inline = role
            .inline
            .iter()
            .map(|(p, d)| Ok((p.clone(), self.resolve(d, &format!("policy `{p}` of role {name}"))?)))
            .collect::<Result<_, String>>()?;
        let managed = role
            .managed
            .iter()
            .map(|a| {
                Ok(
                    match self.resolve(&Value::String(a.clone()), &format!("managed policies of role {name}"))? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                )
            })
            .collect::<Result<_, String>>()?;
        Ok(RoleDocuments { trust, inline, managed })
    }

    pub(crate) async fn role(&mut self, role: &RoleSurface) {
        let what = format!("name of role `{}`", role.logical_id);
        let name = match self.resolve(&Value::String(role.name.clone()), &what) {
            Ok(Value::String(n)) => n,
            Ok(_) => return,
            Err(e) => return self.error(e),
        };
        let want = match self.role_documents(role, &name) {
            Ok(w) => w,
            Err(e) => return self.error(e),
        };
        self.checked += 2 + want.inline.len();
        let live = match self.apis.drift.role(&name).await {
            Ok(Some(live)) => live,
            Ok(None) => {
                let changes = surface::compare_policies(Some(&want.trust), None);
                return self.record("role-trust", format!("role {name}"), true, changes, Fix::Missing);
            }
            Err(e) => return self.error(e.to_string()),
        };
        let changes = surface::compare_policies(Some(&want.trust), Some(&parse(&live.trust)));
        let fix = Fix::RoleTrust {
            role: name.clone(),
            policy: compact(&want.trust),
        };
        self.record("role-trust", format!("role {name} trust policy"), false, changes, fix);
        let names: BTreeSet<&String> = want.inline.keys().chain(live.inline.keys()).collect();
        for p in names {
            let expected = want.inline.get(p);
            let have = live.inline.get(p).map(|t| parse(t));
            let changes = surface::compare_policies(expected, have.as_ref());
            let fix = Fix::RolePolicy {
                role: name.clone(),
                name: p.clone(),
                policy: expected.map(compact),
            };
            self.record(
                "role-policy",
                format!("role {name} inline policy {p}"),
                false,
                changes,
                fix,
            );
        }
        let fix = Fix::RoleAttachments {
            role: name.clone(),
            attach: want.managed.difference(&live.managed).cloned().collect(),
            detach: live.managed.difference(&want.managed).cloned().collect(),
        };
        let changes = surface::compare_attachments(&want.managed, &live.managed);
        self.record("role-managed-policies", format!("role {name}"), false, changes, fix);
    }

    pub(crate) async fn permission_set(&mut self, ps: &PermissionSetSurface) {
        let Some(arn) = self.physical(&ps.logical_id) else {
            return self.error(format!(
                "permission set `{}` is not a resource of the deployed stack",
                ps.logical_id
            ));
        };
        // CloudFormation's physical id of a permission set is its ARN (some
        // tools give `ARN|instance`).
        let arn = arn.split('|').next().unwrap_or(&arn).to_owned();
        let want = match &ps.policy {
            Some(d) => match self.resolve(d, &format!("policy of permission set {}", ps.name)) {
                Ok(d) => Some(d),
                Err(e) => return self.error(e),
            },
            None => None,
        };
        self.checked += 1;
        match self.apis.drift.permission_set_policy(&ps.instance, &arn).await {
            Ok(live) => {
                let live = live.as_deref().map(parse);
                let changes = surface::compare_policies(want.as_ref(), live.as_ref());
                let fix = Fix::PermissionSet {
                    instance: ps.instance.clone(),
                    arn,
                    policy: want.as_ref().map(compact),
                };
                self.record(
                    "permission-set-policy",
                    format!("permission set {}", ps.name),
                    false,
                    changes,
                    fix,
                );
            }
            Err(e) => self.error(e.to_string()),
        }
    }
}

/// A role's synthesised documents, resolved.
struct RoleDocuments {
    trust: Value,
    inline: BTreeMap<String, Value>,
    managed: BTreeSet<String>,
}

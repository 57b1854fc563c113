//! Planning and deploying a synthesis into every account of the org.
//!
//! `plan` and `deploy` read what `synth` wrote (`manifest`), assume
//! `org.deploy_role` in each account (`session`, `sts`), make a CloudFormation
//! change set per stack and classify it (`change_set`, `plan`), render the
//! review (`preview`), and execute in dependency order (`execute`).
//!
//! Every AWS call of meshsynth's deploy path lives here, behind one trait per
//! service (`cfn`, `glue`, `s3`, `sts`), each retried on throttling (`api`),
//! so the engine runs unchanged against AWS, the local emulator, or the fakes
//! of the unit tests. Nothing outside `deploy/` talks to AWS for these
//! commands, and nothing here prints: commands do, with what this returns.

pub(crate) mod access;
mod account;
pub(crate) mod api;
pub(crate) mod approval;
pub(crate) mod cfn;
pub(crate) mod change_set;
pub(crate) mod drift;
pub(crate) mod drift_api;
mod drift_check;
pub(crate) mod drift_render;
pub(crate) mod drift_repair;
pub(crate) mod drift_status;
pub(crate) mod drift_surface;
pub(crate) mod execute;
pub(crate) mod glue;
pub(crate) mod guards;
pub(crate) mod manifest;
pub(crate) mod plan;
pub(crate) mod planned;
pub(crate) mod policy_diff;
pub(crate) mod preview;
pub(crate) mod progress;
mod report;
pub(crate) mod s3;
pub(crate) mod session;
pub(crate) mod stack_exec;
pub(crate) mod sts;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod fake_drift;
#[cfg(test)]
mod fake_services;

pub(crate) use api::{ApiError, ApiErrorKind, RetryPolicy};
pub(crate) use execute::{execute, ExecOptions, StepStatus};
pub(crate) use manifest::{ManifestError, Synthesis};
pub(crate) use plan::{plan, Plan, PlanOptions, WaitOptions};
pub(crate) use progress::Progress;
pub(crate) use session::{AwsOptions, AwsSession};

/// What can stop a plan (or a deploy before it executes anything).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeployError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("cannot assume role `{role_arn}` in account {account}: {error}")]
    AssumeRole {
        account: String,
        role_arn: String,
        error: ApiError,
    },
    #[error("account {account}{}: {error}", stack.as_ref().map(|s| format!(", stack `{s}`")).unwrap_or_default())]
    Api {
        account: String,
        stack: Option<String>,
        error: ApiError,
    },
    #[error("`{url}` is not an access record of meshsynth: {reason}")]
    Record { url: String, reason: String },
    #[error("account {account}, stack `{stack}`: the change set failed: {reason}")]
    ChangeSetFailed {
        account: String,
        stack: String,
        reason: String,
    },
    #[error("account {account}, stack `{stack}` is busy ({status}); run again once it has settled")]
    StackBusy {
        account: String,
        stack: String,
        status: cfn::StackState,
    },
    #[error(
        "account {account}, stack `{stack}` is {status}{}; fix it in the CloudFormation console \
         (continue the rollback or delete the stack), then run again",
        if reason.is_empty() { String::new() } else { format!(" ({reason})") }
    )]
    StackStuck {
        account: String,
        stack: String,
        status: cfn::StackState,
        reason: String,
    },
    #[error(
        "account {account}, stack `{stack}`: the deployed template is not JSON ({reason}); \
         was the stack deployed by something other than meshsynth?"
    )]
    UnreadableTemplate {
        account: String,
        stack: String,
        reason: String,
    },
    #[error("account {account}, stack `{stack}`: gave up waiting for {what} after {secs} s (see --wait-timeout)")]
    WaitTimeout {
        account: String,
        stack: String,
        what: String,
        secs: u64,
    },
}

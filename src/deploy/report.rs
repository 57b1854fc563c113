//! The report of a deploy: one summary line, then (when anything went wrong,
//! or verbose) what completed, failed and was skipped. Pure, like `preview`,
//! whose styling it shares.

use std::fmt::Write as _;

use super::execute::{DeployReport, StepStatus, POLICY_STEP};
use super::preview::Style;

/// What a deploy did: one summary line, then (when anything went wrong, or
/// `verbose`) what completed, failed and was skipped.
pub(crate) fn render_report(report: &DeployReport, color: bool, verbose: bool) -> String {
    let style = Style { on: color };
    let count = |pick: fn(&StepStatus) -> bool| report.steps.iter().filter(|s| pick(&s.status)).count();
    let created = count(|s| *s == StepStatus::Created);
    let updated = count(|s| *s == StepStatus::Updated);
    let policy_deleted = report
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Deleted && s.name == POLICY_STEP)
        .count();
    let deleted = count(|s| *s == StepStatus::Deleted) - policy_deleted;
    let applied = count(|s| *s == StepStatus::Applied);
    let unchanged = count(|s| *s == StepStatus::Unchanged);
    let failed = report.with(|s| matches!(s, StepStatus::Failed { .. }));
    let skipped = report.with(|s| *s == StepStatus::Skipped);
    let mut out = String::new();
    let guarded = count(|s| *s == StepStatus::Guarded);
    let guarded = if guarded > 0 {
        format!(", {guarded} given guards")
    } else {
        String::new()
    };
    let policies_deleted = if policy_deleted > 0 {
        format!(
            ", {policy_deleted} polic{} deleted",
            if policy_deleted == 1 { "y" } else { "ies" }
        )
    } else {
        String::new()
    };
    let headline = format!(
        "{created} created, {updated} updated, {deleted} deleted, {applied} polic{} applied{policies_deleted}, \
         {unchanged} unchanged{guarded}",
        if applied == 1 { "y" } else { "ies" }
    );
    if failed.is_empty() && skipped.is_empty() {
        let _ = writeln!(out, "{} {headline}", style.green(&style.bold("Deployed:")));
    } else {
        let _ = writeln!(
            out,
            "{} {headline}, {} failed, {} skipped",
            style.red(&style.bold("Deploy failed:")),
            failed.len(),
            skipped.len()
        );
    }
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.red(&style.bold(&format!("Failed ({}):", failed.len())))
        );
        for s in &failed {
            if let StepStatus::Failed { status, reason } = &s.status {
                let status = status.as_deref().map(|st| format!("{st}: ")).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {} {}  {}",
                    s.account,
                    s.name,
                    style.red(&format!("{status}{reason}"))
                );
            }
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(out, "\n{}", style.yellow(&format!("Skipped ({}):", skipped.len())));
        for s in &skipped {
            let _ = writeln!(out, "  {} {}", s.account, s.name);
        }
    }
    if verbose || !failed.is_empty() || !skipped.is_empty() {
        let done: Vec<_> = report
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s.status,
                    StepStatus::Created
                        | StepStatus::Updated
                        | StepStatus::Deleted
                        | StepStatus::Applied
                        | StepStatus::Guarded
                )
            })
            .collect();
        if !done.is_empty() {
            let _ = writeln!(out, "\n{}", style.green(&format!("Completed ({}):", done.len())));
            for s in done {
                let word = match s.status {
                    StepStatus::Created => "created",
                    StepStatus::Updated => "updated",
                    StepStatus::Deleted => "deleted",
                    StepStatus::Guarded => "guards set",
                    _ => "applied",
                };
                let _ = writeln!(out, "  {} {}  {word}", s.account, s.name);
            }
        }
    }
    out
}

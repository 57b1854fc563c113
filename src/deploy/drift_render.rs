//! A drift report as text, markdown or JSON, and the lines of a repair.
//! Pure: the report in, a string out; the order is the report's (sorted).

use super::drift::DriftReport;
use super::drift_repair::Repaired;
use super::drift_status::{ReportedDrift, ResourceDriftState};

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line per finding: ``account A bucket B: statement `S` added: Allow …``.
fn finding_lines(report: &DriftReport) -> Vec<String> {
    let mut lines = Vec::new();
    for s in &report.stacks {
        let head = format!("account {} stack {}", s.account, s.stack);
        match s.status {
            ReportedDrift::Drifted => {
                for r in &s.resources {
                    let what = format!("{head}: resource {} ({})", r.logical_id, r.resource_type);
                    if r.status == ResourceDriftState::Deleted {
                        lines.push(format!("{what} deleted outside CloudFormation"));
                        continue;
                    }
                    lines.push(format!("{what} modified"));
                    for d in &r.differences {
                        lines.push(format!(
                            "    {} {}: expected {}, actual {}",
                            d.path,
                            d.kind.words(),
                            d.expected.as_deref().unwrap_or("nothing"),
                            d.actual.as_deref().unwrap_or("nothing"),
                        ));
                    }
                }
                if let Some(n) = &s.note {
                    lines.push(format!("{head}: {n}"));
                }
            }
            // Counted in the summary: one line per stack would bury the findings.
            ReportedDrift::NotChecked => {}
            _ => lines.push(format!("{head}: {}", s.note.as_deref().unwrap_or(s.status.as_str()))),
        }
    }
    for a in &report.access {
        let head = format!("account {} {}", a.account, a.resource);
        if a.missing {
            lines.push(format!("{head}: missing"));
        }
        for c in &a.changes {
            lines.push(format!("{head}: {}", c.describe()));
        }
    }
    lines
}

fn summary_line(report: &DriftReport) -> String {
    let s = &report.summary;
    let mut line = if report.drifted() {
        format!(
            "Drift: {} drifted, {} with {} added and {} removed",
            plural(s.stacks_drifted, "stack", "stacks"),
            plural(s.documents_drifted, "document", "documents"),
            plural(s.statements_added, "statement", "statements"),
            s.statements_removed
        )
    } else {
        "No drift".to_owned()
    };
    line.push_str(&format!(
        " ({} checked in {}, {}",
        plural(s.stacks_checked, "stack", "stacks"),
        plural(s.accounts, "account", "accounts"),
        plural(s.documents_checked, "document", "documents")
    ));
    if s.stacks_not_checked > 0 {
        line.push_str(&format!(
            "; CloudFormation drift not checked for {}",
            plural(s.stacks_not_checked, "stack", "stacks")
        ));
    }
    if s.errors > 0 {
        line.push_str(&format!("; {}", plural(s.errors, "check failed", "checks failed")));
    }
    line.push_str(").");
    line
}

/// The report for a terminal or a CI log: one line per finding, the failed
/// checks, then the summary.
pub(crate) fn render_text(report: &DriftReport) -> String {
    let mut out = String::new();
    for line in finding_lines(report) {
        out.push_str(&line);
        out.push('\n');
    }
    for e in &report.errors {
        let at = e.stack.as_ref().map(|s| format!(" stack {s}")).unwrap_or_default();
        out.push_str(&format!("account {}{at}: could not check: {}\n", e.account, e.message));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// The report as a markdown comment or issue body (a scheduled CI job posts it).
pub(crate) fn render_markdown(report: &DriftReport) -> String {
    let mut out = format!("## meshsynth drift: `{}`\n\n{}\n", report.org, summary_line(report));
    let lines = finding_lines(report);
    if !lines.is_empty() {
        out.push_str("\n### Drift\n\n");
        for l in lines {
            match l.strip_prefix("    ") {
                Some(detail) => out.push_str(&format!("  - {}\n", detail.replace('`', "'"))),
                None => out.push_str(&format!("- {l}\n")),
            }
        }
    }
    if !report.errors.is_empty() {
        out.push_str("\n### Not checked\n\n");
        for e in &report.errors {
            let at = e.stack.as_ref().map(|s| format!(" stack {s}")).unwrap_or_default();
            out.push_str(&format!("- account {}{at}: {}\n", e.account, e.message));
        }
    }
    out
}

/// The report as JSON (`format` 1; documented in docs/cli.md).
pub(crate) fn render_json(report: &DriftReport) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The lines of a repair: what was put back, what failed, and a total.
pub(crate) fn render_repairs(repairs: &[Repaired]) -> String {
    let mut out = String::new();
    for r in repairs {
        match &r.error {
            None => out.push_str(&format!("account {} {}: repaired\n", r.account, r.what)),
            Some(e) => out.push_str(&format!("account {} {}: not repaired: {e}\n", r.account, r.what)),
        }
    }
    let failed = repairs.iter().filter(|r| r.error.is_some()).count();
    out.push_str(&format!(
        "\nRepaired {} of {}{}.\n",
        repairs.len() - failed,
        plural(repairs.len(), "finding", "findings"),
        if failed > 0 {
            format!(" ({failed} failed)")
        } else {
            String::new()
        }
    ));
    out
}

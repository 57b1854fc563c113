//! Rendering a [`Plan`] and a [`DeployReport`](super::execute::DeployReport) for people and programs:
//! `text` for a terminal, `markdown` for a pull-request comment, `json` as
//! `spec/cli.md` fixes it. Pure: strings in, strings out.
//!
//! The text review puts what loses data first (a list of every destructive
//! change at the top, then accounts with destructive changes before the
//! others), collapses unchanged accounts to one line, and ends with a summary
//! that fits on one screen.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

use super::approval;
use super::planned::{Exec, Plan, PolicyPlan, PolicyStatus, StackPlan, StackStatus};
use crate::change::{Action, Replacement, ResourceChange};

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    pub(super) on: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    pub(super) fn red(self, t: &str) -> String {
        self.paint("31", t)
    }
    pub(super) fn green(self, t: &str) -> String {
        self.paint("32", t)
    }
    pub(super) fn yellow(self, t: &str) -> String {
        self.paint("33", t)
    }
    pub(super) fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
    pub(super) fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
}

/// The plan as `plan --format json` prints it (`spec/cli.md`), with a
/// trailing newline.
pub(crate) fn render_json(plan: &Plan) -> String {
    let stacks: Vec<Value> = plan
        .stacks
        .iter()
        .map(|s| {
            json!({
                "account": s.account,
                "name": s.name,
                "region": s.region,
                "status": s.status.as_str(),
                "changes": s.changes.iter().map(|c| json!({
                    "action": c.action.as_str(),
                    "logical_id": c.logical_id,
                    "type": c.resource_type,
                    "replacement": c.replacement.map(|r| r.to_string()),
                    "stateful": c.stateful,
                    "destructive": c.destructive,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let policies: Vec<Value> = plan
        .policies
        .iter()
        .map(|p| {
            json!({"account": p.account, "kind": "glue-resource-policy", "status": p.status.as_str(),
                   "changes": p.changes})
        })
        .collect();
    let doc = json!({
        "format": 1,
        "stacks": stacks,
        "policies": policies,
        "destructive": plan.destructive(),
        "allow_destructive": approval::needed(plan).iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

fn symbol(c: &ResourceChange) -> &'static str {
    if c.destructive {
        return "!";
    }
    match c.action {
        Action::Add => "+",
        Action::Modify => "~",
        Action::Remove => "-",
        Action::Import => "<",
        Action::Dynamic => "?",
    }
}

fn replacement_note(c: &ResourceChange) -> &'static str {
    match c.replacement {
        Some(Replacement::True) => " replaced",
        Some(Replacement::Conditional) => " may be replaced",
        _ => "",
    }
}

/// `+3 ~1 -2` for a stack's changes.
fn counts(changes: &[ResourceChange]) -> String {
    let n = |a: Action| changes.iter().filter(|c| c.action == a).count();
    let mut s = format!(
        "+{} ~{} -{}",
        n(Action::Add),
        n(Action::Modify) + n(Action::Dynamic),
        n(Action::Remove)
    );
    if n(Action::Import) > 0 {
        let _ = write!(s, " <{}", n(Action::Import));
    }
    s
}

fn stack_rank(s: &StackPlan) -> (bool, bool, &str) {
    (
        s.destructive() == 0,
        s.status == StackStatus::NoChanges,
        s.name.as_str(),
    )
}

struct AccountView<'p> {
    id: &'p str,
    name: &'p str,
    stacks: Vec<&'p StackPlan>,
    policy: Option<&'p PolicyPlan>,
}

impl AccountView<'_> {
    fn destructive(&self) -> usize {
        self.stacks.iter().map(|s| s.destructive()).sum()
    }
    fn changed(&self) -> bool {
        self.stacks
            .iter()
            .any(|s| s.status != StackStatus::NoChanges || s.exec != Exec::Nothing)
            || self.policy.is_some_and(|p| p.status != PolicyStatus::NoChanges)
    }
}

/// Accounts with destructive changes first, then changed ones, then the rest.
fn accounts(plan: &Plan) -> Vec<AccountView<'_>> {
    let mut by_id: BTreeMap<&str, AccountView<'_>> = BTreeMap::new();
    for (id, name) in &plan.accounts {
        by_id.insert(
            id,
            AccountView {
                id,
                name,
                stacks: Vec::new(),
                policy: None,
            },
        );
    }
    for s in &plan.stacks {
        by_id
            .entry(&s.account)
            .or_insert_with(|| AccountView {
                id: &s.account,
                name: "",
                stacks: Vec::new(),
                policy: None,
            })
            .stacks
            .push(s);
    }
    for p in &plan.policies {
        if let Some(a) = by_id.get_mut(p.account.as_str()) {
            a.policy = Some(p);
        }
    }
    let mut views: Vec<AccountView<'_>> = by_id.into_values().collect();
    for v in &mut views {
        v.stacks.sort_by_key(|s| stack_rank(s));
    }
    views.sort_by_key(|v| (v.destructive() == 0, !v.changed(), v.id));
    views
}

fn status_word(style: Style, s: &StackPlan) -> String {
    let word = s.status.as_str().replace('_', " ");
    match s.status {
        StackStatus::Create => style.green(&word),
        StackStatus::Update => style.yellow(&word),
        StackStatus::Delete => style.red(&word),
        StackStatus::NoChanges => style.dim(&word),
    }
}

fn change_line(style: Style, c: &ResourceChange) -> String {
    let mut line = format!(
        "{} {:<7} {}  {}{}",
        symbol(c),
        c.action.as_str(),
        c.logical_id,
        style.dim(&c.resource_type),
        replacement_note(c)
    );
    if c.destructive {
        line.push_str("  DESTRUCTIVE");
    }
    if !c.properties.is_empty() {
        let shown: Vec<&str> = c.properties.iter().take(3).map(|p| p.path.as_str()).collect();
        let _ = write!(line, "  [{}", shown.join(", "));
        if c.properties.len() > 3 {
            let _ = write!(line, ", +{} more", c.properties.len() - 3);
        }
        line.push(']');
    }
    if c.destructive {
        style.red(&line)
    } else {
        match c.action {
            Action::Add => style.green(&line),
            Action::Remove => style.red(&line),
            _ => style.yellow(&line),
        }
    }
}

/// The review for a terminal. `verbose` also lists each resource of a stack
/// One changed account of the text review: its stacks and its Glue resource policy.
fn account_text(style: Style, v: &AccountView<'_>, verbose: bool) -> String {
    let mut out = String::new();
    out.push('\n');
    let _ = writeln!(out, "{} {}", style.bold(v.id), v.name);
    for s in &v.stacks {
        if s.status == StackStatus::NoChanges {
            let _ = writeln!(out, "  {}  {}", s.name, status_word(style, s));
            if let Some(note) = &s.note {
                let _ = writeln!(out, "    {}", style.dim(&format!("note: {note}")));
            }
            continue;
        }
        let mut head = format!("  {}  {}  {}", s.name, status_word(style, s), counts(&s.changes));
        if s.destructive() > 0 {
            let _ = write!(head, "  {}", style.red(&format!("{} destructive", s.destructive())));
        }
        let _ = writeln!(out, "{head}");
        if let Some(note) = &s.note {
            let _ = writeln!(out, "    {}", style.dim(&format!("note: {note}")));
        }
        let list_all = verbose || s.status != StackStatus::Create;
        for c in s.changes.iter().filter(|c| list_all || c.destructive) {
            let _ = writeln!(out, "    {}", change_line(style, c));
        }
    }
    if let Some(p) = v.policy {
        let word = p.status.as_str().replace('_', " ");
        let word = match p.status {
            PolicyStatus::NoChanges => style.dim(&word),
            PolicyStatus::Delete => style.red(&word),
            _ => style.yellow(&word),
        };
        let _ = writeln!(out, "  glue resource policy  {word}");
        for line in &p.changes {
            let painted = match line.as_bytes().first() {
                Some(b'+') => style.green(line),
                Some(b'-') => style.red(line),
                _ => style.yellow(line),
            };
            let _ = writeln!(out, "    {painted}");
        }
    }
    out
}

/// The text review's first section: destructive changes and stack deletions, and the
/// `--allow-destructive` values that allow exactly them (empty when there are none).
fn destructive_text(style: Style, plan: &Plan) -> String {
    let mut out = String::new();
    let destructive: Vec<(&StackPlan, &ResourceChange)> = plan
        .stacks
        .iter()
        .flat_map(|s| s.changes.iter().filter(|c| c.destructive).map(move |c| (s, c)))
        .collect();
    let deletions: Vec<&StackPlan> = plan.stacks.iter().filter(|s| s.status == StackStatus::Delete).collect();
    if !destructive.is_empty() || !deletions.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            style.red(&style.bold(&format!(
                "{} destructive change{} and {} stack deletion{} (deploy refuses them without --allow-destructive):",
                destructive.len(),
                if destructive.len() == 1 { "" } else { "s" },
                deletions.len(),
                if deletions.len() == 1 { "" } else { "s" },
            )))
        );
        for (s, c) in &destructive {
            let _ = writeln!(
                out,
                "  {}",
                style.red(&format!(
                    "! {} {}  {} {} ({}){}",
                    s.account,
                    s.name,
                    c.action.as_str(),
                    c.logical_id,
                    c.resource_type,
                    replacement_note(c)
                ))
            );
        }
        for s in &deletions {
            let _ = writeln!(
                out,
                "  {}",
                style.red(&format!(
                    "! {} {}  delete stack ({} resource{})",
                    s.account,
                    s.name,
                    s.changes.len(),
                    if s.changes.len() == 1 { "" } else { "s" }
                ))
            );
        }
        let _ = writeln!(out, "To allow exactly these, pass to deploy:");
        for a in approval::needed(plan) {
            let _ = writeln!(out, "  --allow-destructive {a}");
        }
    }
    out
}

/// to create (otherwise counted).
pub(crate) fn render_text(plan: &Plan, color: bool, verbose: bool) -> String {
    let style = Style { on: color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "Plan for {} ({}), {} account{}",
            plan.org,
            plan.region,
            plan.accounts.len(),
            if plan.accounts.len() == 1 { "" } else { "s" }
        ))
    );

    out.push_str(&destructive_text(style, plan));

    let views = accounts(plan);
    let mut unchanged = Vec::new();
    for v in &views {
        if !v.changed() {
            unchanged.push(v.id);
            continue;
        }
        out.push_str(&account_text(style, v, verbose));
    }
    if !unchanged.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "No changes in {} account{}: {}",
                unchanged.len(),
                if unchanged.len() == 1 { "" } else { "s" },
                unchanged.join(" ")
            ))
        );
    }
    out.push('\n');
    out.push_str(&render_summary(plan, color));
    out
}

fn status_counts(plan: &Plan) -> BTreeMap<StackStatus, usize> {
    let mut m = BTreeMap::new();
    for s in &plan.stacks {
        *m.entry(s.status).or_insert(0) += 1;
    }
    m
}

/// The one-screen summary: stacks, resources and policies by what happens.
pub(crate) fn render_summary(plan: &Plan, color: bool) -> String {
    let style = Style { on: color };
    let stacks = status_counts(plan);
    let get = |s: StackStatus| stacks.get(&s).copied().unwrap_or(0);
    let all: Vec<ResourceChange> = plan.stacks.iter().flat_map(|s| s.changes.clone()).collect();
    let policy = |p: PolicyStatus| plan.policies.iter().filter(|x| x.status == p).count();
    let destructive = plan.destructive();
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.bold("Summary"));
    let _ = writeln!(
        out,
        "  stacks     {} to create, {} to update, {} to delete, {} unchanged",
        get(StackStatus::Create),
        get(StackStatus::Update),
        get(StackStatus::Delete),
        get(StackStatus::NoChanges)
    );
    let d = format!("{destructive} destructive");
    let _ = writeln!(
        out,
        "  resources  {}, {}",
        counts(&all),
        if destructive > 0 { style.red(&d) } else { d }
    );
    let _ = writeln!(
        out,
        "  policies   {} to create, {} to update, {} to delete, {} unchanged",
        policy(PolicyStatus::Create),
        policy(PolicyStatus::Update),
        policy(PolicyStatus::Delete),
        policy(PolicyStatus::NoChanges)
    );
    out
}

/// The review as a pull-request comment: a summary table, then one
/// collapsible section per account.
pub(crate) fn render_markdown(plan: &Plan) -> String {
    let stacks = status_counts(plan);
    let get = |s: StackStatus| stacks.get(&s).copied().unwrap_or(0);
    let policy = |p: PolicyStatus| plan.policies.iter().filter(|x| x.status == p).count();
    let all: Vec<ResourceChange> = plan.stacks.iter().flat_map(|s| s.changes.clone()).collect();
    let mut out = String::new();
    let _ = writeln!(out, "### meshsynth plan: `{}` ({})\n", plan.org, plan.region);
    let destructive = plan.destructive();
    let deletions = plan.deletions();
    if destructive > 0 || deletions > 0 {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> **{destructive} destructive change{}** and **{deletions} stack deletion{}**: \
             `deploy` refuses them without `--allow-destructive`.\n",
            if destructive == 1 { "" } else { "s" },
            if deletions == 1 { "" } else { "s" },
        );
    } else {
        out.push_str("No destructive changes.\n\n");
    }
    out.push_str("| | create | update | delete | no changes |\n|---|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| stacks | {} | {} | {} | {} |",
        get(StackStatus::Create),
        get(StackStatus::Update),
        get(StackStatus::Delete),
        get(StackStatus::NoChanges)
    );
    let _ = writeln!(
        out,
        "| Glue resource policies | {} | {} | {} | {} |",
        policy(PolicyStatus::Create),
        policy(PolicyStatus::Update),
        policy(PolicyStatus::Delete),
        policy(PolicyStatus::NoChanges)
    );
    let _ = writeln!(out, "\nResources: `{}`, {destructive} destructive.\n", counts(&all));

    for v in accounts(plan) {
        let d = v.destructive();
        let changed = v.stacks.iter().filter(|s| s.status != StackStatus::NoChanges).count();
        let headline = if d > 0 {
            format!(
                "⚠️ {changed} stack{} to change, {d} destructive",
                if changed == 1 { "" } else { "s" }
            )
        } else if v.changed() {
            format!("{changed} stack{} to change", if changed == 1 { "" } else { "s" })
        } else {
            "no changes".to_owned()
        };
        let name = if v.name.is_empty() {
            String::new()
        } else {
            format!(" {}", v.name)
        };
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code>{name}: {headline}</summary>\n",
            v.id
        );
        out.push_str("| stack | status | changes |\n|---|---|---|\n");
        for s in &v.stacks {
            let _ = writeln!(
                out,
                "| `{}` | {} | `{}` |",
                s.name,
                s.status.as_str().replace('_', " "),
                counts(&s.changes)
            );
        }
        if let Some(p) = v.policy {
            let _ = writeln!(
                out,
                "| Glue resource policy | {} | {} |",
                p.status.as_str().replace('_', " "),
                p.changes
                    .iter()
                    .map(|l| l.replace('|', "\\|"))
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
        let changes: Vec<(&StackPlan, &ResourceChange)> = v
            .stacks
            .iter()
            .flat_map(|s| s.changes.iter().map(move |c| (*s, c)))
            .collect();
        if !changes.is_empty() {
            out.push_str(
                "\n| stack | action | logical id | type | replacement | destructive |\n|---|---|---|---|---|---|\n",
            );
            for (s, c) in changes {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | `{}` | `{}` | {} | {} |",
                    s.name,
                    c.action.as_str(),
                    c.logical_id,
                    c.resource_type,
                    c.replacement.map(|r| r.to_string()).unwrap_or_default(),
                    if c.destructive { "**yes**" } else { "" }
                );
            }
        }
        out.push_str("\n</details>\n\n");
    }
    out
}

pub(crate) use super::report::render_report;

#[cfg(test)]
#[path = "preview_tests.rs"]
mod tests;

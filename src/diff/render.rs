//! A `Review` as text (terminals), Markdown (pull-request comments) or JSON
//! (scripts). Pure: writes to the writer it is given, in the review's order.
//!
//! Values are shown as compact JSON and elided past [`MAX_VALUE_CHARS`] in
//! text and Markdown (JSON carries them whole).

use std::io::{self, Write};

use serde_json::Value;

use super::{Review, Status, Summary};
use crate::change::{Action, PropertyChange, ResourceChange};

/// How long a value may be before it is elided.
pub(crate) const MAX_VALUE_CHARS: usize = 60;

/// The output formats of a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Markdown,
    Json,
}

/// Writes a review in a format.
pub(crate) fn render(review: &Review, format: Format, w: &mut dyn Write) -> io::Result<()> {
    // Stdout is line-buffered: a review of a whole org is millions of lines.
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    match format {
        Format::Text => text(review, &mut w)?,
        Format::Markdown => markdown(review, &mut w)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut w, review).map_err(io::Error::other)?;
            writeln!(w)?;
        }
    }
    w.flush()
}

/// A value in one line, elided when long; `(none)` when absent.
fn show(v: Option<&Value>) -> String {
    let Some(v) = v else { return "(none)".to_owned() };
    let s = serde_json::to_string(v).unwrap_or_default();
    let len = s.chars().count();
    if len <= MAX_VALUE_CHARS {
        s
    } else if v.is_string() {
        // The end of a name or ARN is what tells it apart (`…/finance/payouts/v2/*`).
        let head: String = s.chars().take(MAX_VALUE_CHARS / 3).collect();
        let tail: String = s
            .chars()
            .skip(len - (MAX_VALUE_CHARS - 1 - MAX_VALUE_CHARS / 3))
            .collect();
        format!("{head}…{tail}")
    } else {
        let cut: String = s.chars().take(MAX_VALUE_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// How two arrays differ, item by item: `removes "a"; adds "b", "c"`
/// (`None` when they hold the same items, only reordered).
fn array_change(old: &[Value], new: &[Value]) -> Option<String> {
    const MAX_ITEMS: usize = 5;
    let count = |items: &[Value]| {
        let mut m: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for i in items {
            *m.entry(serde_json::to_string(i).unwrap_or_default()).or_default() += 1;
        }
        m
    };
    let (o, n) = (count(old), count(new));
    let minus = |a: &std::collections::BTreeMap<String, usize>, b: &std::collections::BTreeMap<String, usize>| {
        a.iter()
            .filter(|(k, c)| b.get(*k).copied().unwrap_or(0) < **c)
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    let list = |items: Vec<String>| {
        let more = items.len().saturating_sub(MAX_ITEMS);
        let mut shown: Vec<String> = items
            .into_iter()
            .take(MAX_ITEMS)
            .map(|i| show(serde_json::from_str::<Value>(&i).ok().as_ref()))
            .collect();
        if more > 0 {
            shown.push(format!("and {more} more"));
        }
        shown.join(", ")
    };
    let (removed, added) = (minus(&o, &n), minus(&n, &o));
    let mut parts = Vec::new();
    if !removed.is_empty() {
        parts.push(format!("removes {}", list(removed)));
    }
    if !added.is_empty() {
        parts.push(format!("adds {}", list(added)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn property_line(p: &PropertyChange) -> String {
    if let (Some(Value::Array(old)), Some(Value::Array(new))) = (&p.old, &p.new) {
        let mark = if p.requires_replacement {
            " (requires replacement)"
        } else {
            ""
        };
        return match array_change(old, new) {
            Some(change) => format!("{}: {change}{mark}", p.path),
            None => format!("{}: reordered{mark}", p.path),
        };
    }
    if p.old == p.new {
        format!(
            "{}: {} (unchanged, but it refers to a resource that is replaced)",
            p.path,
            show(p.new.as_ref())
        )
    } else {
        let mark = if p.requires_replacement {
            " (requires replacement)"
        } else {
            ""
        };
        format!("{}: {} → {}{mark}", p.path, show(p.old.as_ref()), show(p.new.as_ref()))
    }
}

fn resource_head(c: &ResourceChange) -> String {
    let mut s = format!("{} ({})", c.logical_id, c.resource_type);
    if let Some(r) = c.replacement {
        s.push_str(&format!(", replacement {r}"));
    }
    if c.destructive {
        s.push_str(" [destructive]");
    }
    s
}

fn sign(a: Action) -> char {
    match a {
        Action::Add => '+',
        Action::Remove => '-',
        Action::Modify => '~',
        // Only a change set reports these; two templates never do.
        Action::Import => '<',
        Action::Dynamic => '?',
    }
}

fn counts(s: &super::StackDiff) -> String {
    let n = |a: Action| s.changes.iter().filter(|c| c.action == a).count();
    match s.status {
        Status::Added => format!("added, {}", plural(s.changes.len(), "resource")),
        Status::Removed => format!("removed, {}", plural(s.changes.len(), "resource")),
        Status::Modified => format!(
            "modified: {} added, {} removed, {} modified",
            n(Action::Add),
            n(Action::Remove),
            n(Action::Modify)
        ),
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The last line: what changed, in counts.
fn summary_line(s: &Summary) -> String {
    let mut parts = Vec::new();
    let mut group = |noun: &str, items: &[(usize, &str)]| {
        let listed: Vec<String> = items
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        if !listed.is_empty() {
            parts.push(format!("{noun}: {}", listed.join(", ")));
        }
    };
    group(
        "stacks",
        &[
            (s.stacks_added, "added"),
            (s.stacks_removed, "removed"),
            (s.stacks_modified, "modified"),
        ],
    );
    group(
        "resources",
        &[
            (s.resources_added, "added"),
            (s.resources_removed, "removed"),
            (s.resources_modified, "modified"),
        ],
    );
    group("Glue resource policies", &[(s.policies_changed, "changed")]);
    if s.breaking > 0 {
        parts.push(format!(
            "{} breaking change{} to live versions",
            s.breaking,
            if s.breaking == 1 { "" } else { "s" }
        ));
    }
    parts.push(format!("{} destructive", s.destructive));
    parts.push(format!(
        "{} access change{}",
        s.access_changes,
        if s.access_changes == 1 { "" } else { "s" }
    ));
    parts.join("; ")
}

fn text(r: &Review, w: &mut dyn Write) -> io::Result<()> {
    if r.is_empty() {
        return writeln!(w, "no changes");
    }
    if !r.breaking.is_empty() {
        writeln!(w, "{}", crate::contract::render_text(&r.breaking))?;
    }
    if !r.destructive.is_empty() {
        writeln!(w, "Destructive changes ({}):", r.destructive.len())?;
        for d in &r.destructive {
            writeln!(
                w,
                "  ! {}/{}: {} ({}) {}",
                d.account, d.stack, d.logical_id, d.resource_type, d.reason
            )?;
        }
        writeln!(w)?;
    }
    if !r.access.is_empty() {
        writeln!(w, "Access changes ({}):", r.access.len())?;
        for c in &r.access {
            writeln!(w, "  {}", super::access::line(c))?;
        }
        writeln!(w)?;
    }
    if let Some(why) = &r.access_unknown {
        writeln!(w, "Access changes: not compared: {why}")?;
        writeln!(w)?;
    }
    if !r.stacks.is_empty() {
        writeln!(w, "Stacks ({}):", r.stacks.len())?;
        for s in &r.stacks {
            writeln!(w, "  {}/{}: {}", s.account, s.name, counts(s))?;
            for c in &s.changes {
                writeln!(w, "    {} {}", sign(c.action), resource_head(c))?;
                for p in &c.properties {
                    writeln!(w, "        {}", property_line(p))?;
                }
            }
        }
        writeln!(w)?;
    }
    if !r.policies.is_empty() {
        writeln!(w, "Glue resource policies ({}):", r.policies.len())?;
        for p in &r.policies {
            writeln!(w, "  {}: {}", p.account, p.status.as_str())?;
            for a in &p.access {
                writeln!(w, "    access: {a}")?;
            }
            for c in &p.changes {
                writeln!(w, "        {}", property_line(c))?;
            }
        }
        writeln!(w)?;
    }
    writeln!(w, "Summary: {}", summary_line(&r.summary))
}

/// Text for a Markdown table cell: pipes escaped, inside backticks where asked.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn code(s: &str) -> String {
    // A value holding a backtick needs a longer fence.
    if s.contains('`') {
        format!("`` {} ``", cell(s))
    } else {
        format!("`{}`", cell(s))
    }
}

fn markdown(r: &Review, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "## meshsynth diff")?;
    writeln!(w)?;
    if r.is_empty() {
        return writeln!(w, "No changes.");
    }
    writeln!(w, "**Summary:** {}", summary_line(&r.summary))?;
    writeln!(w)?;
    if !r.breaking.is_empty() {
        write!(w, "{}", crate::contract::render_markdown(&r.breaking))?;
    }
    if !r.destructive.is_empty() {
        writeln!(w, "### ⚠️ Destructive changes ({})", r.destructive.len())?;
        writeln!(w)?;
        writeln!(w, "| Account | Stack | Resource | Type | Why |")?;
        writeln!(w, "| --- | --- | --- | --- | --- |")?;
        for d in &r.destructive {
            writeln!(
                w,
                "| {} | {} | {} | {} | {} |",
                d.account,
                code(&d.stack),
                code(&d.logical_id),
                code(&d.resource_type),
                cell(&d.reason)
            )?;
        }
        writeln!(w)?;
    }
    if !r.access.is_empty() {
        writeln!(w, "### Access changes ({})", r.access.len())?;
        writeln!(w)?;
        for c in &r.access {
            let line = super::access::line(c);
            let (sign, rest) = line.split_at(1);
            writeln!(w, "- `{sign}`{rest}")?;
        }
        writeln!(w)?;
    }
    if let Some(why) = &r.access_unknown {
        writeln!(w, "**Access changes:** not compared: {}", cell(why))?;
        writeln!(w)?;
    }
    if !r.stacks.is_empty() {
        writeln!(w, "### Stacks ({})", r.stacks.len())?;
        for s in &r.stacks {
            writeln!(w)?;
            writeln!(w, "#### `{}/{}`: {}", s.account, s.name, counts(s))?;
            writeln!(w)?;
            writeln!(w, "| | Resource | Type | Replacement | Changed |")?;
            writeln!(w, "| --- | --- | --- | --- | --- |")?;
            for c in &s.changes {
                let changed: Vec<String> = c.properties.iter().map(|p| code(&property_line(p))).collect();
                let replacement = match (c.replacement, c.destructive) {
                    (Some(r), true) => format!("{r} ⚠️"),
                    (Some(r), false) => r.to_string(),
                    (None, true) => "⚠️".to_owned(),
                    (None, false) => String::new(),
                };
                writeln!(
                    w,
                    "| {} | {} | {} | {} | {} |",
                    sign(c.action),
                    code(&c.logical_id),
                    code(&c.resource_type),
                    replacement,
                    changed.join("<br>")
                )?;
            }
        }
        writeln!(w)?;
    }
    if !r.policies.is_empty() {
        writeln!(w, "### Glue resource policies ({})", r.policies.len())?;
        writeln!(w)?;
        for p in &r.policies {
            writeln!(w, "- {}: {}", p.account, p.status.as_str())?;
            for a in &p.access {
                writeln!(w, "  - access: {}", cell(a))?;
            }
            for c in &p.changes {
                writeln!(w, "  - {}", code(&property_line(c)))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_values_are_elided() {
        let long = json!(["x".repeat(100)]);
        let s = show(Some(&long));
        assert_eq!(s.chars().count(), MAX_VALUE_CHARS);
        assert!(s.ends_with('…'));
        let arn = json!(format!("arn:aws:s3:::{}/finance/payouts/v2/*", "b".repeat(60)));
        let s = show(Some(&arn));
        assert_eq!(s.chars().count(), MAX_VALUE_CHARS);
        assert!(
            s.starts_with("\"arn:aws:s3:::bbb") && s.ends_with("bbb/finance/payouts/v2/*\""),
            "{s}"
        );
        assert_eq!(show(Some(&json!("é"))), "\"é\"");
        assert_eq!(show(None), "(none)");
    }

    #[test]
    fn arrays_show_what_they_gain_and_lose() {
        let p = |old: Value, new: Value| {
            property_line(&PropertyChange {
                path: "R".into(),
                old: Some(old),
                new: Some(new),
                requires_replacement: false,
            })
        };
        assert_eq!(p(json!(["a", "b"]), json!(["b", "c"])), "R: removes \"a\"; adds \"c\"");
        assert_eq!(p(json!(["a", "b"]), json!(["b", "a"])), "R: reordered");
        assert_eq!(
            p(json!([]), json!([1, 2, 3, 4, 5, 6, 7])),
            "R: adds 1, 2, 3, 4, 5, and 2 more"
        );
    }

    #[test]
    fn markdown_cells_escape_pipes_and_backticks() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }

    #[test]
    fn summary_counts() {
        let s = Summary {
            stacks_added: 1,
            stacks_modified: 2,
            resources_removed: 1,
            destructive: 1,
            ..Summary::default()
        };
        assert_eq!(
            summary_line(&s),
            "stacks: 1 added, 2 modified; resources: 1 removed; 1 destructive; 0 access changes"
        );
    }
}

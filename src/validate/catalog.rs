//! Validation of the catalog settings: partition projection on partition
//! keys, and a team's `alerts`. A child of `validate`, sharing its `Cx`.
//!
//! Every problem is reported with the file, line and column of the value at
//! fault; nothing here stops at the first one.

use std::collections::BTreeSet;
use std::path::Path;

use super::Cx;
use crate::model::raw::{RawColumn, RawProjection, S};
use crate::model::{AlertTarget, DateUnit, Projection};

/// The date format of a `date`-typed key (Hive writes DATE partition values so).
pub(crate) const DATE_FORMAT: &str = "yyyy-MM-dd";
/// The default format of a `timestamp`-typed key.
const TIMESTAMP_FORMAT: &str = "yyyy-MM-dd HH:mm:ss";
/// At most this many existing topics per team: an alarm takes 5 actions, one is the account's topic.
const MAX_ALERT_TOPICS: usize = 4;

const INTEGER_TYPES: &[&str] = &["tinyint", "smallint", "int", "bigint"];

/// The projection of a partition key (`key`), inferred when not written; `None`
/// for a column, which may not have one.
pub(super) fn projection(cx: &mut Cx, file: &Path, c: &RawColumn, ty: &str, key: bool) -> Option<Projection> {
    if !key {
        if let Some(p) = &c.projection {
            cx.error(
                file,
                p,
                format!("column `{}` has a `projection`", c.name.value),
                "projection applies to partition keys only; move it to the key under `partition_keys`",
            );
        }
        return None;
    }
    let Some(raw) = &c.projection else {
        return Some(infer_default(ty));
    };
    Some(resolve(cx, file, &c.name.value, ty, raw))
}

/// A key written without `projection`: dates and timestamps by day or hour from
/// the default start, anything else named by every query.
fn infer_default(ty: &str) -> Projection {
    match ty {
        "date" => Projection::Date {
            format: DATE_FORMAT.to_owned(),
            since: None,
            unit: DateUnit::Days,
        },
        "timestamp" => Projection::Date {
            format: TIMESTAMP_FORMAT.to_owned(),
            since: None,
            unit: DateUnit::Hours,
        },
        _ => Projection::Injected,
    }
}

fn resolve(cx: &mut Cx, file: &Path, name: &str, ty: &str, raw: &S<RawProjection>) -> Projection {
    let p = &raw.value;
    let kind = match &p.ty {
        Some(k) => match k.value.as_str() {
            "date" | "integer" | "enum" | "injected" => k.value.clone(),
            other => {
                cx.error(
                    file,
                    k,
                    format!("unknown projection type `{other}` on partition key `{name}`"),
                    "use date, integer, enum or injected",
                );
                return Projection::Injected;
            }
        },
        None if p.values.is_some() => "enum".to_owned(),
        None if p.range.is_some() => "integer".to_owned(),
        None if p.since.is_some() || p.format.is_some() || p.unit.is_some() || ty == "date" || ty == "timestamp" => {
            "date".to_owned()
        }
        None => "injected".to_owned(),
    };
    // Settings of another projection type are a mistake, not something to ignore.
    let mut misplaced = |field: &str, line: u32, col: u32, owner: &str| {
        let at = S { value: (), line, col };
        cx.error(
            file,
            &at,
            format!("`{field}` does not apply to `type: {kind}` (partition key `{name}`)"),
            format!("`{field}` is for `type: {owner}` only; remove it or change the type"),
        );
    };
    if kind != "date" {
        for (field, s) in [("since", &p.since), ("format", &p.format), ("unit", &p.unit)] {
            if let Some(s) = s {
                misplaced(field, s.line, s.col, "date");
            }
        }
    }
    if kind != "integer" {
        if let Some(r) = &p.range {
            misplaced("range", r.line, r.col, "integer");
        }
    }
    if kind != "enum" {
        if let Some(v) = &p.values {
            misplaced("values", v.line, v.col, "enum");
        }
    }
    match kind.as_str() {
        "date" => date(cx, file, name, ty, raw),
        "integer" => integer(cx, file, name, ty, raw),
        "enum" => enumeration(cx, file, name, ty, raw),
        _ => Projection::Injected,
    }
}

fn date(cx: &mut Cx, file: &Path, name: &str, ty: &str, raw: &S<RawProjection>) -> Projection {
    let p = &raw.value;
    if !matches!(ty, "date" | "timestamp" | "string") {
        cx.error(
            file,
            raw,
            format!("partition key `{name}` is `{ty}`, which a date projection cannot fill"),
            "a date projection needs a key of type date, timestamp or string",
        );
    }
    let default_format = if ty == "timestamp" {
        TIMESTAMP_FORMAT
    } else {
        DATE_FORMAT
    };
    let format = match &p.format {
        Some(f) => {
            if let Err(why) = check_format(&f.value) {
                cx.error(
                    file,
                    f,
                    format!("`{}` is not a supported date format: {why}", f.value),
                    "use the Java letters yyyy, MM, dd, HH, mm and ss with separators, e.g. yyyy-MM-dd or yyyy/MM/dd/HH",
                );
            } else if ty == "date" && f.value != DATE_FORMAT {
                cx.error(
                    file,
                    f,
                    format!("partition key `{name}` is of type date, whose values are written `{DATE_FORMAT}`"),
                    format!("remove `format`, or make the key a string to use `{}`", f.value),
                );
            }
            f.value.clone()
        }
        None => default_format.to_owned(),
    };
    let since = p.since.as_ref().and_then(|s| {
        if parse_date(&s.value).is_some() {
            Some(s.value.clone())
        } else {
            cx.error(
                file,
                s,
                format!("`{}` is not a date", s.value),
                "write the first day with data as YYYY-MM-DD, e.g. \"2023-01-01\"",
            );
            None
        }
    });
    let unit = match &p.unit {
        Some(u) => DateUnit::parse(&u.value).unwrap_or_else(|| {
            cx.error(
                file,
                u,
                format!("unknown date unit `{}`", u.value),
                "use YEARS, MONTHS, WEEKS, DAYS, HOURS or MINUTES",
            );
            DateUnit::Days
        }),
        None if format.contains("mm") => DateUnit::Minutes,
        None if format.contains("HH") => DateUnit::Hours,
        None => DateUnit::Days,
    };
    Projection::Date { format, since, unit }
}

fn integer(cx: &mut Cx, file: &Path, name: &str, ty: &str, raw: &S<RawProjection>) -> Projection {
    if !INTEGER_TYPES.contains(&ty) && ty != "string" {
        cx.error(
            file,
            raw,
            format!("partition key `{name}` is `{ty}`, which an integer projection cannot fill"),
            "an integer projection needs a key of type tinyint, smallint, int, bigint or string",
        );
    }
    let Some(range) = &raw.value.range else {
        cx.error(
            file,
            raw,
            format!("integer projection of partition key `{name}` has no `range`"),
            "give the smallest and the largest value, e.g. `range: [0, 23]`",
        );
        return Projection::Injected;
    };
    let [min, max] = range.value.as_slice() else {
        cx.error(
            file,
            range,
            format!("`range` of partition key `{name}` has {} values", range.value.len()),
            "give exactly two: the smallest and the largest value, e.g. `[0, 23]`",
        );
        return Projection::Injected;
    };
    if min.value > max.value {
        cx.error(
            file,
            range,
            format!("`range` of partition key `{name}` starts after it ends"),
            "write the smallest value first",
        );
    }
    if let Some((lo, hi)) = integer_bounds(ty) {
        for v in [min, max] {
            if v.value < lo || v.value > hi {
                cx.error(
                    file,
                    v,
                    format!("`{}` does not fit partition key `{name}` of type {ty}", v.value),
                    format!("{ty} holds {lo} to {hi}"),
                );
            }
        }
    }
    Projection::Integer {
        min: min.value,
        max: max.value,
    }
}

fn integer_bounds(ty: &str) -> Option<(i64, i64)> {
    match ty {
        "tinyint" => Some((i64::from(i8::MIN), i64::from(i8::MAX))),
        "smallint" => Some((i64::from(i16::MIN), i64::from(i16::MAX))),
        "int" => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
        _ => None,
    }
}

fn enumeration(cx: &mut Cx, file: &Path, name: &str, ty: &str, raw: &S<RawProjection>) -> Projection {
    let values = match &raw.value.values {
        Some(v) if !v.value.is_empty() => v,
        Some(v) => {
            cx.error(
                file,
                v,
                format!("enum projection of partition key `{name}` lists no values"),
                "list every value the key takes, e.g. `values: [web, ios, android]`",
            );
            return Projection::Injected;
        }
        None => {
            cx.error(
                file,
                raw,
                format!("enum projection of partition key `{name}` has no `values`"),
                "list every value the key takes, e.g. `values: [web, ios, android]`",
            );
            return Projection::Injected;
        }
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for v in &values.value {
        let s = v.value.as_str();
        if s.is_empty() || s.contains(',') || s.contains('/') || s.chars().any(char::is_whitespace) {
            cx.error(
                file,
                v,
                format!("`{s}` cannot be an enum value of partition key `{name}`"),
                "values are non-empty and have no commas, slashes or spaces (they are part of S3 paths)",
            );
            continue;
        }
        if INTEGER_TYPES.contains(&ty) && s.parse::<i64>().is_err() {
            cx.error(
                file,
                v,
                format!("`{s}` is not a value of partition key `{name}` of type {ty}"),
                "list whole numbers, or make the key a string",
            );
            continue;
        }
        if !seen.insert(s) {
            cx.error(
                file,
                v,
                format!("enum value `{s}` of partition key `{name}` appears twice"),
                "list each value once",
            );
            continue;
        }
        out.push(s.to_owned());
    }
    Projection::Enum { values: out }
}

/// `YYYY-MM-DD` as (year, month, day) when it is a calendar date.
pub(crate) fn parse_date(s: &str) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    if !b
        .iter()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return None;
    }
    let y: u32 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (y >= 1 && (1..=days).contains(&d)).then_some((y, m, d))
}

/// The letters a date format may use, as whole fields.
const FIELDS: &[&str] = &["yyyy", "MM", "dd", "HH", "mm", "ss"];

/// Checks a Java date pattern: only the fields above, each once, with `yyyy`,
/// and separators that are safe in an S3 path.
pub(crate) fn check_format(f: &str) -> Result<(), String> {
    if f.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut seen = BTreeSet::new();
    let chars: Vec<char> = f.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() {
            let mut j = i;
            while j < chars.len() && chars[j] == c {
                j += 1;
            }
            let field: String = chars[i..j].iter().collect();
            if !FIELDS.contains(&field.as_str()) {
                return Err(format!("`{field}` is not one of yyyy, MM, dd, HH, mm, ss"));
            }
            if !seen.insert(field.clone()) {
                return Err(format!("`{field}` appears twice"));
            }
            i = j;
        } else if "-/_: .".contains(c) {
            i += 1;
        } else {
            return Err(format!(
                "`{c}` is not a separator meshsynth writes (use - / _ : . or a space)"
            ));
        }
    }
    if !seen.contains("yyyy") {
        return Err("it has no year `yyyy`".to_owned());
    }
    Ok(())
}

/// Validates a team's `alerts`: e-mail addresses and SNS topic ARNs.
pub(super) fn alerts(cx: &mut Cx, file: &Path, raw: Option<&S<Vec<S<String>>>>) -> Vec<AlertTarget> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let mut out: Vec<AlertTarget> = Vec::new();
    let mut topics = 0;
    for a in &raw.value {
        let s = a.value.trim();
        let target = if s.starts_with("arn:") {
            let parts: Vec<&str> = s.splitn(6, ':').collect();
            let is_topic = parts.len() == 6
                && parts[1].starts_with("aws")
                && parts[2] == "sns"
                && !parts[3].is_empty()
                && crate::model::AccountId::parse(parts[4]).is_some()
                && !parts[5].is_empty()
                && parts[5]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if is_topic {
                AlertTarget::Topic(s.to_owned())
            } else if parts.get(2) == Some(&"chatbot") {
                cx.error(
                    file,
                    a,
                    format!("`{s}` is a chat configuration, which an alarm cannot notify directly"),
                    "give the ARN of an SNS topic the chat channel already receives (arn:aws:sns:<region>:<account>:<topic>)",
                );
                continue;
            } else {
                cx.error(
                    file,
                    a,
                    format!("`{s}` is not an SNS topic ARN"),
                    "write arn:aws:sns:<region>:<account>:<topic>, or an e-mail address",
                );
                continue;
            }
        } else if is_email(s) {
            AlertTarget::Email(s.to_owned())
        } else {
            cx.error(
                file,
                a,
                format!("`{s}` is neither an e-mail address nor an SNS topic ARN"),
                "alerts are e-mail addresses (name@example.com) or topic ARNs (arn:aws:sns:…)",
            );
            continue;
        };
        if out.contains(&target) {
            cx.error(
                file,
                a,
                format!("alert `{s}` is listed twice"),
                "list each destination once",
            );
            continue;
        }
        if matches!(target, AlertTarget::Topic(_)) {
            topics += 1;
            if topics > MAX_ALERT_TOPICS {
                cx.error(
                    file,
                    a,
                    format!("more than {MAX_ALERT_TOPICS} alert topics"),
                    "an alarm has at most 5 actions, one of them the account's topic; subscribe the others to one topic",
                );
                continue;
            }
        }
        out.push(target);
    }
    out.sort();
    out
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && s.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == ',' || c == ';' || c == '<' || c == '>')
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_calendar_dates() {
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "yesterday",
            "2024-04-31",
            "0000-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_use_known_fields_once() {
        for ok in ["yyyy-MM-dd", "yyyy/MM/dd/HH", "yyyy-MM-dd HH:mm:ss", "yyyyMMdd"] {
            assert_eq!(check_format(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_format("dd-MM"), Err("it has no year `yyyy`".to_owned()));
        assert_eq!(
            check_format("yyyy-MMM"),
            Err("`MMM` is not one of yyyy, MM, dd, HH, mm, ss".to_owned())
        );
        assert_eq!(check_format("yyyy-yyyy"), Err("`yyyy` appears twice".to_owned()));
        assert!(check_format("yyyy=MM").is_err());
    }

    #[test]
    fn emails() {
        assert!(is_email("ads-oncall@example.com"));
        for bad in ["nobody", "a@b", "@example.com", "a b@example.com", "a@.com"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}

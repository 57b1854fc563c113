//! Reading a topology from disk: one YAML/JSON file, or a directory holding
//! `org.yaml` and `teams/*.yaml`.
//!
//! This module only reads and deserialises. It keeps every value's position so
//! that `validate` can point at the line of a semantic mistake. It must never
//! panic, whatever the bytes: sizes, nesting and alias expansion are bounded by
//! the parser's budget.

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use super::raw::{RawTeam, RawTopology, S};

#[path = "read_file.rs"]
mod read_file;
#[path = "yaml_fast.rs"]
mod yaml_fast;
#[path = "yaml_split.rs"]
mod yaml_split;
use super::{Diagnostic, Loc};
use read_file::read_text;

/// The largest topology file meshsynth reads. Larger files are refused before
/// parsing so that memory stays bounded.
pub(crate) const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// A topology as read: the org-wide part and every team, each with the file it came from.
#[derive(Debug)]
pub struct RawInput {
    /// `org.yaml`, or the single file.
    pub(crate) org_file: PathBuf,
    pub(crate) top: RawTopology,
    /// Every team, with its file, in a deterministic order (file name, then position).
    pub(crate) teams: Vec<(PathBuf, S<RawTeam>)>,
}

/// Why a topology could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path (or a file it needs) cannot be read at all: a usage or IO problem.
    #[error("cannot read `{path}`: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    /// The files were read but are not a well-formed topology document.
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render_diagnostics(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\nerror: ")
}

/// Reads a topology file or directory.
pub(crate) fn load(path: &Path) -> Result<RawInput, LoadError> {
    let meta = fs::metadata(path).map_err(|e| LoadError::Unreadable {
        path: path.to_owned(),
        reason: io_reason(&e),
    })?;
    if meta.is_dir() {
        load_dir(path)
    } else {
        let text = read_text(path)?;
        from_str(path, &text)
    }
}

/// The files of a topology directory: its org file (`org.yaml`, `org.yml` or
/// `org.json`) and its team files (`teams/*.{yaml,yml,json}`, hidden files
/// skipped), sorted.
pub(crate) fn directory_files(dir: &Path) -> Result<(PathBuf, Vec<PathBuf>), LoadError> {
    let org_file = ["org.yaml", "org.yml", "org.json"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| LoadError::Unreadable {
            path: dir.to_owned(),
            reason: "no `org.yaml` in this directory (a topology directory holds `org.yaml` and `teams/*.yaml`)"
                .to_owned(),
        })?;
    let teams_dir = dir.join("teams");
    let mut files = Vec::new();
    if teams_dir.is_dir() {
        let unreadable = |e: std::io::Error| LoadError::Unreadable {
            path: teams_dir.clone(),
            reason: io_reason(&e),
        };
        for entry in fs::read_dir(&teams_dir).map_err(unreadable)? {
            let p = entry.map_err(unreadable)?.path();
            let is_topology = p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !is_topology || hidden {
                continue;
            }
            // A team file that cannot be followed (a dangling link) is an error,
            // not a team quietly left out; folders and devices are not files.
            match fs::metadata(&p) {
                Ok(m) if m.is_file() => files.push(p),
                Ok(_) => {}
                Err(e) => {
                    return Err(LoadError::Unreadable {
                        reason: io_reason(&e),
                        path: p,
                    })
                }
            }
        }
    }
    files.sort();
    Ok((org_file, files))
}

fn load_dir(dir: &Path) -> Result<RawInput, LoadError> {
    let (org_file, files) = directory_files(dir)?;

    // Read every file first (an unreadable one is a usage error), then parse them all,
    // so that one run reports the problems of every file.
    let mut diags = Vec::new();
    let org_text = match read_text(&org_file) {
        Ok(text) => Some(text),
        Err(LoadError::Invalid(d)) => {
            diags.extend(d);
            None
        }
        Err(e) => return Err(e),
    };
    let mut team_texts = Vec::new();
    for file in files {
        match read_text(&file) {
            Ok(text) => team_texts.push((file, text)),
            Err(LoadError::Invalid(d)) => diags.extend(d),
            Err(e) => return Err(e),
        }
    }
    let org = org_text.as_deref().map(|t| (org_file.clone(), t));
    let teams: Vec<(PathBuf, &str)> = team_texts.iter().map(|(p, t)| (p.clone(), t.as_str())).collect();
    match from_sources(org, teams) {
        Ok(input) if diags.is_empty() => Ok(input),
        Ok(_) => {
            diags.sort();
            Err(LoadError::Invalid(diags))
        }
        Err(LoadError::Invalid(more)) => {
            diags.extend(more);
            diags.sort();
            Err(LoadError::Invalid(diags))
        }
        Err(e) => Err(e),
    }
}

/// Parses a directory-form topology from texts already in memory: `org` is the
/// org file (`None` when it could not be read) and `teams` the team files, in any
/// order (they are sorted by path here, so order never changes the result).
pub fn from_sources(org: Option<(PathBuf, &str)>, mut teams: Vec<(PathBuf, &str)>) -> Result<RawInput, LoadError> {
    teams.sort_by(|a, b| a.0.cmp(&b.0));
    let mut diags = Vec::new();
    let mut top = None;
    if let Some((org_file, text)) = &org {
        match parse::<RawTopology>(org_file, text) {
            Ok(t) => {
                if let Some(teams) = &t.teams {
                    diags.push(Diagnostic {
                        loc: Loc {
                            file: org_file.clone(),
                            line: teams.line,
                            col: teams.col,
                        },
                        message: "`teams` does not belong in `org.yaml` of a topology directory".to_owned(),
                        hint: Some("move each team to its own file under `teams/`".to_owned()),
                    });
                }
                top = Some(t);
            }
            Err(d) => diags.push(d),
        }
    }
    let mut parsed = Vec::new();
    for (file, result) in parse_all(teams, parse::<S<RawTeam>>) {
        match result {
            Ok(team) => parsed.push((file, team)),
            Err(d) => diags.push(d),
        }
    }
    match (org, top) {
        (Some((org_file, _)), Some(top)) if diags.is_empty() => Ok(RawInput {
            org_file,
            top,
            teams: parsed,
        }),
        _ => {
            diags.sort();
            Err(LoadError::Invalid(diags))
        }
    }
}

/// Parses team files with `parse_one` on every core (rayon's pool), keeping their
/// order. A worker's panic is re-raised here, not swallowed: a file whose parse
/// panicked can never silently drop out of the topology.
fn parse_all<R: Send>(files: Vec<(PathBuf, &str)>, parse_one: impl Fn(&Path, &str) -> R + Sync) -> Vec<(PathBuf, R)> {
    use rayon::prelude::*;
    files
        .into_par_iter()
        .with_max_len(1)
        .map(|(f, t)| {
            let r = parse_one(&f, t);
            (f, r)
        })
        .collect()
}

/// Parses a single-file topology held in memory (`path` is only used in messages).
pub fn from_str(path: &Path, text: &str) -> Result<RawInput, LoadError> {
    let split = if path.extension().is_some_and(|e| e == "json") {
        None
    } else {
        parse_split(text)
    };
    let mut top: RawTopology = match split {
        Some(top) => top,
        None => parse(path, text).map_err(|d| LoadError::Invalid(vec![d]))?,
    };
    let teams = top
        .teams
        .take()
        .map(|t| t.value)
        .unwrap_or_default()
        .into_iter()
        .map(|t| (path.to_owned(), t))
        .collect();
    Ok(RawInput {
        org_file: path.to_owned(),
        top,
        teams,
    })
}

/// The parallel parse of a large single YAML file: the team items in chunks on
/// every core, the rest on its own (see `yaml_split`). `None` when the file does
/// not split or any part fails to parse: the caller then parses the whole file,
/// so errors are exactly those of a whole-file parse. Each part gets its share
/// of the parser's budget, so the sum stays within the whole file's.
fn parse_split(text: &str) -> Option<RawTopology> {
    use rayon::prelude::*;
    let pieces = rayon::current_num_threads() * 4;
    let split = yaml_split::split(text, pieces)?;
    let share = |part: usize| {
        let mut o = options();
        let b = o.budget.as_mut()?;
        let scale = |n: usize| usize::try_from(n as u128 * part as u128 / text.len().max(1) as u128).unwrap_or(n);
        b.max_events = scale(b.max_events);
        b.max_nodes = scale(b.max_nodes);
        b.max_total_scalar_bytes = scale(b.max_total_scalar_bytes);
        // A chunk's items sit one level higher than in the whole file.
        b.max_depth -= 1;
        Some(o)
    };
    let (top, teams) = rayon::join(
        || parse_part::<RawTopology>(&split.head, 0, share(split.head.len())?),
        || {
            split
                .chunks
                .par_iter()
                .with_max_len(1)
                .map(|(before, chunk)| parse_part::<Vec<S<RawTeam>>>(chunk, *before, share(chunk.len())?))
                .collect::<Option<Vec<_>>>()
        },
    );
    let (mut top, teams) = (top?, teams?);
    top.teams = Some(S {
        value: teams.into_iter().flatten().collect(),
        line: split.teams_line,
        col: split.teams_col,
    });
    Some(top)
}

/// One part of a split file (`before` lines precede it): the fast path, else serde-saphyr;
/// `None` on any error (the caller then parses the whole file for its message).
fn parse_part<T: DeserializeOwned>(text: &str, before: u32, options: serde_saphyr::Options) -> Option<T> {
    yaml_fast::from_str(text, before.saturating_add(1), fast_budget(&options)).or_else(|| {
        super::raw::with_line_offset(before, || serde_saphyr::from_str_with_options::<T>(text, options).ok())
    })
}

/// The most nodes the fast path reads under `options`: it counts one event per scalar,
/// collection and collection end, which is never fewer than serde-saphyr's nodes and at most
/// a few short of its events, so anything that might exceed serde-saphyr's budget is left
/// to serde-saphyr (which then refuses it with its own message).
fn fast_budget(options: &serde_saphyr::Options) -> usize {
    options
        .budget
        .as_ref()
        .map_or(usize::MAX, |b| b.max_events.min(b.max_nodes).saturating_sub(16))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// The parser's limits: generous enough for a 200,000-consume org in one file,
/// small enough that an alias bomb or deep nesting fails fast.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 100_000_000;
    budget.max_nodes = 50_000_000;
    budget.max_total_scalar_bytes = usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX);
    budget.max_reader_input_bytes = Some(usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX));
    budget.max_depth = 64;
    budget.max_aliases = 10_000;
    budget.max_anchors = 10_000;
    serde_saphyr::options! { budget: Some(budget) }
}

/// Deserialises one document, mapping a parse error to a diagnostic with its position.
fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Diagnostic> {
    if text.trim().is_empty() {
        return Err(Diagnostic {
            loc: Loc {
                file: path.to_owned(),
                line: 1,
                col: 1,
            },
            message: "file is empty".to_owned(),
            hint: Some("a topology file is a YAML mapping; see `meshsynth schema`".to_owned()),
        });
    }
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        return super::raw::from_json::<T>(text).map_err(|err| Diagnostic {
            loc: Loc {
                file: path.to_owned(),
                line: u32::try_from(err.line().max(1)).unwrap_or(u32::MAX),
                col: u32::try_from(err.column().max(1)).unwrap_or(u32::MAX),
            },
            message: json_message(&err),
            hint: Some("see `meshsynth schema` for the format".to_owned()),
        });
    }
    let options = options();
    if let Some(value) = yaml_fast::from_str(text, 1, fast_budget(&options)) {
        return Ok(value);
    }
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|err| {
        let (line, col) = err
            .location()
            .filter(|l| l.line() > 0)
            .map_or((1, 1), |l| (l.line(), l.column().max(1)));
        let message: String = UserMessageFormatter
            .format_message(&err)
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        Diagnostic {
            loc: Loc {
                file: path.to_owned(),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                col: u32::try_from(col).unwrap_or(u32::MAX),
            },
            message,
            hint: Some("see `meshsynth schema` for the format".to_owned()),
        }
    })
}

/// serde_json's message without its " at line X column Y" suffix (the
/// diagnostic carries the position itself).
fn json_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) if err.line() > 0 => text[..i].to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A single file of more than a MiB: the synth fixture's teams repeated (so later copies
    /// are duplicates, errors that point into late teams), with `access_groups` after `teams`.
    fn big_file() -> String {
        let text = include_str!("../../tests/fixtures/synth/iam.yaml");
        let groups_at = text.find("access_groups:").expect("fixture has access groups");
        let teams_at = text.find("teams:\n").expect("fixture has teams");
        let (head, groups, teams) = (&text[..groups_at], &text[groups_at..teams_at], &text[teams_at..]);
        let items = &teams["teams:\n".len()..];
        let mut out = format!("{head}teams: # all of them\n");
        while out.len() < 2 * yaml_split::MIN_SPLIT_BYTES {
            out.push_str(items);
            out.push('\n');
        }
        out.push_str(groups);
        out
    }

    #[test]
    fn parallel_parse_of_a_large_file_equals_the_whole_file_parse() {
        let text = big_file();
        let path = Path::new("org.yaml");
        let split = parse_split(&text).expect("the file splits and parses");
        let whole: RawTopology = parse(path, &text).expect("parses");
        assert_eq!(format!("{split:?}"), format!("{whole:?}"));
        assert!(split.teams.as_ref().is_some_and(|t| t.value.len() > 100));
    }

    #[test]
    fn errors_name_the_same_line_and_column_as_a_whole_file_parse() {
        let text = big_file();
        let path = Path::new("org.yaml");
        // Semantic errors (duplicate teams and accounts deep in the file) from spans.
        let fast = from_str(path, &text).expect("parses");
        let mut top: RawTopology = parse(path, &text).expect("parses");
        let teams = top.teams.take().map(|t| t.value).unwrap_or_default();
        let whole = RawInput {
            org_file: path.to_owned(),
            teams: teams.into_iter().map(|t| (path.to_owned(), t)).collect(),
            top,
        };
        let errors = |input: &RawInput| match crate::validate::validate_ref(input) {
            Ok(_) => panic!("duplicates must be errors"),
            Err(e) => e.iter().map(ToString::to_string).collect::<Vec<_>>(),
        };
        let fast_errors = errors(&fast);
        assert_eq!(fast_errors, errors(&whole));
        let last_line = text.lines().count() / 2;
        assert!(
            fast_errors.iter().any(|e| e
                .split(':')
                .nth(1)
                .and_then(|l| l.parse::<usize>().ok())
                .is_some_and(|l| l > last_line)),
            "some error points into the second half of the file"
        );
        // A syntax error in a late team: the message of a whole-file parse, position included.
        let broken = format!(
            "{}  - name: [oops\n",
            text.trim_end_matches('\n')
                .rsplit_once("access_groups:")
                .expect("groups")
                .0
        );
        let broken = format!("{broken}{}", &text[text.rfind("access_groups:").expect("groups")..]);
        let Err(LoadError::Invalid(d)) = from_str(path, &broken) else {
            panic!("a syntax error must fail")
        };
        assert_eq!(d, vec![parse::<RawTopology>(path, &broken).expect_err("fails")]);
        assert!(d[0].loc.line > 1000, "{}", d[0]);
    }

    fn team_files(n: usize) -> Vec<(PathBuf, &'static str)> {
        (0..n)
            .map(|i| (PathBuf::from(format!("teams/t{i:03}.yaml")), "name: t\n"))
            .collect()
    }

    #[test]
    fn parse_all_keeps_file_order() {
        let files = team_files(200);
        let expected: Vec<PathBuf> = files.iter().map(|(f, _)| f.clone()).collect();
        let out = parse_all(files, |f, t| (f.to_owned(), t.len()));
        assert_eq!(out.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(), expected);
        assert!(out.iter().all(|(f, (g, len))| f == g && *len == 8));
    }

    #[test]
    fn a_worker_panic_while_parsing_team_files_reaches_the_caller() {
        let files = team_files(64);
        let caught = std::panic::catch_unwind(|| {
            parse_all(files, |f, _| {
                assert!(!f.ends_with("t037.yaml"), "parser bug on {}", f.display());
                1
            })
        });
        let payload = caught.expect_err("a worker's panic must not be swallowed");
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        assert!(message.contains("parser bug on teams/t037.yaml"), "{message}");
    }
}

//! What every pass shares: the diagnostics collected so far, and the place
//! (file, line, column) of a raw value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::model::raw::{RawTeam, S};
use crate::model::{is_name, AccountId, Diagnostic, Loc, Team};

/// Collects diagnostics while walking the raw input.
#[derive(Default)]
pub(super) struct Cx {
    pub(super) errors: Vec<Diagnostic>,
    pub(super) warnings: Vec<Diagnostic>,
}

/// The validated team a raw team of `file` became, or `None` when it did not (a duplicate name
/// declared elsewhere, or a team that failed validation): later passes skip such teams.
pub(super) fn file_owner<'a>(teams: &'a BTreeMap<String, Team>, file: &Path, t: &RawTeam) -> Option<&'a Team> {
    teams
        .get(&t.name.value)
        .filter(|o| o.loc.file == file && o.loc.line == t.name.line.max(1))
}

/// The items `pick` takes from every raw team that became a valid team, each with its file
/// and team, in file and line order.
pub(super) fn owned_items<'a, T: 'a>(
    teams: &'a BTreeMap<String, Team>,
    raw: &'a [(PathBuf, S<RawTeam>)],
    pick: impl Fn(&'a RawTeam) -> &'a [S<T>],
) -> Vec<(&'a Path, &'a Team, &'a T)> {
    let mut items = Vec::new();
    for (file, team) in raw {
        let Some(owner) = file_owner(teams, file, &team.value) else {
            continue;
        };
        items.extend(pick(&team.value).iter().map(|i| (file.as_path(), owner, &i.value)));
    }
    items
}

impl Cx {
    /// Takes in the diagnostics of a pass that ran on its own `Cx` (on another thread).
    pub(super) fn absorb(&mut self, other: Cx) {
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
    }

    /// `check` of every item, on every core in chunks of `chunk` items: the results by chunk, in
    /// item order, and the diagnostics added here (every list of them is sorted at the end).
    /// The chunks are handed over as they are, so a caller gathers the results in one copy.
    pub(super) fn check_all<T: Sync, R: Send>(
        &mut self,
        items: &[T],
        chunk: usize,
        check: impl Fn(&mut Cx, &T) -> R + Sync,
    ) -> Vec<Vec<R>> {
        let checked: Vec<(Vec<R>, Cx)> = items
            .par_chunks(chunk)
            .map(|chunk| {
                let mut cx = Cx::default();
                let results = chunk.iter().map(|item| check(&mut cx, item)).collect();
                (results, cx)
            })
            .collect();
        checked
            .into_iter()
            .map(|(results, cx)| {
                self.absorb(cx);
                results
            })
            .collect()
    }
}

pub(super) fn loc<T>(file: &Path, s: &S<T>) -> Loc {
    Loc {
        file: file.to_owned(),
        line: s.line.max(1),
        col: s.col.max(1),
    }
}

impl Cx {
    pub(super) fn error<T>(&mut self, file: &Path, at: &S<T>, message: impl Into<String>, hint: impl Into<String>) {
        let hint = hint.into();
        self.errors.push(Diagnostic {
            loc: loc(file, at),
            message: message.into(),
            hint: (!hint.is_empty()).then_some(hint),
        });
    }

    pub(super) fn warn<T>(&mut self, file: &Path, at: &S<T>, message: impl Into<String>, hint: impl Into<String>) {
        let hint = hint.into();
        self.warnings.push(Diagnostic {
            loc: loc(file, at),
            message: message.into(),
            hint: (!hint.is_empty()).then_some(hint),
        });
    }

    /// Checks a `[a-z0-9-]` name; returns it when it is one.
    pub(super) fn name(&mut self, file: &Path, s: &S<String>, what: &str) -> bool {
        if is_name(&s.value) {
            true
        } else {
            self.error(
                file,
                s,
                format!("{what} `{}` is not a valid name", s.value),
                "use lowercase letters, digits and `-`, at most 63 characters, not starting or ending with `-`",
            );
            false
        }
    }

    pub(super) fn account_id(&mut self, file: &Path, s: &S<String>) -> Option<AccountId> {
        let id = AccountId::parse(&s.value);
        if id.is_none() {
            self.error(
                file,
                s,
                format!("`{}` is not an AWS account id", s.value),
                "write the 12 digits as a quoted string, e.g. \"012345678901\"",
            );
        }
        id
    }
}

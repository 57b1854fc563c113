//! The `owners` of the org and of each team: code-owner handles for
//! `meshsynth codeowners`.
//!
//! A handle is written the way GitHub and GitLab read it in a CODEOWNERS file:
//! `@org/team`, `@user` or an e-mail address. Anything else would be skipped by
//! the code host (GitHub ignores a CODEOWNERS line it cannot parse), silently
//! leaving a file without the review it was meant to need, so it is an error.

use std::collections::BTreeSet;
use std::path::Path;

use super::Cx;
use crate::model::raw::S;

/// Checks a list of owners; returns the valid ones, as written and in order.
pub(super) fn validate_owners(cx: &mut Cx, file: &Path, list: Option<&S<Vec<S<String>>>>) -> Vec<String> {
    let Some(list) = list else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for owner in &list.value {
        if let Err(hint) = check_owner(&owner.value) {
            cx.error(
                file,
                owner,
                format!("`{}` is not a code owner", owner.value.escape_debug()),
                hint,
            );
            continue;
        }
        // Code hosts compare handles and addresses without regard to case.
        if !seen.insert(owner.value.to_ascii_lowercase()) {
            cx.error(
                file,
                owner,
                format!("code owner `{}` is listed twice", owner.value),
                "remove the duplicate",
            );
            continue;
        }
        out.push(owner.value.clone());
    }
    out
}

const FORMS: &str = "write `@org/team`, `@user` or an e-mail address";

/// Whether `s` is a code-owner handle; the hint of the error otherwise.
pub(crate) fn check_owner(s: &str) -> Result<(), String> {
    if let Some(handle) = s.strip_prefix('@') {
        let mut parts = handle.split('/');
        let ok = match (parts.next(), parts.next(), parts.next()) {
            (Some(user), None, _) => is_segment(user),
            (Some(org), Some(team), None) => is_segment(org) && is_segment(team),
            _ => false,
        };
        return if ok {
            Ok(())
        } else {
            Err(format!("{FORMS}, e.g. `@acast/shows`"))
        };
    }
    if s.contains('@') {
        return if is_email(s) {
            Ok(())
        } else {
            Err(format!("{FORMS}; this is not a valid e-mail address"))
        };
    }
    let bare = s.split('/').collect::<Vec<_>>();
    if (bare.len() == 1 || bare.len() == 2) && bare.iter().all(|p| is_segment(p)) {
        Err(format!("{FORMS}; did you mean `@{s}`?"))
    } else {
        Err(format!("{FORMS}, e.g. `@acast/shows`"))
    }
}

/// A user, organisation or team name: letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit.
fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// `local@domain.tld`: the dot-atom form of RFC 5322, which is what code hosts accept.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::check_owner;

    #[test]
    fn accepts_teams_users_and_addresses() {
        for ok in [
            "@acast/shows",
            "@acast/data-platform",
            "@Acast/Team_1.x",
            "@octocat",
            "@a",
            "shows-steward@example.com",
            "first.last+mesh@sub.example.co.uk",
        ] {
            assert_eq!(check_owner(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_everything_else_with_a_hint() {
        let forms = "write `@org/team`, `@user` or an e-mail address";
        for (bad, hint) in [
            ("acast/shows", format!("{forms}; did you mean `@acast/shows`?")),
            ("octocat", format!("{forms}; did you mean `@octocat`?")),
            ("@", format!("{forms}, e.g. `@acast/shows`")),
            ("@acast/", format!("{forms}, e.g. `@acast/shows`")),
            ("@a/b/c", format!("{forms}, e.g. `@acast/shows`")),
            ("@acast shows", format!("{forms}, e.g. `@acast/shows`")),
            ("@-x", format!("{forms}, e.g. `@acast/shows`")),
            ("", format!("{forms}, e.g. `@acast/shows`")),
            ("#team-shows", format!("{forms}, e.g. `@acast/shows`")),
            ("steward@", format!("{forms}; this is not a valid e-mail address")),
            (
                "steward@localhost",
                format!("{forms}; this is not a valid e-mail address"),
            ),
            (
                "a@b@example.com",
                format!("{forms}; this is not a valid e-mail address"),
            ),
            (
                "two words@example.com",
                format!("{forms}; this is not a valid e-mail address"),
            ),
            (
                "x@-bad.example.com",
                format!("{forms}; this is not a valid e-mail address"),
            ),
        ] {
            assert_eq!(check_owner(bad), Err(hint), "{bad:?}");
        }
    }
}

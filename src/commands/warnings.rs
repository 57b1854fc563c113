//! Topology warnings as commands print them: `validate` lists each one (it is
//! the command for reading them); every other command prints them once,
//! grouped by kind, so a 600-account org's hundred deprecation warnings are
//! one line in a CI log rather than a hundred on every command.
//!
//! A warning's kind is its message with every backticked name taken out, so
//! grouping needs no list of kinds and holds for warnings added later. The
//! deprecation warning gets its own sentence. Pure: diagnostics in, lines out.

use std::collections::BTreeMap;

use crate::model::Diagnostic;

/// The backticked names of a message, and its shape without them.
fn split(message: &str) -> (String, Vec<&str>) {
    let mut shape = String::new();
    let mut names = Vec::new();
    let mut rest = message;
    while let Some(start) = rest.find('`') {
        let Some(len) = rest[start + 1..].find('`') else { break };
        shape.push_str(&rest[..start]);
        shape.push('…');
        names.push(&rest[start + 1..start + 1 + len]);
        rest = &rest[start + 2 + len..];
    }
    shape.push_str(rest);
    (shape, names)
}

fn listed(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut out = items.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > SHOWN {
        out.push_str(&format!(", and {} more", items.len() - SHOWN));
    }
    out
}

/// One line per kind of warning (without the `warning: ` prefix), in the
/// order of each kind's first warning. A kind with one warning is printed
/// whole, with its place and hint.
pub(crate) fn grouped(warnings: &[Diagnostic]) -> Vec<String> {
    let mut kinds: Vec<(String, Vec<&Diagnostic>)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for w in warnings {
        let (shape, _) = split(&w.message);
        match index.get(&shape) {
            Some(&i) => kinds[i].1.push(w),
            None => {
                index.insert(shape.clone(), kinds.len());
                kinds.push((shape, vec![w]));
            }
        }
    }
    kinds
        .into_iter()
        .map(|(shape, ws)| {
            if let [one] = ws.as_slice() {
                return one.to_string();
            }
            let n = ws.len();
            if shape.contains(" consumes deprecated ") {
                let who: Vec<String> = ws
                    .iter()
                    .map(|w| {
                        let (_, names) = split(&w.message);
                        match (names.first(), names.last()) {
                            (Some(team), Some(version)) => format!("{team} ({version})"),
                            _ => w.message.clone(),
                        }
                    })
                    .collect();
                format!(
                    "{n} consumers are on deprecated versions: {} (`meshsynth validate` lists each with its replacement and whom to ask)",
                    listed(&who)
                )
            } else {
                let places: Vec<String> = ws.iter().map(|w| w.loc.to_string()).collect();
                format!(
                    "{n} warnings like \"{shape}\": {} (`meshsynth validate` lists each)",
                    listed(&places)
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Loc;

    fn warning(line: u32, message: &str) -> Diagnostic {
        Diagnostic {
            loc: Loc {
                file: "accounts/teams/t.yaml".into(),
                line,
                col: 3,
            },
            message: message.to_owned(),
            hint: Some("do something".to_owned()),
        }
    }

    #[test]
    fn warnings_of_a_kind_are_one_line() {
        let ws = vec![
            warning(1, "team `a` (account `111111111111`) consumes deprecated `x.y@1`"),
            warning(2, "grant `g` expires in 3 days"),
            warning(3, "team `b` (account `222222222222`) consumes deprecated `x.z@2`"),
            warning(4, "team `c` (account `333333333333`) consumes deprecated `x.y@1`"),
        ];
        assert_eq!(
            grouped(&ws),
            vec![
                "3 consumers are on deprecated versions: a (x.y@1), b (x.z@2), c (x.y@1) (`meshsynth validate` lists each with its replacement and whom to ask)".to_owned(),
                "accounts/teams/t.yaml:2:3: grant `g` expires in 3 days (do something)".to_owned(),
            ]
        );
        let many: Vec<Diagnostic> = (1..=7u32)
            .map(|i| warning(i, &format!("grant `g{i}` is unused")))
            .collect();
        assert_eq!(
            grouped(&many),
            vec![
                "7 warnings like \"grant … is unused\": accounts/teams/t.yaml:1:3, accounts/teams/t.yaml:2:3, \
                 accounts/teams/t.yaml:3:3, accounts/teams/t.yaml:4:3, accounts/teams/t.yaml:5:3, and 2 more \
                 (`meshsynth validate` lists each)"
                    .to_owned()
            ]
        );
        assert_eq!(split("no names"), ("no names".to_owned(), vec![]));
        assert_eq!(split("odd `tick"), ("odd `tick".to_owned(), vec![]));
    }
}

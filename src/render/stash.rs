//! Values that `{{json …}}` hands to canonicalisation by reference instead of as text.
//!
//! Most of a template's bytes are context values written by `{{json …}}`:
//! policies, tags, columns. Serialising each to compact JSON only for
//! `canonical` to parse, sort and re-serialise it is most of rendering's cost.
//! While a blueprint renders, the helper instead writes a marker
//! (`\x01<n>\x01`) and records where in the context the value lives; the
//! canonical writer then writes the value itself, sorted and indented, with
//! the same bytes the parse-and-rewrite would give.
//!
//! A marker is a control character, which JSON allows neither between tokens
//! nor unescaped inside strings, so it cannot be mistaken for blueprint text;
//! a marker where JSON does not expect a value (inside a string, say) makes
//! the fast path give up and the blueprint render again without markers. Only
//! non-empty arrays and objects read straight from the context are stashed,
//! and each is found again by its path and checked to be the very value the
//! helper saw. No IO.

use std::cell::RefCell;

use serde_json::Value;

/// The byte that opens and closes a marker.
pub(crate) const MARK: u8 = 0x01;

/// A stashed value: its path from the context's root, and its address (to check the path).
pub(crate) type Entry = (Vec<String>, usize);

#[derive(Default)]
struct Stash {
    active: bool,
    entries: Vec<Entry>,
}

thread_local! {
    static STASH: RefCell<Stash> = RefCell::new(Stash::default());
}

/// Turns stashing off again, even if rendering panics.
struct Active;

impl Drop for Active {
    fn drop(&mut self) {
        STASH.with(|s| s.borrow_mut().active = false);
    }
}

/// Runs `render` with stashing on (on this thread); returns its result and what was stashed.
pub(crate) fn with_stash<R>(render: impl FnOnce() -> R) -> (R, Vec<Entry>) {
    STASH.with(|s| {
        let mut s = s.borrow_mut();
        s.active = true;
        s.entries.clear();
    });
    let guard = Active;
    let result = render();
    drop(guard);
    let entries = STASH.with(|s| std::mem::take(&mut s.borrow_mut().entries));
    (result, entries)
}

/// For the `json` helper: the marker to write in place of `value`, when it was stashed.
pub(crate) fn stash(path: Option<&Vec<String>>, value: &Value) -> Option<String> {
    let worth_it = match value {
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => false,
    };
    let path = path.filter(|_| worth_it)?;
    STASH.with(|s| {
        let mut s = s.borrow_mut();
        if !s.active {
            return None;
        }
        let n = s.entries.len();
        s.entries.push((path.clone(), std::ptr::from_ref(value) as usize));
        Some(format!("\u{1}{n}\u{1}"))
    })
}

/// The stashed values, found again in `root`; `None` when a path does not lead to the very
/// value the helper saw (the caller then renders without markers).
pub(crate) fn resolve<'a>(root: &'a Value, entries: &[Entry]) -> Option<Vec<&'a Value>> {
    entries
        .iter()
        .map(|(path, address)| {
            let mut v = root;
            for seg in path {
                v = match v {
                    Value::Object(o) => o.get(seg.as_str())?,
                    Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                    _ => return None,
                };
            }
            (std::ptr::from_ref(v) as usize == *address).then_some(v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stashes_only_while_active_and_finds_values_again() {
        let root = serde_json::json!({"a": {"b": [[1], {"c": 2}]}});
        let inner = &root["a"]["b"][1];
        let path = vec!["a".to_owned(), "b".to_owned(), "1".to_owned()];
        assert_eq!(stash(Some(&path), inner), None, "inactive");
        let (marker, entries) = with_stash(|| stash(Some(&path), inner));
        assert_eq!(marker.as_deref(), Some("\u{1}0\u{1}"));
        let found = resolve(&root, &entries).expect("found");
        assert!(std::ptr::eq(found[0], inner));
        // A path that leads elsewhere (or nowhere) is refused.
        let wrong = vec![(vec!["a".to_owned(), "b".to_owned(), "0".to_owned()], entries[0].1)];
        assert!(resolve(&root, &wrong).is_none());
        let nowhere = vec![(vec!["x".to_owned()], entries[0].1)];
        assert!(resolve(&root, &nowhere).is_none());
        // Scalars and empty collections are written as text.
        let (m, e) = with_stash(|| stash(Some(&path), &serde_json::json!([])));
        assert!(m.is_none() && e.is_empty());
    }
}

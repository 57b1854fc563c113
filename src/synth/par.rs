//! A parallel map over owned items on rayon's global pool (one pool for the
//! whole process: loading, planning, rendering and writing share it). Items are
//! handed out one at a time so uneven work balances, and results come back in
//! item order, so callers stay deterministic. A panic in a worker is re-raised
//! in the caller (rayon's `join` semantics), never swallowed. No IO.

use rayon::prelude::*;

/// Maps `f` over `items` in parallel; `f` gets each item's index and the item itself.
pub(crate) fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(usize, T) -> R + Sync) -> Vec<R> {
    items
        .into_par_iter()
        .enumerate()
        .with_max_len(1)
        .map(|(i, t)| f(i, t))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let out = super::map((0..1000).collect(), |i, x: usize| (i, x * 2));
        assert!(out.iter().enumerate().all(|(i, (j, y))| i == *j && *y == 2 * i));
    }

    #[test]
    fn a_worker_panic_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            super::map((0..100).collect(), |_, x: usize| {
                assert!(x != 57, "worker failed");
                x
            })
        });
        assert!(caught.is_err());
    }
}

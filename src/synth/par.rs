//! A parallel map over owned items on scoped threads (at most four: the work is CPU-bound and
//! the target machines are small). Items are taken one at a time so uneven work balances, and
//! results come back in item order, so callers stay deterministic. No IO.

use std::sync::Mutex;

/// Maps `f` over `items` in parallel; `f` gets each item's index and the item itself.
pub(crate) fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(usize, T) -> R + Sync) -> Vec<R> {
    let n = items.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(n.max(1));
    if threads == 1 {
        return items.into_iter().enumerate().map(|(i, t)| f(i, t)).collect();
    }
    let queue = Mutex::new(items.into_iter().enumerate());
    let next = || queue.lock().map_or(None, |mut q| q.next());
    let chunks: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    while let Some((i, item)) = next() {
                        done.push((i, f(i, item)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut results: Vec<Option<R>> = Vec::with_capacity(n);
    results.resize_with(n, || None);
    for (i, r) in chunks.into_iter().flatten() {
        results[i] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.expect("the queue hands every index to exactly one thread"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let out = super::map((0..1000).collect(), |i, x: usize| (i, x * 2));
        assert!(out.iter().enumerate().all(|(i, (j, y))| i == *j && *y == 2 * i));
    }
}

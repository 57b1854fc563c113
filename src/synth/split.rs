//! Splitting a stack part that would pass CloudFormation's limits into
//! `mesh-<part>`, `mesh-<part>-2`, … deterministically.
//!
//! A stack is made of *units* (a product version's database, tables and grants;
//! a data catalog; a reader role …): everything a unit's `Ref`s point at lives in
//! the unit, so a unit never spans stacks. A part that fits stays whole. One that
//! does not is cut into `n` stacks, and each unit goes to stack
//! `jump_hash(sha256(unit key), n)` (Lamping and Veach's jump consistent hash).
//! Why not fill in sorted order: adding a product that sorts early would push a
//! unit across every later boundary, and a Glue database that moves stacks is
//! replaced. With the hash, adding or removing a unit never moves another unit
//! while `n` stays the same; when `n` grows, only about `1/n` of the units move
//! (the least any rule can do). Pure: no IO.

use sha2::{Digest, Sha256};

/// CloudFormation's resource limit per stack.
pub(crate) const MAX_RESOURCES: usize = 500;
/// Budget of estimated template bytes per stack: well under CloudFormation's 1 MB,
/// because estimates are estimates (render checks the real size).
pub(crate) const MAX_BYTES: usize = 600_000;
/// When a part must split, stacks are filled to about this share of the limits,
/// so that growth rarely changes `n`.
const FILL: f64 = 0.6;

/// A group of resources that must stay in one stack; `T` is its blueprint context
/// (for a part with several kinds of unit, an enum of them).
#[derive(Debug, Clone)]
pub(crate) struct Unit<T> {
    /// Stable identity: derived from the same names as the unit's logical ids.
    pub(crate) key: String,
    /// How many resources it renders to.
    pub(crate) resources: usize,
    /// Estimated rendered bytes.
    pub(crate) bytes: usize,
    /// Its blueprint context.
    pub(crate) value: T,
}

impl<T> Unit<T> {
    /// The same unit around another form of its value (e.g. one kind among a part's units).
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Unit<U> {
        Unit {
            key: self.key,
            resources: self.resources,
            bytes: self.bytes,
            value: f(self.value),
        }
    }
}

/// Jump consistent hash: a bucket in `0..buckets` that moves for only `1/buckets` of keys when
/// `buckets` grows by one.
fn jump_hash(mut key: u64, buckets: usize) -> usize {
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < buckets as i64 {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b.max(0) as usize
}

fn key_hash(key: &str) -> u64 {
    let d = Sha256::digest(key.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// Splits `units` into stacks; `fixed_*` is what stack 1 holds besides its units.
/// Returns at least one (possibly empty) stack; units keep their input order within a stack.
pub(crate) fn split<T>(units: Vec<Unit<T>>, fixed_resources: usize, fixed_bytes: usize) -> Vec<Vec<Unit<T>>> {
    let total_r: usize = fixed_resources + units.iter().map(|u| u.resources).sum::<usize>();
    let total_b: usize = fixed_bytes + units.iter().map(|u| u.bytes).sum::<usize>();
    if total_r <= MAX_RESOURCES && total_b <= MAX_BYTES {
        return vec![units];
    }
    let hashes: Vec<u64> = units.iter().map(|u| key_hash(&u.key)).collect();
    let by_r = (total_r as f64 / (MAX_RESOURCES as f64 * FILL)).ceil() as usize;
    let by_b = (total_b as f64 / (MAX_BYTES as f64 * FILL)).ceil() as usize;
    let mut n = by_r.max(by_b).max(2);
    loop {
        let mut load = vec![(0usize, 0usize); n];
        load[0] = (fixed_resources, fixed_bytes);
        let assignment: Vec<usize> = hashes.iter().map(|h| jump_hash(*h, n)).collect();
        for (u, s) in units.iter().zip(&assignment) {
            load[*s].0 += u.resources;
            load[*s].1 += u.bytes;
        }
        // A unit bigger than a stack cannot fit whatever n is: stop growing (render reports it).
        let fits = load.iter().all(|(r, b)| *r <= MAX_RESOURCES && *b <= MAX_BYTES);
        if fits || n > units.len() {
            let mut out: Vec<Vec<Unit<T>>> = (0..n).map(|_| Vec::new()).collect();
            for (u, s) in units.into_iter().zip(assignment) {
                out[s].push(u);
            }
            // Trailing empty stacks are pointless; empty middle ones keep later names stable.
            while out.len() > 1 && out.last().is_some_and(Vec::is_empty) {
                out.pop();
            }
            return out;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(n: usize, prefix: &str) -> Vec<Unit<()>> {
        (0..n)
            .map(|i| Unit {
                key: format!("{prefix}{i:05}"),
                resources: 2,
                bytes: 100,
                value: (),
            })
            .collect()
    }

    #[test]
    fn small_parts_stay_whole() {
        assert_eq!(split(units(200, "u"), 10, 0).len(), 1);
    }

    #[test]
    fn big_parts_split_within_limits() {
        let out = split(units(1000, "u"), 10, 0);
        assert!(out.len() >= 4);
        for s in &out {
            assert!(s.iter().map(|u| u.resources).sum::<usize>() <= MAX_RESOURCES);
        }
        assert_eq!(out.iter().map(Vec::len).sum::<usize>(), 1000);
    }

    #[test]
    fn adding_a_unit_moves_no_other_unit() {
        let before = split(units(1000, "u"), 10, 0);
        let mut more = units(1000, "u");
        more.push(Unit {
            key: "a-new-one".into(),
            resources: 2,
            bytes: 100,
            value: (),
        });
        let after = split(more, 10, 0);
        assert_eq!(before.len(), after.len());
        for (a, b) in before.iter().zip(&after) {
            for u in a {
                assert!(b.iter().any(|v| v.key == u.key), "{} moved", u.key);
            }
        }
    }

    /// Known answers: the test vectors every port of Lamping and Veach's
    /// reference implementation checks (e.g. dgryski/go-jump), plus the
    /// extremes of the key; computed again with the paper's C code.
    #[rstest::rstest]
    #[case(1, 1, 0)]
    #[case(42, 57, 43)]
    #[case(0xDEAD_10CC, 1, 0)]
    #[case(0xDEAD_10CC, 666, 361)]
    #[case(256, 1024, 520)]
    #[case(0, 10, 0)]
    #[case(1, 10, 6)]
    #[case(u64::MAX, 100, 92)]
    #[case(0x0123_4567_89AB_CDEF, 1000, 194)]
    // No buckets: bucket 0 rather than -1 (split never asks for fewer than 2).
    #[case(0xDEAD_10CC, 0, 0)]
    fn jump_hash_known_answers(#[case] key: u64, #[case] buckets: usize, #[case] bucket: usize) {
        assert_eq!(jump_hash(key, buckets), bucket);
    }

    /// A unit's key hash is the first 8 bytes of its SHA-256, big-endian, and
    /// the stacks it lands in for 2, 3, 5 and 10 stacks: changing either moves
    /// Glue databases between stacks, which replaces them.
    #[rstest::rstest]
    #[case("finance.payouts@1", 0x8fae_8d68_703c_9bff, [1, 1, 1, 1])]
    #[case("podcasts.episodes@2", 0xbca6_f54c_0637_d43c, [1, 1, 3, 3])]
    fn unit_keys_land_in_known_stacks(#[case] key: &str, #[case] hash: u64, #[case] stacks: [usize; 4]) {
        assert_eq!(key_hash(key), hash);
        assert_eq!([2, 3, 5, 10].map(|n| jump_hash(hash, n)), stacks);
    }

    #[test]
    fn jump_hash_is_stable() {
        // A key's bucket depends only on the key and `n`; growing `n` moves about 1/n of the keys.
        assert_eq!(jump_hash(1, 10), jump_hash(1, 10));
        assert_eq!(jump_hash(0, 1), 0);
        let moved = (0..10_000u64)
            .filter(|k| jump_hash(k * 7919, 10) != jump_hash(k * 7919, 11))
            .count();
        assert!(moved < 1300, "{moved}");
    }
}

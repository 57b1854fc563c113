//! Deployment order: each stack's `depends_on` and wave. This module decides
//! which stack follows which; ordering them into waves is `graph::Dependencies`
//! (the crate's one place that builds and sorts graphs). Pure: no IO.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;
use rayon::prelude::*;

use super::{Part, StackPlan, SynthError};
use crate::graph::Dependencies;
use crate::model::AccountId;

/// Fills `depends_on` and `wave`: a topological sort over the stack graph, whose edges are each
/// stack's `depends_on` plus "reads" edges (a consumer or central stack after the products
/// stacks of the accounts it reads). A stack's wave is one more than the highest wave it follows.
pub(crate) fn assign_waves(
    stacks: &mut [StackPlan],
    reads: &super::access::AccountSets<'_, &AccountId>,
    links: &BTreeMap<&AccountId, BTreeSet<&AccountId>>,
    central: &AccountId,
) -> Result<(), SynthError> {
    let mut by_part: BTreeMap<(&AccountId, Part), Vec<usize>> = BTreeMap::new();
    for (i, s) in stacks.iter().enumerate() {
        by_part.entry((&s.account, s.part)).or_default().push(i);
    }
    let mut products_of: BTreeMap<&AccountId, Vec<usize>> = BTreeMap::new();
    for ((a, part), ix) in &by_part {
        if *part == Part::Products {
            products_of.insert(a, ix.clone());
        }
    }
    // Looked up once per account a consumer reads (200,000 times in a large org): hashed.
    let products_by_account: HashMap<&AccountId, &[usize]> =
        products_of.iter().map(|(a, ix)| (*a, ix.as_slice())).collect();
    // Each stack's (depends, follows), on every core.
    let edges: Vec<(Vec<usize>, Vec<usize>)> = stacks
        .par_iter()
        .map(|s| {
            let baseline = || by_part.get(&(&s.account, Part::Baseline)).cloned().unwrap_or_default();
            let mut follows = Vec::new();
            let depends = match s.part {
                Part::Baseline => Vec::new(),
                Part::Products | Part::Consumer => baseline(),
                Part::Central => {
                    follows = products_of.values().flatten().copied().collect();
                    baseline()
                }
                Part::Identity => by_part.get(&(central, Part::Central)).cloned().unwrap_or_default(),
                // Links and grants to the account's reader roles: after the roles, and after the
                // producers' cross-account grants they build on.
                Part::Access => {
                    let mut d: Vec<usize> = [Part::Consumer, Part::Central]
                        .iter()
                        .flat_map(|p| by_part.get(&(&s.account, *p)).cloned().unwrap_or_default())
                        .collect();
                    d.sort_unstable();
                    for producer in links.get(&s.account).into_iter().flatten() {
                        follows.extend(products_by_account.get(producer).copied().into_iter().flatten());
                    }
                    d
                }
            };
            if s.part == Part::Consumer {
                for producer in reads.get(&s.account).into_iter().flatten() {
                    follows.extend(products_by_account.get(producer).copied().into_iter().flatten());
                }
            }
            (depends, follows)
        })
        .collect();
    let mut graph = Dependencies::new(stacks.len());
    for (i, (depends, follows)) in edges.iter().enumerate() {
        for &j in depends.iter().chain(follows) {
            graph.follow(i, j);
        }
    }
    let wave = graph.waves().map_err(|members| {
        let mut nodes: Vec<String> = members.iter().map(|i| stacks[*i].id()).collect();
        nodes.sort();
        SynthError::Cycle { nodes }
    })?;
    let ids: Vec<String> = stacks.par_iter().map(StackPlan::id).collect();
    stacks
        .par_iter_mut()
        .zip(edges.par_iter().zip(wave.par_iter()))
        .for_each(|(s, ((depends, _), &wave))| {
            s.wave = wave;
            let mut deps: Vec<String> = depends.iter().map(|j| ids[*j].clone()).collect();
            deps.sort();
            s.depends_on = deps;
        });
    Ok(())
}

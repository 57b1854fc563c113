//! The unchanged-plan benchmark (`scripts/bench-plan`, figures in
//! `BENCHMARKS.md`): a whole synthesis deployed into the fakes, every call
//! taking a realistic latency, then planned again. Ignored by default; run
//! with `MESHSYNTH_BENCH_OUT=<synthesis dir>`.

use std::time::{Duration, Instant};

use super::FakeConnector;
use crate::deploy::manifest;
use crate::deploy::plan::{plan, PlanOptions, WaitOptions};
use crate::deploy::planned::StackStatus;
use crate::deploy::progress::Progress;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: needs MESHSYNTH_BENCH_OUT (see scripts/bench-plan)"]
async fn unchanged_plan_of_a_large_org() {
    let Ok(dir) = std::env::var("MESHSYNTH_BENCH_OUT") else {
        panic!("set MESHSYNTH_BENCH_OUT to a synthesis folder (scripts/bench-plan does)");
    };
    let latency = Duration::from_millis(
        std::env::var("MESHSYNTH_BENCH_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50),
    );
    let concurrency: usize = std::env::var("MESHSYNTH_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);

    let started = Instant::now();
    let synth = manifest::read(std::path::Path::new(&dir)).expect("a synthesis folder");
    let read = started.elapsed();

    let mut accounts: Vec<&str> = synth.manifest.stacks.iter().map(|s| s.account.as_str()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let fakes = FakeConnector::new(&accounts);
    // Deployed as synthesised: every stack with its template, every policy.
    for ((account, name), template) in &synth.templates {
        let guarded = crate::deploy::guards::holds_data(&template.json);
        fakes.cfn(account).deployed(name, &template.text, guarded);
    }
    for (account, text) in &synth.policies {
        *fakes.accounts[account].glue.policy.lock().expect("lock") = Some(text.clone());
    }
    fakes.set_latency(latency);

    let options = PlanOptions {
        accounts: accounts.iter().map(|a| ((*a).to_owned(), String::new())).collect(),
        region_override: None,
        concurrency,
        wait: WaitOptions::default(),
    };
    let t0 = Instant::now();
    let planned = plan(&fakes, &synth, &options, &Progress::hidden())
        .await
        .expect("the plan succeeds");
    let wall = t0.elapsed();

    let changed: Vec<String> = planned
        .stacks
        .iter()
        .filter(|s| s.status != StackStatus::NoChanges || s.note.is_some())
        .take(5)
        .map(|s| format!("{}/{} {:?} {:?}", s.account, s.name, s.status, s.note))
        .collect();
    assert!(planned.is_unchanged(), "the plan found changes: {changed:?}");
    let stacks = planned.stacks.len();
    assert_eq!(stacks, synth.manifest.stacks.len());
    assert!(planned.stacks.iter().all(|s| s.status == StackStatus::NoChanges));
    let calls = fakes.calls();
    let total: u64 = calls.values().sum();
    assert_eq!(
        calls.get("cloudformation:CreateChangeSet"),
        None,
        "an unchanged plan made change sets"
    );
    println!(
        "{} accounts, {stacks} stacks, {} catalog policies; latency {} ms per call, concurrency {concurrency}",
        accounts.len(),
        synth.policies.len(),
        latency.as_millis()
    );
    println!("read the synthesis: {:.2} s", read.as_secs_f64());
    println!("plan (unchanged): {:.2} s", wall.as_secs_f64());
    for (op, n) in &calls {
        println!("  {op:<36} {n:>6}");
    }
    println!(
        "calls: {total} in all, {:.2} per stack ({:.2} per stack for the stacks themselves: GetTemplate)",
        total as f64 / stacks as f64,
        calls.get("cloudformation:GetTemplate").copied().unwrap_or(0) as f64 / stacks as f64
    );
}

//! Persistence figures at scale: writing the snapshot of a 1,000,000-series store
//! (10,000 groups x 100 series) and opening the store from it. Each step takes seconds, so
//! this reports plain wall-clock figures over a few rounds instead of criterion samples.
//!
//! `cargo bench -p cairn-bench --bench persist` (`GROUPS` and `SERIES` override the size).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn::persist::PersistOptions;
use cairn::{PushMode, Store, StoreConfig};
use cairn_bench::{at, group_families, group_key, push_group};

const ROUNDS: usize = 3;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let groups = env_or("GROUPS", 10_000);
    let series = env_or("SERIES", 100);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("store.cairn");
    let (store, _) = Store::open(StoreConfig::default(), PersistOptions::new(&file))
        .expect("open an empty store");
    let store = Arc::new(store);

    // Filled by concurrent pushers, so that group commit shares the fsyncs.
    let started = Instant::now();
    let threads = 32;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in (t..groups).step_by(threads) {
                    push_group(&store, i, series);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("pusher");
    }
    let fill = started.elapsed();
    let total = store.series_count();
    println!(
        "filled {groups} groups x {series} series = {total} series in {:.2} s over HTTP-less pushes from {threads} threads ({:.0} pushes/s, log {} MB)",
        fill.as_secs_f64(),
        groups as f64 / fill.as_secs_f64(),
        store.persist_stats().map_or(0, |s| s.log_bytes_written) >> 20,
    );

    let mut writes = Vec::new();
    let mut bytes = 0;
    for round in 0..ROUNDS {
        // One change, so that a snapshot is due.
        store
            .push(
                group_key(round),
                PushMode::Replace,
                group_families(series, round + 1),
                at(1_000_000 + round as u64),
            )
            .expect("push");
        let started = Instant::now();
        let info = store
            .snapshot()
            .expect("snapshot")
            .expect("a snapshot was due");
        writes.push(started.elapsed());
        bytes = info.bytes;
    }
    let store = Arc::try_unwrap(store).expect("pushers are done");
    drop(store);

    let mut opens = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let (store, report) =
            Store::open(StoreConfig::default(), PersistOptions::new(&file)).expect("reopen");
        opens.push(started.elapsed());
        assert_eq!(store.series_count(), total, "{report:?}");
        drop(store);
    }
    println!(
        "snapshot: {} bytes ({:.0} bytes/series); write {}; open {}",
        bytes,
        bytes as f64 / total as f64,
        figures(&writes),
        figures(&opens),
    );
}

fn figures(times: &[Duration]) -> String {
    let ms: Vec<String> = times
        .iter()
        .map(|t| format!("{:.0} ms", t.as_secs_f64() * 1e3))
        .collect();
    ms.join(" / ")
}

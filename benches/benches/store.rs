//! Store benchmarks: the cost of a push as the store grows, and of a whole scrape.

use std::hint::black_box;

use cairn::{PushMode, ScrapeFormat};
use cairn_bench::{at, filled_store, group_families, group_key, naive_render};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const SERIES_PER_PUSH: usize = 20;

fn push_into_stores_of_growing_size(c: &mut Criterion) {
    let mut bench = c.benchmark_group("push_20_series");
    for groups in [10usize, 1_000, 100_000] {
        let store = filled_store(groups, SERIES_PER_PUSH);
        let mut next = 0usize;
        let mut tick = groups as u64;
        bench.bench_function(format!("store_of_{groups}_groups"), |b| {
            b.iter_batched(
                || {
                    next = (next + 7919) % groups;
                    tick += 1;
                    (
                        group_key(next),
                        group_families(SERIES_PER_PUSH, next + tick as usize),
                        at(tick),
                    )
                },
                |(key, families, now)| {
                    store
                        .push(key, PushMode::Replace, families, now)
                        .expect("consistent push");
                },
                BatchSize::SmallInput,
            )
        });
    }
    bench.finish();
}

fn scrape_whole_store(c: &mut Criterion) {
    let mut bench = c.benchmark_group("scrape_text");
    bench.sample_size(10);
    for (groups, series) in [(1_000usize, 20usize), (10_000, 100)] {
        let store = filled_store(groups, series);
        let mut out = Vec::new();
        store
            .render(ScrapeFormat::Text, &mut out)
            .expect("consistent store");
        // Correctness before speed: the incremental scrape equals a naive render.
        assert!(
            out == naive_render(&store),
            "scrape differs from the naive render"
        );
        let total = store.series_count();
        bench.throughput(Throughput::Elements(total as u64));
        bench.bench_function(format!("{total}_series"), |b| {
            b.iter(|| {
                out.clear();
                store
                    .render(ScrapeFormat::Text, &mut out)
                    .expect("consistent store");
                black_box(out.len())
            })
        });
    }
    bench.finish();
}

criterion_group!(
    benches,
    push_into_stores_of_growing_size,
    scrape_whole_store
);
criterion_main!(benches);

//! Throughput of the text format 0.0.4 parser on a mixed exposition body (counters, gauges,
//! summaries, histograms and untyped families with labels), in bytes per second. Compare with
//! the reference's parser on the same file, in the same minute:
//! `goexpfmt bench ../shared/bench/data/mixed.prom 20` (see `../shared/goexpfmt`).
//!
//! Two figures: parsing into the owned model (each result is dropped outside the timed part,
//! as a push's families are kept by the store), and parsing plus dropping the result, which
//! frees every label string again.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cairn_expfmt::{NameScheme, parse_text};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// `shared/` lives beside the workspace root.
const MIXED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/bench/data/mixed.prom"
);

fn parse(c: &mut Criterion) {
    let body = std::fs::read(MIXED).unwrap_or_else(|e| panic!("{MIXED}: {e}"));
    let series: usize = parse_text(&body, NameScheme::Legacy)
        .expect("the benchmark body parses")
        .iter()
        .map(|family| family.metrics.len())
        .sum();
    let name = format!("mixed.prom ({} bytes, {series} series)", body.len());
    let mut group = c.benchmark_group("parse_text");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function(format!("{name}, parse"), |b| {
        b.iter_custom(|iterations| {
            let mut parsing = Duration::ZERO;
            for _ in 0..iterations {
                let start = Instant::now();
                let families = parse_text(black_box(&body), NameScheme::Legacy);
                parsing += start.elapsed();
                drop(black_box(families));
            }
            parsing
        })
    });
    group.bench_function(format!("{name}, parse and drop"), |b| {
        b.iter(|| parse_text(black_box(&body), NameScheme::Legacy))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);

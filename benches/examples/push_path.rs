//! The engine's share of one HTTP push, without HTTP: parsing a 100-series text body and
//! pushing it (PUT) to one of 10,000 stored groups, as `scripts/scale-bench.py` does.
//! Prints the time per push; under `valgrind --tool=callgrind` the instruction counts
//! are repeatable whatever else the machine is doing.
//!
//!     cargo run --release -p cairn-bench --example push_path [PUSHES]

use cairn::{GroupingKey, NameScheme, PushMode, Store};
use cairn_bench as _;
use std::time::{Instant, SystemTime};

const GROUPS: usize = 10_000;
const SERIES: usize = 100;

/// The scale benchmark's body: one gauge family of SERIES series.
fn body(v: usize) -> Vec<u8> {
    let mut t = String::from("# HELP bench_metric A benchmark gauge.\n# TYPE bench_metric gauge\n");
    for i in 1..=SERIES {
        t.push_str(&format!("bench_metric{{idx=\"{i}\"}} {}\n", i + v));
    }
    t.into_bytes()
}

fn push(store: &Store, group: usize, body: &[u8]) {
    let families = cairn::parse_text(body, NameScheme::Legacy).expect("the body parses");
    let key = GroupingKey::from_path(
        format!("job/bench/instance/i{group}").as_bytes(),
        NameScheme::Legacy,
    )
    .expect("the path is a grouping key");
    store
        .push(key, PushMode::Replace, families, SystemTime::now())
        .expect("the push is accepted");
}

/// A push to a stored group: a function of its own, for `--toggle-collect=*repush`.
#[inline(never)]
fn repush(store: &Store, group: usize, body: &[u8]) {
    push(store, group, body);
}

fn main() {
    let pushes: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let store = Store::default();
    let fill = body(0);
    let t = Instant::now();
    for group in 0..GROUPS {
        push(&store, group, &fill);
    }
    println!("fill of {GROUPS} x {SERIES}: {:?}", t.elapsed());
    let bodies: Vec<Vec<u8>> = (1..=16).map(body).collect();
    let mut x = 12345usize;
    let t = Instant::now();
    for round in 0..pushes {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        repush(&store, (x >> 33) % GROUPS, &bodies[round % bodies.len()]);
    }
    let elapsed = t.elapsed();
    println!(
        "{pushes} pushes: {elapsed:?}, {:.1} us per push",
        elapsed.as_secs_f64() * 1e6 / pushes as f64
    );
}

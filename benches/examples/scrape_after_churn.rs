//! The text scrape of 10,000 groups x 100 series after 20,000 re-pushes to random groups,
//! which scatter the families over the heap as a long-running gateway's are (a freshly
//! filled store renders several times faster, because its families lie in push order).
//!
//!     cargo run --release -p cairn-bench --example scrape_after_churn [RENDERS]
//!
//! Renders RENDERS times (5 unless given) and reports each render's time, then the
//! minimum and the median.

use cairn::{GroupingKey, NameScheme, PushMode, ScrapeFormat, Store};
use cairn_bench as _;
use std::time::{Instant, SystemTime};
fn body(n: usize, v: usize) -> String {
    let mut t = String::from("# HELP bench_metric A benchmark gauge.\n# TYPE bench_metric gauge\n");
    for i in 1..=n {
        t.push_str(&format!("bench_metric{{idx=\"{i}\"}} {}\n", i + v));
    }
    t
}
fn main() {
    let store = Store::default();
    let push = |g: usize, v: usize| {
        let f = cairn::parse_text(body(100, v).as_bytes(), NameScheme::Legacy).unwrap();
        let k = GroupingKey::from_path(
            format!("job/bench/instance/i{g}").as_bytes(),
            NameScheme::Legacy,
        )
        .unwrap();
        store
            .push(k, PushMode::Replace, f, SystemTime::now())
            .unwrap();
    };
    let t = Instant::now();
    for g in 0..10_000 {
        push(g, 0);
    }
    println!("fill {:?}", t.elapsed());
    let mut x = 12345usize;
    let t = Instant::now();
    for r in 0..20_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        push((x >> 33) % 10_000, r);
    }
    println!("20k pushes {:?}", t.elapsed());
    let renders: usize = std::env::args()
        .nth(1)
        .map_or(5, |n| n.parse().expect("RENDERS is a number"));
    let mut times = Vec::with_capacity(renders);
    for _ in 0..renders {
        let mut out = Vec::with_capacity(60 << 20);
        let t = Instant::now();
        store.render(ScrapeFormat::Text, &mut out).unwrap();
        times.push(t.elapsed());
        println!("render {} bytes {:?}", out.len(), t.elapsed());
    }
    times.sort();
    if let (Some(min), Some(median)) = (times.first(), times.get(times.len() / 2)) {
        println!("min {min:?} median {median:?}");
    }
}

//! Helpers shared by the engine tests.

use std::time::{Duration, SystemTime};

use cairn::{GroupingKey, MetricFamily, NameScheme, PushError, PushMode, ScrapeFormat, Store};

pub(crate) fn key(tail: &str) -> GroupingKey {
    GroupingKey::from_path(tail.as_bytes(), NameScheme::Legacy).unwrap()
}

pub(crate) fn families(text: &str) -> Vec<MetricFamily> {
    cairn::parse_text(text.as_bytes(), NameScheme::Legacy).unwrap()
}

/// Time `n` seconds after the epoch, so pushes can be told apart.
pub(crate) fn at(n: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(n)
}

pub(crate) fn put(store: &Store, tail: &str, text: &str, t: u64) -> Result<(), PushError> {
    store.push(key(tail), PushMode::Replace, families(text), at(t))
}

pub(crate) fn post(store: &Store, tail: &str, text: &str, t: u64) -> Result<(), PushError> {
    store.push(key(tail), PushMode::Merge, families(text), at(t))
}

pub(crate) fn scrape(store: &Store) -> String {
    let mut out = Vec::new();
    store.render(ScrapeFormat::Text, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The sample lines of a scrape, without the timestamp gauges and comments.
pub(crate) fn samples(store: &Store) -> Vec<String> {
    scrape(store)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("push_"))
        .map(str::to_owned)
        .collect()
}

//! Snapshot and write-ahead-log readers: arbitrary bytes planted as the files give a store
//! or a typed error, never a panic; and what a successful open leaves behind opens again,
//! with the same contents when those render.
//!
//! Input: one flags byte, a little-endian `u32` length `n`, then `n` bytes for the snapshot
//! (`store.cairn`) and the rest for the log (`store.cairn.wal`). Flags: bit 0 plants the
//! snapshot, bit 1 the log, bit 2 puts the log bytes at `store.cairn.wal.next` instead, bit 3
//! opens with `Unreadable::SetAsideAndStartEmpty`.

#![no_main]

use std::path::Path;
use std::sync::Arc;

use cairn::persist::{FaultFs, PersistOptions, Unreadable};
use cairn::{ScrapeFormat, Store, StoreConfig};
use libfuzzer_sys::fuzz_target;

const SNAPSHOT: &str = "/data/store.cairn";
const LOG: &str = "/data/store.cairn.wal";
const NEXT_LOG: &str = "/data/store.cairn.wal.next";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some((length, rest)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let split = (u32::from_le_bytes(*length) as usize).min(rest.len());
    let (snapshot, log) = rest.split_at(split);

    let fs = FaultFs::new();
    if flags & 1 != 0 {
        fs.put(Path::new(SNAPSHOT), snapshot);
    }
    if flags & 2 != 0 {
        let at = if flags & 4 != 0 { NEXT_LOG } else { LOG };
        fs.put(Path::new(at), log);
    }
    let unreadable = if flags & 8 != 0 {
        Unreadable::SetAsideAndStartEmpty
    } else {
        Unreadable::Refuse
    };
    let options = |unreadable| PersistOptions {
        path: SNAPSHOT.into(),
        fs: Arc::new(fs.clone()),
        unreadable,
    };

    let _ = Store::inspect(StoreConfig::default(), options(Unreadable::Refuse));
    let Ok((store, _)) = Store::open(StoreConfig::default(), options(unreadable)) else {
        return;
    };
    let before = render(&store);
    drop(store);
    let (store, _) = Store::open(StoreConfig::default(), options(Unreadable::Refuse))
        .unwrap_or_else(|e| panic!("files left by a successful open do not open again: {e}"));
    // Only a store holding a valid exposition is compared: files restore unchecked, and a
    // store that does not render can lose series on reopening (reproducer in
    // `corpus/persist_files/regression-reopen-loses-imported-failure-time`).
    if let Some(before) = before {
        assert_eq!(
            render(&store),
            Some(before),
            "reopening changed what the store holds"
        );
    }
});

/// The scrape as text; `None` when the store holds data that does not render.
fn render(store: &Store) -> Option<String> {
    let mut out = Vec::new();
    store.render(ScrapeFormat::Text, &mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

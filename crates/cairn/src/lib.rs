//! The cairn engine: a Prometheus Pushgateway's store as a library.
//!
//! Batch jobs push metric families under a [`GroupingKey`] (`job` plus further labels);
//! the [`Store`] keeps each group's families, applies the Pushgateway's rules (PUT replaces
//! a group, POST replaces the families it names, grouping labels overwrite pushed ones,
//! `push_time_seconds` and `push_failure_time_seconds` per group) and checks every push
//! against everything stored, at a cost that follows the push, not the store. A scrape
//! renders all groups as one exposition.
//!
//! A store opened with [`Store::open`] persists: every change is in a write-ahead log
//! before the call making it returns, and [`Store::snapshot`] folds the log into a snapshot
//! file (see [`persist`]).
//!
//! No HTTP, no async runtime: front ends (`cairn-http`, `cairn-cli`) are thin layers on it.
//!
//! ```
//! use std::time::SystemTime;
//! use cairn::persist::PersistOptions;
//! use cairn::{GroupingKey, NameScheme, PushMode, ScrapeFormat, Store, StoreConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("pushgateway.data");
//! let (store, _) = Store::open(StoreConfig::default(), PersistOptions::new(&file))?;
//! let key = GroupingKey::from_path(b"job/nightly/instance/db1", NameScheme::Legacy)?;
//! let families = cairn::parse_text(b"# TYPE rows_copied counter\nrows_copied 1234\n", NameScheme::Legacy)?;
//! store.push(key.clone(), PushMode::Replace, families, SystemTime::now())?;
//!
//! let mut exposition = Vec::new();
//! store.render(ScrapeFormat::Text, &mut exposition)?;
//! let text = String::from_utf8(exposition)?;
//! assert!(text.contains("rows_copied{instance=\"db1\",job=\"nightly\"} 1234\n"));
//! assert!(text.contains("# TYPE push_time_seconds gauge\n"));
//!
//! // The push was durable when `push` returned: a reopened store has it.
//! store.snapshot()?;
//! drop(store);
//! let (store, _) = Store::open(StoreConfig::default(), PersistOptions::new(&file))?;
//! let mut again = Vec::new();
//! store.render(ScrapeFormat::Text, &mut again)?;
//! assert_eq!(String::from_utf8(again)?, text);
//!
//! assert!(store.delete(&key)?);
//! assert_eq!(store.group_count(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod grouping_key;
mod import_gob;
pub mod persist;
mod store;

pub use cairn_expfmt::{
    Limit, LimitExceeded, MetricFamily, MetricType, NameScheme, PushLimits, parse_text,
    parse_text_with_limits,
};
pub use grouping_key::{GroupingKey, GroupingKeyError};
pub use store::{
    Consistency, Durable, Exposition, Group, Inconsistency, OwnFamily, PUSH_FAILURE_TIME_FAMILY,
    PUSH_TIME_FAMILY, PersistStats, PushError, PushMode, ScrapeError, ScrapeFormat, SnapshotInfo,
    Store, StoreConfig, StoredFamily,
};

//! The cairn engine: a Prometheus Pushgateway's store as a library.
//!
//! Batch jobs push metric families under a [`GroupingKey`] (`job` plus further labels);
//! the [`Store`] keeps each group's families, applies the Pushgateway's rules (PUT replaces
//! a group, POST replaces the families it names, grouping labels overwrite pushed ones,
//! `push_time_seconds` and `push_failure_time_seconds` per group) and checks every push
//! against everything stored, at a cost that follows the push, not the store. A scrape
//! renders all groups as one exposition.
//!
//! No HTTP, no async runtime: front ends (`cairn-http`, `cairn-cli`) are thin layers on it.
//!
//! ```
//! use std::time::SystemTime;
//! use cairn::{GroupingKey, NameScheme, PushMode, ScrapeFormat, Store, StoreConfig};
//!
//! let store = Store::new(StoreConfig::default());
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
//! assert!(store.delete(&key));
//! assert_eq!(store.group_count(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod grouping_key;
// The persist module will call the import; until it does, nothing outside tests does.
#[allow(dead_code)]
mod import_gob;
mod store;

pub use cairn_expfmt::{MetricFamily, MetricType, NameScheme, parse_text};
pub use grouping_key::{GroupingKey, GroupingKeyError};
pub use store::{
    Consistency, Group, Inconsistency, OwnFamily, PUSH_FAILURE_TIME_FAMILY, PUSH_TIME_FAMILY,
    PushError, PushMode, ScrapeError, ScrapeFormat, Store, StoreConfig, StoredFamily,
};

//! The store's limits: the per-push caps of `StoreConfig::push_limits` and the cap on the
//! store's series, each at its boundary, and a refused push changing nothing at all.

use cairn::persist::PersistOptions;
use cairn::{Consistency, Limit, PushError, PushLimits, PushMode, Store, StoreConfig};

use crate::support::{at, families, key, post, put, scrape};

fn capped(series_max: usize) -> Store {
    Store::new(StoreConfig {
        series_max,
        ..StoreConfig::default()
    })
}

/// `n` series of gauge `name`, one per value of label `i`.
fn gauges(name: &str, n: usize) -> String {
    let mut text = format!("# TYPE {name} gauge\n");
    for i in 0..n {
        text.push_str(&format!("{name}{{i=\"{i}\"}} 1\n"));
    }
    text
}

fn store_full(result: Result<(), PushError>) -> (usize, usize) {
    match result {
        Err(PushError::StoreFull {
            series_after,
            series_max,
        }) => (series_after, series_max),
        other => panic!("expected StoreFull, got {other:?}"),
    }
}

#[test]
fn each_push_limit_accepts_its_value_and_refuses_one_more_changing_nothing() {
    let limits = PushLimits {
        series_max: 2,
        labels_per_series_max: 2,
        metric_name_bytes_max: 4,
        label_name_bytes_max: 3,
        label_value_bytes_max: 3,
        grouping_bytes_max: usize::MAX,
    };
    let store = Store::new(StoreConfig {
        push_limits: limits,
        ..StoreConfig::default()
    });
    put(&store, "job/j", "keep 1\n", 1).unwrap();
    let before = scrape(&store);
    for (at_limit, over, limit) in [
        ("a 1\nb 1\n", "a 1\nb 1\nc 1\n", Limit::SeriesPerPush),
        (
            "a{x=\"1\",y=\"2\"} 1\n",
            "a{x=\"1\",y=\"2\",z=\"3\"} 1\n",
            Limit::LabelsPerSeries,
        ),
        ("abcd 1\n", "abcde 1\n", Limit::MetricNameBytes),
        (
            "a{abc=\"1\"} 1\n",
            "a{abcd=\"1\"} 1\n",
            Limit::LabelNameBytes,
        ),
        (
            "a{x=\"abc\"} 1\n",
            "a{x=\"abcd\"} 1\n",
            Limit::LabelValueBytes,
        ),
    ] {
        let result = store.push(key("job/j"), PushMode::Merge, families(over), at(2));
        match result {
            Err(PushError::LimitExceeded(exceeded)) => assert_eq!(exceeded.limit(), limit),
            other => panic!("{over:?}: expected {limit:?}, got {other:?}"),
        }
        // Not even the failure time changes.
        assert_eq!(scrape(&store), before, "{over:?}");
        let fresh = Store::new(StoreConfig {
            push_limits: limits,
            ..StoreConfig::default()
        });
        put(&fresh, "job/j", at_limit, 1).unwrap_or_else(|e| panic!("{at_limit:?}: {e}"));
    }
}

#[test]
fn grouping_labels_do_not_count_against_labels_per_series() {
    let store = Store::new(StoreConfig {
        push_limits: PushLimits {
            labels_per_series_max: 1,
            ..PushLimits::default()
        },
        ..StoreConfig::default()
    });
    put(&store, "job/j/instance/i/zone/z", "a{x=\"1\"} 1\n", 1).unwrap();
    assert!(scrape(&store).contains("a{instance=\"i\",job=\"j\",x=\"1\",zone=\"z\"} 1\n"));
}

#[test]
fn series_count_includes_the_timestamp_gauges() {
    let store = capped(StoreConfig::SERIES_MAX_NONE);
    put(&store, "job/a", &gauges("m", 3), 1).unwrap();
    assert_eq!(store.series_count(), 5);
    put(&store, "job/b", "", 1).unwrap();
    assert_eq!(store.series_count(), 7);
    store.delete(&key("job/a")).unwrap();
    assert_eq!(store.series_count(), 2);
    store.wipe().unwrap();
    assert_eq!(store.series_count(), 0);
}

#[test]
fn a_new_group_needs_room_for_its_series_and_two_timestamps() {
    let store = capped(5);
    let result = put(&store, "job/a", &gauges("m", 4), 1);
    assert_eq!(store_full(result), (6, 5));
    assert_eq!(store.group_count(), 0);
    assert_eq!(store.series_count(), 0);
    put(&store, "job/a", &gauges("m", 3), 1).unwrap();
    assert_eq!(store.series_count(), 5);
}

#[test]
fn put_counts_what_it_replaces_so_a_full_store_takes_a_same_size_replacement() {
    let store = capped(12);
    put(&store, "job/a", &gauges("m", 5), 1).unwrap();
    put(&store, "job/b", &gauges("n", 3), 1).unwrap();
    assert_eq!(store.series_count(), 12);
    // Five series replaced by five other ones, under another name.
    put(&store, "job/a", &gauges("o", 5), 2).unwrap();
    // Six would be one too many.
    let before = scrape(&store);
    assert_eq!(
        store_full(put(&store, "job/a", &gauges("o", 6), 3)),
        (13, 12)
    );
    assert_eq!(scrape(&store), before);
    // An emptying PUT always fits.
    put(&store, "job/a", "", 4).unwrap();
    assert_eq!(store.series_count(), 7);
}

#[test]
fn post_counts_only_the_families_it_replaces() {
    let store = capped(10);
    put(
        &store,
        "job/a",
        &format!("{}{}", gauges("m", 4), gauges("n", 2)),
        1,
    )
    .unwrap();
    assert_eq!(store.series_count(), 8);
    // m: 4 -> 6 fits exactly; n stays.
    post(&store, "job/a", &gauges("m", 6), 2).unwrap();
    assert_eq!(store.series_count(), 10);
    let before = scrape(&store);
    // A new family of one series would not.
    assert_eq!(
        store_full(post(&store, "job/a", &gauges("p", 1), 3)),
        (11, 10)
    );
    assert_eq!(scrape(&store), before);
    // Replacing n (2) by a family of 2 fits.
    post(&store, "job/a", &gauges("n", 2), 4).unwrap();
}

#[test]
fn the_cap_holds_with_the_consistency_check_off() {
    let store = Store::new(StoreConfig {
        consistency: Consistency::Unchecked,
        series_max: 4,
        ..StoreConfig::default()
    });
    put(&store, "job/a", &gauges("m", 2), 1).unwrap();
    let before = scrape(&store);
    assert_eq!(store_full(put(&store, "job/b", &gauges("m", 1), 2)), (7, 4));
    assert_eq!(scrape(&store), before);
}

#[test]
fn a_store_over_its_cap_still_takes_pushes_that_do_not_grow_it() {
    // As after a restart with a lower cap: the store holds more than the cap allows.
    let dir = tempfile::tempdir().unwrap();
    let options = || PersistOptions::new(dir.path().join("store"));
    let (store, _) = Store::open(StoreConfig::default(), options()).unwrap();
    put(&store, "job/a", &gauges("m", 6), 1).unwrap();
    drop(store);
    let config = StoreConfig {
        series_max: 5,
        ..StoreConfig::default()
    };
    let (store, _) = Store::open(config, options()).unwrap();
    // The count was recomputed from what was restored.
    assert_eq!(store.series_count(), 8);
    assert_eq!(store_full(put(&store, "job/a", &gauges("m", 7), 2)), (9, 5));
    put(&store, "job/a", &gauges("m", 6), 3).unwrap();
    put(&store, "job/a", &gauges("m", 2), 4).unwrap();
    assert_eq!(store.series_count(), 4);
    assert_eq!(store_full(put(&store, "job/a", &gauges("m", 4), 5)), (6, 5));
}

#[test]
fn a_failed_push_creates_no_group_in_a_full_store() {
    let store = capped(4);
    put(&store, "job/a", "# TYPE m gauge\nm 1\nn 1\n", 1).unwrap();
    assert_eq!(store.series_count(), 4);
    // Rejected on its own (a timestamp), and a new group's timestamps would not fit.
    let result = put(&store, "job/b", "x 1 1000\n", 2);
    assert!(
        matches!(result, Err(PushError::Inconsistent(_))),
        "{result:?}"
    );
    assert_eq!(store.group_count(), 1);
    assert_eq!(store.series_count(), 4);
    // An existing group still records its failure.
    let result = put(&store, "job/a", "# TYPE n counter\nn 1\nn 2\n", 3);
    assert!(
        matches!(result, Err(PushError::Inconsistent(_))),
        "{result:?}"
    );
    let group = store.group(&key("job/a")).unwrap();
    assert_eq!(group.push_failure_time_seconds(), Some(3.0));
}

/// Grouping labels are stored with every series, so a long one in the URL multiplies: the
/// push's series times its key's bytes are capped, and a push over the cap changes nothing.
#[test]
fn grouping_bytes_count_every_series_under_the_key() {
    let limits = PushLimits {
        grouping_bytes_max: 40,
        ..PushLimits::default()
    };
    let store = Store::new(StoreConfig {
        push_limits: limits,
        ..StoreConfig::default()
    });
    // `job` `j` `instance` `abcdef`: 18 bytes a series.
    put(&store, "job/j/instance/abcdef", "a 1\nb 1\n", 1).unwrap();
    let before = scrape(&store);
    match put(&store, "job/j/instance/abcdef", "a 1\nb 1\nc 1\n", 2) {
        Err(PushError::LimitExceeded(exceeded)) => {
            assert_eq!(exceeded.limit(), Limit::GroupingBytes);
            assert_eq!(
                exceeded.to_string(),
                "3 series under grouping labels of 18 bytes copy 54 bytes, more than the limit of 40"
            );
        }
        other => panic!("expected GroupingBytes, got {other:?}"),
    }
    assert_eq!(scrape(&store), before);
}

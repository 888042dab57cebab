//! The front end's own families: declared to the store, checked against pushes, merged
//! into the scrape.

use cairn::{
    Inconsistency, MetricFamily, MetricType, OwnFamily, PushError, ScrapeFormat, Store, StoreConfig,
};

use crate::support::{families, put};

fn store_with_own() -> Store {
    let store = Store::new(StoreConfig::default());
    store.set_own_families([
        OwnFamily {
            name: "process_open_fds".to_owned(),
            metric_type: MetricType::Gauge,
            help: "Number of open file descriptors.".to_owned(),
        },
        OwnFamily {
            name: "push_duration_seconds".to_owned(),
            metric_type: MetricType::Summary,
            help: "Push durations.".to_owned(),
        },
    ]);
    store
}

fn own_samples() -> Vec<MetricFamily> {
    families(
        "# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\nprocess_open_fds 7\n\
         # HELP aaa_first An own family sorting first.\n# TYPE aaa_first gauge\naaa_first{b=\"1\",a=\"2\"} 1\naaa_first 2\n",
    )
}

fn scrape_with_own(store: &Store, format: ScrapeFormat) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .render_with_own(format, &own_samples(), &mut out)
        .unwrap();
    out
}

#[test]
fn push_of_an_own_name_with_another_type_is_rejected() {
    let store = store_with_own();
    let err = put(
        &store,
        "job/j",
        "# TYPE process_open_fds counter\nprocess_open_fds 1\n",
        1,
    )
    .unwrap_err();
    assert!(matches!(
        &err,
        PushError::Inconsistent(Inconsistency::OwnTypeConflict { .. })
    ));
    assert!(err.to_string().ends_with(
        "gathered metric family process_open_fds has type COUNTER but should have GAUGE"
    ));
}

#[test]
fn push_of_an_own_name_with_another_help_is_shown_with_the_own_help() {
    let store = store_with_own();
    put(
        &store,
        "job/j",
        "# HELP process_open_fds mine\n# TYPE process_open_fds gauge\nprocess_open_fds 1\n",
        1,
    )
    .unwrap();
    let text = String::from_utf8(scrape_with_own(&store, ScrapeFormat::Text)).unwrap();
    assert_eq!(text.matches("# HELP process_open_fds").count(), 1);
    assert!(text.contains(
        "# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\n\
         process_open_fds 7\nprocess_open_fds{instance=\"\",job=\"j\"} 1\n"
    ));
    assert!(!text.contains("mine"));
    // Without own samples the declared help still replaces the pushed one.
    let mut out = Vec::new();
    store.render(ScrapeFormat::Text, &mut out).unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("# HELP process_open_fds Number of open file descriptors.\n")
    );
}

#[test]
fn push_colliding_with_an_own_summary_suffix_is_rejected() {
    let store = store_with_own();
    let reason = put(&store, "job/j", "push_duration_seconds_count 1\n", 1).unwrap_err();
    assert!(matches!(
        reason,
        PushError::Inconsistent(Inconsistency::SuffixCollision { .. })
    ));
}

#[test]
fn scrape_merges_own_families_in_name_order_with_series_in_exposition_order() {
    let store = store_with_own();
    put(&store, "job/j", "zzz 1\n", 1).unwrap();
    let text = String::from_utf8(scrape_with_own(&store, ScrapeFormat::Text)).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "aaa_first",
            "process_open_fds",
            "push_failure_time_seconds",
            "push_time_seconds",
            "zzz"
        ]
    );
    assert!(text.contains("aaa_first 2\naaa_first{a=\"2\",b=\"1\"} 1\n"));
    for format in [ScrapeFormat::OpenMetrics, ScrapeFormat::Protobuf] {
        let out = scrape_with_own(&store, format);
        let needle = b"aaa_first";
        assert!(out.windows(needle.len()).any(|w| w == needle));
    }
}

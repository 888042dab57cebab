//! One test per rule of the store, including the store scenarios of the reference's tests.

use std::time::SystemTime;

use cairn::{
    Consistency, GroupingKey, Inconsistency, MetricFamily, NameScheme, PushError, PushMode,
    ScrapeFormat, Store, StoreConfig,
};
use cairn_expfmt::{Label, Metric, MetricType, Value};

use crate::support::{at, families, key, post, put, samples, scrape};

fn checked() -> Store {
    Store::new(StoreConfig::default())
}

fn unchecked() -> Store {
    Store::new(StoreConfig {
        consistency: Consistency::Unchecked,
        ..StoreConfig::default()
    })
}

fn reason(result: Result<(), PushError>) -> Inconsistency {
    match result {
        Err(PushError::Inconsistent(reason)) => reason,
        other => panic!("expected a rejected push, got {other:?}"),
    }
}

#[test]
fn put_replaces_whole_group() {
    let store = checked();
    put(&store, "job/j", "a 1\nb 2\n", 1).unwrap();
    put(&store, "job/j", "a 3\n", 2).unwrap();
    assert_eq!(samples(&store), ["a{instance=\"\",job=\"j\"} 3"]);
}

#[test]
fn post_replaces_only_the_families_it_names() {
    let store = checked();
    post(&store, "job/j", "pa 1\npb 1\n", 1).unwrap();
    post(&store, "job/j", "pa 2\n", 2).unwrap();
    assert_eq!(
        samples(&store),
        [
            "pa{instance=\"\",job=\"j\"} 2",
            "pb{instance=\"\",job=\"j\"} 1"
        ]
    );
    put(&store, "job/j", "pa 3\n", 3).unwrap();
    assert_eq!(samples(&store), ["pa{instance=\"\",job=\"j\"} 3"]);
}

#[test]
fn post_replaces_all_series_of_a_named_family() {
    let store = checked();
    post(&store, "job/j", "m{x=\"1\"} 1\nm{x=\"2\"} 2\n", 1).unwrap();
    post(&store, "job/j", "m{x=\"3\"} 3\n", 2).unwrap();
    assert_eq!(samples(&store), ["m{instance=\"\",job=\"j\",x=\"3\"} 3"]);
}

#[test]
fn delete_removes_the_group_with_its_timestamps() {
    let store = checked();
    put(&store, "job/j", "a 1\n", 1).unwrap();
    assert!(store.delete(&key("job/j")).unwrap());
    assert_eq!(scrape(&store), "");
    assert_eq!(store.group_count(), 0);
}

#[test]
fn delete_matches_the_exact_grouping_key_only() {
    let store = checked();
    put(&store, "job/x/instance/y", "a 1\n", 1).unwrap();
    assert!(!store.delete(&key("job/x")).unwrap());
    assert_eq!(store.group_count(), 1);
}

#[test]
fn grouping_labels_overwrite_pushed_labels() {
    let store = checked();
    put(
        &store,
        "job/lbl_job/foo/baz",
        "m{job=\"other\",instance=\"x\",foo=\"bar\"} 1\n",
        1,
    )
    .unwrap();
    assert_eq!(
        samples(&store),
        ["m{foo=\"baz\",instance=\"x\",job=\"lbl_job\"} 1"]
    );
}

#[test]
fn missing_instance_becomes_empty_and_grouping_instance_fills_it() {
    let store = checked();
    put(
        &store,
        "job/j1/instance/instance2",
        "mf1{job=\"job2\",instance=\"instance1\"} 1\n",
        1,
    )
    .unwrap();
    put(&store, "job/j1", "mf2 1\n", 2).unwrap();
    assert_eq!(
        samples(&store),
        [
            "mf1{instance=\"instance2\",job=\"j1\"} 1",
            "mf2{instance=\"\",job=\"j1\"} 1"
        ]
    );
}

#[test]
fn success_sets_push_time_and_zero_failure_time() {
    let store = checked();
    put(&store, "job/j", "a 1\n", 1_583_781_848).unwrap();
    let group = store.group(&key("job/j")).unwrap();
    assert_eq!(group.push_time_seconds(), Some(1_583_781_848.0));
    assert_eq!(group.push_failure_time_seconds(), Some(0.0));
    assert!(group.last_push_successful());
    let text = scrape(&store);
    assert!(
        text.contains("push_time_seconds{instance=\"\",job=\"j\"} 1.583781848e+09\n"),
        "{text}"
    );
    assert!(
        text.contains("push_failure_time_seconds{instance=\"\",job=\"j\"} 0\n"),
        "{text}"
    );
}

#[test]
fn pushed_timestamp_families_are_ignored() {
    let store = checked();
    put(
        &store,
        "job/j",
        "push_time_seconds 5\npush_failure_time_seconds 7\na 1\n",
        10,
    )
    .unwrap();
    let group = store.group(&key("job/j")).unwrap();
    assert_eq!(group.push_time_seconds(), Some(10.0));
    assert_eq!(group.push_failure_time_seconds(), Some(0.0));
    post(
        &store,
        "job/j",
        "# TYPE push_failure_time_seconds counter\npush_failure_time_seconds 7\n",
        11,
    )
    .unwrap();
    assert_eq!(
        store
            .group(&key("job/j"))
            .unwrap()
            .push_failure_time_seconds(),
        Some(0.0)
    );
}

#[test]
fn timestamps_are_rejected_and_mark_the_failure() {
    let store = checked();
    let err = put(&store, "job/j", "a 1 1000\n", 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps"
    );
    let group = store.group(&key("job/j")).unwrap();
    assert_eq!(group.push_time_seconds(), Some(0.0));
    assert_eq!(group.push_failure_time_seconds(), Some(3.0));
    assert!(!group.last_push_successful());
}

#[test]
fn timestamps_are_rejected_in_unchecked_mode_too() {
    let store = unchecked();
    assert_eq!(
        reason(put(&store, "job/j", "a 1 1000\n", 3)),
        Inconsistency::Timestamps
    );
    assert_eq!(samples(&store), Vec::<String>::new());
}

#[test]
fn failed_push_keeps_the_group_families_and_push_time() {
    let store = checked();
    put(&store, "job/j", "# TYPE a gauge\na 1\n", 1).unwrap();
    put(&store, "job/other", "# TYPE b counter\nb 1\n", 2).unwrap();
    reason(put(&store, "job/j", "# TYPE b gauge\nb 2\n", 3));
    let group = store.group(&key("job/j")).unwrap();
    assert_eq!(group.push_time_seconds(), Some(1.0));
    assert_eq!(group.push_failure_time_seconds(), Some(3.0));
    assert_eq!(
        samples(&store),
        [
            "a{instance=\"\",job=\"j\"} 1",
            "b{instance=\"\",job=\"other\"} 1"
        ]
    );
    put(&store, "job/j", "a 2\n", 4).unwrap();
    let group = store.group(&key("job/j")).unwrap();
    assert_eq!(group.push_failure_time_seconds(), Some(3.0));
    assert!(group.last_push_successful());
}

#[test]
fn empty_put_keeps_only_the_timestamps() {
    let store = checked();
    put(&store, "job/j", "a 1\nb 1\n", 1).unwrap();
    put(&store, "job/j", "", 2).unwrap();
    let group = store.group(&key("job/j")).unwrap();
    let names: Vec<_> = group.families().map(|f| f.family().name.clone()).collect();
    assert_eq!(names, ["push_failure_time_seconds", "push_time_seconds"]);
    assert_eq!(group.push_time_seconds(), Some(2.0));
}

#[test]
fn empty_post_only_updates_the_push_time() {
    let store = checked();
    put(&store, "job/j", "a 1\n", 1).unwrap();
    post(&store, "job/j", "", 2).unwrap();
    assert_eq!(samples(&store), ["a{instance=\"\",job=\"j\"} 1"]);
    assert_eq!(
        store.group(&key("job/j")).unwrap().push_time_seconds(),
        Some(2.0)
    );
}

#[test]
fn type_conflict_across_groups_is_rejected() {
    let store = checked();
    put(&store, "job/some_job", "some_metric 1\n", 1).unwrap();
    let r = reason(put(
        &store,
        "job/other",
        "# TYPE some_metric counter\nsome_metric 2\n",
        2,
    ));
    assert!(
        matches!(
            r,
            Inconsistency::TypeConflict {
                existing: MetricType::Untyped,
                ..
            }
        ),
        "{r:?}"
    );
    assert!(r.to_string().contains("is not a UNTYPED"));
}

#[test]
fn a_group_may_change_the_type_of_a_family_only_it_holds() {
    let store = checked();
    put(&store, "job/j", "# TYPE m gauge\nm 1\n", 1).unwrap();
    put(&store, "job/j", "# TYPE m counter\nm 2\n", 2).unwrap();
    assert_eq!(
        scrape(&store)
            .lines()
            .filter(|l| l.starts_with("# TYPE m "))
            .count(),
        1
    );
    assert!(scrape(&store).contains("# TYPE m counter\n"));
}

#[test]
fn same_family_in_several_groups_is_exposed_once() {
    let store = checked();
    put(&store, "job/b", "# HELP m from b\n# TYPE m gauge\nm 2\n", 1).unwrap();
    put(&store, "job/a", "# HELP m from a\n# TYPE m gauge\nm 1\n", 2).unwrap();
    let text = scrape(&store);
    let m: Vec<_> = text
        .lines()
        .filter(|l| l.contains(" m ") || l.starts_with("m{"))
        .collect();
    assert_eq!(
        m,
        [
            "# HELP m from a",
            "# TYPE m gauge",
            "m{instance=\"\",job=\"a\"} 1",
            "m{instance=\"\",job=\"b\"} 2"
        ]
    );
}

#[test]
fn duplicate_series_across_groups_is_rejected() {
    let store = checked();
    put(&store, "job/job1", "mf1{instance=\"instance2\"} 1\n", 1).unwrap();
    let r = reason(put(&store, "job/job1/instance/instance2", "mf1 2\n", 2));
    assert!(matches!(r, Inconsistency::DuplicateSeries { .. }), "{r:?}");
    assert!(
        r.to_string()
            .ends_with("was collected before with the same name and label values")
    );
    let new = store.group(&key("job/job1/instance/instance2")).unwrap();
    assert_eq!(new.push_time_seconds(), Some(0.0));
    assert_eq!(new.push_failure_time_seconds(), Some(2.0));
    assert_eq!(
        samples(&store),
        ["mf1{instance=\"instance2\",job=\"job1\"} 1"]
    );
}

#[test]
fn duplicate_series_within_one_push_is_rejected() {
    let store = checked();
    let r = reason(put(&store, "job/j", "m{a=\"1\"} 1\nm{a=\"1\"} 2\n", 1));
    assert!(matches!(r, Inconsistency::DuplicateSeries { .. }), "{r:?}");
}

#[test]
fn a_repush_is_checked_for_duplicates_whatever_the_group_held() {
    // A re-push of the label sets the group holds is known to be free of repeats; any
    // other set of label sets is searched, even when it shares labels with the old one.
    let store = checked();
    put(&store, "job/j", "m{a=\"1\"} 1\nm{a=\"2\"} 2\n", 1).unwrap();
    put(&store, "job/j", "m{a=\"1\"} 3\nm{a=\"2\"} 4\n", 2).unwrap();
    let r = reason(put(&store, "job/j", "m{a=\"1\"} 5\nm{a=\"1\"} 6\n", 3));
    assert!(matches!(r, Inconsistency::DuplicateSeries { .. }), "{r:?}");
    assert_eq!(
        samples(&store),
        [
            "m{a=\"1\",instance=\"\",job=\"j\"} 3",
            "m{a=\"2\",instance=\"\",job=\"j\"} 4"
        ]
    );
    // Unchecked, a family with a repeated series is stored with its problem, and pushing
    // the same label sets again keeps the problem: the scrape fails until it is gone.
    let store = unchecked();
    let twice = "m{a=\"1\"} 1\nm{a=\"1\"} 2\n";
    let problems = |store: &Store| {
        let err = store
            .render(ScrapeFormat::Text, &mut Vec::new())
            .unwrap_err();
        err.to_string()
    };
    put(&store, "job/j", twice, 1).unwrap();
    let first = problems(&store);
    assert!(
        first.contains("with the same name and label values"),
        "{first}"
    );
    put(&store, "job/j", twice, 2).unwrap();
    assert_eq!(problems(&store), first);
    put(&store, "job/j", "m{a=\"1\"} 1\nm{a=\"2\"} 2\n", 3).unwrap();
    assert!(store.render(ScrapeFormat::Text, &mut Vec::new()).is_ok());
}

#[test]
fn job_and_job_with_empty_instance_clash_on_their_timestamps() {
    let store = checked();
    put(&store, "job/l", "a 1\n", 1).unwrap();
    let r = reason(put(&store, "job/l/instance@base64/=", "b 1\n", 2));
    assert!(matches!(r, Inconsistency::DuplicateSeries { .. }), "{r:?}");
    // The clashing group is not created: its timestamps would make every scrape fail.
    assert_eq!(store.group_count(), 1);
    assert_eq!(samples(&store), ["a{instance=\"\",job=\"l\"} 1"]);
}

#[test]
fn a_refused_first_push_does_not_create_a_group_its_timestamps_would_break() {
    // Under UTF-8 names `U______n` in a URL reads as `__n`, a reserved name: every series
    // of the push, and the group's timestamp gauges, would carry it.
    let store = Store::new(StoreConfig {
        name_scheme: NameScheme::Utf8,
        ..StoreConfig::default()
    });
    let key = GroupingKey::from_path(b"job/j/U______n/v", NameScheme::Utf8).unwrap();
    let pushed = cairn::parse_text(b"m 1\n", NameScheme::Utf8).unwrap();
    let r = reason(store.push(key, PushMode::Replace, pushed, at(1)));
    assert!(matches!(r, Inconsistency::InvalidLabelName { .. }), "{r:?}");
    assert_eq!(store.group_count(), 0);
    // Nor does a push with no families of its own, which has nothing else to refuse.
    let key = GroupingKey::from_path(b"job/j/U______n/v", NameScheme::Utf8).unwrap();
    let r = reason(store.push(key, PushMode::Replace, Vec::new(), at(2)));
    assert!(matches!(r, Inconsistency::InvalidLabelName { .. }), "{r:?}");
    assert_eq!(store.group_count(), 0);
    put(&store, "job/ok", "m 1\n", 2).unwrap();
    assert_eq!(samples(&store), ["m{instance=\"\",job=\"ok\"} 1"]);
}

#[test]
fn summary_suffix_names_collide_in_either_order() {
    let store = checked();
    put(&store, "job/a", "# TYPE s summary\ns_sum 1\ns_count 1\n", 1).unwrap();
    let r = reason(put(&store, "job/b", "s_count 3\n", 2));
    assert!(matches!(r, Inconsistency::SuffixCollision { .. }), "{r:?}");
    assert_eq!(
        r.to_string(),
        "collected metric named \"s_count\" collides with previously collected summary named \"s\""
    );
    let store = checked();
    put(&store, "job/a", "h_bucket 3\n", 1).unwrap();
    let r = reason(put(
        &store,
        "job/b",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        2,
    ));
    assert!(matches!(r, Inconsistency::SuffixCollision { .. }), "{r:?}");
}

#[test]
fn summary_does_not_claim_the_bucket_suffix() {
    let store = checked();
    put(&store, "job/a", "# TYPE s summary\ns_sum 1\ns_count 1\n", 1).unwrap();
    put(&store, "job/b", "s_bucket 3\n", 2).unwrap();
}

#[test]
fn merge_checks_collisions_with_families_the_group_keeps() {
    let store = checked();
    post(&store, "job/a", "x_count 1\n", 1).unwrap();
    reason(post(
        &store,
        "job/a",
        "# TYPE x summary\nx_sum 1\nx_count 1\n",
        2,
    ));
    // A replace drops x_count, so the same summary is then fine.
    put(&store, "job/a", "# TYPE x summary\nx_sum 1\nx_count 1\n", 3).unwrap();
}

#[test]
fn series_are_ordered_by_label_count_then_values() {
    let store = checked();
    put(&store, "job/j2", "m5 1\n", 1).unwrap();
    put(&store, "job/j/first@base64/=", "m5 2\n", 2).unwrap();
    put(
        &store,
        "job/j/path/%2Fvar%2Ftmp".replace("%2F", "@").as_str(),
        "m5 3\n",
        3,
    )
    .unwrap();
    assert_eq!(
        samples(&store),
        [
            "m5{instance=\"\",job=\"j2\"} 1",
            "m5{first=\"\",instance=\"\",job=\"j\"} 2",
            "m5{instance=\"\",job=\"j\",path=\"@var@tmp\"} 3",
        ]
    );
}

#[test]
fn invalid_label_names_from_protobuf_are_rejected() {
    let store = checked();
    let family = MetricFamily {
        name: "m".into(),
        help: None,
        metric_type: MetricType::Gauge,
        unit: None,
        metrics: vec![Metric {
            labels: vec![Label::new("a.b", "v")],
            value: Value::Gauge(1.0),
            timestamp_ms: None,
        }],
    };
    let r = reason(store.push(key("job/j"), PushMode::Replace, vec![family.clone()], at(1)));
    assert!(matches!(r, Inconsistency::InvalidLabelName { .. }), "{r:?}");
    let utf8 = Store::new(StoreConfig {
        name_scheme: NameScheme::Utf8,
        ..StoreConfig::default()
    });
    utf8.push(key("job/j"), PushMode::Replace, vec![family], at(1))
        .unwrap();
}

#[test]
fn summary_with_quantile_label_is_rejected() {
    let store = checked();
    let family = MetricFamily {
        name: "s".into(),
        help: None,
        metric_type: MetricType::Summary,
        unit: None,
        metrics: vec![Metric {
            labels: vec![Label::new("quantile", "0.5")],
            value: Value::Summary(Box::default()),
            timestamp_ms: None,
        }],
    };
    let r = reason(store.push(key("job/j"), PushMode::Replace, vec![family], at(1)));
    assert!(matches!(r, Inconsistency::QuantileLabel { .. }), "{r:?}");
}

#[test]
fn value_of_another_type_is_rejected() {
    let store = checked();
    let family = MetricFamily {
        name: "go_goroutines".into(),
        help: None,
        metric_type: MetricType::Counter,
        unit: None,
        metrics: vec![Metric {
            labels: vec![],
            value: Value::Gauge(1.0),
            timestamp_ms: None,
        }],
    };
    let r = reason(store.push(key("job/j"), PushMode::Replace, vec![family], at(1)));
    assert_eq!(
        r.to_string(),
        "collected metric \"go_goroutines\" {instance=\"\",job=\"j\"} is not a COUNTER"
    );
}

#[test]
fn unchecked_mode_stores_conflicts_and_scrapes_fail_until_deleted() {
    let store = unchecked();
    put(&store, "job/a", "# TYPE m gauge\nm 1\n", 1).unwrap();
    put(&store, "job/b", "# TYPE m counter\nm 1\n", 2).unwrap();
    put(&store, "job/c", "d{instance=\"x\"} 1\n", 3).unwrap();
    put(&store, "job/c/instance/x", "d 1\n", 4).unwrap();
    let mut out = Vec::new();
    let err = store.render(ScrapeFormat::Text, &mut out).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
    assert!(err.to_string().starts_with("2 error(s) occurred:\n* "));
    store.delete(&key("job/b")).unwrap();
    store.delete(&key("job/c")).unwrap();
    assert!(store.render(ScrapeFormat::Text, &mut Vec::new()).is_ok());
}

#[test]
fn wipe_removes_every_group() {
    let store = checked();
    for job in ["a", "b", "c"] {
        put(
            &store,
            &format!("job/{job}"),
            "m 1\n".replace('m', job).as_str(),
            1,
        )
        .unwrap();
    }
    assert_eq!(store.wipe().unwrap(), 3);
    assert_eq!(scrape(&store), "");
    put(&store, "job/a", "a 1\n", 2).unwrap();
    assert_eq!(store.series_count(), 3);
}

#[test]
fn readers_keep_a_consistent_view_across_later_pushes() {
    let store = checked();
    put(&store, "job/j", "a 1\n", 1).unwrap();
    let before = store.groups();
    put(&store, "job/j", "b 2\n", 2).unwrap();
    assert!(before[0].family("a").is_some());
    assert!(store.group(&key("job/j")).unwrap().family("a").is_none());
}

#[test]
fn families_with_empty_help_and_no_help_render_as_the_reference_does() {
    let store = checked();
    let mut fams = families("m 1\n");
    fams[0].help = Some(String::new());
    store
        .push(key("job/j"), PushMode::Replace, fams, at(1))
        .unwrap();
    assert!(scrape(&store).contains("# HELP m \n# TYPE m untyped\n"));
}

/// The reference's TestAddDeletePersistRestore, minus persistence: a sequence of pushes
/// and deletes over several groups.
#[test]
fn add_and_delete_sequence_of_the_reference() {
    let store = checked();
    put(
        &store,
        "job/job1/instance/instance1",
        "# TYPE mf3 untyped\nmf3{instance=\"instance1\"} 42\n",
        1,
    )
    .unwrap();
    post(
        &store,
        "job/job1/instance/instance2",
        "mf1{instance=\"instance2\"} -3e3\n# TYPE mf2 gauge\nmf2 42\n",
        2,
    )
    .unwrap();
    assert_eq!(
        scrape(&store)
            .lines()
            .filter(|l| l.starts_with("push_time_seconds{"))
            .count(),
        2
    );
    post(
        &store,
        "job/job1/instance/instance1",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        3,
    )
    .unwrap();
    assert!(
        store
            .group(&key("job/job1/instance/instance1"))
            .unwrap()
            .family("mf3")
            .is_some()
    );
    post(
        &store,
        "job/job1/instance/instance2",
        "mf1{instance=\"instance2\"} 1\n",
        4,
    )
    .unwrap();
    let g = store.group(&key("job/job1/instance/instance2")).unwrap();
    assert_eq!(g.family("mf1").unwrap().pushed_at(), at(4));
    assert!(g.family("mf2").is_some());
    put(
        &store,
        "job/job5",
        "# TYPE s summary\ns_sum 0\ns_count 0\n",
        5,
    )
    .unwrap();
    store.delete(&key("job/job1/instance/instance1")).unwrap();
    store.delete(&key("job/job5")).unwrap();
    put(&store, "job/job3/instance/instance2", "mf4 1\n", 6).unwrap();
    assert!(!store.delete(&key("job/job1")).unwrap());
    store.delete(&key("job/job3/instance/instance2")).unwrap();
    assert_eq!(store.group_count(), 1);
    assert_eq!(
        samples(&store),
        [
            "mf1{instance=\"instance2\",job=\"job1\"} 1",
            "mf2{instance=\"instance2\",job=\"job1\"} 42"
        ]
    );
}

#[test]
fn group_view_lists_families_with_push_times() {
    let store = checked();
    put(&store, "job/j", "a 1\n", 7).unwrap();
    let group = store.group(&key("job/j")).unwrap();
    assert_eq!(
        group.key(),
        &GroupingKey::new([("job".into(), "j".into())], NameScheme::Legacy).unwrap()
    );
    for family in group.families() {
        assert_eq!(family.pushed_at(), at(7));
    }
    assert!(SystemTime::now() > at(7));
}

/// The reference's TestReplace: a failed push never touches families, on PUT either.
#[test]
fn replace_sequence_of_the_reference() {
    let store = checked();
    reason(put(&store, "job/j", "a 1 1000\n", 1));
    let group = store.group(&key("job/j")).unwrap();
    assert_eq!(
        (group.push_time_seconds(), group.push_failure_time_seconds()),
        (Some(0.0), Some(1.0))
    );
    put(&store, "job/j", "mf1 1\n", 2).unwrap();
    let group = store.group(&key("job/j")).unwrap();
    assert_eq!(
        (group.push_time_seconds(), group.push_failure_time_seconds()),
        (Some(2.0), Some(1.0))
    );
    put(&store, "job/j", "mf2 2\n", 3).unwrap();
    assert_eq!(samples(&store), ["mf2{instance=\"\",job=\"j\"} 2"]);
    reason(put(&store, "job/j", "mf3 3 1000\n", 4));
    let group = store.group(&key("job/j")).unwrap();
    assert_eq!(
        (group.push_time_seconds(), group.push_failure_time_seconds()),
        (Some(3.0), Some(4.0))
    );
    assert_eq!(samples(&store), ["mf2{instance=\"\",job=\"j\"} 2"]);
    put(&store, "job/j", "", 5).unwrap();
    assert_eq!(samples(&store), Vec::<String>::new());
    assert_eq!(store.group(&key("job/j")).unwrap().families().count(), 2);
}

#[test]
fn protobuf_and_openmetrics_scrapes_hold_the_same_series() {
    let store = checked();
    put(&store, "job/b", "# TYPE m_total counter\nm_total 2\n", 1).unwrap();
    put(&store, "job/a", "# TYPE m_total counter\nm_total 1\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", 2).unwrap();
    let mut proto = Vec::new();
    store.render(ScrapeFormat::Protobuf, &mut proto).unwrap();
    let decoded =
        cairn_expfmt::decode_delimited(&proto, &cairn_expfmt::ProtoLimits::default()).unwrap();
    let names: Vec<_> = decoded
        .iter()
        .map(|f| (f.name.as_str(), f.metrics.len()))
        .collect();
    assert_eq!(
        names,
        [
            ("h", 1),
            ("m_total", 2),
            ("push_failure_time_seconds", 2),
            ("push_time_seconds", 2)
        ]
    );
    let mut om = Vec::new();
    store.render(ScrapeFormat::OpenMetrics, &mut om).unwrap();
    let om = String::from_utf8(om).unwrap();
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(
        om.contains("# TYPE m counter\nm_total{instance=\"\",job=\"a\"} 1.0\n"),
        "{om}"
    );
    assert!(
        om.contains("h_bucket{instance=\"\",job=\"a\",le=\"+Inf\"} 1\n"),
        "{om}"
    );
}

/// A summary (kept as a protobuf message) whose series have as many labels as the push
/// limit allows holds two more once sanitised (`job`, `instance`). It reads back whole,
/// and a duplicate of one of its series is reported with the series' labels, in checked
/// mode and in an unchecked store's scrape.
#[test]
fn a_family_at_the_label_limit_reads_back_and_reports_its_duplicates() {
    let most = cairn::PushLimits::default().labels_per_series_max;
    let labels: Vec<String> = (0..most - 1).map(|i| format!("l{i}=\"a\"")).collect();
    let labels = labels.join(",");
    let body = format!("# TYPE m summary\nm_sum{{{labels}}} 1\nm_count{{{labels}}} 2\n");
    let expected: Vec<Label> = {
        let mut l: Vec<Label> = (0..most - 1)
            .map(|i| Label::new(format!("l{i}"), "a"))
            .collect();
        l.extend([Label::new("instance", ""), Label::new("job", "j")]);
        l.sort_by(|a, b| a.name.cmp(&b.name));
        l
    };
    let store = checked();
    put(&store, "job/j", &body, 1).unwrap();
    let group = &store.groups()[0];
    let summary = group.families().find(|f| f.name() == "m").unwrap().family();
    assert_eq!(summary.metrics.len(), 1);
    assert_eq!(summary.metrics[0].labels, expected);
    // The same label set from another group: job/j/l0/a sets l0 to what it is.
    match reason(put(&store, "job/j/l0/a", &body, 2)) {
        Inconsistency::DuplicateSeries { labels, .. } => assert_eq!(labels, expected),
        other => panic!("expected a duplicate series, got {other:?}"),
    }

    let store = unchecked();
    put(&store, "job/j", &body, 1).unwrap();
    put(&store, "job/j/l0/a", &body, 2).unwrap();
    let mut out = Vec::new();
    let problems = store
        .render(ScrapeFormat::Text, &mut out)
        .unwrap_err()
        .problems;
    assert!(
        problems.iter().any(|p| matches!(
            p,
            Inconsistency::DuplicateSeries { labels, .. } if *labels == expected
        )),
        "{problems:?}"
    );
}

//! Tests of the import against files the reference Pushgateway wrote
//! (`tests/data/persist/reference/`, made by `scripts/make-reference-persist-fixtures.sh`),
//! and against damaged and random input.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use cairn_expfmt::{Metric, MetricFamily, MetricType, Value as Sample};
use proptest::prelude::*;

use super::*;

const FIXTURES: [&str; 3] = ["empty", "types", "groups"];

fn data_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/persist/reference")
        .join(file)
}

fn read(file: &str) -> Vec<u8> {
    let path = data_path(file);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn read_text(file: &str) -> String {
    String::from_utf8(read(file)).unwrap()
}

/// What the reference's `/metrics` shows of `groups`: families merged by name in name
/// order, series in the order of Go's `metricSorter` (fewer labels first, then label values
/// in label name order), families without series left out.
fn exposition(groups: &[ReferenceGroup]) -> String {
    let mut merged: BTreeMap<&str, MetricFamily> = BTreeMap::new();
    for family in groups.iter().flat_map(|group| &group.families) {
        let family = &family.family;
        merged
            .entry(&family.name)
            .or_insert_with(|| MetricFamily {
                metrics: Vec::new(),
                ..family.clone()
            })
            .metrics
            .extend(family.metrics.iter().cloned());
    }
    let mut out = Vec::new();
    for family in merged.values_mut() {
        family.metrics.sort_by(go_metric_order);
        cairn_expfmt::encode_text(&mut out, family);
    }
    String::from_utf8(out).unwrap()
}

fn go_metric_order(a: &Metric, b: &Metric) -> Ordering {
    a.labels.len().cmp(&b.labels.len()).then_with(|| {
        let values = |metric: &Metric| -> Vec<String> {
            metric
                .labels
                .iter()
                .map(|label| label.value.clone())
                .collect()
        };
        values(a).cmp(&values(b))
    })
}

/// The fixture's `.timestamps` lines for `groups` (see the script for the format).
fn timestamp_lines(groups: &[ReferenceGroup]) -> String {
    let mut lines = Vec::new();
    for group in groups {
        let labels: Vec<String> = group
            .labels
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let labels = labels.join(",");
        for family in &group.families {
            let since_epoch = family
                .pushed_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap();
            let stamp = format!(
                "{}.{:09}",
                since_epoch.as_secs(),
                since_epoch.subsec_nanos()
            );
            lines.push((labels.clone(), family.family.name.clone(), stamp));
        }
    }
    lines.sort();
    lines
        .iter()
        .map(|(labels, family, stamp)| format!("{stamp}\t{family}\t{labels}\n"))
        .collect()
}

#[test]
fn reference_files_decode_to_what_the_reference_served() {
    for name in FIXTURES {
        let bytes = read(&format!("{name}.gob"));
        assert!(looks_like_reference_file(&bytes), "{name}");
        let groups =
            decode_reference_file(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(
            exposition(&groups),
            read_text(&format!("{name}.prom")),
            "{name}"
        );
        assert_eq!(
            timestamp_lines(&groups),
            read_text(&format!("{name}.timestamps")),
            "{name}"
        );
    }
}

#[test]
fn reference_groups_keep_their_grouping_labels_and_timestamp_families() {
    let groups = decode_reference_file(&read("groups.gob")).unwrap();
    let labels: Vec<Vec<(&str, &str)>> = groups
        .iter()
        .map(|group| {
            group
                .labels
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect()
        })
        .collect();
    assert_eq!(
        labels,
        [
            vec![("instance", ""), ("job", "batch")],
            vec![("instance", "db1"), ("job", "nightly/backup")],
            vec![("instance", "i1"), ("job", "batch"), ("zone", "eu-west")],
            vec![("job", "failing")],
            vec![("job", "merged")],
            vec![("job", "never_ok")],
        ]
    );
    let family = |group: usize, name: &str| -> &ReferenceFamily {
        groups[group]
            .families
            .iter()
            .find(|family| family.family.name == name)
            .unwrap()
    };
    let gauge = |family: &ReferenceFamily| match family.family.metrics[..] {
        [
            Metric {
                value: Sample::Gauge(value),
                ..
            },
        ] => value,
        _ => panic!("{family:?}"),
    };
    // The failed push to an existing group set its failure time after its push time.
    let failing_push = gauge(family(3, "push_time_seconds"));
    let failing_failure = gauge(family(3, "push_failure_time_seconds"));
    assert!(failing_failure > failing_push + 1.0, "{failing_failure}");
    // The gauge is the family's time as float seconds, within a float's precision.
    let failure_pushed_at = family(3, "push_failure_time_seconds")
        .pushed_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    assert!((failure_pushed_at.as_secs_f64() - failing_failure).abs() < 1e-6);
    // The failed first push made a group with push time 0.
    assert_eq!(gauge(family(5, "push_time_seconds")), 0.0);
    // The POST kept merged_a from the PUT, with the PUT's time.
    assert!(family(4, "merged_a").pushed_at < family(4, "merged_b").pushed_at);
    assert_eq!(
        family(4, "merged_b").pushed_at,
        family(4, "merged_c").pushed_at
    );
    assert_eq!(
        family(4, "merged_c").family.metric_type,
        MetricType::Untyped
    );
}

#[test]
fn reshaped_files_decode_by_field_name() {
    // Written by scripts/reshaped-persist-fixture.go: extra and reordered fields, a nil
    // payload, an omitted zero Timestamp and a zone offset with seconds.
    let bytes = read("reshaped.gob");
    assert!(looks_like_reference_file(&bytes));
    let groups = decode_reference_file(&bytes).unwrap();
    assert_eq!(groups.len(), 2);

    let second = &groups[0];
    assert_eq!(
        second.labels,
        [
            ("instance".into(), "".into()),
            ("job".into(), "second".into())
        ]
    );
    assert_eq!(second.families.len(), 1);
    assert_eq!(
        second.families[0].pushed_at,
        SystemTime::UNIX_EPOCH + Duration::new(1, 5)
    );

    let reshaped = &groups[1];
    assert_eq!(reshaped.labels, [("job".into(), "reshaped".into())]);
    let names: Vec<&str> = reshaped
        .families
        .iter()
        .map(|family| family.family.name.as_str())
        .collect();
    assert_eq!(names, ["early", "up"], "the nil family \"gone\" is skipped");
    // Zero time.Time: January 1 of year 1, UTC.
    assert_eq!(
        reshaped.families[0].pushed_at,
        SystemTime::UNIX_EPOCH - Duration::from_secs(62_135_596_800)
    );
    // 2024-02-29T13:14:15.123456789 at +01:00:30 (13:14:15Z is 1709212455).
    assert_eq!(
        reshaped.families[1].pushed_at,
        SystemTime::UNIX_EPOCH + Duration::new(1_709_212_455 - 3630, 123_456_789)
    );
    let mut text = Vec::new();
    cairn_expfmt::encode_text(&mut text, &reshaped.families[1].family);
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "# HELP up Whether it is up.\n# TYPE up gauge\nup{instance=\"\",job=\"reshaped\"} 1\n"
    );
}

#[test]
fn every_truncation_of_a_reference_file_is_an_error() {
    for name in ["groups.gob", "reshaped.gob"] {
        let bytes = read(name);
        for length in 0..bytes.len() {
            let result = decode_reference_file(&bytes[..length]);
            assert!(result.is_err(), "{name} cut at {length} decoded");
        }
    }
}

#[test]
fn every_bit_flip_in_a_reference_file_is_survived() {
    let bytes = read("types.gob");
    // Debug output compares NaN values as equal, which `==` does not.
    let expected = format!("{:?}", decode_reference_file(&bytes).unwrap());
    let mut outcomes = [0usize; 3];
    let mut flipped = bytes.clone();
    for index in 0..bytes.len() {
        for bit in 0..8 {
            flipped[index] ^= 1 << bit;
            let outcome = match decode_reference_file(&flipped) {
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                    0
                }
                Ok(groups) if format!("{groups:?}") == expected => 1,
                Ok(_) => 2,
            };
            outcomes[outcome] += 1;
            flipped[index] ^= 1 << bit;
        }
    }
    // Each kind of outcome happens: an error (a broken structure), the same result (a flip
    // in a name the import does not use, such as a type name or the grouping key string)
    // and another result (a flip in a value; the file has no checksum).
    assert!(outcomes.iter().all(|&count| count > 0), "{outcomes:?}");
}

#[test]
fn wrong_shapes_name_the_type_and_field() {
    let bytes = read("types.gob");
    let renamed = |from: &[u8], to: &[u8]| -> Vec<u8> {
        let at = bytes
            .windows(from.len())
            .position(|window| window == from)
            .unwrap();
        let mut changed = bytes.clone();
        changed[at..at + to.len()].copy_from_slice(to);
        changed
    };
    let error = decode_reference_file(&renamed(b"\x06Labels", b"\x06Lxbels")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "gob: type MetricGroup missing field Labels"
    );
    let error = decode_reference_file(&renamed(b"\x09Timestamp", b"\x09Timestamq")).unwrap_err();
    assert_eq!(
        error,
        ImportError::MissingField {
            type_name: "TimestampedMetricFamily".into(),
            field: "Timestamp"
        }
    );

    // The doc.go example, a struct Point{X, Y int}, is gob but not a persistence file.
    let point = [
        0x1f, 0xff, 0x81, 0x03, 0x01, 0x01, 0x05, 0x50, 0x6f, 0x69, 0x6e, 0x74, 0x01, 0xff, 0x82,
        0x00, 0x01, 0x02, 0x01, 0x01, 0x58, 0x01, 0x04, 0x00, 0x01, 0x01, 0x59, 0x01, 0x04, 0x00,
        0x00, 0x00, 0x07, 0xff, 0x82, 0x01, 0x2c, 0x01, 0x42, 0x00,
    ];
    assert!(!looks_like_reference_file(&point));
    let error = decode_reference_file(&point).unwrap_err();
    assert_eq!(
        error.to_string(),
        "gob: the file's value has type Point, expected a map"
    );
}

#[test]
fn truncated_input_names_the_byte() {
    let bytes = read("types.gob");
    let error = decode_reference_file(&bytes[..bytes.len() - 1]).unwrap_err();
    assert!(
        matches!(
            error,
            ImportError::UnexpectedEnd { .. } | ImportError::LengthBeyondInput { .. }
        ),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("gob: "), "{error}");
    assert_eq!(
        decode_reference_file(&[]).unwrap_err().to_string(),
        "gob: no value after 0 type definitions"
    );
    assert_eq!(
        decode_reference_file(&[0x05, 0xff])
            .unwrap_err()
            .to_string(),
        "gob: length 5 at byte 0 exceeds the 1 bytes left"
    );
}

#[test]
fn other_formats_do_not_look_like_reference_files() {
    for bytes in [
        &b""[..],
        b"\x29",
        b"# TYPE x counter\nx 1\n",
        b"CAIRN\x00\x01GobbableMetricFamily",
        &[0x29, 0xff, 0x8d, 0x04, 0x01][..],
    ] {
        assert!(!looks_like_reference_file(bytes), "{bytes:?}");
    }
}

#[test]
fn go_time_binary_versions_decode() {
    // Version 1: 1970-01-01T00:00:01.000000005Z, offset -1 (UTC).
    let mut v1 = vec![1];
    v1.extend(62_135_596_801i64.to_be_bytes());
    v1.extend(5i32.to_be_bytes());
    v1.extend((-1i16).to_be_bytes());
    assert_eq!(
        time_from_binary(&v1),
        Ok(SystemTime::UNIX_EPOCH + Duration::new(1, 5))
    );
    // Version 2 adds the offset's seconds; the zone never moves the instant.
    let mut v2 = v1.clone();
    v2[0] = 2;
    v2[13..15].copy_from_slice(&60i16.to_be_bytes());
    v2.push(30);
    assert_eq!(time_from_binary(&v2), time_from_binary(&v1));
    // Before 1970.
    let mut early = v1.clone();
    early[1..9].copy_from_slice(&(62_135_596_800i64 - 10).to_be_bytes());
    assert_eq!(
        time_from_binary(&early),
        Ok(SystemTime::UNIX_EPOCH - Duration::from_secs(10) + Duration::from_nanos(5))
    );

    assert_eq!(time_from_binary(&[]), Err("no data"));
    assert_eq!(
        time_from_binary(&v1[..14]),
        Err("invalid length for its version")
    );
    assert_eq!(
        time_from_binary(&v2[..15]),
        Err("invalid length for its version")
    );
    let mut v3 = v1.clone();
    v3[0] = 3;
    assert_eq!(time_from_binary(&v3), Err("unsupported version"));
    let mut bad_nanos = v1.clone();
    bad_nanos[9..13].copy_from_slice(&1_000_000_000i32.to_be_bytes());
    assert_eq!(
        time_from_binary(&bad_nanos),
        Err("nanoseconds out of range")
    );
    let mut huge = v1;
    huge[1..9].copy_from_slice(&i64::MIN.to_be_bytes());
    assert!(time_from_binary(&huge).is_err());
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = looks_like_reference_file(&bytes);
        let _ = decode_reference_file(&bytes);
    }

    #[test]
    fn random_damage_to_a_reference_file_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = read("groups.gob");
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let cut = cut.index(bytes.len() + 1);
        if let Err(error) = decode_reference_file(&bytes[..cut]) {
            prop_assert!(!error.to_string().is_empty());
        }
    }
}

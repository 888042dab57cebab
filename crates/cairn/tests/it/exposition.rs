//! An exposition taken from the store stays as it was while pushes and deletes go on, and
//! writing it in pieces gives the same bytes as writing it whole.

use std::convert::Infallible;

use cairn::{Consistency, ScrapeFormat, Store, StoreConfig};

use crate::support::{key, put, scrape};

/// A push body of `n` series of one gauge, valued `value`, with label sets that interleave
/// with every other group's in exposition order.
fn body(n: usize, value: u64) -> String {
    let mut text = String::from("# TYPE g gauge\n");
    for i in 0..n {
        text.push_str(&format!("g{{idx=\"{i}\"}} {value}\n"));
    }
    text
}

fn written(store: &Store, format: ScrapeFormat) -> Vec<u8> {
    let mut out = Vec::new();
    store.exposition(&[]).unwrap().write(format, &mut out);
    out
}

#[test]
fn an_exposition_keeps_what_it_saw_while_the_store_changes() {
    for consistency in [Consistency::Checked, Consistency::Unchecked] {
        let store = Store::new(StoreConfig {
            consistency,
            ..StoreConfig::default()
        });
        // 40 groups x 300 series: one name over many pages and order chunks.
        for g in 0..40 {
            put(&store, &format!("job/j/instance/i{g}"), &body(300, 1), 1).unwrap();
        }
        let before = scrape(&store);
        let exposition = store.exposition(&[]).unwrap();
        // Re-pushes (slots change), new label sets (the order changes), deletes (slots
        // are freed and reused), and a new family name.
        for g in 0..40 {
            let tail = format!("job/j/instance/i{g}");
            match g % 4 {
                0 => put(&store, &tail, &body(300, 2), 2).unwrap(),
                1 => put(&store, &tail, &body(600, 3), 3).unwrap(),
                2 => assert!(store.delete(&key(&tail)).unwrap()),
                _ => put(&store, &tail, "# TYPE h counter\nh 1\n", 4).unwrap(),
            }
        }
        put(&store, "job/new", &body(50, 5), 5).unwrap();
        let after = scrape(&store);
        assert_ne!(before, after);
        let mut seen = Vec::new();
        exposition.write(ScrapeFormat::Text, &mut seen);
        assert_eq!(String::from_utf8(seen).unwrap(), before, "{consistency:?}");
        drop(exposition);
        assert_eq!(scrape(&store), after, "{consistency:?}");
    }
}

#[test]
fn writing_in_pieces_gives_the_same_bytes_as_writing_whole() {
    let store = Store::default();
    for g in 0..30 {
        put(&store, &format!("job/j/instance/i{g}"), &body(100, g), 1).unwrap();
        put(
            &store,
            &format!("job/k/instance/i{g}"),
            "# TYPE s summary\ns_sum 1\ns_count 2\n",
            1,
        )
        .unwrap();
    }
    for format in [
        ScrapeFormat::Text,
        ScrapeFormat::OpenMetrics,
        ScrapeFormat::Protobuf,
    ] {
        let whole = written(&store, format);
        let exposition = store.exposition(&[]).unwrap();
        for chunk_len in [1, 100, 4096] {
            let mut pieces = Vec::new();
            let mut emitted = 0;
            let mut buf = Vec::new();
            let Ok(()) = exposition.write_chunked(format, &mut buf, chunk_len, |b| {
                assert!(b.len() >= chunk_len);
                emitted += 1;
                pieces.append(b);
                Ok::<(), Infallible>(())
            });
            pieces.append(&mut buf);
            assert_eq!(pieces, whole, "{format:?} in pieces of {chunk_len}");
            assert!(
                emitted > 1,
                "{format:?} in pieces of {chunk_len}: {emitted}"
            );
        }
    }
}

#[test]
fn an_error_from_emit_stops_the_writing() {
    let store = Store::default();
    put(&store, "job/j", &body(1000, 1), 1).unwrap();
    let exposition = store.exposition(&[]).unwrap();
    let mut calls = 0;
    let mut buf = Vec::new();
    let result = exposition.write_chunked(ScrapeFormat::Text, &mut buf, 64, |b| {
        calls += 1;
        b.clear();
        Err("client gone")
    });
    assert_eq!(result, Err("client gone"));
    assert_eq!(calls, 1);
}

/// A store of 12 groups, group `g` pushed `text(g)`.
fn twelve_groups(text: impl Fn(usize) -> String) -> Store {
    let store = Store::default();
    for g in 0..12 {
        put(&store, &format!("job/j/instance/i{g}"), &text(g), 1).unwrap();
    }
    store
}

/// OpenMetrics is written series by series, and so is protobuf (checked against the model
/// below): both must show the same families.
#[test]
fn openmetrics_series_by_series_matches_the_model() {
    let store = twelve_groups(|g| {
        format!(
            "# HELP g A gauge.\n# TYPE g gauge\ng{{idx=\"{g}\",note=\"a b \\\" c\"}} {g}.25\n\
             # TYPE c_total counter\nc_total{{code=\"200\"}} {g}\nc_total{{code=\"500\"}} 1e+30\n\
             # TYPE u untyped\nu -0\n\
             # TYPE s summary\ns{{quantile=\"0.5\"}} {g}\ns_sum 3\ns_count 4\n\
             # TYPE h histogram\nh_bucket{{le=\"1\"}} {g}\nh_bucket{{le=\"+Inf\"}} 20\nh_sum 2\nh_count 20\n"
        )
    });
    let mut proto = Vec::new();
    store.render(ScrapeFormat::Protobuf, &mut proto).unwrap();
    let families = cairn_expfmt::decode_delimited(&proto, &Default::default()).unwrap();
    let mut expected = Vec::new();
    for family in &families {
        cairn_expfmt::encode_openmetrics(&mut expected, family);
    }
    cairn_expfmt::write_openmetrics_eof(&mut expected);
    let got = written(&store, ScrapeFormat::OpenMetrics);
    assert_eq!(
        String::from_utf8(got).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}

/// Protobuf is encoded series by series too: the messages are those the encoder writes for
/// the families they decode to, and those families are the text exposition's.
#[test]
fn protobuf_series_by_series_matches_the_model() {
    let store = twelve_groups(|g| {
        format!(
            "# HELP g A gauge.\n# TYPE g gauge\ng{{idx=\"{g}\"}} {g}.25\n\
             # TYPE c_total counter\nc_total{{code=\"200\"}} {g}\n\
             # TYPE s summary\ns{{quantile=\"0.5\"}} {g}\ns_sum 3\ns_count 4\n\
             # TYPE h histogram\nh_bucket{{le=\"1\"}} {g}\nh_bucket{{le=\"+Inf\"}} 20\nh_sum 2\nh_count 20\n"
        )
    });
    let proto = written(&store, ScrapeFormat::Protobuf);
    let families = cairn_expfmt::decode_delimited(&proto, &Default::default()).unwrap();
    assert_eq!(families.len(), 6);
    let mut reencoded = Vec::new();
    let mut text = Vec::new();
    for family in &families {
        cairn_expfmt::encode_delimited(&mut reencoded, family);
        cairn_expfmt::encode_text(&mut text, family);
    }
    assert_eq!(reencoded, proto);
    assert_eq!(String::from_utf8(text).unwrap(), scrape(&store));
}

//! Persistence: reopening gives back every acknowledged change; a crash or a failed write
//! at any step of the snapshot and log sequences leaves the old state or the new one;
//! unreadable files stop the open and stay untouched; committed fixtures keep loading.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn::persist::{CrashKeeps, FaultFs, OpenError, PersistOptions, Problem, Unreadable};
use cairn::{Consistency, GroupingKey, NameScheme, PushError, PushMode, Store, StoreConfig};
use proptest::prelude::*;

use crate::model::{KEYS, Op, op};
use crate::support::{at, families, key, post, put, scrape};

const FILE: &str = "/data/store.cairn";

fn options(fs: &FaultFs) -> PersistOptions {
    PersistOptions {
        path: PathBuf::from(FILE),
        fs: Arc::new(fs.clone()),
        unreadable: Unreadable::Refuse,
    }
}

fn open(fs: &FaultFs) -> Store {
    Store::open(StoreConfig::default(), options(fs)).unwrap().0
}

fn path(suffix: &str) -> PathBuf {
    PathBuf::from(format!("{FILE}{suffix}"))
}

/// The log's header and records, without the zeroed space written ahead of them.
fn log_records(fs: &FaultFs) -> Vec<u8> {
    let mut log = fs.contents(&path(".wal")).unwrap();
    let end = log.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    log.truncate(end);
    log
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Put(&'static str, &'static str),
    Post(&'static str, &'static str),
    Delete(&'static str),
    Wipe,
    Snapshot,
}

const HISTOGRAM: &str =
    "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";

const SCENARIO: &[Step] = &[
    Step::Put("job/a", "# HELP m help\n# TYPE m counter\nm{x=\"1\"} 1\n"),
    Step::Post("job/a/instance/i", "# TYPE g gauge\ng 2\n"),
    // Rejected: `m` is a counter already. Only the failure time changes.
    Step::Put("job/b", "# TYPE m gauge\nm 1\n"),
    Step::Snapshot,
    Step::Post("job/a", HISTOGRAM),
    Step::Delete("job/a/instance/i"),
    Step::Put(
        "job@base64/Yi9j",
        "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
    ),
    Step::Snapshot,
    Step::Post("job/a", "# TYPE g2 gauge\ng2 -1.5e-7\n"),
    Step::Wipe,
    Step::Put("job/c", "m 5\n"),
    Step::Snapshot,
    Step::Put("job/c", "m 6\n"),
    Step::Post("job/d/instance@base64/=", "u NaN\n"),
];

/// Runs `steps` until one fails. Returns the scrape after each step (the first entry is
/// the state before any) and the index of the first state that must survive: the state
/// after the last acknowledged change. A rejected push is acknowledged too, but its
/// failure time may or may not have reached the disk when the next step fails.
fn run(store: &Store, steps: &[Step]) -> (Vec<String>, usize) {
    let mut states = vec![scrape(store)];
    let mut must_survive = 0;
    for (i, step) in steps.iter().enumerate() {
        let t = i as u64 + 10;
        let outcome = match *step {
            Step::Put(k, text) => push_outcome(put(store, k, text, t)),
            Step::Post(k, text) => push_outcome(post(store, k, text, t)),
            Step::Delete(k) => store.delete(&key(k)).map(|_| true).map_err(drop),
            Step::Wipe => store.wipe().map(|_| true).map_err(drop),
            Step::Snapshot => store.snapshot().map(|_| false).map_err(drop),
        };
        states.push(scrape(store));
        match outcome {
            Ok(true) => must_survive = states.len() - 1,
            Ok(false) => {}
            Err(()) => break,
        }
    }
    (states, must_survive)
}

fn push_outcome(result: Result<(), PushError>) -> Result<bool, ()> {
    match result {
        Ok(()) => Ok(true),
        Err(PushError::Inconsistent(_)) => Ok(false),
        Err(_) => Err(()),
    }
}

#[test]
fn every_acknowledged_change_survives_a_crash_without_snapshot() {
    let fs = FaultFs::new();
    let store = open(&fs);
    let steps: Vec<Step> = SCENARIO
        .iter()
        .copied()
        .filter(|s| !matches!(s, Step::Snapshot))
        .collect();
    let (states, _) = run(&store, &steps);
    drop(store);
    fs.crash(CrashKeeps::Nothing);
    let (reopened, report) = Store::open(StoreConfig::default(), options(&fs)).unwrap();
    assert_eq!(scrape(&reopened), *states.last().unwrap());
    assert_eq!(report.snapshot_groups, 0);
    assert!(report.replayed_changes >= steps.len() - 1, "{report:?}");
}

#[test]
fn a_snapshot_folds_the_log_in() {
    let fs = FaultFs::new();
    let store = open(&fs);
    put(&store, "job/a", "m 1\n", 1).unwrap();
    post(&store, "job/b", "n 2\n", 2).unwrap();
    let log_before = fs.contents(&path(".wal")).unwrap().len();
    let info = store.snapshot().unwrap().expect("a snapshot was due");
    assert_eq!((info.lsn, info.groups), (2, 2));
    assert!(fs.contents(&path(".wal")).unwrap().len() < log_before);
    assert!(!fs.list().contains(&path(".wal.next")));
    assert!(store.snapshot().unwrap().is_none(), "nothing changed since");
    put(&store, "job/a", "m 3\n", 3).unwrap();
    let expected = scrape(&store);
    drop(store);
    fs.crash(CrashKeeps::Nothing);
    let (reopened, report) = Store::open(StoreConfig::default(), options(&fs)).unwrap();
    assert_eq!(scrape(&reopened), expected);
    assert_eq!((report.snapshot_groups, report.replayed_changes), (2, 1));
}

/// Counts the file operations the scenario makes after opening.
fn scenario_ops() -> u64 {
    let fs = FaultFs::new();
    let store = open(&fs);
    let before = fs.ops();
    run(&store, SCENARIO);
    fs.ops() - before
}

#[test]
fn a_crash_at_every_step_leaves_the_old_state_or_the_new() {
    let total = scenario_ops();
    assert!(total > 40, "the scenario makes {total} file operations");
    let mut checked = 0;
    for n in 0..=total {
        for keeps in [
            CrashKeeps::Nothing,
            CrashKeeps::Everything,
            CrashKeeps::TornTail(5),
            CrashKeeps::TornTail(61),
        ] {
            let fs = FaultFs::new();
            let store = open(&fs);
            fs.fail_from(n);
            let (states, must_survive) = run(&store, SCENARIO);
            drop(store);
            fs.crash(keeps);
            let (reopened, _) =
                Store::open(StoreConfig::default(), options(&fs)).unwrap_or_else(|e| {
                    panic!("reopen after a crash at operation {n} ({keeps:?}): {e}")
                });
            let got = scrape(&reopened);
            assert!(
                states[must_survive..].contains(&got),
                "crash at operation {n} ({keeps:?}): state after reopening is none of the \
                 allowed {} states:\n{got}",
                states.len() - must_survive
            );
            // The reopened store goes on logging, and that survives the next crash too.
            put(&reopened, "job/after", "after 1\n", 100).unwrap();
            let expected = scrape(&reopened);
            drop(reopened);
            fs.crash(CrashKeeps::Nothing);
            assert_eq!(scrape(&open(&fs)), expected, "second reopen after {n}");
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * (total + 1));
}

#[test]
fn a_failed_write_refuses_changes_until_a_snapshot_recovers() {
    let total = scenario_ops();
    for n in 0..total {
        let fs = FaultFs::new();
        let store = open(&fs);
        fs.fail_once(n);
        // Every step is retried after a snapshot, as the front end's timer would.
        for (i, step) in SCENARIO.iter().enumerate() {
            let t = i as u64 + 10;
            for attempt in 0..3 {
                let ok = match *step {
                    Step::Put(k, text) => push_outcome(put(&store, k, text, t)).is_ok(),
                    Step::Post(k, text) => push_outcome(post(&store, k, text, t)).is_ok(),
                    Step::Delete(k) => store.delete(&key(k)).is_ok(),
                    Step::Wipe => store.wipe().is_ok(),
                    Step::Snapshot => store.snapshot().is_ok(),
                };
                if ok {
                    break;
                }
                assert!(
                    attempt < 2,
                    "step {i} still fails after a snapshot (fault at {n})"
                );
                let stats = store.persist_stats().unwrap();
                assert!(stats.write_errors >= 1, "{stats:?}");
                store
                    .snapshot()
                    .unwrap_or_else(|e| panic!("recovery after fault {n}: {e}"));
            }
        }
        let expected = scrape(&store);
        assert!(store.persist_stats().unwrap().failing.is_none());
        drop(store);
        fs.crash(CrashKeeps::Nothing);
        assert_eq!(scrape(&open(&fs)), expected, "fault at operation {n}");
    }
}

#[test]
fn a_torn_log_tail_is_cut_and_the_log_continues() {
    let fs = FaultFs::new();
    let store = open(&fs);
    put(&store, "job/a", "m 1\n", 1).unwrap();
    let expected = scrape(&store);
    put(&store, "job/b", "n 1\n", 2).unwrap();
    drop(store);
    let log = log_records(&fs);
    for cut in 1..20 {
        let fs = FaultFs::new();
        fs.put(&path(".wal"), &log[..log.len() - cut]);
        let (store, report) = Store::open(StoreConfig::default(), options(&fs)).unwrap();
        assert_eq!(scrape(&store), expected, "cut {cut}");
        assert!(report.truncated_bytes > 0);
        put(&store, "job/c", "o 1\n", 3).unwrap();
        let expected_after = scrape(&store);
        drop(store);
        fs.crash(CrashKeeps::Nothing);
        assert_eq!(scrape(&open(&fs)), expected_after, "cut {cut}");
    }
}

#[test]
fn a_damaged_log_record_stops_replay_there() {
    let fs = FaultFs::new();
    let store = open(&fs);
    put(&store, "job/a", "m 1\n", 1).unwrap();
    let expected = scrape(&store);
    put(&store, "job/b", "n 1\n", 2).unwrap();
    put(&store, "job/c", "o 1\n", 3).unwrap();
    drop(store);
    let mut log = log_records(&fs);
    let first_record_end = {
        let fs2 = FaultFs::new();
        let s = open(&fs2);
        put(&s, "job/a", "m 1\n", 1).unwrap();
        log_records(&fs2).len()
    };
    log[first_record_end + 20] ^= 0x01;
    let fs = FaultFs::new();
    fs.put(&path(".wal"), &log);
    let (store, report) = Store::open(StoreConfig::default(), options(&fs)).unwrap();
    assert_eq!(scrape(&store), expected);
    assert_eq!(report.replayed_changes, 1);
    assert_eq!(
        report.truncated_bytes,
        (log.len() - first_record_end) as u64
    );
}

fn open_error(fs: &FaultFs) -> OpenError {
    match Store::open(StoreConfig::default(), options(fs)) {
        Ok(_) => panic!("opening should fail"),
        Err(e) => e,
    }
}

fn problem(fs: &FaultFs) -> (PathBuf, Problem) {
    match open_error(fs) {
        OpenError::Unreadable { path, problem } => (path, problem),
        other => panic!("expected an unreadable file, got {other}"),
    }
}

/// A snapshot of a small store, as bytes.
fn snapshot_bytes() -> Vec<u8> {
    let fs = FaultFs::new();
    let store = open(&fs);
    put(&store, "job/a", "m 1\n", 1).unwrap();
    store.snapshot().unwrap();
    fs.contents(Path::new(FILE)).unwrap()
}

#[test]
fn unreadable_snapshots_stop_the_open_and_stay_untouched() {
    let good = snapshot_bytes();
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    let mut version = good.clone();
    version[8] = 9;
    type Expected = fn(&Problem) -> bool;
    let cases: Vec<(&str, Vec<u8>, Expected)> = vec![
        ("garbage", b"hello, world\n".to_vec(), |p| {
            matches!(p, Problem::NotASnapshot)
        }),
        ("truncated", good[..good.len() - 3].to_vec(), |p| {
            matches!(p, Problem::Truncated { .. })
        }),
        ("header only", good[..10].to_vec(), |p| {
            matches!(p, Problem::Truncated { .. })
        }),
        ("bit flip", flipped, |p| {
            matches!(p, Problem::ChecksumMismatch { .. })
        }),
        ("version", version, |p| {
            matches!(p, Problem::UnsupportedVersion { version: 9 })
        }),
    ];
    for (name, bytes, expected) in cases {
        let fs = FaultFs::new();
        fs.put(Path::new(FILE), &bytes);
        let (at, problem) = problem(&fs);
        assert_eq!(at, PathBuf::from(FILE), "{name}");
        assert!(expected(&problem), "{name}: {problem}");
        assert_eq!(fs.contents(Path::new(FILE)).unwrap(), bytes, "{name}");
        assert_eq!(
            fs.list(),
            [PathBuf::from(FILE)],
            "{name}: files were created"
        );
        let message = OpenError::Unreadable { path: at, problem }.to_string();
        assert!(
            message.contains(FILE) && message.contains("untouched"),
            "{message}"
        );
    }
}

#[test]
fn a_stranger_log_file_stops_the_open() {
    let fs = FaultFs::new();
    fs.put(&path(".wal"), b"not a log at all");
    let (at, problem) = problem(&fs);
    assert_eq!((at, problem), (path(".wal"), Problem::NotALog));
    assert_eq!(fs.contents(&path(".wal")).unwrap(), b"not a log at all");
}

#[test]
fn a_log_without_its_snapshot_stops_the_open() {
    let fs = FaultFs::new();
    let store = open(&fs);
    put(&store, "job/a", "m 1\n", 1).unwrap();
    store.snapshot().unwrap();
    put(&store, "job/a", "m 2\n", 2).unwrap();
    drop(store);
    let log = fs.contents(&path(".wal")).unwrap();
    let fs = FaultFs::new();
    fs.put(&path(".wal"), &log);
    let (_, problem) = problem(&fs);
    assert_eq!(problem, Problem::MissingChanges { held: 0, next: 2 });
}

#[test]
fn starting_empty_on_purpose_sets_unreadable_files_aside() {
    let fs = FaultFs::new();
    fs.put(Path::new(FILE), b"garbage");
    fs.put(&path(".wal"), b"more garbage");
    let options = PersistOptions {
        unreadable: Unreadable::SetAsideAndStartEmpty,
        ..options(&fs)
    };
    let (store, report) = Store::open(StoreConfig::default(), options).unwrap();
    assert_eq!(store.group_count(), 0);
    assert_eq!(report.set_aside.len(), 2, "{report:?}");
    for (aside, _) in &report.set_aside {
        assert!(
            aside.to_string_lossy().contains(".unreadable-"),
            "{aside:?}"
        );
    }
    assert_eq!(
        fs.contents(&report.set_aside[0].0).unwrap(),
        b"garbage",
        "set aside, not changed"
    );
    put(&store, "job/a", "m 1\n", 1).unwrap();
    let expected = scrape(&store);
    drop(store);
    fs.crash(CrashKeeps::Nothing);
    assert_eq!(scrape(&open(&fs)), expected);
}

#[test]
fn the_real_file_system_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pushgateway.data");
    let store = Store::open(StoreConfig::default(), PersistOptions::new(&file))
        .unwrap()
        .0;
    assert!(store.is_persistent());
    put(&store, "job/a", HISTOGRAM, 1).unwrap();
    store.snapshot().unwrap();
    post(
        &store,
        "job/b/instance/x",
        "# TYPE c counter\nc_total 7\n",
        2,
    )
    .unwrap();
    let expected = scrape(&store);
    drop(store);
    let (store, report) = Store::open(StoreConfig::default(), PersistOptions::new(&file)).unwrap();
    assert_eq!(scrape(&store), expected);
    assert_eq!((report.snapshot_groups, report.replayed_changes), (1, 1));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn concurrent_pushes_are_all_durable_when_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store");
    let store = Arc::new(
        Store::open(StoreConfig::default(), PersistOptions::new(&file))
            .unwrap()
            .0,
    );
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..40u64 {
                    let text = format!("m{{t=\"{t}\"}} {i}\n");
                    put(&store, &format!("job/t{t}"), &text, i).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let expected = scrape(&store);
    drop(store);
    let (store, report) = Store::open(StoreConfig::default(), PersistOptions::new(&file)).unwrap();
    assert_eq!(report.replayed_changes, 320);
    assert_eq!(scrape(&store), expected);
}

fn apply(store: &Store, op: &Op, step: usize) -> bool {
    let keys: Vec<_> = KEYS.iter().map(|k| key(k)).collect();
    let now = at(step as u64 + 1);
    match op {
        Op::Push {
            key,
            mode,
            families,
            ..
        } => !matches!(
            store.push(keys[*key].clone(), *mode, families.clone(), now),
            Err(PushError::NotDurable(_))
        ),
        Op::Delete { key } => store.delete(&keys[*key]).is_ok(),
        Op::Wipe => store.wipe().is_ok(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn reopening_gives_the_store_as_it_was(
        ops in prop::collection::vec(op(), 1..30),
        snapshot_every in 1usize..8,
        unchecked in any::<bool>(),
        series_max in prop_oneof![Just(StoreConfig::SERIES_MAX_NONE), 0usize..40],
    ) {
        let config = StoreConfig {
            consistency: if unchecked {
                cairn::Consistency::Unchecked
            } else {
                cairn::Consistency::Checked
            },
            name_scheme: NameScheme::Legacy,
            series_max,
            ..StoreConfig::default()
        };
        let fs = FaultFs::new();
        let store = Store::open(config, options(&fs)).unwrap().0;
        for (step, op) in ops.iter().enumerate() {
            prop_assert!(apply(&store, op, step));
            if step % snapshot_every == 0 {
                store.snapshot().unwrap();
            }
        }
        let mut expected = Vec::new();
        let expected_ok = store.render(cairn::ScrapeFormat::Text, &mut expected).is_ok();
        let series = store.series_count();
        drop(store);
        fs.crash(CrashKeeps::Nothing);
        let reopened = Store::open(config, options(&fs)).unwrap().0;
        let mut got = Vec::new();
        let got_ok = reopened.render(cairn::ScrapeFormat::Text, &mut got).is_ok();
        prop_assert_eq!(got_ok, expected_ok);
        prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
        prop_assert_eq!(reopened.series_count(), series);
    }
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/persist");

/// Builds the fixture files in `dir`: `good/` (a snapshot and a log after it), `torn/` (a
/// log whose last record a crash cut short), and damaged copies of the good snapshot.
fn make_fixtures(dir: &Path) {
    let good = dir.join("good");
    std::fs::create_dir_all(&good).unwrap();
    let store = Store::open(
        StoreConfig::default(),
        PersistOptions::new(good.join("store.cairn")),
    )
    .unwrap()
    .0;
    put(
        &store,
        "job/a/instance/i",
        "# HELP m help\n# TYPE m counter\nm{x=\"1\"} 1\n",
        1,
    )
    .unwrap();
    put(&store, "job/b", HISTOGRAM, 2).unwrap();
    put(&store, "job/c", "# TYPE m gauge\nm 1\n", 3).unwrap_err();
    put(
        &store,
        "job@base64/Yi9j/instance@base64/=",
        "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
        4,
    )
    .unwrap();
    store.snapshot().unwrap();
    post(&store, "job/b", "# TYPE g gauge\ng 2.5\n", 5).unwrap();
    store.delete(&key("job/a/instance/i")).unwrap();
    std::fs::write(good.join("store.prom"), scrape(&store)).unwrap();
    drop(store);

    let torn = dir.join("torn");
    std::fs::create_dir_all(&torn).unwrap();
    let store = Store::open(
        StoreConfig::default(),
        PersistOptions::new(torn.join("store.cairn")),
    )
    .unwrap()
    .0;
    put(&store, "job/a", "m 1\n", 1).unwrap();
    std::fs::write(torn.join("store.prom"), scrape(&store)).unwrap();
    put(&store, "job/b", "n 2\n", 2).unwrap();
    drop(store);
    let log = std::fs::read(torn.join("store.cairn.wal")).unwrap();
    std::fs::write(torn.join("store.cairn.wal"), &log[..log.len() - 3]).unwrap();

    let snapshot = std::fs::read(good.join("store.cairn")).unwrap();
    let mut flipped = snapshot.clone();
    flipped[snapshot.len() / 2] ^= 0x04;
    let mut version = snapshot.clone();
    version[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(
        dir.join("truncated.cairn"),
        &snapshot[..snapshot.len() - 10],
    )
    .unwrap();
    std::fs::write(dir.join("bitflip.cairn"), flipped).unwrap();
    std::fs::write(dir.join("version99.cairn"), version).unwrap();
}

/// Copies fixture files into a fresh directory, so tests never change the committed ones.
fn copy_fixture(names: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut first = None;
    for name in names {
        let to = dir.path().join(Path::new(name).file_name().unwrap());
        std::fs::copy(Path::new(FIXTURES).join(name), &to).unwrap();
        first.get_or_insert(to);
    }
    let first = first.unwrap();
    (dir, first)
}

#[test]
fn committed_fixtures_keep_loading_or_keep_failing() {
    if std::env::var_os("CAIRN_REFRESH_FIXTURES").is_some() {
        make_fixtures(Path::new(FIXTURES));
    }
    let open_real = |file: &Path| Store::open(StoreConfig::default(), PersistOptions::new(file));

    let (_dir, file) = copy_fixture(&["good/store.cairn", "good/store.cairn.wal"]);
    let (store, report) = open_real(&file).unwrap();
    let expected = std::fs::read_to_string(Path::new(FIXTURES).join("good/store.prom")).unwrap();
    assert_eq!(scrape(&store), expected);
    assert_eq!((report.snapshot_groups, report.replayed_changes), (4, 2));

    let (_dir, file) = copy_fixture(&["torn/store.cairn.wal"]);
    let (store, report) = open_real(&file.with_extension("")).unwrap();
    let expected = std::fs::read_to_string(Path::new(FIXTURES).join("torn/store.prom")).unwrap();
    assert_eq!(scrape(&store), expected);
    assert!(report.truncated_bytes > 0);

    for (name, expected) in [
        ("truncated.cairn", "truncated"),
        ("bitflip.cairn", "checksum mismatch"),
        ("version99.cairn", "format version 99"),
    ] {
        let (_dir, file) = copy_fixture(&[name]);
        let before = std::fs::read(&file).unwrap();
        let message = match open_real(&file) {
            Ok(_) => panic!("{name} opened"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains(expected), "{name}: {message}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "{name} changed");
    }
}

#[test]
fn inspect_reads_without_changing_anything() {
    let (_dir, file) = copy_fixture(&["torn/store.cairn.wal"]);
    let snapshot = file.with_extension("");
    let before = std::fs::read(&file).unwrap();
    let (store, files) =
        Store::inspect(StoreConfig::default(), PersistOptions::new(&snapshot)).unwrap();
    assert_eq!(store.group_count(), 1);
    assert!(!store.is_persistent());
    assert_eq!(files.snapshot_format, None);
    assert_eq!(files.last_lsn, 1);
    assert!(files.torn_bytes > 0 && files.damage.is_none(), "{files:?}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert!(!snapshot.exists());
}

/// A store being loaded puts each name's series in exposition order with one sort at the
/// end. With more series under a name than one order chunk holds, label sets held by two
/// groups (unchecked mode) and changes after the load, the reopened store scrapes as a
/// store that was never closed.
#[test]
fn a_loaded_store_orders_its_series_as_the_pushes_did() {
    let config = StoreConfig {
        consistency: cairn::Consistency::Unchecked,
        ..StoreConfig::default()
    };
    let body = |seed: usize, count: usize, labels: &str| -> String {
        (0..count)
            .map(|i| format!("m{{{labels}i=\"{}\"}} {i}\n", (i * 37 + seed) % 1000))
            .collect()
    };
    let pushes = [
        ("job/a", body(1, 700, "")),
        ("job/b", body(2, 500, "")),
        // The same label sets from two groups: job/c's pushed instance is job/c/instance/x's.
        ("job/c", body(3, 3, "instance=\"x\",")),
        ("job/c/instance/x", body(3, 300, "")),
        (
            "job/d",
            "m{i=\"\u{0}\"} 1\nm{i=\"\"} 2\nm{i=\"a\\nb\"} 3\n".to_owned(),
        ),
    ];
    let fs = FaultFs::new();
    let store = Store::open(config, options(&fs)).unwrap().0;
    let twin = Store::new(config);
    for (t, (tail, text)) in pushes.iter().enumerate() {
        for s in [&store, &twin] {
            put(s, tail, text, t as u64).unwrap();
        }
    }
    store.snapshot().unwrap();
    // Logged after the snapshot: replayed once the loaded series are ordered.
    for s in [&store, &twin] {
        put(s, "job/b", &body(4, 450, ""), 8).unwrap();
        put(s, "job/f", &body(6, 300, ""), 9).unwrap();
    }
    drop(store);
    let (reopened, report) = Store::open(config, options(&fs)).unwrap();
    assert_eq!(report.replayed_changes, 2);
    assert_eq!(reopened.series_count(), twin.series_count());
    // The shared label sets fail the scrape, the same way in both.
    let exposition = |store: &Store| {
        let mut out = Vec::new();
        store
            .render(cairn::ScrapeFormat::Text, &mut out)
            .map(|()| String::from_utf8(out).unwrap())
    };
    let problems = exposition(&twin).unwrap_err().problems;
    assert_eq!(problems.len(), 3);
    assert_eq!(exposition(&reopened).unwrap_err().problems, problems);
    for s in [&reopened, &twin] {
        s.delete(&key("job/c")).unwrap();
    }
    assert_eq!(scrape(&reopened), scrape(&twin));

    // Inserts into and removals from the order built by the load.
    for s in [&reopened, &twin] {
        put(s, "job/a", &body(5, 650, ""), 10).unwrap();
        s.delete(&key("job/b")).unwrap();
        put(s, "job/e", &body(7, 400, "x=\"1\","), 11).unwrap();
        s.delete(&key("job/c/instance/x")).unwrap();
    }
    let after = scrape(&twin);
    assert!(after.lines().filter(|l| l.starts_with("m{")).count() > 1000);
    assert_eq!(scrape(&reopened), after);
}

/// Under UTF-8 names a grouping label name with the reserved `__` prefix reaches a key when
/// written `U__`-escaped (`U______n`), as in the reference, which checks the name as
/// written. An unchecked push stores the group with its families, and the store opens
/// again with it, from the log and from a snapshot; a checked push is refused and
/// creates no group, before or after a restart.
#[test]
fn a_group_with_an_escaped_reserved_label_name_survives_a_restart() {
    let reserved = GroupingKey::from_path(b"job/j/U______n/v", NameScheme::Utf8).unwrap();
    assert_eq!(reserved.get("__n"), Some("v"));
    for consistency in [Consistency::Checked, Consistency::Unchecked] {
        let config = StoreConfig {
            consistency,
            name_scheme: NameScheme::Utf8,
            ..StoreConfig::default()
        };
        let fs = FaultFs::new();
        let store = Store::open(config, options(&fs)).unwrap().0;
        let pushed = store.push(
            reserved.clone(),
            PushMode::Replace,
            families("m 1\n"),
            at(1),
        );
        assert_eq!(
            pushed.is_ok(),
            consistency == Consistency::Unchecked,
            "{pushed:?}"
        );
        let contents = |store: &Store| {
            store
                .groups()
                .iter()
                .map(|g| (g.key().clone(), g.families().count()))
                .collect::<Vec<_>>()
        };
        // Checked, the refused push creates no group: its timestamp gauges would carry
        // the reserved name and fail every scrape. Unchecked, the group is stored.
        let before = contents(&store);
        let stored = usize::from(consistency == Consistency::Unchecked);
        assert_eq!(before.len(), stored, "{consistency:?}");
        assert!(before.iter().all(|(key, _)| *key == reserved));
        drop(store);
        let from_log = Store::open(config, options(&fs)).unwrap().0;
        assert_eq!(contents(&from_log), before, "{consistency:?}, from the log");
        from_log.snapshot().unwrap();
        drop(from_log);
        let from_snapshot = Store::open(config, options(&fs)).unwrap().0;
        assert_eq!(
            contents(&from_snapshot),
            before,
            "{consistency:?}, from a snapshot"
        );
    }
}

/// A family pushed under raised `--push.max-*` limits is stored, so it must load again
/// whatever the decoder's default caps are: here a label value of 200,000 bytes, beyond
/// the default 65,536.
#[test]
fn a_family_beyond_the_default_limits_survives_a_restart() {
    let config = StoreConfig {
        push_limits: cairn::PushLimits {
            label_value_bytes_max: 1 << 20,
            ..cairn::PushLimits::default()
        },
        ..StoreConfig::default()
    };
    let long = "x".repeat(200_000);
    let fs = FaultFs::new();
    let store = Store::open(config, options(&fs)).unwrap().0;
    put(&store, "job/j", &format!("m{{a=\"{long}\"}} 1\n"), 1).unwrap();
    let before = scrape(&store);
    assert!(before.contains(&long));
    drop(store);
    let from_log = Store::open(config, options(&fs)).unwrap().0;
    assert_eq!(scrape(&from_log), before);
    from_log.snapshot().unwrap();
    drop(from_log);
    let from_snapshot = Store::open(config, options(&fs)).unwrap().0;
    assert_eq!(scrape(&from_snapshot), before);
}

/// A grouping key of many labels takes about 5 bytes a label in the files and 48 in
/// memory; the decoder's allocation limit must allow for that, or the log's record (and
/// every later one) would be cut at replay and the snapshot refused.
#[test]
fn a_key_of_many_labels_survives_a_restart() {
    let tail: String = std::iter::once("job/j".to_owned())
        .chain((0..3000).map(|i| format!("/l{i}/v")))
        .collect();
    let fs = FaultFs::new();
    let store = open(&fs);
    put(&store, &tail, "m 1\n", 1).unwrap();
    put(&store, "job/later", "n 2\n", 2).unwrap();
    let before = scrape(&store);
    assert!(before.contains("l2999=\"v\""));
    drop(store);
    let (from_log, report) = Store::open(StoreConfig::default(), options(&fs)).unwrap();
    assert_eq!(report.replayed_changes, 2);
    assert_eq!(scrape(&from_log), before);
    from_log.snapshot().unwrap();
    drop(from_log);
    assert_eq!(scrape(&open(&fs)), before);
}

#[test]
fn log_bytes_are_the_records_a_crash_would_replay() {
    let fs = FaultFs::new();
    let store = open(&fs);
    let log_bytes = |store: &Store| store.persist_stats().unwrap().log_bytes;
    assert_eq!(log_bytes(&store), 0);
    put(&store, "job/a", "m 1\n", 10).unwrap();
    put(&store, "job/b", "m 2\n", 11).unwrap();
    // The log file's header is not a record.
    let records = log_records(&fs).len() as u64 - 16;
    assert!(records > 0);
    assert_eq!(log_bytes(&store), records);
    store.snapshot().unwrap();
    assert_eq!(log_bytes(&store), 0, "the snapshot holds them");
    put(&store, "job/a", "m 3\n", 12).unwrap();
    let after = log_bytes(&store);
    assert!(after > 0);
    drop(store);
    fs.crash(CrashKeeps::Nothing);
    // Reopened, the log it replayed is the one still growing.
    let store = open(&fs);
    assert_eq!(log_bytes(&store), after);
}

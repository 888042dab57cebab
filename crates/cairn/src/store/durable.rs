//! A store that persists: opening from the files, logging every change before it is
//! acknowledged, and snapshots that fold the log in.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use cairn_expfmt::{MetricFamily, NameScheme, ProtoLimits, decode_delimited};
use parking_lot::Mutex;

use super::{
    Group, Inner, PUSH_FAILURE_TIME_FAMILY, PUSH_TIME_FAMILY, PushMode, Store, StoreConfig,
    StoredFamily,
};
use crate::GroupingKey;
use crate::import_gob::ReferenceGroup;
use crate::persist::format::{
    ChangeV1, FamilyV1, GroupV1, LabelV1, ModeV1, Payload, RECORD_BYTES_MAX, TimeV1,
};
use crate::persist::log::{Active, Log, Shared, create_log_file};
use crate::persist::{
    Files, Fs, OpenError, OpenReport, Paths, PersistError, PersistOptions, Problem, Recovered,
    Unreadable, recover, resume_log, set_reference_aside, snapshot,
};

/// A store's persistence: the files, the log, and the figures the front end reports.
#[derive(Debug)]
pub(crate) struct Durability {
    fs: Arc<dyn Fs>,
    paths: Paths,
    pub(crate) log: Log,
    /// One snapshot at a time.
    snapshot_lock: Mutex<()>,
    snapshots_written: AtomicU64,
    last_snapshot: Mutex<Option<SnapshotInfo>>,
    /// The longest log record a push may make ([`RECORD_BYTES_MAX`]; less in tests).
    pub(super) record_bytes_max: usize,
}

/// A change the store made, to be acknowledged once it is durable: at once for a store
/// that does not persist, after the write-ahead log's fsync for one that does.
#[must_use = "a change may be acknowledged only once it is durable"]
#[derive(Debug)]
pub struct Durable {
    lsn: u64,
    log: Option<Arc<Shared>>,
}

impl Durable {
    /// Nothing to wait for.
    pub(super) fn now() -> Durable {
        Durable { lsn: 0, log: None }
    }

    pub(super) fn after(log: &Log, lsn: u64) -> Durable {
        Durable {
            lsn,
            log: Some(log.shared()),
        }
    }

    /// Blocks until the change is durable.
    pub fn wait(self) -> Result<(), PersistError> {
        match &self.log {
            None => Ok(()),
            Some(log) => log.wait_durable(self.lsn),
        }
    }

    /// Calls `then` once the change is durable (at once if it is, or the store does not
    /// persist), with the error if it cannot be made durable. `then` may run on the log's
    /// syncer thread, so it must be quick: send on a channel, wake a task.
    pub fn then(self, then: impl FnOnce(Result<(), PersistError>) + Send + 'static) {
        match &self.log {
            None => then(Ok(())),
            Some(log) => log.on_durable(self.lsn, Box::new(then)),
        }
    }
}

/// A snapshot that was written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotInfo {
    /// The sequence number of the last change it holds.
    pub lsn: u64,
    /// Groups it holds.
    pub groups: usize,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it was written.
    pub written_at: SystemTime,
}

/// Figures about a persistent store, for metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PersistStats {
    /// Failed writes, fsyncs and renames since start-up.
    pub write_errors: u64,
    /// Snapshots written since start-up.
    pub snapshots_written: u64,
    /// Bytes appended to the log since start-up.
    pub log_bytes_written: u64,
    /// Batches of changes written to the log and fsynced since start-up.
    pub log_syncs: u64,
    /// Bytes of changes in the log after the last snapshot (after the snapshot being
    /// written, while one is): what a start-up after a crash replays on top of the
    /// snapshot. Start-up replays them at roughly the rate the store takes pushes, so
    /// they are what a snapshot taken early saves (see [`Store::snapshot`]).
    pub log_bytes: u64,
    /// The last snapshot written since start-up.
    pub last_snapshot: Option<SnapshotInfo>,
    /// Why changes are refused right now, if they are.
    pub failing: Option<String>,
}

impl Store {
    /// Opens a store that persists to `options.path`: loads the snapshot, replays the log
    /// after it (cutting a torn or damaged tail), imports a reference Pushgateway file found
    /// there, and from then on makes every change durable before the call making it
    /// returns.
    ///
    /// A file that cannot be read fails the open and is left untouched, unless
    /// `options.unreadable` says to set it aside and start empty.
    pub fn open(
        config: StoreConfig,
        options: PersistOptions,
    ) -> Result<(Store, OpenReport), OpenError> {
        let fs = options.fs.clone();
        let paths = Paths::new(&options.path);
        let now = SystemTime::now();
        let mut recovered = recover(fs.as_ref(), &paths, options.unreadable, now)?;
        // Restored families are not re-checked against the configured name scheme (as the
        // reference restores unchecked): they were accepted when stored, perhaps under
        // `--push.enable-utf8-names`, and the timestamp gauges are always built under the
        // UTF-8 rules. A restart must not turn a scrape that worked into one that fails.
        let (inner, mut report, reference) = build(&mut recovered, NameScheme::Utf8, &paths)?;
        let mut fresh_snapshot = false;
        if let Some(from) = reference {
            report.imported_reference = Some(set_reference_aside(fs.as_ref(), &paths, &from, now)?);
            fresh_snapshot = true;
        }
        let lsn = recovered.lsn;
        let io_error = |path: &PathBuf, source| OpenError::Io {
            path: path.clone(),
            source,
        };
        let mut snapshot_lsn = recovered.snapshot_lsn;
        let (file, active) = match recovered.resume {
            Some((active, good_bytes)) if !fresh_snapshot => {
                (resume_log(fs.as_ref(), &paths, active, good_bytes)?, active)
            }
            _ => {
                let logs_exist = fs.exists(&paths.log).map_err(|e| io_error(&paths.log, e))?
                    || fs
                        .exists(&paths.next_log)
                        .map_err(|e| io_error(&paths.next_log, e))?;
                if fresh_snapshot || logs_exist {
                    // The state must be in a snapshot before the logs are replaced.
                    let groups = inner.groups.values().cloned().collect();
                    write_snapshot(fs.as_ref(), &paths, lsn, groups, now)
                        .map_err(|e| io_error(&paths.snapshot, e))?;
                    snapshot_lsn = lsn;
                }
                let file = create_log_file(fs.as_ref(), &paths, &paths.log)
                    .map_err(|e| io_error(&paths.log, e))?;
                fs.remove(&paths.next_log)
                    .and_then(|()| fs.sync_dir(&paths.dir))
                    .map_err(|e| io_error(&paths.next_log, e))?;
                (file, Active::Main)
            }
        };
        let log = Log::new(fs.clone(), paths.clone(), file, active, lsn, snapshot_lsn)
            .map_err(|e| io_error(&paths.log, e))?;
        let store = Store {
            persist: Some(Durability {
                fs,
                paths,
                log,
                snapshot_lock: Mutex::new(()),
                snapshots_written: AtomicU64::new(0),
                last_snapshot: Mutex::new(None),
                record_bytes_max: RECORD_BYTES_MAX,
            }),
            ..Store::new(config)
        };
        *store.inner.write() = inner;
        Ok((store, report))
    }

    /// Reads a persistent store's files without changing anything: what they are, and a
    /// memory-only store holding what they hold (what [`Store::open`] would load, without
    /// cutting a torn tail or importing). Safe on a copy of the files of a running server.
    pub fn inspect(
        config: StoreConfig,
        options: PersistOptions,
    ) -> Result<(Store, Files), OpenError> {
        let paths = Paths::new(&options.path);
        let mut recovered = recover(
            options.fs.as_ref(),
            &paths,
            Unreadable::Refuse,
            SystemTime::now(),
        )?;
        let (inner, _, _) = build(&mut recovered, NameScheme::Utf8, &paths)?;
        let store = Store::new(config);
        *store.inner.write() = inner;
        Ok((store, recovered.files))
    }

    /// Whether the store persists (made by [`Store::open`]).
    pub fn is_persistent(&self) -> bool {
        self.persist.is_some()
    }

    /// Writes a snapshot if anything changed since the last one (or persistence is failing
    /// and this is the way to recover), then retires the log it folds in. Returns what was
    /// written; `None` if nothing needed writing or the store does not persist.
    ///
    /// Changes go on while the snapshot is written; they are logged in the next log.
    pub fn snapshot(&self) -> Result<Option<SnapshotInfo>, PersistError> {
        let Some(d) = &self.persist else {
            return Ok(None);
        };
        let _one = d.snapshot_lock.lock();
        if !d.log.dirty() && !d.log.is_broken() {
            return Ok(None);
        }
        let fail = |path: &PathBuf, e: std::io::Error| {
            d.log.count_error();
            PersistError::Write {
                path: path.clone(),
                reason: e.to_string(),
            }
        };
        let next = if !d.log.is_broken() && d.log.active() == Active::Main {
            Some(
                d.log
                    .create_log_file(&d.paths.next_log)
                    .map_err(|e| fail(&d.paths.next_log, e))?,
            )
        } else {
            None
        };
        let (groups, lsn, broken) = {
            let inner = self.inner.read();
            let lsn = match next {
                Some(file) => d.log.switch_to_next(file),
                None => d.log.last_lsn(),
            };
            let groups: Vec<Arc<Group>> = inner.groups.values().cloned().collect();
            (groups, lsn, d.log.is_broken())
        };
        let now = SystemTime::now();
        let count = groups.len();
        let bytes = write_snapshot(d.fs.as_ref(), &d.paths, lsn, groups, now)
            .map_err(|e| fail(&d.paths.snapshot, e))?;
        d.log
            .finish_snapshot(lsn, broken)
            .map_err(|e| fail(&d.paths.log, e))?;
        d.snapshots_written.fetch_add(1, Ordering::Relaxed);
        let info = SnapshotInfo {
            lsn,
            groups: count,
            bytes,
            written_at: now,
        };
        *d.last_snapshot.lock() = Some(info.clone());
        Ok(Some(info))
    }

    /// Figures about persistence; `None` if the store does not persist.
    pub fn persist_stats(&self) -> Option<PersistStats> {
        let d = self.persist.as_ref()?;
        Some(PersistStats {
            write_errors: d.log.errors.load(Ordering::Relaxed),
            snapshots_written: d.snapshots_written.load(Ordering::Relaxed),
            log_bytes_written: d.log.bytes_written.load(Ordering::Relaxed),
            log_syncs: d.log.syncs.load(Ordering::Relaxed),
            log_bytes: d.log.active_bytes.load(Ordering::Relaxed),
            last_snapshot: d.last_snapshot.lock().clone(),
            failing: d.log.accepting().err().map(|e| e.to_string()),
        })
    }
}

/// The store the recovered files hold, what was done to read them, and the reference
/// Pushgateway file imported, if any.
fn build(
    recovered: &mut Recovered,
    scheme: NameScheme,
    paths: &Paths,
) -> Result<(Inner, OpenReport, Option<PathBuf>), OpenError> {
    let unreadable = |path: &PathBuf, reason: String| OpenError::Unreadable {
        path: path.clone(),
        problem: Problem::BadPayload { reason },
    };
    let mut inner = Inner::default();
    let groups = std::mem::take(&mut recovered.groups);
    inner.load(
        decode_groups(groups, |g| decode_group(g, scheme))
            .map_err(|r| unreadable(&paths.snapshot, r))?,
    );
    for change in std::mem::take(&mut recovered.changes) {
        inner
            .replay(change, scheme)
            .map_err(|r| unreadable(&paths.log, r))?;
    }
    let mut imported = None;
    if let Some((groups, from)) = recovered.reference.take() {
        inner.load(
            decode_groups(groups, |g| import_group(g, scheme)).map_err(|r| unreadable(&from, r))?,
        );
        imported = Some(from);
    }
    Ok((inner, recovered.report.clone(), imported))
}

/// A group decoded from disk, ready to be indexed.
struct Restored {
    key: Arc<GroupingKey>,
    families: Vec<Arc<StoredFamily>>,
}

/// Decodes groups on every core (decoding and rendering the families is most of a
/// start-up's work; indexing them is left to the caller, in order).
fn decode_groups<G: Send>(
    groups: Vec<G>,
    decode: impl Fn(G) -> Result<Restored, String> + Sync,
) -> Result<Vec<Restored>, String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads == 1 || groups.len() < 256 {
        return groups.into_iter().map(&decode).collect();
    }
    let per_thread = groups.len().div_ceil(threads);
    let mut chunks: Vec<Vec<G>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, group) in groups.into_iter().enumerate() {
        chunks[i / per_thread].push(group);
    }
    let decode = &decode;
    std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || chunk.into_iter().map(decode).collect::<Result<Vec<_>, _>>())
            })
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            let decoded = worker
                .join()
                .map_err(|_| "a decoding thread panicked".to_owned())??;
            all.extend(decoded);
        }
        Ok(all)
    })
}

fn decode_group(group: GroupV1, scheme: NameScheme) -> Result<Restored, String> {
    let key = Arc::new(key_from_disk(group.labels)?);
    let mut families = Vec::with_capacity(group.families.len());
    for family in group.families {
        families.push(Arc::new(StoredFamily::new(
            key.clone(),
            family_from_disk(&family.message)?,
            family.pushed_at.to_system(),
            scheme,
        )));
    }
    Ok(Restored { key, families })
}

fn import_group(group: ReferenceGroup, scheme: NameScheme) -> Result<Restored, String> {
    let key = Arc::new(key_from_disk(
        group
            .labels
            .into_iter()
            .map(|(name, value)| LabelV1 { name, value })
            .collect(),
    )?);
    let families = group
        .families
        .into_iter()
        .map(|f| {
            Arc::new(StoredFamily::new(
                key.clone(),
                f.family,
                f.pushed_at,
                scheme,
            ))
        })
        .collect();
    Ok(Restored { key, families })
}

/// Writes a snapshot of `groups` (in grouping-key order) holding changes up to `lsn`;
/// returns its size. The groups are converted one at a time as they are written, and each
/// is let go once converted: a family pushes have replaced since the snapshot began is
/// freed then rather than when the whole snapshot is written.
fn write_snapshot(
    fs: &dyn Fs,
    paths: &Paths,
    lsn: u64,
    mut groups: Vec<Arc<Group>>,
    now: SystemTime,
) -> std::io::Result<u64> {
    groups.sort_by(|a, b| a.key.cmp(&b.key));
    snapshot::write(fs, paths, lsn, converted_one_by_one(groups), now)
}

/// `groups` converted as they are taken, each let go once converted.
fn converted_one_by_one(groups: Vec<Arc<Group>>) -> impl ExactSizeIterator<Item = GroupV1> {
    groups.into_iter().map(|group| group_to_disk(&group))
}

/// The log payload of a push that was stored; `messages` are the families' protobuf
/// messages, in the same order.
pub(super) fn push_change(
    key: &GroupingKey,
    mode: PushMode,
    at: SystemTime,
    families: &[Arc<StoredFamily>],
    messages: Vec<Vec<u8>>,
) -> Payload {
    Payload::new(&ChangeV1::Push {
        labels: labels_to_disk(key),
        mode: match mode {
            PushMode::Replace => ModeV1::Replace,
            PushMode::Merge => ModeV1::Merge,
        },
        at: TimeV1::from_system(at),
        families: families
            .iter()
            .zip(messages)
            .map(|(family, message)| FamilyV1 {
                pushed_at: TimeV1::from_system(family.pushed_at()),
                message,
            })
            .collect(),
    })
}

/// The log payload of a rejected push.
pub(super) fn failure_change(key: &GroupingKey, at: SystemTime) -> Payload {
    Payload::new(&ChangeV1::Failure {
        labels: labels_to_disk(key),
        at: TimeV1::from_system(at),
    })
}

/// The log payload of a delete.
pub(super) fn delete_change(key: &GroupingKey) -> Payload {
    Payload::new(&ChangeV1::Delete {
        labels: labels_to_disk(key),
    })
}

/// The log payload of a wipe.
pub(super) fn wipe_change() -> Payload {
    Payload::new(&ChangeV1::Wipe)
}

fn labels_to_disk(key: &GroupingKey) -> Vec<LabelV1> {
    key.labels()
        .iter()
        .map(|l| LabelV1 {
            name: l.name.clone(),
            value: l.value.clone(),
        })
        .collect()
}

fn family_to_disk(family: &StoredFamily) -> FamilyV1 {
    FamilyV1 {
        pushed_at: TimeV1::from_system(family.pushed_at()),
        message: family.message().into_owned(),
    }
}

fn group_to_disk(group: &Group) -> GroupV1 {
    GroupV1 {
        labels: labels_to_disk(&group.key),
        families: group.families.values().map(|f| family_to_disk(f)).collect(),
    }
}

fn key_from_disk(labels: Vec<LabelV1>) -> Result<GroupingKey, String> {
    // The names passed the front end's checks when the group was pushed.
    GroupingKey::restored(labels.into_iter().map(|l| (l.name, l.value)))
        .map_err(|e| format!("grouping key: {e}"))
}

fn family_from_disk(message: &[u8]) -> Result<MetricFamily, String> {
    // No caps: the family was stored under whatever `--push.max-*` limits the gateway ran
    // with, which may be above the decoder's defaults, and it must come back.
    let mut families =
        decode_delimited(message, &ProtoLimits::NONE).map_err(|e| format!("metric family: {e}"))?;
    match (families.pop(), families.is_empty()) {
        (Some(family), true) => Ok(family),
        _ => Err("metric family: expected exactly one message".to_owned()),
    }
}

impl Inner {
    /// The group `key` as stored, sharing its key, or a new one.
    fn stored_key(&self, key: GroupingKey) -> Arc<GroupingKey> {
        self.groups
            .get_key_value(&key)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| Arc::new(key))
    }

    /// Stores groups read from disk (each as `insert_restored` does), the index's order
    /// deferred to one sort per name at the end (`Families::begin_load`).
    fn load(&mut self, restored: Vec<Restored>) {
        self.families.begin_load(
            restored
                .iter()
                .flat_map(|r| r.families.iter().map(|f| f.as_ref())),
        );
        for group in restored {
            self.insert_restored(group);
        }
        self.families.end_load();
    }

    /// Stores a group read from disk whole, unchecked (as the reference restores its
    /// file), replacing one with the same key.
    fn insert_restored(&mut self, restored: Restored) {
        let Restored { key, families } = restored;
        self.remove_group(&key);
        let mut group = Group::new(key.clone());
        for stored in families {
            // A later family of the same name wins.
            if let Some(old) = group
                .families
                .insert(stored.name().to_owned(), stored.clone())
            {
                self.families.remove(&old);
            }
            self.families.swap(None, &stored, None);
        }
        self.add_missing_stamps(&mut group);
        self.groups.insert(key, Arc::new(group));
    }

    /// Gives a restored group the timestamp gauges it lacks (files from old reference
    /// versions have no failure time), at 0.
    fn add_missing_stamps(&mut self, group: &mut Group) {
        for name in [PUSH_TIME_FAMILY, PUSH_FAILURE_TIME_FAMILY] {
            if !group.families.contains_key(name) {
                let stamp = Arc::new(StoredFamily::timestamp_gauge(
                    group.key.clone(),
                    name,
                    SystemTime::UNIX_EPOCH,
                    SystemTime::UNIX_EPOCH,
                ));
                self.families.swap(None, &stamp, None);
                group.families.insert(name.to_owned(), stamp);
            }
        }
    }

    /// Applies a logged change again, unchecked: it was checked when it was made.
    fn replay(&mut self, change: ChangeV1, scheme: NameScheme) -> Result<(), String> {
        match change {
            ChangeV1::Push {
                labels,
                mode,
                at,
                families,
            } => {
                let key = self.stored_key(key_from_disk(labels)?);
                let mut new = Vec::with_capacity(families.len());
                for family in families {
                    new.push(Arc::new(StoredFamily::new(
                        key.clone(),
                        family_from_disk(&family.message)?,
                        family.pushed_at.to_system(),
                        scheme,
                    )));
                }
                new.sort_by(|a, b| a.name().cmp(b.name()));
                new.dedup_by(|a, b| a.name() == b.name());
                let mode = match mode {
                    ModeV1::Replace => PushMode::Replace,
                    ModeV1::Merge => PushMode::Merge,
                };
                self.apply(&key, mode, new, None, at.to_system());
            }
            ChangeV1::Failure { labels, at } => {
                let key = self.stored_key(key_from_disk(labels)?);
                // Logged only when it changed something, so no cap applies here.
                self.record_failure(&key, at.to_system(), usize::MAX);
            }
            ChangeV1::Delete { labels } => {
                self.remove_group(&key_from_disk(labels)?);
            }
            ChangeV1::Wipe => {
                *self = Inner::default();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use crate::persist::PersistOptions;
    use crate::{GroupingKey, NameScheme, PushError, PushMode, Store, StoreConfig, parse_text};

    #[test]
    fn a_snapshot_lets_go_of_each_group_once_it_is_converted() {
        let store = Store::default();
        for job in ["a", "b"] {
            let key = GroupingKey::from_path(format!("job/{job}").as_bytes(), NameScheme::Legacy)
                .unwrap();
            let families = parse_text(b"m 1\n", NameScheme::Legacy).unwrap();
            store
                .push(key, PushMode::Replace, families, SystemTime::now())
                .unwrap();
        }
        let mut groups: Vec<_> = store.inner.read().groups.values().cloned().collect();
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        let first = std::sync::Arc::downgrade(&groups[0]);
        // The store lets go too, as a push replacing the group would make it.
        *store.inner.write() = super::Inner::default();
        let mut converted = super::converted_one_by_one(groups);
        assert!(first.upgrade().is_some());
        let group = converted.next().unwrap();
        assert_eq!(group.labels[0].value, "a");
        assert!(first.upgrade().is_none(), "the first group is still held");
        assert_eq!(converted.len(), 1);
    }

    fn push(store: &Store, series: usize) -> Result<(), PushError> {
        let body: String = (0..series)
            .map(|i| format!("big{{idx=\"{i}\"}} {i}\n"))
            .collect();
        let families = parse_text(body.as_bytes(), NameScheme::Legacy).expect("the body parses");
        let key = GroupingKey::from_path(b"job/j", NameScheme::Legacy).expect("a grouping key");
        store.push(key, PushMode::Replace, families, SystemTime::now())
    }

    /// A push whose log record would be longer than a frame's length can give is refused
    /// before anything changes, and the store reopens with what it held.
    #[test]
    fn a_push_too_large_to_log_changes_nothing() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let options = PersistOptions::new(dir.path().join("store"));
        let (mut store, _) = Store::open(StoreConfig::default(), options.clone()).expect("opens");
        if let Some(d) = store.persist.as_mut() {
            d.record_bytes_max = 2_000;
        }
        push(&store, 3).expect("a small push is logged");
        let before = store.series_count();
        match push(&store, 200) {
            Err(PushError::RecordTooLarge {
                record_bytes,
                record_bytes_max: 2_000,
            }) => assert!(record_bytes > 2_000, "{record_bytes}"),
            other => panic!("expected RecordTooLarge, got {other:?}"),
        }
        assert_eq!(store.series_count(), before);
        let small = store.group(&GroupingKey::from_path(b"job/j", NameScheme::Legacy).unwrap());
        assert_eq!(
            small.and_then(|g| g.family("big").map(|f| f.series_count())),
            Some(3)
        );
        drop(store);
        let (again, _) = Store::open(StoreConfig::default(), options).expect("reopens");
        assert_eq!(again.series_count(), before);
        // The real limit is what a frame's 4-byte length can give.
        assert_eq!(
            again.persist.as_ref().map(|d| d.record_bytes_max),
            Some(u32::MAX as usize)
        );
    }
}

//! The store: groups of metric families under grouping keys, the incremental consistency
//! check, and the scrape.

mod check;
mod durable;
mod family;
mod index;
mod order;
mod pages;
mod render;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use cairn_expfmt::{LimitExceeded, MetricFamily, MetricType, NameScheme, PushLimits};
use parking_lot::RwLock;

pub use check::Inconsistency;
pub use durable::{Durable, PersistStats, SnapshotInfo};
pub use family::{PUSH_FAILURE_TIME_FAMILY, PUSH_TIME_FAMILY, StoredFamily};
pub use render::{Exposition, ScrapeError, ScrapeFormat};

use crate::GroupingKey;
use crate::persist::PersistError;
use check::{Kind, claimed_suffixes, claims_suffix, suffix_base};
use index::FamilyIndex;

/// Whether pushes are checked against everything stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Consistency {
    /// Reject a push that would make the whole exposition invalid (the default).
    #[default]
    Checked,
    /// Store whatever is pushed (`--push.disable-consistency-check`); a scrape of an
    /// inconsistent store then fails until the offending group is deleted.
    Unchecked,
}

/// How a push treats the group's families that it does not name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushMode {
    /// PUT: the push replaces the whole group.
    Replace,
    /// POST: the push replaces only the families it names.
    Merge,
}

/// How a store behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// Whether pushes are checked.
    pub consistency: Consistency,
    /// Which label names are valid in pushed series.
    pub name_scheme: NameScheme,
    /// Caps on each push, checked before anything else ([`PushError::LimitExceeded`]).
    /// Front ends parse bodies under the same caps, so that they hold while parsing.
    pub push_limits: PushLimits,
    /// Most series the store holds, counting each group's two timestamp gauges; a push
    /// that would take the store over it is rejected ([`PushError::StoreFull`]).
    /// Default: no cap ([`StoreConfig::SERIES_MAX_NONE`]).
    pub series_max: usize,
}

impl StoreConfig {
    /// [`StoreConfig::series_max`] for no cap.
    pub const SERIES_MAX_NONE: usize = usize::MAX;
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            consistency: Consistency::default(),
            name_scheme: NameScheme::default(),
            push_limits: PushLimits::default(),
            series_max: Self::SERIES_MAX_NONE,
        }
    }
}

/// A family the front end exposes itself next to the pushed ones (the reference's own
/// metrics, e.g. `process_open_fds`). A push of a family with this name must have this
/// type; its help is accepted but the scrape shows `help` instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnFamily {
    /// The family name.
    pub name: String,
    /// The type pushes of this name must have.
    pub metric_type: MetricType,
    /// The help every scrape shows for this name.
    pub help: String,
}

/// Own families by name.
pub(crate) type OwnFamilies = BTreeMap<String, OwnFamily>;

/// Why a push was rejected. Nothing stored changed, except, for
/// [`PushError::Inconsistent`], the group's `push_failure_time_seconds` (and the group's
/// creation if it was new).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushError {
    /// The push exceeds one of [`StoreConfig::push_limits`].
    LimitExceeded(LimitExceeded),
    /// The push would take the store over [`StoreConfig::series_max`].
    StoreFull {
        /// How many series the store would hold after the push.
        series_after: usize,
        /// The cap.
        series_max: usize,
    },
    /// The push is invalid or inconsistent with what is stored.
    Inconsistent(Inconsistency),
    /// The push could not be made durable. It may still be in effect (and survive a
    /// restart); it was not acknowledged.
    NotDurable(PersistError),
    /// The push's write-ahead log record would be longer than a record can be; nothing
    /// changed. Only a push far over the default limits gets here.
    RecordTooLarge {
        /// The record's length in bytes.
        record_bytes: usize,
        /// The longest a record can be.
        record_bytes_max: usize,
    },
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Inconsistent(reason) => {
                write!(
                    f,
                    "pushed metrics are invalid or inconsistent with existing metrics: {reason}"
                )
            }
            PushError::LimitExceeded(e) => write!(f, "{e}"),
            PushError::StoreFull {
                series_after,
                series_max,
            } => write!(
                f,
                "push would make the store hold {series_after} series, more than the limit of {series_max}"
            ),
            PushError::NotDurable(e) => write!(f, "{e}"),
            PushError::RecordTooLarge {
                record_bytes,
                record_bytes_max,
            } => write!(
                f,
                "push would be logged as a record of {record_bytes} bytes, more than the write-ahead log's limit of {record_bytes_max} bytes"
            ),
        }
    }
}

impl std::error::Error for PushError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PushError::LimitExceeded(e) => Some(e),
            PushError::NotDurable(e) => Some(e),
            _ => None,
        }
    }
}

/// One group: its grouping key and its families, including the two timestamp gauges.
#[derive(Clone, Debug)]
pub struct Group {
    key: Arc<GroupingKey>,
    families: BTreeMap<String, Arc<StoredFamily>>,
}

impl Group {
    fn new(key: Arc<GroupingKey>) -> Group {
        Group {
            key,
            families: BTreeMap::new(),
        }
    }

    /// The grouping key.
    pub fn key(&self) -> &GroupingKey {
        &self.key
    }

    /// The families in name order, the timestamp gauges among them.
    pub fn families(&self) -> impl Iterator<Item = &StoredFamily> {
        self.families.values().map(|f| f.as_ref())
    }

    /// The family with this name.
    pub fn family(&self, name: &str) -> Option<&StoredFamily> {
        self.families.get(name).map(|f| f.as_ref())
    }

    /// `push_time_seconds`: the last successful push, 0 if none succeeded yet.
    pub fn push_time_seconds(&self) -> Option<f64> {
        self.family(PUSH_TIME_FAMILY).and_then(|f| f.gauge_value())
    }

    /// `push_failure_time_seconds`: the last failed push, 0 if none failed yet.
    pub fn push_failure_time_seconds(&self) -> Option<f64> {
        self.family(PUSH_FAILURE_TIME_FAMILY)
            .and_then(|f| f.gauge_value())
    }

    /// False exactly when the last failure is later than the last success.
    pub fn last_push_successful(&self) -> bool {
        match (self.push_time_seconds(), self.push_failure_time_seconds()) {
            (Some(ok), Some(failed)) => failed <= ok,
            _ => true,
        }
    }
}

/// Asks the CPU to bring the memory at `value` into its caches, without waiting for it: a
/// hint for loops that know which scattered memory they read next. Does nothing on
/// targets without a stable prefetch instruction.
#[inline(always)]
fn prefetch<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: `_mm_prefetch` is `unsafe` only because it needs SSE, which every x86_64 CPU
    // has (it is part of the target's baseline). The instruction is a hint: it never
    // faults, reads nothing into the program and writes nothing, whatever the address,
    // and this one comes from a live reference anyway.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>());
    }
}

#[derive(Debug, Default)]
struct Inner {
    groups: HashMap<Arc<GroupingKey>, Arc<Group>>,
    families: Families,
}

/// Every family name's index, how many stored families break a rule on their own
/// (unchecked mode only), and how many series all stored families hold.
#[derive(Debug, Default)]
struct Families {
    by_name: BTreeMap<String, FamilyIndex>,
    invalid: usize,
    /// Series of every stored family, the timestamp gauges included: kept up to date by
    /// `swap` and `remove`, which every change goes through, so that the cap on the
    /// store's series costs nothing to check.
    series: usize,
    /// Between [`Families::begin_load`] and [`Families::end_load`].
    loading: bool,
}

impl Families {
    /// From now until [`Families::end_load`], every name's new label sets are put in
    /// exposition order all at once at the end (one sort per name instead of an insert
    /// per label set): for loading a store, whose readers wait for the end anyway.
    /// `coming` are the families to be loaded, so that each name's hash table is sized
    /// once for all of them.
    fn begin_load<'a>(&mut self, coming: impl Iterator<Item = &'a StoredFamily>) {
        self.loading = true;
        let mut series_by_name: BTreeMap<&str, usize> = BTreeMap::new();
        for family in coming {
            *series_by_name.entry(family.name()).or_default() += family.series_count();
        }
        for (name, series) in series_by_name {
            self.by_name
                .entry(name.to_owned())
                .or_default()
                .reserve(series);
        }
        for index in self.by_name.values_mut() {
            index.defer_order(true);
        }
    }

    /// Orders what was entered since [`Families::begin_load`]; changes are ordered as
    /// they are made again.
    fn end_load(&mut self) {
        self.loading = false;
        for index in self.by_name.values_mut() {
            index.defer_order(false);
        }
    }

    fn get(&self, name: &str) -> Option<&FamilyIndex> {
        self.by_name.get(name)
    }

    /// Indexes `new` in place of `old`, the same group's family of the same name; `found`
    /// as for [`FamilyIndex::replace`].
    fn swap(
        &mut self,
        old: Option<&Arc<StoredFamily>>,
        new: &Arc<StoredFamily>,
        found: Option<&[Option<u32>]>,
    ) {
        if old.is_some_and(|f| f.problem().is_some()) {
            self.invalid -= 1;
        }
        if new.problem().is_some() {
            self.invalid += 1;
        }
        self.series = self.series - old.map_or(0, |f| f.series_count()) + new.series_count();
        match self.by_name.get_mut(new.name()) {
            Some(index) => index.replace(old, new, found),
            None => {
                let mut index = FamilyIndex::default();
                index.defer_order(self.loading);
                index.replace(old, new, None);
                self.by_name.insert(new.name().to_owned(), index);
            }
        }
    }

    fn remove(&mut self, family: &Arc<StoredFamily>) {
        if family.problem().is_some() {
            self.invalid -= 1;
        }
        self.series -= family.series_count();
        if let Some(index) = self.by_name.get_mut(family.name()) {
            index.remove(family);
            if index.is_empty() {
                self.by_name.remove(family.name());
            }
        }
    }
}

/// The grouping-keyed store of pushed metric families.
///
/// Every method takes `&self`; a `Store` is shared between threads as it is. A push does
/// its per-push work (sanitising, checking its own series, rendering them) before taking
/// the write lock, and under it only looks up and updates the index, so its cost follows
/// the size of the push, not of the store.
#[derive(Debug, Default)]
pub struct Store {
    config: StoreConfig,
    own: RwLock<Arc<OwnFamilies>>,
    inner: RwLock<Inner>,
    /// Set when the store persists ([`Store::open`]).
    persist: Option<durable::Durability>,
}

impl Store {
    /// An empty store.
    pub fn new(config: StoreConfig) -> Store {
        Store {
            config,
            own: RwLock::default(),
            inner: RwLock::new(Inner::default()),
            persist: None,
        }
    }

    /// The configuration the store was made with.
    pub fn config(&self) -> StoreConfig {
        self.config
    }

    /// Declares the families the front end exposes itself, replacing earlier declarations.
    /// From then on a push of one of these names with another type is rejected, and so is
    /// a summary or histogram suffix collision with one; the scrape shows the declared help.
    /// Series are not compared: pushed series always carry a `job` label, so they cannot
    /// equal own series declared without one (a duplicate is still reported at scrape).
    pub fn set_own_families(&self, families: impl IntoIterator<Item = OwnFamily>) {
        let own = families.into_iter().map(|f| (f.name.clone(), f)).collect();
        *self.own.write() = Arc::new(own);
    }

    /// Pushes `families` to the group `key` at time `now`. PUT is [`PushMode::Replace`],
    /// POST is [`PushMode::Merge`]. Families named `push_time_seconds` or
    /// `push_failure_time_seconds` are ignored: the store keeps those itself. A later
    /// family with the same name as an earlier one in the same push wins.
    ///
    /// When the push breaks a rule ([`PushError::Inconsistent`]) the group gets
    /// `push_failure_time_seconds = now` (and is created with `push_time_seconds = 0` if it
    /// did not exist, if the store has room for its two series, and if those series would
    /// be valid and clash with no other group's), and nothing else changes. A push over a
    /// limit ([`PushError::LimitExceeded`], [`PushError::StoreFull`]) or too large to log
    /// ([`PushError::RecordTooLarge`]) changes nothing at all.
    pub fn push(
        &self,
        key: GroupingKey,
        mode: PushMode,
        families: Vec<MetricFamily>,
        now: SystemTime,
    ) -> Result<(), PushError> {
        self.push_deferred(key, mode, families, now)?
            .wait()
            .map_err(PushError::NotDurable)
    }

    /// [`Store::push`], returning as soon as the push is in effect, with what to wait for
    /// before acknowledging it. For front ends that wait without blocking a thread.
    pub fn push_deferred(
        &self,
        key: GroupingKey,
        mode: PushMode,
        families: Vec<MetricFamily>,
        now: SystemTime,
    ) -> Result<Durable, PushError> {
        let limits = &self.config.push_limits;
        limits.check(&families).map_err(PushError::LimitExceeded)?;
        let series = families.iter().map(|f| f.metrics.len()).sum();
        let key_bytes = key
            .labels()
            .iter()
            .map(|l| l.name.len() + l.value.len())
            .sum();
        limits
            .check_grouping_bytes(series, key_bytes)
            .map_err(PushError::LimitExceeded)?;
        // The stored group's own key, when there is one, so that its families share it;
        // and the group as it is, whose families the pushed ones are compared with.
        let existing = self
            .inner
            .read()
            .groups
            .get_key_value(&key)
            .map(|(k, group)| (k.clone(), group.clone()));
        let (key, previous) = match existing {
            Some((key, group)) => (key, Some(group)),
            None => (Arc::new(key), None),
        };
        let log = self.persist.as_ref().map(|d| &d.log);
        let mut messages = log.map(|_| Vec::new());
        let prepared = self.prepare(&key, previous.as_deref(), families, now, messages.as_mut());
        // The log record is encoded before the lock is taken; only its framing happens
        // under it.
        let record = match (&prepared, messages) {
            (Ok(new), Some(messages)) => Some(durable::push_change(&key, mode, now, new, messages)),
            _ => None,
        };
        if let (Some(record), Some(d)) = (&record, &self.persist) {
            if record.len() > d.record_bytes_max {
                return Err(PushError::RecordTooLarge {
                    record_bytes: record.len(),
                    record_bytes_max: d.record_bytes_max,
                });
            }
        }
        let own = self.own.read().clone();
        let mut inner = self.inner.write();
        if let Some(log) = log {
            log.accepting().map_err(PushError::NotDurable)?;
        }
        if let Ok(new) = &prepared {
            let (series_now, series_after) = inner.series_after(&key, mode, new);
            if series_after > self.config.series_max && series_after > series_now {
                return Err(PushError::StoreFull {
                    series_after,
                    series_max: self.config.series_max,
                });
            }
        }
        let checked = prepared.and_then(|new| match self.config.consistency {
            Consistency::Checked => {
                let found = inner.check(&key, mode, &new, &own, now)?;
                Ok((new, Some(found)))
            }
            Consistency::Unchecked => Ok((new, None)),
        });
        let (outcome, record) = match checked {
            Ok((new, found)) => {
                inner.apply(&key, mode, new, found, now);
                (Ok(()), record)
            }
            Err(reason) => {
                let changed = inner.record_failure(&key, now, self.config.series_max);
                // Replaying the record makes the same change, or none, as here.
                let record = log
                    .filter(|_| changed)
                    .map(|_| durable::failure_change(&key, now));
                (Err(PushError::Inconsistent(reason)), record)
            }
        };
        let lsn = log.zip(record).map(|(log, record)| log.append(record));
        drop(inner);
        // A rejected push's failure time is logged too, but the rejection is answered
        // without waiting for it.
        outcome?;
        Ok(match (log, lsn) {
            (Some(log), Some(lsn)) => Durable::after(log, lsn),
            _ => Durable::now(),
        })
    }

    /// Sanitises, checks on their own and renders the pushed families, outside the lock;
    /// with `messages`, also gives each family's protobuf message, for the log.
    fn prepare(
        &self,
        key: &Arc<GroupingKey>,
        previous: Option<&Group>,
        families: Vec<MetricFamily>,
        now: SystemTime,
        mut messages: Option<&mut Vec<Vec<u8>>>,
    ) -> Result<Vec<Arc<StoredFamily>>, Inconsistency> {
        let mut by_name: BTreeMap<String, MetricFamily> = BTreeMap::new();
        for family in families {
            by_name.insert(family.name.clone(), family);
        }
        // Timestamps are refused before anything else, on every family, as the reference
        // does, even on the timestamp families that are then ignored.
        if by_name
            .values()
            .any(|f| f.metrics.iter().any(|m| m.timestamp_ms.is_some()))
        {
            return Err(Inconsistency::Timestamps);
        }
        by_name.remove(PUSH_TIME_FAMILY);
        by_name.remove(PUSH_FAILURE_TIME_FAMILY);
        let mut prepared = Vec::with_capacity(by_name.len());
        for family in by_name.into_values() {
            let scheme = self.config.name_scheme;
            let previous = previous
                .and_then(|group| group.families.get(&family.name))
                .map(|f| &**f);
            let stored = match messages.as_deref_mut() {
                Some(messages) => {
                    let mut message = Vec::new();
                    let stored = StoredFamily::new_with_message(
                        key.clone(),
                        family,
                        now,
                        scheme,
                        previous,
                        &mut message,
                    );
                    messages.push(message);
                    stored
                }
                None => StoredFamily::replacing(key.clone(), family, now, scheme, previous),
            };
            if let (Some(problem), Consistency::Checked) =
                (stored.problem(), self.config.consistency)
            {
                return Err(problem.clone());
            }
            prepared.push(Arc::new(stored));
        }
        Ok(prepared)
    }

    /// Deletes the group `key` with all its families, timestamps included. Returns whether
    /// it existed; deleting a missing group is not an error.
    pub fn delete(&self, key: &GroupingKey) -> Result<bool, PersistError> {
        let (existed, durable) = self.delete_deferred(key)?;
        durable.wait()?;
        Ok(existed)
    }

    /// [`Store::delete`], returning as soon as the delete is in effect, with what to wait
    /// for before acknowledging it.
    pub fn delete_deferred(&self, key: &GroupingKey) -> Result<(bool, Durable), PersistError> {
        let log = self.persist.as_ref().map(|d| &d.log);
        let record = log.map(|_| durable::delete_change(key));
        let mut inner = self.inner.write();
        if let Some(log) = log {
            log.accepting()?;
        }
        let removed = inner.remove_group(key);
        let durable = match (log, record) {
            (Some(log), Some(record)) if removed.is_some() => {
                Durable::after(log, log.append(record))
            }
            _ => Durable::now(),
        };
        drop(inner);
        let existed = removed.is_some();
        // The group is freed here, after the lock is released.
        drop(removed);
        Ok((existed, durable))
    }

    /// Deletes every group; returns how many there were.
    pub fn wipe(&self) -> Result<usize, PersistError> {
        let (count, durable) = self.wipe_deferred()?;
        durable.wait()?;
        Ok(count)
    }

    /// [`Store::wipe`], returning as soon as the wipe is in effect, with what to wait for
    /// before acknowledging it.
    pub fn wipe_deferred(&self) -> Result<(usize, Durable), PersistError> {
        let log = self.persist.as_ref().map(|d| &d.log);
        let mut inner = self.inner.write();
        if let Some(log) = log {
            log.accepting()?;
        }
        let old = std::mem::take(&mut *inner);
        let durable = match log {
            Some(log) => Durable::after(log, log.append(durable::wipe_change())),
            None => Durable::now(),
        };
        drop(inner);
        // Freeing a large store takes a while: not under the lock.
        let count = old.groups.len();
        drop(old);
        Ok((count, durable))
    }

    /// The group `key`, if stored.
    pub fn group(&self, key: &GroupingKey) -> Option<Arc<Group>> {
        self.inner.read().groups.get(key).cloned()
    }

    /// Every group, in grouping-key order: a consistent view that later pushes do not change.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        let mut groups: Vec<_> = self.inner.read().groups.values().cloned().collect();
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        groups
    }

    /// Number of groups.
    pub fn group_count(&self) -> usize {
        self.inner.read().groups.len()
    }

    /// Whether any stored family's name satisfies `test` (each name is tested once,
    /// however many groups hold it).
    pub fn any_family_name(&self, test: impl Fn(&str) -> bool) -> bool {
        self.inner
            .read()
            .families
            .by_name
            .keys()
            .any(|name| test(name))
    }

    /// Number of stored series, over all groups and families, the timestamp gauges
    /// included: what [`StoreConfig::series_max`] caps. A series that two groups hold
    /// (possible only with [`Consistency::Unchecked`]) counts twice.
    pub fn series_count(&self) -> usize {
        self.inner.read().families.series
    }
}

impl Inner {
    /// The store's series now, and after `new` is pushed to group `key` with `mode`: the
    /// families the push replaces stop counting, the push's start, and so do the
    /// timestamp gauges of a group that lacks them. Costs O(push + the group's families).
    fn series_after(
        &self,
        key: &GroupingKey,
        mode: PushMode,
        new: &[Arc<StoredFamily>],
    ) -> (usize, usize) {
        let now = self.families.series;
        let pushed: usize = new.iter().map(|f| f.series_count()).sum();
        let Some(group) = self.groups.get(key) else {
            return (now, now + pushed + 2);
        };
        let replaced: usize = match mode {
            PushMode::Replace => group
                .families
                .iter()
                .filter(|(name, _)| *name != PUSH_TIME_FAMILY && *name != PUSH_FAILURE_TIME_FAMILY)
                .map(|(_, f)| f.series_count())
                .sum(),
            PushMode::Merge => new
                .iter()
                .filter_map(|f| group.families.get(f.name()))
                .map(|f| f.series_count())
                .sum(),
        };
        let stamps = [PUSH_TIME_FAMILY, PUSH_FAILURE_TIME_FAMILY]
            .into_iter()
            .filter(|name| !group.families.contains_key(*name))
            .count();
        (now, now - replaced + pushed + stamps)
    }

    /// The cross-group rules, for a push whose families already passed their own checks:
    /// one type per name, no series held by another group, no summary or histogram suffix
    /// collisions in the store as it would be after the push.
    fn check(
        &self,
        key: &Arc<GroupingKey>,
        mode: PushMode,
        new: &[Arc<StoredFamily>],
        own_families: &OwnFamilies,
        now: SystemTime,
    ) -> Result<Vec<Vec<Option<u32>>>, Inconsistency> {
        for family in new {
            if let Some(declared) = own_families.get(family.name()) {
                if Kind::of(declared.metric_type) != Kind::of(family.metric_type()) {
                    return Err(Inconsistency::OwnTypeConflict {
                        name: family.name().to_owned(),
                        pushed: family.metric_type(),
                        own: declared.metric_type,
                    });
                }
            }
        }
        let group = self.groups.get(key.as_ref());
        let mut found = Vec::with_capacity(new.len());
        let stamps = match group {
            Some(_) => Vec::new(),
            None => new_group_stamps(key, now),
        };
        // A new group's timestamp gauges carry its grouping labels: a reserved name among
        // them (`__n`, from `U______n` under UTF-8 names) would fail every scrape, even
        // after a push with no families of its own.
        if let Some(problem) = stamps.iter().find_map(|stamp| stamp.problem()) {
            return Err(problem.clone());
        }
        for (position, family) in new.iter().chain(&stamps).enumerate() {
            let Some(index) = self.families.get(family.name()) else {
                if position < new.len() {
                    found.push(vec![None; family.series_count()]);
                }
                continue;
            };
            let own = group.and_then(|g| g.families.get(family.name()));
            let kind = Kind::of(family.metric_type());
            let own_kind = own.map(|f| Kind::of(f.metric_type()));
            if let Some(existing) = index.conflicting_kind(own_kind, kind) {
                return Err(Inconsistency::TypeConflict {
                    name: family.name().to_owned(),
                    labels: if family.series_count() > 0 {
                        family.series_labels(0)
                    } else {
                        Vec::new()
                    },
                    existing: existing.metric_type(),
                });
            }
            let mut slots = Vec::with_capacity(family.series_count());
            for i in 0..family.series_count() {
                let (slot, own_slot) = index.find_slot(own.map(|f| f.as_ref()), family, i);
                // A slot the pushing group already holds is held by no other: the store
                // was consistent before this push.
                let clash = !own_slot
                    && slot.is_some_and(|slot| index.slot_held_by_other_than(slot, key, own));
                if clash {
                    return Err(Inconsistency::DuplicateSeries {
                        name: family.name().to_owned(),
                        labels: family.series_labels(i),
                    });
                }
                slots.push(slot);
            }
            if position < new.len() {
                found.push(slots);
            }
        }
        // Which kind a name has after the push, if it exists then.
        let kind_after = |name: &str| -> Option<Kind> {
            if let Ok(i) = new.binary_search_by(|f| f.name().cmp(name)) {
                return Some(Kind::of(new[i].metric_type()));
            }
            if let Some(declared) = own_families.get(name) {
                return Some(Kind::of(declared.metric_type));
            }
            let index = self.families.get(name)?;
            let own = group.is_some_and(|g| g.families.contains_key(name));
            let retained = own && mode == PushMode::Merge;
            if !retained && !index.held_by_other(own) {
                return None;
            }
            index.kind()
        };
        for family in new {
            let name = family.name();
            if let Some((base, suffix)) = suffix_base(name) {
                if let Some(base_kind) = kind_after(base).filter(|&k| claims_suffix(k, suffix)) {
                    return Err(suffix_collision(name, base, base_kind));
                }
            }
            let kind = Kind::of(family.metric_type());
            for suffix in claimed_suffixes(kind) {
                let claimed = format!("{name}{suffix}");
                if kind_after(&claimed).is_some() {
                    return Err(suffix_collision(&claimed, name, kind));
                }
            }
        }
        Ok(found)
    }

    /// Stores a push that passed the check; `found` is what the check looked up.
    fn apply(
        &mut self,
        key: &Arc<GroupingKey>,
        mode: PushMode,
        new: Vec<Arc<StoredFamily>>,
        found: Option<Vec<Vec<Option<u32>>>>,
        now: SystemTime,
    ) {
        let families = &mut self.families;
        let group = self
            .groups
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Group::new(key.clone())));
        let g = Arc::make_mut(group);
        if mode == PushMode::Replace {
            g.families.retain(|name, family| {
                let keep = name == PUSH_TIME_FAMILY
                    || name == PUSH_FAILURE_TIME_FAMILY
                    || new.binary_search_by(|f| f.name().cmp(name)).is_ok();
                if !keep {
                    families.remove(family);
                }
                keep
            });
        }
        let push_time = Arc::new(StoredFamily::timestamp_gauge(
            key.clone(),
            PUSH_TIME_FAMILY,
            now,
            now,
        ));
        let failure = (!g.families.contains_key(PUSH_FAILURE_TIME_FAMILY)).then(|| {
            Arc::new(StoredFamily::timestamp_gauge(
                key.clone(),
                PUSH_FAILURE_TIME_FAMILY,
                SystemTime::UNIX_EPOCH,
                now,
            ))
        });
        let found = found.unwrap_or_default();
        for (position, family) in new
            .into_iter()
            .chain([push_time])
            .chain(failure)
            .enumerate()
        {
            let old = g.families.insert(family.name().to_owned(), family.clone());
            families.swap(
                old.as_ref(),
                &family,
                found.get(position).map(Vec::as_slice),
            );
        }
    }

    /// The failure path: the group's failure time becomes `now`; a new group is created
    /// with push time 0, unless its timestamp series would clash with another group's or
    /// be invalid themselves (a grouping label named `__n`, from `U______n` under UTF-8
    /// names): the reference stores it anyway and then fails every scrape. Nor is it
    /// created if it would take the store over `series_max`. Returns whether anything
    /// changed.
    fn record_failure(
        &mut self,
        key: &Arc<GroupingKey>,
        now: SystemTime,
        series_max: usize,
    ) -> bool {
        let failure = Arc::new(StoredFamily::timestamp_gauge(
            key.clone(),
            PUSH_FAILURE_TIME_FAMILY,
            now,
            now,
        ));
        if let Some(group) = self.groups.get_mut(key.as_ref()) {
            let old = Arc::make_mut(group)
                .families
                .insert(PUSH_FAILURE_TIME_FAMILY.to_owned(), failure.clone());
            self.families.swap(old.as_ref(), &failure, None);
            return true;
        }
        if self.families.series.saturating_add(2) > series_max {
            return false;
        }
        let push_time = Arc::new(StoredFamily::timestamp_gauge(
            key.clone(),
            PUSH_TIME_FAMILY,
            SystemTime::UNIX_EPOCH,
            now,
        ));
        let unexposable = [&push_time, &failure].into_iter().any(|family| {
            family.problem().is_some()
                || self
                    .families
                    .get(family.name())
                    .is_some_and(|index| index.series_held_by_other_than(family.key(0), key))
        });
        if unexposable {
            return false;
        }
        let mut group = Group::new(key.clone());
        for family in [push_time, failure] {
            self.families.swap(None, &family, None);
            group.families.insert(family.name().to_owned(), family);
        }
        self.groups.insert(key.clone(), Arc::new(group));
        true
    }

    fn remove_group(&mut self, key: &GroupingKey) -> Option<Arc<Group>> {
        let group = self.groups.remove(key)?;
        for family in group.families.values() {
            self.families.remove(family);
        }
        Some(group)
    }
}

/// The timestamp gauges a new group starts with, both at 0.
fn new_group_stamps(key: &Arc<GroupingKey>, now: SystemTime) -> Vec<Arc<StoredFamily>> {
    [PUSH_TIME_FAMILY, PUSH_FAILURE_TIME_FAMILY]
        .into_iter()
        .map(|name| {
            Arc::new(StoredFamily::timestamp_gauge(
                key.clone(),
                name,
                SystemTime::UNIX_EPOCH,
                now,
            ))
        })
        .collect()
}

fn suffix_collision(name: &str, base: &str, base_kind: Kind) -> Inconsistency {
    Inconsistency::SuffixCollision {
        name: name.to_owned(),
        base: base.to_owned(),
        base_type: base_kind.metric_type(),
    }
}

//! The index over all groups that makes the consistency check and the scrape cost follow
//! the push, not the store: per family name, which groups hold it with which type, and
//! every series in exposition order with the group that owns it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cairn_expfmt::MetricType;

use super::check::Kind;
use super::family::{SeriesKey, StoredFamily};
use crate::GroupingKey;

/// One series: metric `index` of a stored family.
#[derive(Clone, Debug)]
pub(crate) struct SeriesRef {
    pub(crate) family: Arc<StoredFamily>,
    pub(crate) index: u32,
}

impl SeriesRef {
    fn is(&self, family: &Arc<StoredFamily>, index: u32) -> bool {
        Arc::ptr_eq(&self.family, family) && self.index == index
    }

    pub(crate) fn text(&self) -> &[u8] {
        self.family.metric_text(self.index as usize)
    }
}

/// Who holds one label set: normally one series; unchecked mode lets in more.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) first: SeriesRef,
    pub(crate) more: Vec<SeriesRef>,
}

impl Slot {
    pub(crate) fn all(&self) -> impl Iterator<Item = &SeriesRef> {
        std::iter::once(&self.first).chain(&self.more)
    }
}

/// What one group declares for a family name.
#[derive(Clone, Debug)]
pub(crate) struct FamilyMeta {
    pub(crate) metric_type: MetricType,
    pub(crate) family: Arc<StoredFamily>,
}

/// Everything stored under one family name, across groups.
///
/// A series is found by its label set in `by_key` (a hash lookup, whatever the store's
/// size) and exposed in `order`; a push that re-pushes the label sets a group already has
/// only swaps slot contents and leaves `order` untouched.
#[derive(Debug, Default)]
pub(crate) struct FamilyIndex {
    /// Groups holding this name, in grouping-key order: the first one's help and type are
    /// exposed (the reference picks one at random).
    pub(crate) metas: BTreeMap<Arc<GroupingKey>, FamilyMeta>,
    /// How many groups hold this name with each kind; more than one kind with a non-zero
    /// count is a type conflict (possible only in unchecked mode).
    kind_counts: [u32; Kind::COUNT],
    slots: Vec<Option<Slot>>,
    free_slots: Vec<u32>,
    by_key: HashMap<SeriesKey, u32>,
    /// Every label set, in exposition order, with its slot.
    order: BTreeMap<SeriesKey, u32>,
}

impl FamilyIndex {
    /// The type and help that the scrape shows: the first group's.
    pub(crate) fn shown(&self) -> Option<&FamilyMeta> {
        self.metas.first_key_value().map(|(_, meta)| meta)
    }

    pub(crate) fn kinds_in_use(&self) -> usize {
        self.kind_counts.iter().filter(|&&c| c > 0).count()
    }

    pub(crate) fn series_count(&self) -> usize {
        self.by_key.len()
    }

    /// Every label set's holders, in exposition order.
    pub(crate) fn slots_in_order(&self) -> impl Iterator<Item = &Slot> {
        self.order
            .values()
            .filter_map(|&i| self.slots[i as usize].as_ref())
    }

    /// A kind other than `kind` that a group other than `owner` holds this name with.
    pub(crate) fn conflicting_type(&self, owner: &GroupingKey, kind: Kind) -> Option<MetricType> {
        let total: u32 = self.kind_counts.iter().sum();
        let own_other = self
            .metas
            .get(owner)
            .is_some_and(|m| Kind::of(m.metric_type) != kind);
        let others_other = total - self.kind_counts[kind.index()] - u32::from(own_other);
        if others_other == 0 {
            return None;
        }
        self.metas
            .iter()
            .find(|(k, m)| k.as_ref() != owner && Kind::of(m.metric_type) != kind)
            .map(|(_, m)| m.metric_type)
    }

    /// Whether a group other than `owner` holds this name.
    pub(crate) fn held_by_other_than(&self, owner: &GroupingKey) -> bool {
        self.metas.len() > usize::from(self.metas.contains_key(owner))
    }

    /// Whether the label set `key` is held by a group other than `owner`.
    pub(crate) fn series_held_by_other_than(&self, key: &SeriesKey, owner: &GroupingKey) -> bool {
        self.by_key
            .get(key)
            .and_then(|&i| self.slots[i as usize].as_ref())
            .is_some_and(|slot| slot.all().any(|s| s.family.owner() != owner))
    }

    /// Puts `new` in place of `old` (the same group's family of this name, if it had one).
    /// Label sets both hold keep their slot and their place in the order.
    pub(crate) fn replace(&mut self, old: Option<&Arc<StoredFamily>>, new: &Arc<StoredFamily>) {
        if let Some(old) = old {
            self.kind_counts[Kind::of(old.family().metric_type).index()] -= 1;
        }
        let metric_type = new.family().metric_type;
        self.kind_counts[Kind::of(metric_type).index()] += 1;
        let meta = FamilyMeta {
            metric_type,
            family: new.clone(),
        };
        match self.metas.get_mut(new.owner()) {
            Some(existing) => *existing = meta,
            None => {
                self.metas.insert(new.owner_arc().clone(), meta);
            }
        }
        for (index, key) in new.series_keys().iter().enumerate() {
            let series = SeriesRef {
                family: new.clone(),
                index: index as u32,
            };
            let Some(&slot_id) = self.by_key.get(key) else {
                let slot_id = self.alloc_slot(Slot {
                    first: series,
                    more: Vec::new(),
                });
                self.by_key.insert(key.clone(), slot_id);
                self.order.insert(key.clone(), slot_id);
                continue;
            };
            let slot = self.slots[slot_id as usize]
                .as_mut()
                .expect("indexed slots are live");
            let taken = old.and_then(|old| {
                std::iter::once(&mut slot.first)
                    .chain(slot.more.iter_mut())
                    .find(|s| s.family.owner() == old.owner() && Arc::ptr_eq(&s.family, old))
            });
            match taken {
                Some(place) => *place = series,
                None => slot.more.push(series),
            }
        }
        if let Some(old) = old {
            self.drop_series(old);
        }
    }

    /// Removes `family` (a group's family of this name) entirely.
    pub(crate) fn remove(&mut self, family: &Arc<StoredFamily>) {
        if let Some(meta) = self.metas.remove(family.owner()) {
            self.kind_counts[Kind::of(meta.metric_type).index()] -= 1;
        }
        self.drop_series(family);
    }

    /// Drops every series of `family` still in a slot (those `replace` did not reuse).
    fn drop_series(&mut self, family: &Arc<StoredFamily>) {
        for (index, key) in family.series_keys().iter().enumerate() {
            let Some(&slot_id) = self.by_key.get(key) else {
                continue;
            };
            let slot = self.slots[slot_id as usize]
                .as_mut()
                .expect("indexed slots are live");
            let index = index as u32;
            if slot.first.is(family, index) {
                if slot.more.is_empty() {
                    self.slots[slot_id as usize] = None;
                    self.free_slots.push(slot_id);
                    self.by_key.remove(key);
                    self.order.remove(key);
                } else {
                    slot.first = slot.more.remove(0);
                }
            } else {
                slot.more.retain(|s| !s.is(family, index));
            }
        }
    }

    fn alloc_slot(&mut self, slot: Slot) -> u32 {
        match self.free_slots.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(slot);
                id
            }
            None => {
                self.slots.push(Some(slot));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 series per family")
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }
}

//! The index over all groups that makes the consistency check and the scrape cost follow
//! the push, not the store: per family name, which groups hold it with which type, and
//! every series in exposition order with the group that owns it.

use std::collections::{BTreeSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use hashbrown::HashTable;

use super::check::Kind;
use super::family::StoredFamily;
use super::order::KeyOrder;
use super::pages::Pages;
use super::prefetch;
use crate::GroupingKey;

/// One series: metric `index` of a stored family.
#[derive(Clone, Debug)]
pub(crate) struct SeriesRef {
    pub(crate) family: Arc<StoredFamily>,
    pub(crate) index: u32,
    /// The hash of the series key (see [`FamilyIndex::hash`]), kept where it costs no
    /// room (the struct's padding) so that growing the hash table reads no family.
    hash: u32,
}

impl SeriesRef {
    fn is(&self, family: &Arc<StoredFamily>, index: u32) -> bool {
        Arc::ptr_eq(&self.family, family) && self.index == index
    }

    /// Appends the series' text lines; `name` is its family name.
    pub(crate) fn write_text(&self, out: &mut Vec<u8>, name: &str) {
        self.family.write_text(out, self.index as usize, name);
    }
}

/// Who holds one label set: normally one series; unchecked mode lets in more, kept
/// behind one pointer so that a slot costs 24 bytes.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) first: SeriesRef,
    // Boxed on purpose: one pointer (8 bytes) in every slot instead of a `Vec`'s 24,
    // for what only unchecked mode ever fills.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<SeriesRef>>>,
}

impl Slot {
    fn new(first: SeriesRef) -> Slot {
        Slot { first, more: None }
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &SeriesRef> {
        std::iter::once(&self.first).chain(self.more())
    }

    /// The holders after the first, in grouping-key order.
    pub(crate) fn more(&self) -> &[SeriesRef] {
        self.more.as_deref().map_or(&[], Vec::as_slice)
    }

    fn more_mut(&mut self) -> &mut Vec<SeriesRef> {
        self.more.get_or_insert_with(Box::default)
    }

    /// The series key of the label set.
    fn key(&self) -> &[u8] {
        self.first.family.key(self.first.index as usize)
    }
}

/// Everything stored under one family name, across groups.
///
/// A label set is found by its series key in `by_key` (a hash lookup, whatever the store's
/// size) and exposed in `order`. Each stored family remembers its series' slots, so a group
/// re-pushing the label sets it already holds finds them without any lookup, only swaps
/// slot contents, and leaves `by_key` and `order` untouched.
///
/// Neither `by_key` nor `order` holds a key: both hold slot ids, and read a slot's key
/// from the family in it (every holder of a slot has the same label set, so any will do).
/// The keys are stored once, in the families.
#[derive(Debug, Default)]
pub(crate) struct FamilyIndex {
    /// Groups holding this name, in grouping-key order: the first one's help and type are
    /// exposed (the reference picks one at random). Changed only when a group starts or
    /// stops holding the name, not when it re-pushes it.
    holders: BTreeSet<Arc<GroupingKey>>,
    /// How many groups hold this name with each kind; more than one kind with a non-zero
    /// count is a type conflict (possible only in unchecked mode).
    kind_counts: [u32; Kind::COUNT],
    /// Every slot by id (a freed one is `None` until reused); paged copy-on-write, like
    /// `order`, so that [`FamilyIndex::view`] is cheap.
    slots: Pages<Option<Slot>>,
    free_slots: Vec<u32>,
    /// How many slots more than one group holds (unchecked mode only), so that the scrape
    /// looks for duplicates only when there are some.
    shared_slots: usize,
    /// The slot of every label set, hashed by its series key with `hasher`.
    by_key: HashTable<u32>,
    hasher: RandomState,
    /// Every label set's slot, in exposition order.
    order: KeyOrder,
    /// While a store is being loaded ([`FamilyIndex::defer_order`]), `order` is left as
    /// it is and rebuilt from `by_key` when the load ends.
    deferring: bool,
}

impl FamilyIndex {
    /// The group whose help and type the scrape shows: the first in grouping-key order.
    pub(crate) fn first_holder(&self) -> Option<&GroupingKey> {
        self.holders.first().map(|k| k.as_ref())
    }

    /// The kind the holders share (the first one in kind order if they disagree, which
    /// only unchecked mode allows).
    pub(crate) fn kind(&self) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| self.kind_counts[k.index()] > 0)
    }

    pub(crate) fn kinds_in_use(&self) -> usize {
        self.kind_counts.iter().filter(|&&c| c > 0).count()
    }

    pub(crate) fn series_count(&self) -> usize {
        self.by_key.len()
    }

    /// Whether a label set is held by more than one group (unchecked mode only).
    pub(crate) fn has_shared_slots(&self) -> bool {
        self.shared_slots > 0
    }

    /// Every label set's holders, in exposition order.
    pub(crate) fn slots_in_order(&self) -> impl Iterator<Item = &Slot> {
        debug_assert!(!self.deferring, "read while loading");
        slots_in_order(&self.order, &self.slots)
    }

    /// The series as they are now, kept as they are however the index changes later: a
    /// copy of two lists of page pointers, whatever the number of series.
    pub(crate) fn view(&self) -> SeriesView {
        debug_assert!(!self.deferring, "read while loading");
        SeriesView {
            slots: self.slots.clone(),
            order: self.order.clone(),
        }
    }

    /// The slot holding the label set `key`.
    fn lookup(&self, key: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.by_key
            .find(spread(self.hash(key)), |&id| key_of(slots, id) == key)
            .copied()
    }

    /// The hash of a series key. 32 bits are kept (in [`SeriesRef`]) and spread over the
    /// 64 the table uses ([`spread`]): plenty for a table of at most 2^32 slots.
    fn hash(&self, key: &[u8]) -> u32 {
        self.hasher.hash_one(key) as u32
    }

    /// A kind other than `kind` that another group holds this name with, not counting the
    /// pushing group's own family of this name (of kind `own`), which the push replaces.
    pub(crate) fn conflicting_kind(&self, own: Option<Kind>, kind: Kind) -> Option<Kind> {
        Kind::ALL.into_iter().find(|&k| {
            let others = self.kind_counts[k.index()] - u32::from(own == Some(k));
            k != kind && others > 0
        })
    }

    /// Whether a group other than the pushing one holds this name; `own` says whether the
    /// pushing group does.
    pub(crate) fn held_by_other(&self, own: bool) -> bool {
        self.holders.len() > usize::from(own)
    }

    /// The slot of metric `index` of `new`, a family about to replace `old` (the same
    /// group's family of this name): taken from `old` when it has the same label set at
    /// the same position, which is the usual re-push, else looked up. The flag says the
    /// slot came from `old`, so the pushing group holds it.
    pub(crate) fn find_slot(
        &self,
        old: Option<&StoredFamily>,
        new: &StoredFamily,
        index: usize,
    ) -> (Option<u32>, bool) {
        let key = new.key(index);
        let same_as_old = old.filter(|old| index < old.series_count() && old.key(index) == key);
        match same_as_old.and_then(|old| old.slot(index)) {
            Some(slot) => (Some(slot), true),
            None => (self.lookup(key), false),
        }
    }

    /// Whether the label set in slot `slot_id` is held by a group other than `owner`,
    /// whose family of this name (if it has one) is `own`.
    pub(crate) fn slot_held_by_other_than(
        &self,
        slot_id: u32,
        owner: &Arc<GroupingKey>,
        own: Option<&Arc<StoredFamily>>,
    ) -> bool {
        let Some(slot) = live(&self.slots, slot_id) else {
            return false;
        };
        slot.all().any(|s| {
            // The usual holder is the pushing group's own family: comparing pointers
            // settles that without reading the family or the key.
            if own.is_some_and(|own| Arc::ptr_eq(&s.family, own)) {
                return false;
            }
            let holder = s.family.owner_arc();
            !Arc::ptr_eq(holder, owner) && holder != owner
        })
    }

    /// Whether the label set `key` is held by a group other than `owner`.
    pub(crate) fn series_held_by_other_than(&self, key: &[u8], owner: &Arc<GroupingKey>) -> bool {
        self.lookup(key)
            .is_some_and(|slot_id| self.slot_held_by_other_than(slot_id, owner, None))
    }

    /// Puts `new` in place of `old` (the same group's family of this name, if it had one).
    /// Label sets both hold keep their slot and their place in the order. `found` has the
    /// slot of each of `new`'s label sets when the check already found them.
    pub(crate) fn replace(
        &mut self,
        old: Option<&Arc<StoredFamily>>,
        new: &Arc<StoredFamily>,
        found: Option<&[Option<u32>]>,
    ) {
        if let Some(old) = old {
            self.kind_counts[Kind::of(old.metric_type()).index()] -= 1;
        }
        self.kind_counts[Kind::of(new.metric_type()).index()] += 1;
        if old.is_none() {
            self.holders.insert(new.owner_arc().clone());
        }
        let mut reused = 0;
        for index in 0..new.series_count() {
            let slot_id = match found {
                Some(found) => found[index],
                None => self.find_slot(old.map(|o| o.as_ref()), new, index).0,
            };
            let Some(slot_id) = slot_id else {
                let key = new.key(index);
                let hash = self.hash(key);
                let slot_id = self.alloc_slot(Slot::new(SeriesRef {
                    family: new.clone(),
                    index: index as u32,
                    hash,
                }));
                self.index_key(slot_id, key, hash);
                new.set_slot(index, slot_id);
                continue;
            };
            new.set_slot(index, slot_id);
            let slot = self
                .slots
                .get_mut(slot_id as usize)
                .and_then(Option::as_mut)
                .expect("indexed slots are live");
            // The same label set, so the same hash.
            let series = SeriesRef {
                family: new.clone(),
                index: index as u32,
                hash: slot.first.hash,
            };
            let taken = old.and_then(|old| {
                if Arc::ptr_eq(&slot.first.family, old) {
                    return Some(&mut slot.first);
                }
                slot.more
                    .as_deref_mut()?
                    .iter_mut()
                    .find(|s| Arc::ptr_eq(&s.family, old))
            });
            if let Some(place) = taken {
                *place = series;
                reused += 1;
                continue;
            }
            // Several groups hold this label set (unchecked mode): they are kept in
            // grouping-key order, so the scrape does not depend on push history.
            if slot.more.is_none() {
                self.shared_slots += 1;
            }
            if series.family.owner() < slot.first.family.owner() {
                let first = std::mem::replace(&mut slot.first, series);
                slot.more_mut().insert(0, first);
            } else {
                let owner = series.family.owner();
                let more = slot.more_mut();
                let at = more.partition_point(|s| s.family.owner() <= owner);
                more.insert(at, series);
            }
        }
        // Only label sets `new` no longer has are left to drop; usually there are none.
        if let Some(old) = old.filter(|old| old.series_count() > reused) {
            self.drop_series(old);
        }
    }

    /// Removes `family` (a group's family of this name) entirely.
    pub(crate) fn remove(&mut self, family: &Arc<StoredFamily>) {
        if self.holders.remove(family.owner()) {
            self.kind_counts[Kind::of(family.metric_type()).index()] -= 1;
        }
        self.drop_series(family);
    }

    /// Drops every series of `family` still in a slot (those `replace` did not reuse).
    fn drop_series(&mut self, family: &Arc<StoredFamily>) {
        for index in 0..family.series_count() {
            let Some(slot_id) = family.slot(index) else {
                continue;
            };
            let Some(slot) = self
                .slots
                .get_mut(slot_id as usize)
                .and_then(Option::as_mut)
            else {
                continue;
            };
            let index = index as u32;
            if slot.first.is(family, index) {
                match slot.more.as_deref_mut() {
                    Some(more) if !more.is_empty() => {
                        slot.first = more.remove(0);
                        if more.is_empty() {
                            slot.more = None;
                            self.shared_slots -= 1;
                        }
                    }
                    _ => {
                        // Out of the hash table and the order while the slot still holds
                        // the key they compare with.
                        self.unindex_key(slot_id, family.key(index as usize));
                        if let Some(freed) = self.slots.get_mut(slot_id as usize) {
                            *freed = None;
                        }
                        self.free_slots.push(slot_id);
                    }
                }
            } else if let Some(more) = slot.more.as_deref_mut() {
                more.retain(|s| !s.is(family, index));
                if more.is_empty() {
                    slot.more = None;
                    self.shared_slots -= 1;
                }
            }
        }
    }

    /// Enters the label set `key`, now in slot `slot_id`, in the hash table and (unless
    /// loading) the order.
    fn index_key(&mut self, slot_id: u32, key: &[u8], hash: u32) {
        let slots = &self.slots;
        self.by_key.insert_unique(spread(hash), slot_id, |&id| {
            spread(live(slots, id).map_or(0, |s| s.first.hash))
        });
        if !self.deferring {
            self.order.insert(slot_id, key, |id| key_of(slots, id));
        }
    }

    /// Takes the label set `key` of slot `slot_id` out of the hash table and the order.
    fn unindex_key(&mut self, slot_id: u32, key: &[u8]) {
        if let Ok(entry) = self
            .by_key
            .find_entry(spread(self.hash(key)), |&id| id == slot_id)
        {
            entry.remove();
        }
        if !self.deferring {
            let slots = &self.slots;
            self.order.remove(slot_id, key, |id| key_of(slots, id));
        }
    }

    /// Makes room for `additional` more label sets without growing the hash table again.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let slots = &self.slots;
        self.by_key.reserve(additional, |&id| {
            spread(live(slots, id).map_or(0, |s| s.first.hash))
        });
    }

    /// While `on`, label sets entering or leaving the index leave the order as it is;
    /// turning it off orders every label set at once (one sort instead of an insert
    /// each), which is how a store being loaded enters its series.
    pub(crate) fn defer_order(&mut self, on: bool) {
        if self.deferring && !on {
            // Every live slot holds a label set of the index: in id order, the slots (and
            // mostly their families) are read one after the other rather than scattered.
            let slots = &self.slots;
            let ids = (0..slots.len())
                .filter_map(|id| u32::try_from(id).ok())
                .filter(|&id| live(slots, id).is_some())
                .collect();
            self.order = KeyOrder::build(ids, |id| key_of(slots, id));
        }
        self.deferring = on;
    }

    fn alloc_slot(&mut self, slot: Slot) -> u32 {
        match self.free_slots.pop() {
            Some(id) => {
                if let Some(free) = self.slots.get_mut(id as usize) {
                    *free = Some(slot);
                }
                id
            }
            None => {
                self.slots.push(Some(slot));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 series per family")
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.holders.is_empty()
    }
}

/// A 32-bit hash spread over 64 bits: the table takes its bucket from the low bits and a
/// 7-bit tag from the top ones, and a multiplication by an odd constant feeds every bit
/// of the hash into the top ones.
fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The slot `id`, if it is live.
fn live(slots: &Pages<Option<Slot>>, id: u32) -> Option<&Slot> {
    slots.get(id as usize)?.as_ref()
}

/// The series key of the label set in slot `id`, which is live: the hash table and the
/// order hold live slots only.
fn key_of(slots: &Pages<Option<Slot>>, id: u32) -> &[u8] {
    live(slots, id).map_or(&[], Slot::key)
}

fn slots_in_order<'a>(
    order: &'a KeyOrder,
    slots: &'a Pages<Option<Slot>>,
) -> impl Iterator<Item = &'a Slot> {
    order.iter().filter_map(|id| live(slots, id))
}

/// A family name's series as they were when [`FamilyIndex::view`] was called: what a
/// scrape renders after the store's lock is released.
#[derive(Clone, Debug)]
pub(crate) struct SeriesView {
    slots: Pages<Option<Slot>>,
    order: KeyOrder,
}

impl SeriesView {
    /// Every label set's holders, in exposition order.
    pub(crate) fn slots_in_order(&self) -> impl Iterator<Item = &Slot> {
        slots_in_order(&self.order, &self.slots)
    }

    /// Calls `f` with every series in exposition order (every holder of a label set), having
    /// asked for its text ahead of time; stops at `f`'s first error.
    ///
    /// Series in exposition order are spread over the whole store (each group's family is
    /// a block of its own), so reading one takes a chain of dependent cache misses: its
    /// slot, its family, the family's text offsets, the text. The loop asks for each link
    /// of the chain ahead of time, [`READ_AHEAD`] series apart, so that the misses of
    /// several series overlap instead of following one another.
    pub(crate) fn try_for_each_series<E>(
        &self,
        mut f: impl FnMut(&SeriesRef) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut ids = self.order.iter();
        // The slots of the next series, each found once (through its page) as it joins.
        let mut ahead: VecDeque<&Option<Slot>> = VecDeque::with_capacity(4 * READ_AHEAD);
        loop {
            while ahead.len() < 4 * READ_AHEAD {
                let Some(id) = ids.next() else { break };
                if let Some(slot) = self.slots.get(id as usize) {
                    prefetch(slot);
                    ahead.push_back(slot);
                }
            }
            let Some(next) = ahead.pop_front() else {
                return Ok(());
            };
            let first = |at: usize| Some(&ahead.get(at - 1)?.as_ref()?.first);
            if let Some(s) = first(3 * READ_AHEAD) {
                prefetch(&*s.family);
            }
            if let Some(offsets) =
                first(2 * READ_AHEAD).and_then(|s| s.family.text_offsets_at(s.index as usize))
            {
                prefetch(offsets);
            }
            if let Some(head) = first(READ_AHEAD).and_then(|s| s.family.text_head(s.index as usize))
            {
                // A line of text usually crosses into the next cache line.
                prefetch(head);
                if let Some(next_line) = head.get(CACHE_LINE..) {
                    prefetch(next_line);
                }
            }
            if let Some(slot) = next {
                for s in slot.all() {
                    f(s)?;
                }
            }
        }
    }
}

/// How many series apart [`SeriesView::try_for_each_series`] asks for the links of the
/// chain it follows.
const READ_AHEAD: usize = 4;

/// Bytes per cache line on the CPUs cairn runs on (x86_64 and most ARM).
const CACHE_LINE: usize = 64;

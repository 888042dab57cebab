//! Slot ids kept in the order of their series keys, without holding the keys: the keys
//! live in the stored families, and every comparison reads them through the caller.

use std::cmp::Ordering;
use std::sync::Arc;

/// Most ids in one chunk. Inserting moves at most this many ids; splitting a full chunk
/// moves the chunk list, which is this many times shorter than the list of ids.
const CHUNK_IDS_MAX: usize = 256;

/// A list of distinct ids sorted by a key the caller looks up (`key_of(id)`), stored as
/// sorted chunks of at most [`CHUNK_IDS_MAX`] ids: 4 bytes per id plus the chunks'
/// unused room and one key per chunk, instead of an ordered map's copy of every key.
///
/// Invariants: no chunk is empty; the chunks' ids, one chunk after the other, are in
/// strictly increasing key order; every chunk's `low` is at most its ids' keys and more
/// than the previous chunk's, and the first chunk's is empty (below every key); every
/// entry's `low_prefix` is its chunk's `low`'s [`prefix`].
///
/// A clone shares every chunk (a pointer copy): a scrape keeps the order as it was while
/// pushes change it, and a change copies the list of chunks and the chunk it touches only
/// while a clone still holds them.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyOrder {
    chunks: Arc<Vec<Entry>>,
}

/// A chunk, with the first 16 bytes of its `low` beside the pointer: finding a key's
/// chunk compares numbers in one array, and reads a chunk's `low` only when they tie.
#[derive(Clone, Debug)]
struct Entry {
    low_prefix: (u64, u64),
    chunk: Arc<Chunk>,
}

impl Entry {
    fn new(chunk: Chunk) -> Entry {
        Entry {
            low_prefix: prefix(&chunk.low),
            chunk: Arc::new(chunk),
        }
    }
}

#[derive(Debug)]
struct Chunk {
    /// A copy of a key that separates this chunk from the previous one, so that finding
    /// the chunk reads keys in one place instead of through every chunk's ids.
    low: Box<[u8]>,
    ids: Vec<u32>,
}

impl Clone for Chunk {
    /// A copy allocated for the most ids, as every chunk is.
    fn clone(&self) -> Self {
        let mut ids = Vec::with_capacity(CHUNK_IDS_MAX.max(self.ids.len()));
        ids.extend_from_slice(&self.ids);
        Chunk {
            low: self.low.clone(),
            ids,
        }
    }
}

/// How many ids [`KeyOrder::build`] puts in each chunk: three quarters of the most, so that
/// the inserts that follow a load do not split a chunk at once.
const CHUNK_IDS_BUILT: usize = CHUNK_IDS_MAX * 3 / 4;

impl KeyOrder {
    /// The list of `ids` (whose keys are distinct), in any order to begin with: one sort
    /// instead of an insert per id, which is how a store being loaded orders its series.
    /// The sort compares the first 16 bytes of each key, read once, and reads whole keys
    /// again only for the keys those bytes do not tell apart.
    pub(crate) fn build<'k>(ids: Vec<u32>, key_of: impl Fn(u32) -> &'k [u8]) -> KeyOrder {
        // Two u64s rather than a u128, whose alignment of 16 would make each entry 32 bytes.
        let mut by_prefix: Vec<((u64, u64), u32)> =
            ids.into_iter().map(|id| (prefix(key_of(id)), id)).collect();
        by_prefix.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| key_of(a.1).cmp(key_of(b.1))));
        let chunks = by_prefix
            .chunks(CHUNK_IDS_BUILT)
            .enumerate()
            .map(|(c, part)| {
                let mut ids = Vec::with_capacity(CHUNK_IDS_MAX);
                ids.extend(part.iter().map(|&(_, id)| id));
                // The first chunk's `low` is below every key; another's is its first key.
                let low = if c == 0 {
                    Box::default()
                } else {
                    Box::from(key_of(ids[0]))
                };
                Entry::new(Chunk { low, ids })
            })
            .collect();
        KeyOrder {
            chunks: Arc::new(chunks),
        }
    }

    /// The ids in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks.iter().flat_map(|e| &e.chunk.ids).copied()
    }

    /// Inserts `id`, whose key is `key` and is not in the list yet.
    pub(crate) fn insert<'k>(&mut self, id: u32, key: &[u8], key_of: impl Fn(u32) -> &'k [u8]) {
        let chunks = Arc::make_mut(&mut self.chunks);
        if chunks.is_empty() {
            let mut ids = Vec::with_capacity(CHUNK_IDS_MAX);
            ids.push(id);
            chunks.push(Entry::new(Chunk {
                low: Box::default(),
                ids,
            }));
            return;
        }
        let mut c = chunk_for(chunks, key);
        let mut at = chunks[c]
            .chunk
            .ids
            .partition_point(|&other| key_of(other) < key);
        if chunks[c].chunk.ids.len() == CHUNK_IDS_MAX {
            // Every chunk is allocated for its most ids once, and never grows.
            let half = CHUNK_IDS_MAX / 2;
            let mut ids = Vec::with_capacity(CHUNK_IDS_MAX);
            ids.extend_from_slice(&chunks[c].chunk.ids[half..]);
            Arc::make_mut(&mut chunks[c].chunk).ids.truncate(half);
            let low = Box::from(key_of(ids[0]));
            chunks.insert(c + 1, Entry::new(Chunk { low, ids }));
            if at > half {
                c += 1;
                at -= half;
            }
        }
        Arc::make_mut(&mut chunks[c].chunk).ids.insert(at, id);
    }

    /// Removes `id`, whose key is `key`; returns whether it was there.
    pub(crate) fn remove<'k>(
        &mut self,
        id: u32,
        key: &[u8],
        key_of: impl Fn(u32) -> &'k [u8],
    ) -> bool {
        if self.chunks.is_empty() {
            return false;
        }
        let c = chunk_for(&self.chunks, key);
        let ids = &self.chunks[c].chunk.ids;
        let Ok(at) = ids.binary_search_by(|&other| key_of(other).cmp(key)) else {
            return false;
        };
        if ids[at] != id {
            return false;
        }
        let chunks = Arc::make_mut(&mut self.chunks);
        let ids = &mut Arc::make_mut(&mut chunks[c].chunk).ids;
        ids.remove(at);
        if ids.is_empty() {
            chunks.remove(c);
            // The next chunk becomes the first, whose `low` is below every key.
            if let Some(first) = chunks.first_mut().filter(|_| c == 0) {
                Arc::make_mut(&mut first.chunk).low = Box::default();
                first.low_prefix = prefix(&[]);
            }
        } else if ids.len() < CHUNK_IDS_MAX / 4 {
            merge_small(chunks, c);
        }
        true
    }

    /// Checks the invariants (tests only).
    #[cfg(test)]
    fn check<'k>(&self, key_of: impl Fn(u32) -> &'k [u8]) {
        assert!(
            self.chunks
                .iter()
                .all(|e| e.low_prefix == prefix(&e.chunk.low))
        );
        let chunks: Vec<&Chunk> = self.chunks.iter().map(|e| &*e.chunk).collect();
        assert!(
            chunks
                .iter()
                .all(|c| !c.ids.is_empty() && c.ids.len() <= CHUNK_IDS_MAX)
        );
        assert!(chunks.first().is_none_or(|c| c.low.is_empty()));
        for pair in chunks.windows(2) {
            let before = key_of(pair[0].ids[pair[0].ids.len() - 1]);
            assert!(before < &*pair[1].low && &*pair[1].low <= key_of(pair[1].ids[0]));
        }
        let ids: Vec<u32> = self.iter().collect();
        assert!(ids.windows(2).all(|w| key_of(w[0]) < key_of(w[1])));
    }
}

/// The first 16 bytes of `key` (zeros after a shorter one) as two numbers, which order two
/// keys as their bytes do unless they are equal: then only the whole keys tell.
fn prefix(key: &[u8]) -> (u64, u64) {
    let mut high = [0; 8];
    let mut low = [0; 8];
    for (to, from) in high.iter_mut().chain(&mut low).zip(key) {
        *to = *from;
    }
    (u64::from_be_bytes(high), u64::from_be_bytes(low))
}

/// The chunk where `key` belongs: the last whose `low` is not above it. Prefixes that
/// differ order their keys; only equal ones need the `low` itself.
fn chunk_for(chunks: &[Entry], key: &[u8]) -> usize {
    let key_prefix = prefix(key);
    chunks
        .partition_point(|e| match e.low_prefix.cmp(&key_prefix) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => &*e.chunk.low <= key,
        })
        .saturating_sub(1)
}

/// Merges chunk `c` into a neighbour when both fit in half a chunk, so that deletes do not
/// leave a long list of nearly empty chunks behind. The merged chunk keeps the lower `low`.
fn merge_small(chunks: &mut Vec<Entry>, c: usize) {
    let fits = |a: usize, b: usize| {
        chunks[a].chunk.ids.len() + chunks[b].chunk.ids.len() <= CHUNK_IDS_MAX / 2
    };
    let (into, from) = if c + 1 < chunks.len() && fits(c, c + 1) {
        (c, c + 1)
    } else if c > 0 && fits(c - 1, c) {
        (c - 1, c)
    } else {
        return;
    };
    let moved = chunks.remove(from);
    Arc::make_mut(&mut chunks[into].chunk)
        .ids
        .extend_from_slice(&moved.chunk.ids);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// Keys that collide in their first bytes, so comparisons go past the prefix.
    fn key(n: u32) -> Vec<u8> {
        let mut k = b"series".to_vec();
        k.extend_from_slice(&(n % 7).to_be_bytes());
        k.extend_from_slice(&n.to_be_bytes());
        k
    }

    proptest! {
        /// Inserting and removing in any order keeps the same ids in the same order as an
        /// ordered map of their keys.
        #[test]
        fn matches_an_ordered_map(ops in prop::collection::vec((any::<bool>(), 0u32..3000), 0..4000)) {
            let keys: Vec<Vec<u8>> = (0..3000).map(key).collect();
            let key_of = |id: u32| keys[id as usize].as_slice();
            let mut order = KeyOrder::default();
            let mut model: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
            for (insert, id) in ops {
                let k = key_of(id);
                if insert {
                    if !model.contains_key(k) {
                        order.insert(id, k, key_of);
                        model.insert(k.to_vec(), id);
                    }
                } else {
                    let removed = order.remove(id, k, key_of);
                    prop_assert_eq!(removed, model.remove(k).is_some());
                }
            }
            order.check(key_of);
            prop_assert_eq!(order.iter().collect::<Vec<_>>(), model.values().copied().collect::<Vec<_>>());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Building from ids in any order gives the order inserting them one at a time
        /// gives, and inserts and removes after the build keep it so. The keys share long
        /// prefixes, end in NULs and are prefixes of one another, as series keys can.
        #[test]
        fn a_built_order_is_the_inserted_one(
            suffixes in prop::collection::btree_set(prop::collection::vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..24), 0..1000),
            shared_prefix in 0usize..20,
            then in prop::collection::vec((any::<bool>(), any::<prop::sample::Index>()), 0..300),
        ) {
            let keys: Vec<Vec<u8>> = suffixes
                .into_iter()
                .map(|suffix| [vec![7u8; shared_prefix], suffix].concat())
                .collect();
            let key_of = |id: u32| keys[id as usize].as_slice();
            let mut model: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
            let (built_ids, later): (Vec<u32>, Vec<u32>) =
                (0..keys.len() as u32).partition(|id| id % 3 != 0);
            let mut shuffled = built_ids.clone();
            shuffled.reverse();
            let third = shuffled.len() / 3;
            shuffled.rotate_left(third);
            let mut order = KeyOrder::build(shuffled, key_of);
            for &id in &built_ids {
                model.insert(key_of(id).to_vec(), id);
            }
            order.check(key_of);
            prop_assert_eq!(order.iter().collect::<Vec<_>>(), model.values().copied().collect::<Vec<_>>());
            for (insert, pick) in then {
                if insert && !later.is_empty() {
                    let id = later[pick.index(later.len())];
                    if !model.contains_key(key_of(id)) {
                        order.insert(id, key_of(id), key_of);
                        model.insert(key_of(id).to_vec(), id);
                    }
                } else if !built_ids.is_empty() {
                    let id = built_ids[pick.index(built_ids.len())];
                    let removed = order.remove(id, key_of(id), key_of);
                    prop_assert_eq!(removed, model.remove(key_of(id)).is_some());
                }
            }
            order.check(key_of);
            prop_assert_eq!(order.iter().collect::<Vec<_>>(), model.values().copied().collect::<Vec<_>>());
        }
    }

    #[test]
    fn emptying_the_first_chunk_makes_the_next_one_first() {
        let n = 4 * CHUNK_IDS_MAX as u32;
        let keys: Vec<Vec<u8>> = (0..n).map(|id| id.to_be_bytes().to_vec()).collect();
        let key_of = |id: u32| keys[id as usize].as_slice();
        let mut order = KeyOrder::build((1..n).collect(), key_of);
        let first: Vec<u32> = order.chunks[0].chunk.ids.clone();
        for &id in &first {
            assert!(order.remove(id, key_of(id), key_of));
        }
        order.check(key_of);
        // A key below every other still finds a chunk.
        order.insert(0, key_of(0), key_of);
        order.check(key_of);
        assert_eq!(order.iter().next(), Some(0));
        assert_eq!(order.iter().count(), (n as usize) - first.len());
    }

    /// A clone (what a scrape holds) keeps the order as it was through every kind of change
    /// to the original: inserts, splits, removals, merges, an emptied first chunk.
    #[test]
    fn a_clone_keeps_its_order_while_the_original_changes() {
        let n = 6 * CHUNK_IDS_MAX as u32;
        let keys: Vec<Vec<u8>> = (0..n).map(key).collect();
        let key_of = |id: u32| keys[id as usize].as_slice();
        let mut order = KeyOrder::build((0..n).step_by(2).collect(), key_of);
        for change in 0..3 {
            let held = order.clone();
            let listed: Vec<u32> = held.iter().collect();
            match change {
                // Inserts, splitting every chunk.
                0 => (1..n)
                    .step_by(2)
                    .for_each(|id| order.insert(id, key_of(id), key_of)),
                // Removals, merging chunks.
                1 => (0..n).filter(|id| id % 8 != 0).for_each(|id| {
                    assert!(order.remove(id, key_of(id), key_of));
                }),
                // The first chunk emptied.
                _ => {
                    let first: Vec<u32> = order.chunks[0].chunk.ids.clone();
                    for id in first {
                        assert!(order.remove(id, key_of(id), key_of));
                    }
                }
            }
            order.check(key_of);
            held.check(key_of);
            assert_eq!(held.iter().collect::<Vec<u32>>(), listed);
            assert_ne!(order.iter().collect::<Vec<u32>>(), listed);
        }
    }

    #[test]
    fn many_inserts_split_and_many_removes_merge() {
        let n = 20 * CHUNK_IDS_MAX as u32;
        let keys: Vec<Vec<u8>> = (0..n).map(key).collect();
        let key_of = |id: u32| keys[id as usize].as_slice();
        let mut order = KeyOrder::default();
        // Ascending, then descending, so that both ends of chunks split.
        for id in (0..n).step_by(2).chain((1..n).step_by(2).rev()) {
            order.insert(id, key_of(id), key_of);
        }
        order.check(key_of);
        assert!(order.chunks.len() >= 20);
        for id in (0..n).filter(|id| id % 16 != 0) {
            assert!(order.remove(id, key_of(id), key_of));
        }
        order.check(key_of);
        assert_eq!(order.iter().count(), (n / 16) as usize);
        assert!(
            order.chunks.len() <= 6,
            "{} chunks left",
            order.chunks.len()
        );
        assert!(!order.remove(1, key_of(1), key_of), "removed twice");
    }
}

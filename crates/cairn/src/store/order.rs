//! Slot ids kept in the order of their series keys, without holding the keys: the keys
//! live in the stored families, and every comparison reads them through the caller.

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
/// than the previous chunk's, and the first chunk's is empty (below every key).
///
/// A clone shares every chunk (a pointer copy): a scrape keeps the order as it was while
/// pushes change it, and a change copies the list of chunks and the chunk it touches only
/// while a clone still holds them.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyOrder {
    chunks: Arc<Vec<Arc<Chunk>>>,
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

impl KeyOrder {
    /// The ids in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks.iter().flat_map(|c| &c.ids).copied()
    }

    /// Inserts `id`, whose key is `key` and is not in the list yet.
    pub(crate) fn insert<'k>(&mut self, id: u32, key: &[u8], key_of: impl Fn(u32) -> &'k [u8]) {
        let chunks = Arc::make_mut(&mut self.chunks);
        if chunks.is_empty() {
            let mut ids = Vec::with_capacity(CHUNK_IDS_MAX);
            ids.push(id);
            chunks.push(Arc::new(Chunk {
                low: Box::default(),
                ids,
            }));
            return;
        }
        let mut c = chunk_for(chunks, key);
        let mut at = chunks[c].ids.partition_point(|&other| key_of(other) < key);
        if chunks[c].ids.len() == CHUNK_IDS_MAX {
            // Every chunk is allocated for its most ids once, and never grows.
            let half = CHUNK_IDS_MAX / 2;
            let mut ids = Vec::with_capacity(CHUNK_IDS_MAX);
            ids.extend_from_slice(&chunks[c].ids[half..]);
            Arc::make_mut(&mut chunks[c]).ids.truncate(half);
            let low = Box::from(key_of(ids[0]));
            chunks.insert(c + 1, Arc::new(Chunk { low, ids }));
            if at > half {
                c += 1;
                at -= half;
            }
        }
        Arc::make_mut(&mut chunks[c]).ids.insert(at, id);
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
        let ids = &self.chunks[c].ids;
        let Ok(at) = ids.binary_search_by(|&other| key_of(other).cmp(key)) else {
            return false;
        };
        if ids[at] != id {
            return false;
        }
        let chunks = Arc::make_mut(&mut self.chunks);
        let ids = &mut Arc::make_mut(&mut chunks[c]).ids;
        ids.remove(at);
        if ids.is_empty() {
            chunks.remove(c);
            if let Some(first) = chunks.first_mut() {
                Arc::make_mut(first).low = Box::default();
            }
        } else if ids.len() < CHUNK_IDS_MAX / 4 {
            merge_small(chunks, c);
        }
        true
    }

    /// Checks the invariants (tests only).
    #[cfg(test)]
    fn check<'k>(&self, key_of: impl Fn(u32) -> &'k [u8]) {
        let chunks = &self.chunks;
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

/// The chunk where `key` belongs: the last whose `low` is not above it.
fn chunk_for(chunks: &[Arc<Chunk>], key: &[u8]) -> usize {
    chunks
        .partition_point(|chunk| &*chunk.low <= key)
        .saturating_sub(1)
}

/// Merges chunk `c` into a neighbour when both fit in half a chunk, so that deletes do not
/// leave a long list of nearly empty chunks behind. The merged chunk keeps the lower `low`.
fn merge_small(chunks: &mut Vec<Arc<Chunk>>, c: usize) {
    let fits = |a: usize, b: usize| chunks[a].ids.len() + chunks[b].ids.len() <= CHUNK_IDS_MAX / 2;
    let (into, from) = if c + 1 < chunks.len() && fits(c, c + 1) {
        (c, c + 1)
    } else if c > 0 && fits(c - 1, c) {
        (c - 1, c)
    } else {
        return;
    };
    let moved = chunks.remove(from);
    Arc::make_mut(&mut chunks[into])
        .ids
        .extend_from_slice(&moved.ids);
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

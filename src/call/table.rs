//! [`CallTable`]: something per open call of one connection, by `cid` (the connection's
//! routes and the supervisor's call addresses) or by another id of the call (its key, for
//! keyed value frames).
//!
//! Most connections hold one call or a few, and a hash map's smallest table is four entries
//! (280 bytes with a route each, heaptrack on `examples/scale`): a short list serves them,
//! searched in order, and a map takes over past [`FEW`].

use std::collections::HashMap;
use std::hash::Hash;
use uuid::Uuid;

/// The most calls kept in the list; a list of this many is searched as fast as a map.
const FEW: usize = 8;

/// Values by `cid` (or by another id `K` of a call).
pub(crate) enum CallTable<V, K = Uuid> {
    Few(Vec<(K, V)>),
    Many(HashMap<K, V>),
}

impl<V, K: Copy + Eq + Hash> CallTable<V, K> {
    pub(crate) fn new() -> Self {
        CallTable::Few(Vec::new())
    }

    pub(crate) fn get(&self, cid: &K) -> Option<&V> {
        match self {
            CallTable::Few(list) => list.iter().find(|(c, _)| c == cid).map(|(_, v)| v),
            CallTable::Many(map) => map.get(cid),
        }
    }

    pub(crate) fn contains_key(&self, cid: &K) -> bool {
        self.get(cid).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            CallTable::Few(list) => list.len(),
            CallTable::Many(map) => map.len(),
        }
    }

    /// Adds `value` for a `cid` not present.
    pub(crate) fn insert(&mut self, cid: K, value: V) {
        match self {
            CallTable::Few(list) if list.len() < FEW => {
                // Grown one at a time: a list's first allocation would be four entries too.
                list.reserve_exact(1);
                list.push((cid, value));
            }
            CallTable::Few(list) => {
                let mut map: HashMap<K, V> = std::mem::take(list).into_iter().collect();
                map.insert(cid, value);
                *self = CallTable::Many(map);
            }
            CallTable::Many(map) => {
                map.insert(cid, value);
            }
        }
    }

    /// Every value, in no particular order.
    pub(crate) fn values(&self) -> Box<dyn Iterator<Item = &V> + '_> {
        match self {
            CallTable::Few(list) => Box::new(list.iter().map(|(_, v)| v)),
            CallTable::Many(map) => Box::new(map.values()),
        }
    }

    /// Takes every value out.
    pub(crate) fn drain(&mut self) -> Vec<V> {
        match std::mem::replace(self, CallTable::new()) {
            CallTable::Few(list) => list.into_iter().map(|(_, v)| v).collect(),
            CallTable::Many(map) => map.into_values().collect(),
        }
    }

    pub(crate) fn remove(&mut self, cid: &K) -> Option<V> {
        match self {
            CallTable::Few(list) => {
                let i = list.iter().position(|(c, _)| c == cid)?;
                Some(list.swap_remove(i).1)
            }
            CallTable::Many(map) => map.remove(cid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_then_a_map_holds_every_value_by_cid() {
        let cids: Vec<Uuid> = (0..20u128).map(Uuid::from_u128).collect();
        let mut routes: CallTable<usize> = CallTable::new();
        for (i, cid) in cids.iter().enumerate() {
            routes.insert(*cid, i);
            assert_eq!(routes.len(), i + 1);
        }
        assert!(matches!(routes, CallTable::Many(_)));
        for (i, cid) in cids.iter().enumerate() {
            assert_eq!(routes.get(cid), Some(&i));
        }
        assert_eq!(routes.remove(&cids[3]), Some(3));
        assert!(!routes.contains_key(&cids[3]));
        let mut few: CallTable<usize> = CallTable::new();
        few.insert(cids[0], 0);
        few.insert(cids[1], 1);
        assert_eq!(few.remove(&cids[0]), Some(0));
        assert_eq!(few.get(&cids[1]), Some(&1));
        assert_eq!(few.len(), 1);
        assert_eq!(routes.drain().len(), 19);
        assert_eq!(routes.len(), 0);
    }
}

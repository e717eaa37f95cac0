//! [`Routes`]: a connection's open calls by `cid`.
//!
//! Most connections hold one call or a few, and a hash map's smallest table is four entries
//! (280 bytes with a route each, heaptrack on `examples/scale`): a short list serves them,
//! searched in order, and a map takes over past [`FEW`].

use std::collections::HashMap;
use uuid::Uuid;

/// The most calls kept in the list; a list of this many is searched as fast as a map.
const FEW: usize = 8;

/// Values by `cid`.
pub(super) enum Routes<V> {
    Few(Vec<(Uuid, V)>),
    Many(HashMap<Uuid, V>),
}

impl<V> Routes<V> {
    pub(super) fn new() -> Self {
        Routes::Few(Vec::new())
    }

    pub(super) fn get(&self, cid: &Uuid) -> Option<&V> {
        match self {
            Routes::Few(list) => list.iter().find(|(c, _)| c == cid).map(|(_, v)| v),
            Routes::Many(map) => map.get(cid),
        }
    }

    pub(super) fn contains_key(&self, cid: &Uuid) -> bool {
        self.get(cid).is_some()
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Routes::Few(list) => list.len(),
            Routes::Many(map) => map.len(),
        }
    }

    /// Adds `value` for a `cid` not present.
    pub(super) fn insert(&mut self, cid: Uuid, value: V) {
        match self {
            Routes::Few(list) if list.len() < FEW => {
                // Grown one at a time: a list's first allocation would be four entries too.
                list.reserve_exact(1);
                list.push((cid, value));
            }
            Routes::Few(list) => {
                let mut map: HashMap<Uuid, V> = std::mem::take(list).into_iter().collect();
                map.insert(cid, value);
                *self = Routes::Many(map);
            }
            Routes::Many(map) => {
                map.insert(cid, value);
            }
        }
    }

    pub(super) fn remove(&mut self, cid: &Uuid) -> Option<V> {
        match self {
            Routes::Few(list) => {
                let i = list.iter().position(|(c, _)| c == cid)?;
                Some(list.swap_remove(i).1)
            }
            Routes::Many(map) => map.remove(cid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_then_a_map_holds_every_route_by_cid() {
        let cids: Vec<Uuid> = (0..20u128).map(Uuid::from_u128).collect();
        let mut routes = Routes::new();
        for (i, cid) in cids.iter().enumerate() {
            routes.insert(*cid, i);
            assert_eq!(routes.len(), i + 1);
        }
        assert!(matches!(routes, Routes::Many(_)));
        for (i, cid) in cids.iter().enumerate() {
            assert_eq!(routes.get(cid), Some(&i));
        }
        assert_eq!(routes.remove(&cids[3]), Some(3));
        assert!(!routes.contains_key(&cids[3]));
        let mut few = Routes::new();
        few.insert(cids[0], 0);
        few.insert(cids[1], 1);
        assert_eq!(few.remove(&cids[0]), Some(0));
        assert_eq!(few.get(&cids[1]), Some(&1));
        assert_eq!(few.len(), 1);
    }
}

//! A bounded memory of recently ended call ids.
//!
//! Frames cross in flight: a peer may send a value for a call whose end it has not yet seen.
//! Both sides remember the last few ended calls so that such frames are dropped quietly
//! rather than answered, which keeps "nothing is sent for a call after its final close"
//! true. The memory is bounded, so a long connection does not grow.

use std::collections::{HashSet, VecDeque};
use uuid::Uuid;

/// The last `capacity` ended call ids.
#[derive(Debug)]
pub(crate) struct RecentIds {
    order: VecDeque<Uuid>,
    set: HashSet<Uuid>,
    capacity: usize,
}

impl RecentIds {
    pub(crate) fn new(capacity: usize) -> Self {
        RecentIds {
            order: VecDeque::new(),
            set: HashSet::new(),
            capacity,
        }
    }

    pub(crate) fn insert(&mut self, id: Uuid) {
        if self.capacity == 0 || !self.set.insert(id) {
            return;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    pub(crate) fn contains(&self, id: &Uuid) -> bool {
        self.set.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest() {
        let mut r = RecentIds::new(2);
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        ids.iter().for_each(|id| r.insert(*id));
        assert!(!r.contains(&ids[0]));
        assert!(r.contains(&ids[1]) && r.contains(&ids[2]));
    }
}

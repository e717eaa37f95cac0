//! Maps keyed by the ids of the client's own calls (`cid`s and keys), hashed cheaply.
//!
//! The socket task looks a call up by its id for every value it reads; std's SipHash, which
//! resists keys chosen to collide, was 1–2 % of the client's CPU (`perf`, `benches/peer.rs`).
//! The ids in these maps are the client's own (random `cid`s, keys it numbers): what the
//! server sends is only looked up, so it cannot make the tables' chains long. The server's
//! tables, whose ids the clients choose, keep SipHash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map by call id.
pub(super) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A multiply-and-rotate hash over the id's words (the scheme of rustc's `FxHasher`).
#[derive(Default)]
pub(super) struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        }
        for byte in words.remainder() {
            self.add(u64::from(*byte));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn ids_are_found_and_spread() {
        let mut map: IdMap<Uuid, usize> = IdMap::default();
        let ids: Vec<Uuid> = (0..1000).map(|_| Uuid::new_v4()).collect();
        for (n, id) in ids.iter().enumerate() {
            map.insert(*id, n);
        }
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(map.get(id), Some(&n));
        }
        // Consecutive keys land in distinct buckets' control bytes (the top 7 bits).
        let tops: std::collections::HashSet<u64> = (1u32..=64)
            .map(|key| {
                let mut h = IdHasher::default();
                h.write_u32(key);
                h.finish() >> 57
            })
            .collect();
        assert!(tops.len() > 32, "{} distinct", tops.len());
    }
}

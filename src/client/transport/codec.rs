//! The client's end of RFC 6455's frame layout (`crate::websocket`): its masking keys.

/// Masking keys: xorshift64*, seeded per socket from the operating system's randomness.
/// RFC 6455 asks for keys a page's script cannot predict (against proxies that would cache
/// what it smuggles); nothing this client sends comes from such a script.
pub(super) struct MaskKeys(u64);

impl MaskKeys {
    pub(super) fn new() -> Self {
        MaskKeys(uuid::Uuid::new_v4().as_u64_pair().0 | 1)
    }

    pub(super) fn next_key(&mut self) -> [u8; 4] {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let [a, b, c, d, ..] = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_be_bytes();
        [a, b, c, d]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keys_vary() {
        let mut keys = MaskKeys::new();
        let seen: std::collections::HashSet<[u8; 4]> = (0..1000).map(|_| keys.next_key()).collect();
        assert!(seen.len() > 990);
    }
}

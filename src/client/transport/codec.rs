//! RFC 6455's frame layout, as a client writes and reads it: frames written masked straight
//! into the socket's write buffer, headers read in place from its read buffer.

/// A frame's kind (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xa => Opcode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xa,
        }
    }

    /// Close, ping and pong: never fragmented, at most 125 bytes.
    pub(super) fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// The most payload a control frame carries.
pub(super) const CONTROL_MAX: usize = 125;

/// A frame header the server sent.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) fin: bool,
    pub(super) opcode: Opcode,
    /// The header's own length: the payload starts after it.
    pub(super) header_len: usize,
    pub(super) payload_len: u64,
}

/// Something RFC 6455 forbids a server to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Violation {
    #[error("a frame with reserved bits set (no extension was negotiated)")]
    Reserved,
    #[error("a frame with an unknown opcode {0:#x}")]
    UnknownOpcode(u8),
    #[error("a masked frame from the server")]
    Masked,
    #[error("a fragmented or oversized control frame")]
    BadControl,
    #[error("a continuation frame with no message to continue")]
    StrayContinuation,
    #[error("a new message before the fragmented one ended")]
    InterleavedMessage,
    #[error("a text message that is not UTF-8")]
    NotUtf8,
    #[error("a close frame with a one-byte payload or a reason that is not UTF-8")]
    BadClose,
}

impl Header {
    /// The header at the front of `buf`, if all of it is there.
    pub(super) fn parse(buf: &[u8]) -> Result<Option<Header>, Violation> {
        let [first, second, ..] = *buf else {
            return Ok(None);
        };
        if first & 0x70 != 0 {
            return Err(Violation::Reserved);
        }
        let opcode =
            Opcode::from_bits(first & 0x0f).ok_or(Violation::UnknownOpcode(first & 0x0f))?;
        if second & 0x80 != 0 {
            return Err(Violation::Masked);
        }
        let fin = first & 0x80 != 0;
        let (header_len, payload_len) = match second & 0x7f {
            126 => match buf.get(2..4) {
                Some(&[a, b]) => (4, u64::from(u16::from_be_bytes([a, b]))),
                _ => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(bytes) => {
                    let mut be = [0u8; 8];
                    be.copy_from_slice(bytes);
                    (10, u64::from_be_bytes(be))
                }
                None => return Ok(None),
            },
            len => (2, u64::from(len)),
        };
        if opcode.is_control() && (!fin || payload_len > CONTROL_MAX as u64) {
            return Err(Violation::BadControl);
        }
        Ok(Some(Header {
            fin,
            opcode,
            header_len,
            payload_len,
        }))
    }
}

/// Appends one final, masked frame of `payload` to `out`.
pub(super) fn write_frame(out: &mut Vec<u8>, opcode: Opcode, payload: &[u8], mask: [u8; 4]) {
    let len = payload.len();
    out.reserve(14 + len);
    out.push(0x80 | opcode.bits());
    match len {
        0..=125 => out.push(0x80 | len as u8),
        126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], mask);
}

/// XORs `bytes` with the masking key, eight bytes at a time.
pub(super) fn apply_mask(bytes: &mut [u8], mask: [u8; 4]) {
    let [a, b, c, d] = mask;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut chunks = bytes.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, so at the key's first byte.
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i & 3];
    }
}

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

    fn unmasked(frame: &[u8], header_len: usize) -> Vec<u8> {
        let mask: [u8; 4] = frame[header_len - 4..header_len].try_into().unwrap();
        let mut payload = frame[header_len..].to_vec();
        apply_mask(&mut payload, mask);
        payload
    }

    #[test]
    fn frames_are_written_final_masked_with_the_shortest_length() {
        for (len, header_len, second) in [
            (0, 6, 0x80),
            (125, 6, 0xfd),
            (126, 8, 0xfe),
            (70_000, 14, 0xff),
        ] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut out = Vec::new();
            write_frame(&mut out, Opcode::Binary, &payload, [1, 2, 3, 4]);
            assert_eq!(out.len(), header_len + len);
            assert_eq!(out[0], 0x82);
            assert_eq!(out[1], second);
            assert_eq!(unmasked(&out, header_len), payload, "{len}");
        }
        let mut out = Vec::new();
        write_frame(&mut out, Opcode::Text, b"hi", [0, 0, 0, 0]);
        assert_eq!(out, [0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
    }

    #[test]
    fn masking_matches_the_byte_by_byte_rule_at_every_length() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let mut masked = bytes.clone();
            apply_mask(&mut masked, mask);
            let expected: Vec<u8> = bytes
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            assert_eq!(masked, expected);
        }
    }

    #[test]
    fn headers_are_read_once_complete() {
        // RFC 6455 §5.7's examples: "Hello" unmasked, and 256 and 65536 bytes.
        let hello = [0x81, 0x05, b'H', b'e', b'l', b'l', b'o'];
        assert_eq!(
            Header::parse(&hello),
            Ok(Some(Header {
                fin: true,
                opcode: Opcode::Text,
                header_len: 2,
                payload_len: 5
            }))
        );
        assert_eq!(Header::parse(&hello[..1]), Ok(None));
        let medium = [0x82, 0x7e, 0x01, 0x00];
        assert_eq!(Header::parse(&medium).unwrap().unwrap().payload_len, 256);
        assert_eq!(Header::parse(&medium[..3]), Ok(None));
        let large = [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
        let header = Header::parse(&large).unwrap().unwrap();
        assert_eq!((header.header_len, header.payload_len), (10, 65536));
        assert_eq!(Header::parse(&large[..9]), Ok(None));
        let first_fragment = [0x01, 0x03];
        assert!(!Header::parse(&first_fragment).unwrap().unwrap().fin);
    }

    #[test]
    fn headers_no_server_may_send_are_refused() {
        assert_eq!(Header::parse(&[0xc2, 0]), Err(Violation::Reserved));
        assert_eq!(Header::parse(&[0x83, 0]), Err(Violation::UnknownOpcode(3)));
        assert_eq!(Header::parse(&[0x82, 0x81]), Err(Violation::Masked));
        assert_eq!(Header::parse(&[0x09, 0]), Err(Violation::BadControl));
        assert_eq!(
            Header::parse(&[0x89, 126, 0, 126]),
            Err(Violation::BadControl)
        );
        assert!(Header::parse(&[0x89, 125]).unwrap().is_some());
    }

    #[test]
    fn mask_keys_vary() {
        let mut keys = MaskKeys::new();
        let seen: std::collections::HashSet<[u8; 4]> = (0..1000).map(|_| keys.next_key()).collect();
        assert!(seen.len() > 990);
    }
}

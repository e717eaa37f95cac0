//! RFC 6455's frame layout, for both ends of a WebSocket: a client writes its frames masked
//! and reads the server's unmasked, a server the other way round. Headers are read in place,
//! from the front of a read buffer; frames are written straight into a write buffer.
//!
//! The Rust client's transport (`client::transport`) reads and writes its frames with these,
//! and the server's socket reads the client's (`socket::reader`) and writes its data frames
//! (`socket::written`), so that what either end accepts follows one reading of the RFC.

/// A frame's kind (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opcode {
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
    pub(crate) fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// The most payload a control frame carries.
pub(crate) const CONTROL_MAX: usize = 125;

/// The end whose frames are read: a client masks every frame, a server none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SentBy {
    Client,
    Server,
}

/// A frame header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: Opcode,
    /// The header's own length: the payload starts after it.
    pub(crate) header_len: usize,
    pub(crate) payload_len: u64,
    /// A client's masking key.
    pub(crate) mask: Option<[u8; 4]>,
}

/// Something RFC 6455 forbids the other end to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Violation {
    #[error("a frame with reserved bits set (no extension was negotiated)")]
    Reserved,
    #[error("a frame with an unknown opcode {0:#x}")]
    UnknownOpcode(u8),
    #[error("a masked frame from the server")]
    Masked,
    #[error("an unmasked frame from a client")]
    Unmasked,
    #[error("a fragmented or oversized control frame")]
    BadControl,
    #[error("a continuation frame with no message to continue")]
    StrayContinuation,
    #[error("a new message before the fragmented one ended")]
    InterleavedMessage,
    #[error("a text message that is not UTF-8")]
    NotUtf8,
    #[error("a close frame with a one-byte payload, a status no peer may send, or a reason that is not UTF-8")]
    BadClose,
}

impl Header {
    /// The header at the front of `buf`, of a frame `from` sent, if all of it is there.
    pub(crate) fn parse(buf: &[u8], from: SentBy) -> Result<Option<Header>, Violation> {
        let [first, second, ..] = *buf else {
            return Ok(None);
        };
        if first & 0x70 != 0 {
            return Err(Violation::Reserved);
        }
        let opcode =
            Opcode::from_bits(first & 0x0f).ok_or(Violation::UnknownOpcode(first & 0x0f))?;
        match (from, second & 0x80 != 0) {
            (SentBy::Server, true) => return Err(Violation::Masked),
            (SentBy::Client, false) => return Err(Violation::Unmasked),
            _ => {}
        }
        let fin = first & 0x80 != 0;
        let (mut header_len, payload_len) = match second & 0x7f {
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
        let mask = match from {
            SentBy::Server => None,
            SentBy::Client => match buf.get(header_len..header_len + 4) {
                Some(&[a, b, c, d]) => {
                    header_len += 4;
                    Some([a, b, c, d])
                }
                _ => return Ok(None),
            },
        };
        Ok(Some(Header {
            fin,
            opcode,
            header_len,
            payload_len,
            mask,
        }))
    }
}

/// A close frame's status and reason (RFC 6455 §5.5.1), if it has a status: none, or two
/// bytes of one that a peer may send (§7.4) and a UTF-8 reason.
pub(crate) fn close_payload(payload: &[u8]) -> Result<Option<(u16, &str)>, Violation> {
    let [a, b, reason @ ..] = payload else {
        return match payload {
            [] => Ok(None),
            _ => Err(Violation::BadClose),
        };
    };
    let code = u16::from_be_bytes([*a, *b]);
    if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
        return Err(Violation::BadClose);
    }
    let reason = std::str::from_utf8(reason).map_err(|_| Violation::BadClose)?;
    Ok(Some((code, reason)))
}

/// A buffer frames are written into: the client's `Vec`, the server's `BytesMut` (which the
/// response body takes from without a copy).
pub(crate) trait WriteBuf: AsMut<[u8]> {
    fn reserve(&mut self, additional: usize);
    fn extend_from_slice(&mut self, bytes: &[u8]);
}

impl WriteBuf for Vec<u8> {
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional);
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes);
    }
}

impl WriteBuf for bytes::BytesMut {
    fn reserve(&mut self, additional: usize) {
        bytes::BytesMut::reserve(self, additional);
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        bytes::BytesMut::extend_from_slice(self, bytes);
    }
}

/// Appends one final frame of `payload` to `out`, masked with `mask` if it has one (a
/// client's).
pub(crate) fn write_frame(
    out: &mut impl WriteBuf,
    opcode: Opcode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let len = payload.len();
    let masked = if mask.is_some() { 0x80 } else { 0 };
    let mut head = [0u8; 14];
    head[0] = 0x80 | opcode.bits();
    let mut head_len = match len {
        0..=125 => {
            head[1] = masked | len as u8;
            2
        }
        126..=0xffff => {
            head[1] = masked | 126;
            head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            head[1] = masked | 127;
            head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    };
    if let Some(mask) = mask {
        head[head_len..head_len + 4].copy_from_slice(&mask);
        head_len += 4;
    }
    out.reserve(head_len + len);
    out.extend_from_slice(&head[..head_len]);
    let start = out.as_mut().len();
    out.extend_from_slice(payload);
    if let Some(mask) = mask {
        apply_mask(&mut out.as_mut()[start..], mask);
    }
}

/// XORs `bytes` with the masking key, eight bytes at a time.
pub(crate) fn apply_mask(bytes: &mut [u8], mask: [u8; 4]) {
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
            write_frame(&mut out, Opcode::Binary, &payload, Some([1, 2, 3, 4]));
            assert_eq!(out.len(), header_len + len);
            assert_eq!(out[0], 0x82);
            assert_eq!(out[1], second);
            assert_eq!(unmasked(&out, header_len), payload, "{len}");
        }
        let mut out = Vec::new();
        write_frame(&mut out, Opcode::Text, b"hi", Some([0, 0, 0, 0]));
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
            Header::parse(&hello, SentBy::Server),
            Ok(Some(Header {
                fin: true,
                opcode: Opcode::Text,
                header_len: 2,
                payload_len: 5,
                mask: None,
            }))
        );
        assert_eq!(Header::parse(&hello[..1], SentBy::Server), Ok(None));
        let medium = [0x82, 0x7e, 0x01, 0x00];
        assert_eq!(
            Header::parse(&medium, SentBy::Server)
                .unwrap()
                .unwrap()
                .payload_len,
            256
        );
        assert_eq!(Header::parse(&medium[..3], SentBy::Server), Ok(None));
        let large = [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
        let header = Header::parse(&large, SentBy::Server).unwrap().unwrap();
        assert_eq!((header.header_len, header.payload_len), (10, 65536));
        assert_eq!(Header::parse(&large[..9], SentBy::Server), Ok(None));
        let first_fragment = [0x01, 0x03];
        assert!(
            !Header::parse(&first_fragment, SentBy::Server)
                .unwrap()
                .unwrap()
                .fin
        );
    }

    #[test]
    fn headers_no_server_may_send_are_refused() {
        assert_eq!(
            Header::parse(&[0xc2, 0], SentBy::Server),
            Err(Violation::Reserved)
        );
        assert_eq!(
            Header::parse(&[0x83, 0], SentBy::Server),
            Err(Violation::UnknownOpcode(3))
        );
        assert_eq!(
            Header::parse(&[0x82, 0x81], SentBy::Server),
            Err(Violation::Masked)
        );
        assert_eq!(
            Header::parse(&[0x09, 0], SentBy::Server),
            Err(Violation::BadControl)
        );
        assert_eq!(
            Header::parse(&[0x89, 126, 0, 126], SentBy::Server),
            Err(Violation::BadControl)
        );
        assert!(Header::parse(&[0x89, 125], SentBy::Server)
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_clients_frames_are_read_with_their_key_and_must_have_one() {
        let mut frame = Vec::new();
        write_frame(&mut frame, Opcode::Ping, b"hi", Some([9, 8, 7, 6]));
        assert_eq!(Header::parse(&frame[..5], SentBy::Client), Ok(None));
        let header = Header::parse(&frame, SentBy::Client).unwrap().unwrap();
        assert_eq!((header.header_len, header.payload_len), (6, 2));
        assert_eq!(header.mask, Some([9, 8, 7, 6]));
        assert_eq!(unmasked(&frame, 6), b"hi");
        let mut unmasked_frame = Vec::new();
        write_frame(&mut unmasked_frame, Opcode::Binary, b"x", None);
        assert_eq!(unmasked_frame, [0x82, 0x01, b'x']);
        assert_eq!(
            Header::parse(&unmasked_frame, SentBy::Client),
            Err(Violation::Unmasked)
        );
    }

    #[test]
    fn close_payloads_carry_a_status_a_peer_may_send_and_a_utf8_reason() {
        assert_eq!(close_payload(b""), Ok(None));
        assert_eq!(close_payload(&[0x03, 0xe8]), Ok(Some((1000, ""))));
        assert_eq!(close_payload(b"\x0f\xa0bye"), Ok(Some((4000, "bye"))));
        for bad in [&[0x03][..], &[0x03, 0xed], &[0x03, 0xe8, 0xff], &[0, 0]] {
            assert_eq!(close_payload(bad), Err(Violation::BadClose), "{bad:?}");
        }
    }
}

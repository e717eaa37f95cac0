//! Where values and frames are encoded: a per-thread scratch buffer, copied out either at
//! its exact size ([`encode_exact`]: for what may be kept long) or into a chunk that many
//! short-lived encodings share ([`encode_shared`]: for a value on its way into a frame and
//! for the frame itself).
//!
//! A shared encoding is a slice of a 16 KiB chunk: no allocation of its own, and a clone of
//! it (a resumable connection keeps every frame until acknowledged) only counts a
//! reference. A chunk lives until the last encoding in it is dropped, so only what is
//! dropped soon belongs there: frames live until written and acknowledged (at most
//! `ACK_DELAY` after they arrive), and a value until its frame is encoded. Whatever a user
//! may keep (a `Dynamic` of their own, a bus message held in history) is exact.

use bytes::{Bytes, BytesMut};
use std::cell::RefCell;

/// A scratch buffer larger than this is not kept for the next encoding.
const SCRATCH_KEPT: usize = 64 * 1024;

/// The size of a shared chunk: a frame of a 64-byte value is about 100 bytes (keyed) to
/// 200 bytes (not keyed), so a chunk is one allocation per hundred or so of them, and an
/// encoding kept alive by mistake keeps at most this much with it.
const CHUNK: usize = 16 * 1024;

/// Encodings larger than this get an allocation of their own: they would use up a chunk
/// in a few, and the allocation is small next to what writing them costs.
const SHARED_MAX: usize = 2 * 1024;

#[derive(Default)]
struct Buffers {
    scratch: Vec<u8>,
    chunk: BytesMut,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// Runs `write` into the thread's scratch buffer and copies the result out at its exact
/// size: one allocation, whatever the encoder's growth pattern would have cost.
pub(crate) fn encode_exact<E>(
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<Bytes, E> {
    encode(write, |_, written| Bytes::copy_from_slice(written))
}

/// Runs `write` into the thread's scratch buffer and copies the result into the thread's
/// current chunk, as a slice of it (a fresh chunk when the current one is full): for
/// encodings dropped soon (see the module's docs).
pub(crate) fn encode_shared<E>(
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<Bytes, E> {
    encode(write, |chunk, written| {
        if written.len() > SHARED_MAX {
            return Bytes::copy_from_slice(written);
        }
        if chunk.capacity() < written.len() {
            // Reuses the chunk in place when nothing points into it any more.
            chunk.reserve(CHUNK);
        }
        chunk.extend_from_slice(written);
        chunk.split().freeze()
    })
}

fn encode<E>(
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    copy_out: impl FnOnce(&mut BytesMut, &[u8]) -> Bytes,
) -> Result<Bytes, E> {
    BUFFERS.with(|buffers| match buffers.try_borrow_mut() {
        Ok(mut buffers) => {
            let Buffers { scratch, chunk } = &mut *buffers;
            scratch.clear();
            let written = write(scratch).map(|()| copy_out(chunk, scratch));
            if scratch.capacity() > SCRATCH_KEPT {
                *scratch = Vec::new();
            }
            written
        }
        // Called again from inside an encoder: a buffer of its own.
        Err(_) => {
            let mut buf = Vec::new();
            write(&mut buf).map(|()| Bytes::from(buf))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize, byte: u8) -> impl FnOnce(&mut Vec<u8>) -> Result<(), ()> {
        move |buf| {
            buf.resize(n, byte);
            Ok(())
        }
    }

    #[test]
    fn shared_encodings_are_slices_of_one_chunk_until_it_is_full() {
        let first = encode_shared(bytes(100, 1)).unwrap();
        let second = encode_shared(bytes(100, 2)).unwrap();
        assert_eq!(&first[..], &[1; 100][..]);
        assert_eq!(&second[..], &[2; 100][..]);
        // Side by side in one allocation.
        assert_eq!(first.as_ptr().wrapping_add(100), second.as_ptr());
        // Many more than a chunk holds: all intact, in a few chunks.
        let many: Vec<Bytes> = (0..1000u32)
            .map(|i| encode_shared(bytes(100, i as u8)).unwrap())
            .collect();
        for (i, b) in many.iter().enumerate() {
            assert_eq!(&b[..], &[i as u8; 100][..]);
        }
        let starts = many
            .windows(2)
            .filter(|w| w[0].as_ptr().wrapping_add(100) != w[1].as_ptr())
            .count();
        assert!(starts <= 1000 * 100 / (CHUNK - 100), "{starts} chunks");
    }

    #[test]
    fn large_encodings_and_exact_ones_get_their_own_allocation() {
        let large = encode_shared(bytes(SHARED_MAX + 1, 3)).unwrap();
        let after = encode_shared(bytes(10, 4)).unwrap();
        assert_eq!(large.len(), SHARED_MAX + 1);
        assert_ne!(large.as_ptr().wrapping_add(large.len()), after.as_ptr());
        let exact = encode_exact(bytes(10, 5)).unwrap();
        assert_eq!(&exact[..], &[5; 10][..]);
    }

    #[test]
    fn an_encoder_that_encodes_inside_itself_gets_a_buffer_of_its_own() {
        let outer = encode_shared(|buf| {
            let inner = encode_shared(bytes(3, 9))?;
            buf.extend_from_slice(&inner);
            buf.push(1);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(&outer[..], &[9, 9, 9, 1][..]);
    }

    #[test]
    fn a_failed_encoding_gives_the_error() {
        assert_eq!(encode_shared(|_| Err::<(), _>("no")), Err("no"));
    }
}

//! WebSocket frames out of the request body, every frame that has arrived in one batch, read
//! in place.
//!
//! `actix-web-actors` decodes frames itself and hands them to the actor one at a time, and
//! actix lets a stream hand over at most 16 items before it yields. A pipelined client's
//! read of 30 frames thus became two turns of the connection, and two writes of their
//! answers: the server made 13,000 `send` calls for 200,000 echoes where tonic made 3,300
//! (`perf stat`, `benches/peer.rs`). So the socket reads its frames itself.
//!
//! And it reads them where they arrived: a batch is the bytes of the frames one read
//! completed, checked and unmasked in place, and the connection is handed each frame's
//! payload as a slice of them. `actix-http`'s codec, used before, split every frame's
//! payload off the buffer into a `Bytes` of its own, two reference counts per frame and 6 %
//! of the server's time per echoed message (docs/PERFORMANCE.md, "Frames read in place").

use crate::websocket::{apply_mask, Header, Opcode, SentBy, Violation};
use bytes::{Bytes, BytesMut};
use futures::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why the peer's frames cannot be read on: the connection closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameFault {
    /// A frame or message longer than the server takes (1009).
    TooLarge,
    /// Not what a client may send (1002).
    Violation(Violation),
}

/// One frame of a batch: its payload, unmasked, borrowed from the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameRef<'a> {
    /// The last frame of its message.
    pub(crate) fin: bool,
    pub(crate) opcode: Opcode,
    pub(crate) payload: &'a [u8],
}

/// The frames one read completed, in order, and then perhaps the fault that ended reading.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Whole frames, each checked and its payload unmasked.
    bytes: BytesMut,
    /// Where the next frame to hand out starts.
    at: usize,
    fault: Option<FrameFault>,
}

/// What a batch holds next.
pub(crate) enum Next<'a> {
    Frame(FrameRef<'a>),
    Fault(FrameFault),
    End,
}

impl Batch {
    /// The next frame, or the fault after the last one.
    pub(crate) fn next(&mut self) -> Next<'_> {
        // Every frame here was checked whole when it was read.
        let Ok(Some(head)) = Header::parse(&self.bytes[self.at..], SentBy::Client) else {
            return self.fault.take().map_or(Next::End, Next::Fault);
        };
        let start = self.at + head.header_len;
        self.at = start + head.payload_len as usize;
        Next::Frame(FrameRef {
            fin: head.fin,
            opcode: head.opcode,
            payload: &self.bytes[start..self.at],
        })
    }

    /// Adds the frames of a later read after the ones not yet handed out.
    pub(crate) fn append(&mut self, later: Batch) {
        self.bytes.extend_from_slice(&later.bytes[later.at..]);
        self.fault = later.fault;
    }

    /// Whether everything in it was handed out.
    pub(crate) fn is_done(&self) -> bool {
        self.at == self.bytes.len() && self.fault.is_none()
    }
}

/// The frames of a request body.
pub(crate) struct FrameReader<S> {
    body: S,
    /// Bytes read and not yet handed out: at most the start of one frame, between reads.
    buf: BytesMut,
    max_frame_size: usize,
    /// The body has ended (the peer closed its side).
    ended: bool,
    /// A fault was reported: nothing more is read.
    failed: bool,
    /// Bytes read, for the metrics.
    received: metrics::Counter,
}

impl<S> FrameReader<S> {
    pub(crate) fn new(body: S, max_frame_size: usize, received: metrics::Counter) -> Self {
        FrameReader {
            body,
            buf: BytesMut::new(),
            max_frame_size,
            ended: false,
            failed: false,
            received,
        }
    }

    /// Checks and unmasks the whole frames at the start of the buffer; returns where they
    /// end, and the fault that stops reading, if one does.
    fn scan(&mut self) -> (usize, Option<FrameFault>) {
        let mut at = 0;
        loop {
            let head = match Header::parse(&self.buf[at..], SentBy::Client) {
                Ok(Some(head)) => head,
                Ok(None) => break,
                Err(violation) => return (at, Some(FrameFault::Violation(violation))),
            };
            let Some(len) = usize::try_from(head.payload_len)
                .ok()
                .filter(|&len| len <= self.max_frame_size)
            else {
                return (at, Some(FrameFault::TooLarge));
            };
            let start = at + head.header_len;
            if start + len > self.buf.len() {
                // Not all here yet: room for the rest, at once.
                self.buf.reserve(start + len - self.buf.len());
                break;
            }
            if let Some(key) = head.mask {
                apply_mask(&mut self.buf[start..start + len], key);
            }
            at = start + len;
        }
        (at, None)
    }
}

impl<S, E> Stream for FrameReader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    type Item = Batch;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Batch>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        while !this.ended {
            match Pin::new(&mut this.body).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.received.increment(chunk.len() as u64);
                    this.buf.extend_from_slice(&chunk);
                }
                // The transport failed (an EOF before a close frame, a reset): the peer's
                // side is gone, which is no protocol error of its. Frames it completed are
                // still handed over; then the stream ends and the connection stops.
                Poll::Ready(Some(Err(e))) => {
                    log::debug!("reading a connection ended: {e}");
                    this.ended = true;
                }
                Poll::Ready(None) => this.ended = true,
                Poll::Pending => break,
            }
        }
        let (whole, fault) = this.scan();
        this.failed = fault.is_some();
        let bytes = if whole == this.buf.len() {
            // Everything: the buffer itself goes (no reference counts), and an idle
            // connection holds no read buffer, whatever size its last read was.
            std::mem::take(&mut this.buf)
        } else {
            this.buf.split_to(whole)
        };
        if whole > 0 || fault.is_some() {
            Poll::Ready(Some(Batch {
                bytes,
                at: 0,
                fault,
            }))
        } else if this.ended {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::write_frame;

    /// A masked client frame: `first` is the header's first byte as it is (FIN, reserved
    /// bits and opcode).
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_frame(
            &mut out,
            Opcode::Binary,
            payload,
            Some([0x9A, 0x01, 0xF0, 0x37]),
        );
        out[0] = first;
        out
    }

    /// A frame as the tests compare it: FIN, opcode, payload.
    type Read = Result<(bool, Opcode, Vec<u8>), FrameFault>;

    /// Reads `chunks` as a body's reads, and collects every frame and fault.
    fn read(chunks: Vec<Vec<u8>>, max: usize) -> Vec<Read> {
        let body = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::convert::Infallible>(Bytes::from(c))),
        );
        let reader = FrameReader::new(body, max, metrics::Counter::noop());
        let batches: Vec<Batch> = futures::executor::block_on_stream(reader).collect();
        let mut out = Vec::new();
        for mut batch in batches {
            loop {
                match batch.next() {
                    Next::Frame(f) => out.push(Ok((f.fin, f.opcode, f.payload.to_vec()))),
                    Next::Fault(fault) => out.push(Err(fault)),
                    Next::End => break,
                }
            }
            assert!(batch.is_done());
        }
        out
    }

    #[test]
    fn frames_of_every_length_form_come_out_unmasked_whole_and_in_order() {
        let sizes = [0, 1, 7, 8, 9, 125, 126, 65_535, 65_536, 70_001];
        let payloads: Vec<Vec<u8>> = sizes
            .iter()
            .map(|&n| (0..n).map(|i| (i * 31 + n) as u8).collect())
            .collect();
        let wire: Vec<u8> = payloads.iter().flat_map(|p| frame(0x82, p)).collect();
        // In one read, and a byte at a time.
        for chunks in [vec![wire.clone()], wire.iter().map(|&b| vec![b]).collect()] {
            let got = read(chunks, 1 << 20);
            let want: Vec<_> = payloads
                .iter()
                .map(|p| Ok((true, Opcode::Binary, p.clone())))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn fragments_and_control_frames_keep_their_flags() {
        let wire = [
            frame(0x01, b"he"),
            frame(0x89, b"ping"),
            frame(0x80, b"llo"),
            frame(0x88, &[0x03, 0xE8, b'b', b'y', b'e']),
        ]
        .concat();
        let got = read(vec![wire], 1024);
        assert_eq!(
            got,
            vec![
                Ok((false, Opcode::Text, b"he".to_vec())),
                Ok((true, Opcode::Ping, b"ping".to_vec())),
                Ok((true, Opcode::Continuation, b"llo".to_vec())),
                Ok((true, Opcode::Close, vec![0x03, 0xE8, b'b', b'y', b'e'])),
            ]
        );
    }

    #[test]
    fn a_bad_frame_ends_reading_after_the_good_ones_before_it() {
        let good = frame(0x82, b"ok");
        let cases: Vec<(Vec<u8>, FrameFault)> = vec![
            (frame(0x82, &[0; 11]), FrameFault::TooLarge),
            (
                frame(0xC2, b"x"),
                FrameFault::Violation(Violation::Reserved),
            ),
            (
                vec![0x82, 0x01, b'x'],
                FrameFault::Violation(Violation::Unmasked),
            ),
            (
                frame(0x83, b"x"),
                FrameFault::Violation(Violation::UnknownOpcode(3)),
            ),
            (
                frame(0x09, b"x"),
                FrameFault::Violation(Violation::BadControl),
            ),
            (
                frame(0x89, &[0; 126]),
                FrameFault::Violation(Violation::BadControl),
            ),
        ];
        for (bad, fault) in cases {
            // What follows the bad frame is never read.
            let wire = [good.clone(), bad, good.clone()].concat();
            let got = read(vec![wire], 10);
            assert_eq!(
                got,
                vec![Ok((true, Opcode::Binary, b"ok".to_vec())), Err(fault)]
            );
        }
    }

    #[test]
    fn a_huge_declared_length_is_too_large_before_its_bytes_arrive() {
        let mut head = vec![0x82, 0x80 | 127];
        head.extend_from_slice(&u64::MAX.to_be_bytes());
        head.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(read(vec![head], 1 << 20), vec![Err(FrameFault::TooLarge)]);
    }
}

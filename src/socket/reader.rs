//! WebSocket frames out of the request body, every frame that has arrived in one batch.
//!
//! `actix-web-actors` decodes frames itself and hands them to the actor one at a time, and
//! actix lets a stream hand over at most 16 items before it yields. A pipelined client's
//! read of 30 frames thus became two turns of the connection, and two writes of their
//! answers: the server made 13,000 `send` calls for 200,000 echoes where tonic made 3,300
//! (`perf stat`, `benches/peer.rs`). Decoding here, with `actix-http`'s codec, gives the
//! connection everything one read brought at once.

use actix_http::ws::{Codec, Frame, ProtocolError};
use bytes::{Bytes, BytesMut};
use futures::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio_util::codec::Decoder;

/// Every frame decodable so far, in order; a WebSocket protocol error ends a batch and the
/// stream, and so does the end of the transport (after the frames it completed).
pub(crate) type Batch = Vec<Result<Frame, ProtocolError>>;

/// The frames of a request body.
pub(crate) struct FrameReader<S> {
    body: S,
    buf: BytesMut,
    codec: Codec,
    /// The body has ended (the peer closed its side).
    ended: bool,
    /// A WebSocket protocol error was reported: nothing more is read.
    failed: bool,
    /// Bytes read, for the metrics.
    received: metrics::Counter,
}

impl<S> FrameReader<S> {
    pub(crate) fn new(body: S, codec: Codec, received: metrics::Counter) -> Self {
        FrameReader {
            body,
            buf: BytesMut::new(),
            codec,
            ended: false,
            failed: false,
            received,
        }
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
        let mut batch = Batch::new();
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
        loop {
            match this.codec.decode(&mut this.buf) {
                Ok(Some(frame)) => batch.push(Ok(frame)),
                Ok(None) => break,
                Err(e) => {
                    batch.push(Err(e));
                    this.failed = true;
                    break;
                }
            }
        }
        if this.buf.is_empty() {
            // An idle connection holds no read buffer, whatever size its last read was.
            this.buf = BytesMut::new();
        }
        if !batch.is_empty() {
            Poll::Ready(Some(batch))
        } else if this.ended {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

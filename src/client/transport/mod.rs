//! The clients' WebSocket transport, of their own: frames are masked straight into one
//! write buffer (one write per turn of the socket task, whatever it queued) and read in
//! place from one read buffer (a binary message is a slice of it, not a copy). Both
//! clients use it; tungstenite's general-purpose socket cost the client a copy per frame
//! each way (docs/PERFORMANCE.md, "The client's own transport").
//!
//! The server's pings are answered and its close echoed here; what the protocol carries
//! (binary or text messages, and the close's code) goes to the socket task.

mod codec;
mod stream;
mod upgrade;

pub(crate) use stream::Tls;
pub(crate) use upgrade::{Address, UpgradeError};

use crate::protocol::Frame;
use crate::websocket::{close_payload, write_frame, Header, Opcode, SentBy, Violation};
use bytes::{Buf, Bytes, BytesMut};
use codec::MaskKeys;
use futures::future::poll_fn;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use stream::Stream;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The read buffer's size: a fresh one is taken when less than [`READ_SPARE`] of it is
/// left. Messages are slices of it, so a buffer is freed when its last message is.
const READ_CHUNK: usize = 64 * 1024;

/// Pings are answered only while less than this waits to be written.
const PONG_ROOM: usize = 64 * 1024;

/// The write buffer's first capacity; it grows to the largest turn's frames and stays.
const WRITE_START: usize = 8 * 1024;

/// The least room a read is made with. Growing the buffer before every read instead took
/// a fresh one per read while messages still held the last.
const READ_SPARE: usize = 4 * 1024;

/// A message from the server.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A binary message (MessagePack frames).
    Binary(Bytes),
    /// A text message (JSON frames), UTF-8 checked.
    Text(String),
    /// The server's close, with its status code if it gave one. Echoed already.
    Close(Option<u16>),
}

impl Incoming {
    /// The payload's length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Incoming::Binary(bytes) => bytes.len(),
            Incoming::Text(text) => text.len(),
            Incoming::Close(_) => 0,
        }
    }
}

/// Why a socket failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    #[error("the connection failed")]
    Io(#[from] io::Error),
    #[error("a message of at least {size} bytes, above the limit of {limit}")]
    TooLarge { size: u64, limit: usize },
    #[error("the server broke the WebSocket protocol")]
    Violation(#[from] Violation),
}

/// Why a socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Upgrade(#[from] UpgradeError),
}

/// A client's WebSocket.
pub(crate) struct Socket {
    stream: Stream,
    /// Bytes read and not yet taken as frames.
    read: BytesMut,
    /// Frames waiting for the stream; the first `written` bytes have gone.
    write: Vec<u8>,
    written: usize,
    /// Bytes went to the stream since its last flush (TLS keeps records until then).
    unflushed: bool,
    /// A fragmented message being put together: its kind and its bytes so far.
    partial: Option<(Opcode, BytesMut)>,
    max_message: usize,
    masks: MaskKeys,
    close_sent: bool,
    close_received: bool,
}

impl Socket {
    /// Opens a WebSocket to `address` (with the `Cookie` header `cookie`), accepting messages
    /// of up to `max_message` bytes.
    pub(crate) async fn open(
        address: &Address,
        cookie: Option<&str>,
        tls: &Tls,
        max_message: usize,
    ) -> Result<Socket, OpenError> {
        let mut stream = Stream::connect(address, tls).await?;
        let key = upgrade::new_key();
        stream
            .write_all(address.request(&key, cookie).as_bytes())
            .await?;
        stream.flush().await?;
        let mut read = BytesMut::with_capacity(READ_CHUNK);
        let end = loop {
            if let Some(end) = upgrade::head_end(&read) {
                break end;
            }
            if read.len() > upgrade::MAX_HEAD {
                return Err(UpgradeError::TooLong(upgrade::MAX_HEAD).into());
            }
            if stream.read_buf(&mut read).await? == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
        };
        upgrade::check_answer(&read[..end], &key)?;
        // What follows the answer is the server's first frames.
        read.advance(end);
        Ok(Socket::over(stream, read, max_message))
    }

    /// A WebSocket over an upgraded `stream`, `read` holding what came after the answer.
    fn over(stream: Stream, read: BytesMut, max_message: usize) -> Socket {
        Socket {
            stream,
            read,
            write: Vec::with_capacity(WRITE_START),
            written: 0,
            unflushed: false,
            partial: None,
            max_message,
            masks: MaskKeys::new(),
            close_sent: false,
            close_received: false,
        }
    }

    /// Queues a message; it leaves with the next flush. Nothing is queued after the close.
    pub(crate) fn send(&mut self, frame: &Frame) {
        match frame {
            Frame::Binary(bytes) => self.queue(Opcode::Binary, bytes),
            Frame::Text(text) => self.queue(Opcode::Text, text.as_bytes()),
        }
    }

    fn queue(&mut self, opcode: Opcode, payload: &[u8]) {
        if !self.close_sent {
            write_frame(
                &mut self.write,
                opcode,
                payload,
                Some(self.masks.next_key()),
            );
            self.close_sent = opcode == Opcode::Close;
        }
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.write.len() - self.written
    }

    /// Something waits to be written or flushed.
    pub(crate) fn wants_flush(&self) -> bool {
        self.queued() > 0 || self.unflushed
    }

    /// Writes what is queued and flushes it. Cancel-safe.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.write.len() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.write[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
            self.unflushed = true;
        }
        self.write.clear();
        self.written = 0;
        if self.unflushed {
            ready!(Pin::new(&mut self.stream).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// The next message; `None` once the server's close was read or the stream ended.
    /// Pings are answered on the way. Cancel-safe: a partly read frame stays buffered.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, TransportError>>> {
        loop {
            if self.close_received {
                return Poll::Ready(None);
            }
            match self.take_message() {
                Ok(Some(incoming)) => return Poll::Ready(Some(Ok(incoming))),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
            // Pongs and the close's echo go out before the socket waits.
            if self.wants_flush() {
                if let Poll::Ready(Err(e)) = self.poll_flush(cx) {
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
            if self.read.capacity() - self.read.len() < READ_SPARE {
                self.read.reserve(READ_CHUNK);
            }
            let read = pin!(self.stream.read_buf(&mut self.read));
            match ready!(read.poll(cx)) {
                Ok(0) => return Poll::Ready(None),
                Ok(_) => {}
                Err(e) => return Poll::Ready(Some(Err(e.into()))),
            }
        }
    }

    /// The next message if one is buffered now, or can be read without waiting.
    pub(crate) fn ready_message(&mut self) -> Option<Option<Result<Incoming, TransportError>>> {
        let waker = futures::task::noop_waker_ref();
        match self.poll_next(&mut Context::from_waker(waker)) {
            Poll::Ready(next) => Some(next),
            Poll::Pending => None,
        }
    }

    /// The next message.
    pub(crate) async fn next(&mut self) -> Option<Result<Incoming, TransportError>> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Sends what is queued and the close, then reads until the server's close (at most
    /// `within`), so that the server reads the close: a socket dropped with unread frames
    /// resets the connection, and the server would take that for a lost network.
    pub(crate) async fn close(&mut self, within: Duration) {
        self.queue(Opcode::Close, &[]);
        let _ = tokio::time::timeout(within, async {
            if poll_fn(|cx| self.poll_flush(cx)).await.is_ok() {
                while let Some(Ok(_)) = self.next().await {}
            }
        })
        .await;
    }

    /// The message at the front of the read buffer, taken out of it, if all of it is there.
    /// Control frames are handled on the way.
    fn take_message(&mut self) -> Result<Option<Incoming>, TransportError> {
        loop {
            let Some(header) = Header::parse(&self.read, SentBy::Server)? else {
                return Ok(None);
            };
            let so_far = self.partial.as_ref().map_or(0, |(_, bytes)| bytes.len());
            let size = so_far as u64 + header.payload_len;
            if !header.opcode.is_control() && size > self.max_message as u64 {
                return Err(TransportError::TooLarge {
                    size,
                    limit: self.max_message,
                });
            }
            let frame_len = header.header_len + header.payload_len as usize;
            if self.read.len() < frame_len {
                self.read.reserve(frame_len - self.read.len());
                return Ok(None);
            }
            self.read.advance(header.header_len);
            let payload = self.read.split_to(header.payload_len as usize);
            if let Some(incoming) = self.on_frame(header.fin, header.opcode, payload)? {
                return Ok(Some(incoming));
            }
        }
    }

    /// One frame: a message when it completes one.
    fn on_frame(
        &mut self,
        fin: bool,
        opcode: Opcode,
        payload: BytesMut,
    ) -> Result<Option<Incoming>, Violation> {
        let (opcode, payload) = match (opcode, self.partial.take()) {
            (Opcode::Ping, partial) => {
                self.partial = partial;
                // A server that pings and does not read would otherwise grow the buffer
                // without end; RFC 6455 §5.5.3 lets a client answer only some of them.
                if self.queued() < PONG_ROOM {
                    self.queue(Opcode::Pong, &payload);
                }
                return Ok(None);
            }
            (Opcode::Pong, partial) => {
                self.partial = partial;
                return Ok(None);
            }
            (Opcode::Close, _) => return self.on_close(&payload).map(Some),
            (Opcode::Continuation, None) => return Err(Violation::StrayContinuation),
            (Opcode::Continuation, Some((opcode, mut so_far))) => {
                so_far.unsplit(payload);
                (opcode, so_far)
            }
            (_, Some(_)) => return Err(Violation::InterleavedMessage),
            (opcode, None) => (opcode, payload),
        };
        if !fin {
            self.partial = Some((opcode, payload));
            return Ok(None);
        }
        Ok(Some(match opcode {
            Opcode::Text => {
                Incoming::Text(String::from_utf8(payload.to_vec()).map_err(|_| Violation::NotUtf8)?)
            }
            _ => Incoming::Binary(payload.freeze()),
        }))
    }

    /// The server's close: echoed (with its code) unless the client closed first.
    fn on_close(&mut self, payload: &[u8]) -> Result<Incoming, Violation> {
        let code = close_payload(payload)?.map(|(code, _)| code);
        self.close_received = true;
        let echo = code.map(u16::to_be_bytes);
        self.queue(Opcode::Close, echo.as_ref().map_or(&[], |c| &c[..]));
        Ok(Incoming::Close(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};

    /// A client socket over loopback, and the server's end of it (no upgrade).
    async fn pair() -> (Socket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let socket = Socket::over(Stream::Plain(client.unwrap()), BytesMut::new(), 1 << 20);
        (socket, accepted.unwrap().0)
    }

    #[tokio::test]
    async fn a_server_that_pings_and_never_reads_cannot_grow_the_write_buffer() {
        let (mut socket, mut server) = pair().await;
        // 13 MB of pings, more than the kernel's buffers hold of their pongs, then a
        // message to say they are over.
        let pings = 100_000;
        let writer = tokio::spawn(async move {
            let mut ping = vec![0x89, 125];
            ping.extend_from_slice(&[7; 125]);
            let burst = ping.repeat(1_000);
            for _ in 0..pings / 1_000 {
                server.write_all(&burst).await.unwrap();
            }
            server.write_all(&[0x82, 1, 42]).await.unwrap();
            server
        });
        // Every ping is taken on the way to the message.
        let next = tokio::time::timeout(Duration::from_secs(10), socket.next());
        let next = next.await.expect("the pings are read");
        assert!(
            matches!(next, Some(Ok(Incoming::Binary(ref b))) if b[..] == [42]),
            "{next:?}"
        );
        // The server read nothing: the pongs the kernel's buffers did not take wait here.
        let queued = socket.queued();
        assert!(queued <= PONG_ROOM + 131, "{queued} bytes of pongs queued");
        drop(writer.await.unwrap());
    }
}

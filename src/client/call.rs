//! [`CallStream`]: the stream a streaming call returns.

use super::connection::{Command, ConnectionHandle};
use super::error::Error;
use super::values::ValueReceiver;
use crate::flow::GrantBack;
use crate::protocol::registry::Registry;
use crate::protocol::Wire;
use futures::future::BoxFuture;
use futures::{FutureExt, Stream};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::oneshot;
use uuid::Uuid;

/// An open call, from the caller's side. Dropping it cancels the call.
pub(crate) struct OpenCallHandle {
    pub(crate) cid: Uuid,
    pub(crate) values: ValueReceiver,
    pub(crate) failure: oneshot::Receiver<Error>,
    pub(crate) connection: ConnectionHandle,
    pub(crate) finished: bool,
    /// For a flow-controlled call: values taken, granted back to the server in batches.
    pub(crate) grant_back: Option<GrantBack>,
}

impl OpenCallHandle {
    /// The consumer took a value: grants the server more when a batch is complete.
    fn took_one(&mut self) {
        if let Some(n) = self.grant_back.as_mut().and_then(GrantBack::took_one) {
            let _ = self
                .connection
                .commands
                .send(Command::Credit { cid: self.cid, n });
        }
    }
}

impl Drop for OpenCallHandle {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self
                .connection
                .commands
                .send(Command::Cancel { cid: self.cid });
        }
    }
}

enum State {
    Opening(BoxFuture<'static, Result<OpenCallHandle, Error>>),
    Open(OpenCallHandle),
    Done,
}

/// The values a streaming call returns, as `Result<T, Error>`; the first error is the last
/// item. Dropping the stream before it ends cancels the call (`cmsc` with `done`).
#[must_use = "a call is opened when its stream is polled, and cancelled when it is dropped"]
pub struct CallStream<T> {
    state: State,
    /// The client's classes: dynamic values are checked against them.
    registry: Arc<Registry>,
    _type: PhantomData<fn() -> T>,
}

impl<T: Wire> CallStream<T> {
    pub(crate) fn new(
        open: BoxFuture<'static, Result<OpenCallHandle, Error>>,
        registry: Arc<Registry>,
    ) -> Self {
        CallStream {
            state: State::Opening(open),
            registry,
            _type: PhantomData,
        }
    }
}

impl<T: Wire> Stream for CallStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(None),
                State::Opening(open) => match open.poll_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(handle)) => self.state = State::Open(handle),
                    Poll::Ready(Err(e)) => {
                        self.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                State::Open(handle) => {
                    let item = match handle.values.poll_recv(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(v)) => {
                            handle.took_one();
                            self.registry
                                .decode::<T>(v.class_name(), v.data())
                                .map_err(Error::decode_from::<T>)
                        }
                        // Every value is read; the call ended, cleanly or not.
                        Poll::Ready(None) => {
                            handle.finished = true;
                            let failure = handle.failure.try_recv().ok();
                            self.state = State::Done;
                            return Poll::Ready(failure.map(Err));
                        }
                    };
                    if item.is_err() {
                        // Dropping an unfinished handle cancels the call.
                        self.state = State::Done;
                    }
                    return Poll::Ready(Some(item));
                }
            }
        }
    }
}

impl<T> std::fmt::Debug for CallStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallStream")
    }
}

//! Input pumps: one task per input stream of a call, feeding its items to the socket task.
//!
//! The queue between the pumps and the socket task is bounded, and the socket task stops
//! taking from it while its own frames wait for the socket: an input stream is pulled only as
//! fast as the connection sends.

use crate::batches::Batches;
use crate::error::StreamError;
use crate::flow::{Credit, Credited};
use crate::protocol::{Dynamic, ValueFrames};
use futures::stream::BoxStream;
use futures::StreamExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// An input stream, erased to wrapped values.
pub(crate) type InputSource = BoxStream<'static, Result<Dynamic, StreamError>>;

/// Batches of input items waiting for the socket task, over every call of a connection:
/// at most 256 items.
pub(super) const INPUT_QUEUE: usize = 16;

/// The most items of one input stream sent to the socket task at once.
pub(super) const INPUT_BATCH: usize = 16;

/// Items of one input stream, as many as it had ready: values, perhaps a failure last, or
/// the end after them.
pub(super) struct InputItem {
    pub(super) cid: Uuid,
    pub(super) param: Arc<str>,
    pub(super) items: Vec<Result<Dynamic, StreamError>>,
    /// The stream ended after these items.
    pub(super) ended: bool,
}

/// The task feeding one input stream, and the frames its values go out in.
pub(super) struct InputPump {
    task: JoinHandle<()>,
    pub(super) frames: ValueFrames,
    /// What the server granted on this stream, on a flow-controlled call: the stream is
    /// pulled only while there is some.
    pub(super) credit: Option<Arc<Credit>>,
}

impl InputPump {
    /// Starts feeding `source`, input `param` of call `cid`, into `queue`, as far as
    /// `credit` allows.
    pub(super) fn start(
        queue: mpsc::Sender<InputItem>,
        (cid, param): (Uuid, Arc<str>),
        source: InputSource,
        frames: ValueFrames,
        credit: Option<Arc<Credit>>,
    ) -> Self {
        // A failure, which ends the stream, needs no credit.
        let source = Credited::new(source, credit.clone(), Result::is_ok);
        InputPump {
            task: tokio::spawn(pump(queue, cid, param, source)),
            frames,
            credit,
        }
    }

    /// Stops pulling the stream.
    pub(super) fn abort(&self) {
        self.task.abort();
    }
}

/// A panic of the application's stream, as a failure of the input.
fn panic_as_failure(
    item: std::thread::Result<Result<Dynamic, StreamError>>,
) -> Result<Dynamic, StreamError> {
    item.unwrap_or_else(|_| Err(StreamError::failed("the input stream panicked")))
}

/// Feeds one input stream until it ends, fails, or is aborted; waits while the queue is full.
/// A panic of the application's stream fails this input only.
async fn pump(
    queue: mpsc::Sender<InputItem>,
    cid: Uuid,
    param: Arc<str>,
    source: Credited<InputSource>,
) {
    let source = AssertUnwindSafe(source)
        .catch_unwind()
        .map(panic_as_failure);
    // What the stream has ready goes in one message: one wake of the socket task, not one
    // per value (perf, `benches/peer.rs`).
    // A failure is the stream's last item: nothing past it is pulled.
    let mut batches = Batches::new(source, INPUT_BATCH, Result::is_err);
    loop {
        let (items, ended) = match batches.next().await {
            Some(items) => (items, false),
            None => (Vec::new(), true),
        };
        // A failure ends a batch, and the stream.
        let failed = items.last().is_some_and(Result::is_err);
        let sent = queue
            .send(InputItem {
                cid,
                param: param.clone(),
                items,
                ended,
            })
            .await;
        if sent.is_err() || ended || failed {
            return;
        }
    }
}

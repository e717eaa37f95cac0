//! Input pumps: one task per input stream of a call, feeding its items to the socket task.
//!
//! The queue between the pumps and the socket task is bounded, and the socket task stops
//! taking from it while its own frames wait for the socket: an input stream is pulled only as
//! fast as the connection sends.

use crate::error::StreamError;
use crate::protocol::{Dynamic, ValueFrames};
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
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
const INPUT_BATCH: usize = 16;

/// Items of one input stream, as many as it had ready: values, and last perhaps a failure
/// or (`None`) the end.
pub(super) struct InputItem {
    pub(super) cid: Uuid,
    pub(super) param: Arc<str>,
    pub(super) items: Vec<Option<Result<Dynamic, StreamError>>>,
}

/// The task feeding one input stream, and the frames its values go out in.
pub(super) struct InputPump {
    task: JoinHandle<()>,
    pub(super) frames: ValueFrames,
}

impl InputPump {
    /// Starts feeding `source`, input `param` of call `cid`, into `queue`.
    pub(super) fn start(
        queue: mpsc::Sender<InputItem>,
        cid: Uuid,
        param: Arc<str>,
        source: InputSource,
        frames: ValueFrames,
    ) -> Self {
        InputPump {
            task: tokio::spawn(pump(queue, cid, param, source)),
            frames,
        }
    }

    /// Stops pulling the stream.
    pub(super) fn abort(&self) {
        self.task.abort();
    }
}

/// Feeds one input stream until it ends, fails, or is aborted; waits while the queue is full.
/// A panic of the application's stream fails this input only.
async fn pump(queue: mpsc::Sender<InputItem>, cid: Uuid, param: Arc<str>, source: InputSource) {
    let mut source = AssertUnwindSafe(source)
        .catch_unwind()
        .map(|item| item.unwrap_or_else(|_| Err(StreamError::failed("the input stream panicked"))));
    loop {
        let first = source.next().await;
        let mut last = !matches!(first, Some(Ok(_)));
        let mut items = vec![first];
        // What else the stream has ready goes along: one wake of the socket task, not one
        // per value (perf, `benches/peer.rs`).
        while !last && items.len() < INPUT_BATCH {
            let Some(item) = source.next().now_or_never() else {
                break;
            };
            last = !matches!(item, Some(Ok(_)));
            items.push(item);
        }
        let sent = queue
            .send(InputItem {
                cid,
                param: param.clone(),
                items,
            })
            .await;
        if sent.is_err() || last {
            return;
        }
    }
}

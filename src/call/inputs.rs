//! [`CallInputs`]: the input streams of one call, shared by the call and its connection.
//!
//! The call actor owns them: they open with the call, the call reports the ones its method
//! drops, and it closes the rest when it ends. The connection delivers what the client sends
//! on them straight into them, in frame order, so a value costs no trip through the call's
//! mailbox and a full queue is known before the next frame is read. Every frame the call
//! answers with (`cmsc(p)`) still comes from the call actor, in order with its others.

use crate::error::StreamError;
use crate::method::{InputCredit, NamedSink};
use crate::protocol::{CloseReason, Dynamic};
use crate::sync::lock;
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex, MutexGuard};

/// The open input streams of one call.
pub(crate) struct CallInputs {
    open: Mutex<Open>,
    credit: Arc<InputCredit>,
}

struct Open {
    sinks: Vec<NamedSink>,
    /// The call has ended: whatever arrives now is dropped quietly.
    ended: bool,
}

impl Open {
    fn position(&self, param: &str) -> Option<usize> {
        self.sinks
            .iter()
            .position(|(name, _)| name.as_ref() == param)
    }

    fn remove(&mut self, param: &str) -> Option<NamedSink> {
        self.position(param).map(|i| self.sinks.remove(i))
    }
}

/// What became of a value the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Queued for the method.
    Queued,
    /// Queued, and that filled the call's input queue: read nothing more until the method
    /// takes some.
    Full,
    /// Not an open input of the call, or not a value of its type (then that input has
    /// failed): the call answers `cmsc(p, error)`.
    Refused,
    /// The call has ended; the value is dropped.
    Ended,
}

impl CallInputs {
    pub(crate) fn new(sinks: Vec<NamedSink>, credit: Arc<InputCredit>) -> Arc<Self> {
        Arc::new(CallInputs {
            open: Mutex::new(Open {
                sinks,
                ended: false,
            }),
            credit,
        })
    }

    fn open(&self) -> MutexGuard<'_, Open> {
        lock(&self.open)
    }

    /// The call's input queue, for waiting until it has room.
    pub(crate) fn credit(&self) -> &Arc<InputCredit> {
        &self.credit
    }

    /// Delivers a wrapped value to input `param`.
    pub(crate) fn deliver(&self, param: &str, class: &str, data: &[u8]) -> Delivery {
        let mut open = self.open();
        if open.ended {
            return Delivery::Ended;
        }
        let Some(i) = open.position(param) else {
            return Delivery::Refused;
        };
        let full = self.credit.sent();
        match open.sinks[i].1.push(class, data) {
            Ok(()) if full => Delivery::Full,
            Ok(()) => Delivery::Queued,
            Err(e) => {
                // A value the stream's type cannot hold fails that input only.
                let (_, sink) = open.sinks.remove(i);
                sink.fail(StreamError::failed(&e));
                Delivery::Refused
            }
        }
    }

    /// The client's input stream `param` failed with a serializable exception.
    pub(crate) fn fail(&self, param: &str, exception: Dynamic) {
        let open = self.open();
        if let Some(i) = open.position(param) {
            open.sinks[i].1.fail(StreamError::Exception(exception));
        }
    }

    /// The client closed input stream `param`. Dropping the sink ends the method's stream
    /// after what it already holds.
    pub(crate) fn close(&self, param: &str, reason: CloseReason) {
        let sink = self.open().remove(param);
        if let (Some((_, sink)), CloseReason::Error) = (sink, reason) {
            sink.fail(StreamError::closed_with_error());
        }
    }

    /// Forgets input `param` because the method dropped it; true if it was still open.
    pub(crate) fn forget(&self, param: &str) -> bool {
        self.open().remove(param).is_some()
    }

    /// True while any input is open.
    pub(crate) fn has_inputs(&self) -> bool {
        !self.open().sinks.is_empty()
    }

    /// Forgets every input the method has dropped; returns their names.
    pub(crate) fn forget_dropped(&self) -> Vec<Arc<str>> {
        if !self.credit.take_dropped() {
            return Vec::new();
        }
        let mut open = self.open();
        let mut dropped = Vec::new();
        while let Some(i) = open.sinks.iter().position(|(_, sink)| sink.is_dropped()) {
            dropped.push(open.sinks.remove(i).0);
        }
        dropped
    }

    /// The call ended: closes every input; returns the names of those still open.
    pub(crate) fn end(&self) -> Vec<Arc<str>> {
        let mut open = self.open();
        open.ended = true;
        std::mem::take(&mut open.sinks)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// The call stopped: closes every input and empties the queue, so nobody waits on it.
    pub(crate) fn shut(&self) {
        self.end();
        self.credit.close();
    }

    /// For each input, a future that completes when the method drops it. Taken once.
    pub(crate) fn take_dropped_signals(&self) -> Vec<(Arc<str>, BoxFuture<'static, ()>)> {
        let mut open = self.open();
        open.sinks
            .iter_mut()
            .filter_map(|(name, sink)| Some((name.clone(), sink.take_dropped_signal()?)))
            .collect()
    }
}

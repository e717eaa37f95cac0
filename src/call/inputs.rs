//! [`CallInputs`]: the input streams of one call, shared by the call and its connection.
//!
//! The call actor owns them: they open with the call, the call reports the ones its method
//! drops, and it closes the rest when it ends. The connection delivers what the client sends
//! on them straight into them, in frame order, so a value costs no trip through the call's
//! mailbox and a full queue is known before the next frame is read. Values are staged as they
//! are delivered and handed to the method when the connection has handled its read
//! ([`CallInputs::flush`]), so that what one read brought for a call costs one lock, one count
//! and one wake, not one each; a close or failure of an input hands over what was staged
//! before it. Every frame the call answers with (`cmsc(p)`) still comes from the call actor,
//! in order with its others.

use crate::error::StreamError;
use crate::flow::Credit;
use crate::flow::InputQueue;
use crate::method::{InputSink, NamedSink};
use crate::protocol::registry::Registry;
use crate::protocol::{CloseReason, Dynamic};
use crate::sync::lock;
use crate::sync::{Mutex, MutexGuard};
use std::sync::Arc;

/// The open input streams of one call.
pub(crate) struct CallInputs {
    open: Mutex<Open>,
    credit: Arc<InputQueue>,
    /// Values delivered to the method, for the metrics.
    received: metrics::Counter,
}

struct Open {
    inputs: Vec<OpenInput>,
    /// Values staged on the inputs since the last flush.
    staged: usize,
    /// The call has ended: whatever arrives now is dropped quietly.
    ended: bool,
}

/// One open input stream.
struct OpenInput {
    name: Arc<str>,
    sink: Box<dyn InputSink>,
    /// On a flow-controlled call, the values the client may still send on it: the window,
    /// less what it sent, plus what the call granted back (`crd`).
    credit: Option<Credit>,
}

impl Open {
    fn position(&self, param: &str) -> Option<usize> {
        self.inputs
            .iter()
            .position(|input| input.name.as_ref() == param)
    }

    /// Input `i`, no longer open: what was staged on it is handed over first.
    fn take(&mut self, i: usize) -> OpenInput {
        let mut input = self.inputs.remove(i);
        self.staged = self.staged.saturating_sub(input.sink.flush());
        input
    }

    /// Input `param`, no longer open ([`take`](Self::take)).
    fn remove(&mut self, param: &str) -> Option<OpenInput> {
        self.position(param).map(|i| self.take(i))
    }

    /// Fails input `i` with `why`, after what was staged on it, and forgets it.
    fn remove_failed(&mut self, i: usize, why: &str) {
        self.take(i).sink.fail(StreamError::failed(why));
    }
}

/// What became of a value the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Staged for the method, which gets it with the call's next [`CallInputs::flush`].
    Staged {
        /// Nothing was staged on the call before: flush it once the read is handled.
        first: bool,
        /// That filled the call's input queue: read nothing more until the method takes
        /// some.
        full: bool,
    },
    /// Not an open input of the call, not a value of its type, or a value beyond the
    /// client's credit (then that input has failed, with this error): the call answers
    /// `cmsc(p, error)`, saying why.
    Refused(String),
    /// The call has ended; the value is dropped.
    Ended,
}

impl CallInputs {
    /// The inputs of a call; `window` is the credit each input's client starts with, for a
    /// flow-controlled call.
    pub(crate) fn new(
        sinks: Vec<NamedSink>,
        credit: Arc<InputQueue>,
        window: Option<u32>,
        received: metrics::Counter,
    ) -> Arc<Self> {
        let inputs = sinks
            .into_iter()
            .map(|(name, sink)| OpenInput {
                name,
                sink,
                credit: window.map(Credit::new),
            })
            .collect();
        Arc::new(CallInputs {
            open: Mutex::new(Open {
                inputs,
                staged: 0,
                ended: false,
            }),
            credit,
            received,
        })
    }

    fn open(&self) -> MutexGuard<'_, Open> {
        lock(&self.open)
    }

    /// Input `name` as the call holds it (a shared name), or a name of its own for one it
    /// does not have.
    pub(crate) fn name(&self, name: &str) -> Arc<str> {
        let open = self.open();
        match open.position(name) {
            Some(i) => open.inputs[i].name.clone(),
            None => Arc::from(name),
        }
    }

    /// The call's input queue, for waiting until it has room.
    pub(crate) fn credit(&self) -> &Arc<InputQueue> {
        &self.credit
    }

    /// Delivers a wrapped value to input `param`, decoded against the server's classes:
    /// staged, until the next [`flush`](Self::flush).
    pub(crate) fn deliver(
        &self,
        registry: &Arc<Registry>,
        param: &str,
        class: &str,
        data: &[u8],
    ) -> Delivery {
        let mut open = self.open();
        if open.ended {
            return Delivery::Ended;
        }
        let Some(i) = open.position(param) else {
            return Delivery::Refused(format!("input `{param}` is not open"));
        };
        if open.inputs[i].credit.as_ref().is_some_and(|c| !c.take()) {
            // Beyond its credit: that input fails, the call goes on.
            let why = format!("input `{param}`: a value beyond the stream's credit");
            open.remove_failed(i, &why);
            return Delivery::Refused(why);
        }
        match open.inputs[i].sink.stage(registry, class, data) {
            Ok(()) => {
                self.received.increment(1);
                open.staged += 1;
                Delivery::Staged {
                    first: open.staged == 1,
                    full: self.credit.fills(open.staged),
                }
            }
            Err(e) => {
                // A value the stream's type cannot hold fails that input only.
                let why = format!("input `{param}`: {e}");
                open.remove_failed(i, &why);
                Delivery::Refused(why)
            }
        }
    }

    /// Hands the values staged on every input to the method.
    pub(crate) fn flush(&self) {
        let mut open = self.open();
        if open.staged > 0 {
            open.staged = 0;
            for input in &mut open.inputs {
                input.sink.flush();
            }
        }
    }

    /// The method took `n` values of input `param`: true if it is still open, and then its
    /// client has `n` more credit, which the call now grants (`crd`).
    pub(crate) fn grant(&self, param: &str, n: u32) -> bool {
        let open = self.open();
        let Some(i) = open.position(param) else {
            return false;
        };
        if let Some(credit) = &open.inputs[i].credit {
            credit.grant(n);
        }
        true
    }

    /// The client's input stream `param` failed with a serializable exception.
    pub(crate) fn fail(&self, param: &str, exception: Dynamic) {
        let mut open = self.open();
        if let Some(i) = open.position(param) {
            let staged = open.inputs[i].sink.flush();
            open.staged = open.staged.saturating_sub(staged);
            open.inputs[i].sink.fail(StreamError::Exception(exception));
        }
    }

    /// The client closed input stream `param`. Dropping the sink ends the method's stream
    /// after what it already holds.
    pub(crate) fn close(&self, param: &str, reason: CloseReason) {
        let input = self.open().remove(param);
        if let (Some(mut input), CloseReason::Error) = (input, reason) {
            input.sink.fail(StreamError::closed_with_error());
        }
    }

    /// True while any input is open.
    pub(crate) fn has_inputs(&self) -> bool {
        !self.open().inputs.is_empty()
    }

    /// Forgets every input the method has dropped; returns their names.
    pub(crate) fn forget_dropped(&self) -> Vec<Arc<str>> {
        if !self.credit.take_dropped() {
            return Vec::new();
        }
        let mut open = self.open();
        let mut dropped = Vec::new();
        while let Some(i) = open.inputs.iter().position(|input| input.sink.is_dropped()) {
            dropped.push(open.take(i).name);
        }
        dropped
    }

    /// The call ended: closes every input; returns the names of those still open.
    pub(crate) fn end(&self) -> Vec<Arc<str>> {
        let mut open = self.open();
        open.ended = true;
        // What is staged goes with the inputs, never counted in.
        open.staged = 0;
        std::mem::take(&mut open.inputs)
            .into_iter()
            .map(|input| input.name)
            .collect()
    }

    /// The call stopped: closes every input and empties the queue, so nobody waits on it.
    pub(crate) fn shut(&self) {
        self.end();
        self.credit.close();
    }
}

//! [`CallActor`]: one running call.
//!
//! The actor owns the running method (its output stream, polled in the actor's context, so
//! stopping the actor drops and thereby cancels it) and the sinks of its input streams. It
//! is the only producer of frames for its `cid`, and it sends them to the connection
//! through one channel, so they reach the socket in the order they were produced:
//! `msm`* then (`msse`) then the final `cmsc`, then `cmsc(p)` for inputs still open. After
//! that it stops and sends nothing more.

use super::call_log::{CallRecord, Ending};
use super::inputs::CallInputs;
use super::local_wakes::LocalWakes;
use super::messages::{CallEnded, CallRequest, Shutdown};
use crate::auth::{Registration, Revoke};
use crate::batches::Batches;
use crate::error::StreamError;
use crate::flow::{Credit, Credited};
use crate::flow::{Gated, Grant, OutboundGate};
use crate::instruments::MethodMetrics;
use crate::method::{Framer, OutputValue, Prepared, Session};
use crate::outbox::{Outbox, Outgoing};
use crate::protocol::registry::Within;
use crate::protocol::{CloseReason, Dynamic, Encoding, Frame, Message, Target};
use crate::queue::Receiver;
use crate::stats::Counters;
use actix::prelude::*;
use bytes::Bytes;
use futures::StreamExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// The most values of a method taken in one batch. The output gate is checked before each
/// value but counts the batch's bytes once it is handled, so a call may pass its
/// connection's limit by up to one batch of frames.
const OUTPUT_BATCH: usize = 32;

/// One running call.
pub(crate) struct CallActor {
    target: Target,
    /// The key the call's open took, if any (docs/PROTOCOL.md §12): its method's values are
    /// framed with it.
    key: Option<u32>,
    session: Session,
    /// Boxed: it is taken when the call starts, and the field stays with the call.
    prepared: Option<Box<Prepared>>,
    /// The call's input streams, which the connection feeds directly.
    inputs: Arc<CallInputs>,
    /// The call has input streams (they only ever go away): without any, there is nothing
    /// to look for before each value.
    has_inputs: bool,
    /// Where the call's frames go, in order, to its connection.
    outbox: Outbox<CallEnded>,
    counters: Arc<Counters>,
    /// The call's entry in the revocation table, for calls that need authentication (boxed:
    /// most calls have none, and every call's task carries this field).
    revocation: Option<Box<Registration>>,
    /// Room left between this connection and its socket.
    gate: Arc<OutboundGate>,
    /// The connection's encoding: every frame of the call is written in it.
    encoding: Encoding,
    /// The final `cmsc` has been sent.
    ended: bool,
    /// The method ran to its end (as opposed to being dropped early).
    method_finished: bool,
    /// Why an input last refused the client's value: said again in the call's final `cmsc`
    /// if the method fails with that input's error.
    refused: Option<Box<str>>,
    /// For the call log.
    record: CallRecord,
    /// What the client granted on the return stream, for a flow-controlled call: the
    /// method is pulled only while there is some (kept here to count the stalls).
    credit: Option<Arc<Credit>>,
    /// Values the method took from its inputs, for a flow-controlled call: granted back to
    /// the client. Taken when the call starts.
    grants: Option<Receiver<Grant>>,
    /// The method's metric handles.
    metrics: Arc<MethodMetrics>,
}

/// Everything a call starts with.
pub(crate) struct CallParts {
    pub(crate) target: Target,
    pub(crate) session: Session,
    pub(crate) prepared: Prepared,
    pub(crate) inputs: Arc<CallInputs>,
    pub(crate) outbox: Outbox<CallEnded>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) revocation: Option<Registration>,
    pub(crate) gate: Arc<OutboundGate>,
    pub(crate) encoding: Encoding,
    pub(crate) credit: Option<Arc<Credit>>,
    pub(crate) grants: Option<Receiver<Grant>>,
    pub(crate) metrics: Arc<MethodMetrics>,
    /// The key the call's open took: its values go out in keyed value frames.
    pub(crate) key: Option<u32>,
}

impl CallActor {
    pub(crate) fn new(parts: CallParts) -> Self {
        CallActor {
            key: parts.key,
            target: parts.target,
            session: parts.session,
            prepared: Some(Box::new(parts.prepared)),
            has_inputs: parts.inputs.has_inputs(),
            inputs: parts.inputs,
            outbox: parts.outbox,
            counters: parts.counters,
            revocation: parts.revocation.map(Box::new),
            gate: parts.gate,
            encoding: parts.encoding,
            ended: false,
            method_finished: false,
            refused: None,
            record: CallRecord::new(),
            credit: parts.credit,
            grants: parts.grants,
            metrics: parts.metrics,
        }
    }

    /// Sends `message` in the connection's encoding. On a JSON connection a value with no
    /// JSON form (a non-finite double) cannot be sent: false, and the caller ends the call.
    fn send(&self, message: Message) -> bool {
        // On the JSON wire a model is written as its own type writes it: this server's.
        let frame = match self.encoding {
            Encoding::Json => self
                .session
                .registry()
                .within(|| message.to_frame(self.encoding)),
            _ => message.to_frame(self.encoding),
        };
        match frame {
            Ok(frame) => self.send_frame(frame),
            Err(e) => {
                log::warn!(
                    "{}.{}: a value with no JSON form: {}",
                    self.target.endpoint,
                    self.target.method,
                    crate::protocol::report(&e)
                );
                return false;
            }
        }
        true
    }

    fn send_frame(&self, frame: Frame) {
        self.gate.add(frame.len());
        // The connection may be gone already; then so is everything it would have written.
        let _ = self.outbox.send(Outgoing::Frame(frame));
    }

    /// Sends one value on the call's return stream; false if it could not be written.
    fn send_value(&mut self, value: OutputValue) -> bool {
        self.record.values_sent += 1;
        self.metrics.values_sent.increment(1);
        match value {
            OutputValue::Frame(frame) => {
                self.send_frame(Frame::Binary(frame));
                true
            }
            OutputValue::Value(value) => self.send(Message::Value {
                target: self.target.clone(),
                value,
            }),
        }
    }

    /// Sends a batch of value frames ([`value_frame`]) to the connection at once: one lock,
    /// one wake and one count of the gate for all of them, not one each.
    fn send_value_frames(&mut self, batch: Vec<Result<Option<OutputValue>, StreamError>>) {
        // Whatever the method dropped while it made these is reported before them.
        self.close_dropped_inputs();
        let bytes = batch.iter().filter_map(value_frame).map(Bytes::len).sum();
        self.record.values_sent += batch.len() as u64;
        self.metrics.values_sent.increment(batch.len() as u64);
        // Counted before the socket can see them: it counts them out as it takes them.
        self.gate.add(bytes);
        let frames = batch.into_iter().filter_map(|item| match item {
            Ok(Some(OutputValue::Frame(frame))) => Some(Outgoing::Frame(Frame::Binary(frame))),
            _ => None,
        });
        // The connection may be gone already; then so is everything it would have written.
        self.outbox.send_many(frames);
    }

    fn close_frame(&self, target: Target, reason: CloseReason) {
        // A close carries no value: it always has a form.
        self.send(Message::Close { target, reason });
    }

    /// Reports inputs the method has dropped (`cmsc(p, done)`) and forgets them.
    fn close_dropped_inputs(&mut self) {
        if !self.has_inputs {
            return;
        }
        for name in self.inputs.forget_dropped() {
            self.close_frame(self.target.input(&name), CloseReason::Done);
        }
    }

    /// Reports each input the method drops as it drops it, not only before the next value
    /// it sends: a method may drop an input and then wait.
    fn watch_dropped_inputs(&self, ctx: &mut Context<Self>) {
        let dropped = self.inputs.credit().clone().dropped();
        ctx.spawn(dropped.into_actor(self).map(|(), act, ctx| {
            act.close_dropped_inputs();
            if act.inputs.has_inputs() {
                act.watch_dropped_inputs(ctx);
            }
        }));
    }

    /// Sends the call's final frames and stops.
    fn end(
        &mut self,
        ending: Ending,
        reason: CloseReason,
        exception: Option<Dynamic>,
        why: Option<Box<str>>,
        ctx: &mut Context<Self>,
    ) {
        if self.ended {
            return;
        }
        let revoked = matches!(ending, Ending::Revoked);
        self.record.ending = ending;
        if let Some(exception) = exception {
            self.send(Message::Exception {
                target: self.target.call(),
                exception,
            });
        }
        if revoked {
            // Says why on the MessagePack wire, so that the client can tell.
            self.send(Message::revoked(self.target.call()));
        } else if let Some(why) = why {
            self.send(Message::failed(self.target.call(), why.into_string()));
        } else {
            self.close_frame(self.target.call(), reason);
        }
        for name in self.inputs.end() {
            self.close_frame(self.target.input(&name), reason);
        }
        self.ended = true;
        // The connection forgets the call's route, and has its supervisor forget the call.
        let _ = self
            .outbox
            .send(Outgoing::Event(CallEnded(self.target.cid)));
        ctx.stop();
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(prepared) = self.prepared.take() else {
            return;
        };
        if self.has_inputs {
            self.watch_dropped_inputs(ctx);
        }
        // A panic while building or polling the method fails this call only.
        let run = prepared.run;
        let session = self.session.clone();
        let registry = self.session.registry().clone();
        let framer = Framer::new(self.encoding, &self.target, self.key);
        let started = move || registry.within(|| run(session, framer));
        match std::panic::catch_unwind(AssertUnwindSafe(started)) {
            Ok(output) => {
                let output = AssertUnwindSafe(output).catch_unwind().map(|item| {
                    item.unwrap_or_else(|_| Err(StreamError::failed("method panicked")))
                });
                // A flow-controlled call's method is pulled only while it has credit (and
                // one value ahead, so that its end needs none).
                let output = Credited::new(output, self.credit.clone(), |item| {
                    matches!(item, Ok(Some(_)))
                });
                // Pulled only while the socket keeps up; woken through the arbiter's hub
                // when the wake comes from another thread (see `local_wakes`).
                // The gate is checked before each value; the waker and the class registry
                // are set once per batch.
                ctx.add_stream(LocalWakes::new(Within {
                    inner: Batches::new(
                        Gated {
                            inner: output,
                            gate: self.gate.clone(),
                        },
                        OUTPUT_BATCH,
                        // The method's first error ends the call: it is not pulled again.
                        Result::is_err,
                    ),
                    registry: self.session.registry().clone(),
                }));
                if let Some(grants) = self.grants.take() {
                    ctx.add_stream(grants);
                }
            }
            Err(_) => {
                log::error!(
                    "{}.{}: method panicked before returning",
                    self.target.endpoint,
                    self.target.method
                );
                self.method_finished = true;
                self.end(Ending::Failed, CloseReason::Error, None, None, ctx);
            }
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.record.log(&self.target, &self.session);
        self.metrics
            .ended(self.record.end_reason(), self.record.lasted());
        self.inputs.shut();
        self.revocation = None;
        self.session.close();
        self.counters.call_closed(!self.method_finished);
    }
}

/// The method's output, everything it had ready at once.
impl StreamHandler<Vec<Result<Option<OutputValue>, StreamError>>> for CallActor {
    fn handle(
        &mut self,
        batch: Vec<Result<Option<OutputValue>, StreamError>>,
        ctx: &mut Context<Self>,
    ) {
        if !self.ended && batch.iter().all(|item| value_frame(item).is_some()) {
            // Most batches: value frames only, which go out in one push.
            self.send_value_frames(batch);
        } else {
            for item in batch {
                self.on_output(item, ctx);
            }
        }
        // Out of the client's credit: the method waits until the client grants more.
        if self.credit.as_ref().is_some_and(|c| c.available() == 0) {
            self.metrics.stalls.increment(1);
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.method_finished = true;
        self.end(Ending::Done, CloseReason::Done, None, None, ctx);
    }
}

/// Values the method took from a flow-controlled input: granted back to the client.
impl StreamHandler<Grant> for CallActor {
    fn handle(&mut self, Grant { param, n }: Grant, _: &mut Context<Self>) {
        // Not after the input's close: a closed input needs no credit.
        if !self.ended && self.inputs.grant(&param, n) {
            self.send(Message::Credit {
                target: self.target.input(&param),
                n,
            });
        }
    }

    /// The grants end only with the call.
    fn finished(&mut self, _: &mut Context<Self>) {}
}

/// A value the method yielded as its frame, ready to send.
fn value_frame(item: &Result<Option<OutputValue>, StreamError>) -> Option<&Bytes> {
    match item {
        Ok(Some(OutputValue::Frame(frame))) => Some(frame),
        _ => None,
    }
}

impl CallActor {
    /// One item of the method's output.
    fn on_output(
        &mut self,
        item: Result<Option<OutputValue>, StreamError>,
        ctx: &mut Context<Self>,
    ) {
        if self.ended {
            return;
        }
        match item {
            Ok(Some(value)) => {
                // An input the method let go of is reported before the value that follows
                // it. Not so for an error: the inputs a failing method held are closed with
                // the call's reason, even though its future dropped them as it returned.
                self.close_dropped_inputs();
                if !self.send_value(value) {
                    self.method_finished = true;
                    self.end(Ending::Failed, CloseReason::Error, None, None, ctx);
                }
            }
            Ok(None) => {}
            Err(error) => {
                self.method_finished = true;
                match error {
                    StreamError::Exception(exception) => self.end(
                        Ending::Failed,
                        CloseReason::Error,
                        Some(exception),
                        None,
                        ctx,
                    ),
                    StreamError::Failed(message) => {
                        log::warn!(
                            "{}.{} failed: {message}",
                            self.target.endpoint,
                            self.target.method
                        );
                        // The method passed on the error of an input that refused the
                        // client's value: the client caused it, and is told why.
                        let why = self.refused.take().filter(|why| message.contains(&**why));
                        self.end(Ending::Failed, CloseReason::Error, None, why, ctx)
                    }
                }
            }
        }
    }
}

impl Handler<CallRequest> for CallActor {
    type Result = ();
    fn handle(&mut self, request: CallRequest, ctx: &mut Context<Self>) {
        match request {
            CallRequest::Cancel(reason) => {
                self.end(Ending::Cancelled(reason), reason, None, None, ctx)
            }
            // Not an open input of this call, or a value it cannot hold: the client should
            // stop sending on it.
            CallRequest::RefuseInput { param, why } if !self.ended => {
                self.send(Message::failed(self.target.input(&param), why.clone()));
                self.refused = Some(why.into());
            }
            CallRequest::RefuseInput { .. } => {}
        }
    }
}

impl Handler<Shutdown> for CallActor {
    type Result = ();
    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        self.ended = true;
        ctx.stop();
    }
}

impl Handler<Revoke> for CallActor {
    type Result = ();
    fn handle(&mut self, _: Revoke, ctx: &mut Context<Self>) {
        log::debug!(
            "{}.{}: authentication revoked",
            self.target.endpoint,
            self.target.method
        );
        self.end(Ending::Revoked, CloseReason::Error, None, None, ctx);
    }
}

//! Opening a call: validation in Serverpod's order, then the call actor.

use super::Connection;
use crate::call::CallActor;
use crate::protocol::msgpack::Reader;
use crate::protocol::{Message, OpenCall, OpenResponse, OpenResult, Target};
use crate::server::{PrepareError, Session};
use actix::prelude::*;
use actix_web_actors::ws;

impl Connection {
    /// Validates an `omsc`, answers it with exactly one `omsr`, and on success starts the
    /// call. The call's input streams exist before this returns, so values in the next
    /// frame already have somewhere to go.
    pub(super) fn open_call(&mut self, open: OpenCall, ctx: &mut ws::WebsocketContext<Self>) {
        let result = self.try_open(&open, ctx);
        if result != OpenResult::Success {
            log::debug!(
                "connection {}: open {}.{} refused: {result}",
                self.id,
                open.endpoint,
                open.method
            );
        }
        // On success the answer was sent before the call started.
        if result != OpenResult::Success {
            self.answer(&open, result, ctx);
        }
    }

    fn answer(&self, open: &OpenCall, result: OpenResult, ctx: &mut ws::WebsocketContext<Self>) {
        self.send(
            &Message::OpenResponse(OpenResponse {
                cid: open.cid,
                result,
                endpoint: open.endpoint.clone(),
                method: open.method.clone(),
            }),
            ctx,
        );
    }

    fn try_open(&mut self, open: &OpenCall, ctx: &mut ws::WebsocketContext<Self>) -> OpenResult {
        // 1. `args` must be a map.
        if Reader::new(&open.args).read_map_len().is_err() {
            return OpenResult::InvalidArguments;
        }
        // A cid may not be reused while its call is open.
        if self.calls.contains_key(&open.cid) {
            return OpenResult::InvalidArguments;
        }
        // 2. The endpoint, then the method.
        let server = self.server.clone();
        let Some(endpoint) = server.endpoints.get(open.endpoint.as_ref()) else {
            return OpenResult::EndpointNotFound;
        };
        let Some(method) = endpoint.method(&open.method) else {
            return OpenResult::EndpointNotFound;
        };
        // 3. Arguments and input streams, by their declared types.
        let prepared = match method.prepare(&open.args, &open.inputs) {
            Ok(prepared) => prepared,
            Err(PrepareError::Arguments(e)) => {
                log::debug!("connection {}: invalid arguments: {e}", self.id);
                return OpenResult::InvalidArguments;
            }
            Err(PrepareError::MissingInput(name)) => {
                log::debug!(
                    "connection {}: required input stream `{name}` not in `is`",
                    self.id
                );
                return OpenResult::InvalidArguments;
            }
        };
        // 4. Success: the answer goes out before anything the call produces.
        self.answer(open, OpenResult::Success, ctx);
        let target = Target {
            endpoint: open.endpoint.clone(),
            method: open.method.clone(),
            cid: open.cid,
            param: None,
        };
        let counters = server.counters.clone();
        counters.call_opened();
        let session = Session::new(
            self.id,
            target.endpoint.clone(),
            target.method.clone(),
            target.cid,
            counters.clone(),
        );
        let Some(supervisor) = self.supervisor.clone() else {
            return OpenResult::Success;
        };
        let call = CallActor::new(
            target.clone(),
            session,
            prepared,
            ctx.address().recipient(),
            supervisor.recipient(),
            counters,
        )
        .start();
        self.adopt(&target, call);
        OpenResult::Success
    }
}

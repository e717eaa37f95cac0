//! Opening a call: validation in Serverpod's order (reference §4.3), then the call actor.

use super::Connection;
use crate::call::{CallActor, CallInputs, CallParts};
use crate::protocol::msgpack::Reader;
use crate::protocol::{Message, OpenCall, OpenResponse, OpenResult, Target, AUTH_MODE_COOKIE};
use crate::server::{
    check_access, unwrap_auth_value, AuthInfo, Denied, InputCredit, PrepareError, Server, Session,
    SessionParts,
};
use actix::prelude::*;
use actix_web_actors::ws;

impl Connection {
    /// Validates an `omsc`, answers it with exactly one `omsr`, and on success starts the
    /// call. The call's input streams exist before the next frame is read: when the
    /// authentication handler has to run, the connection waits for it (`ctx.wait`) and reads
    /// nothing else meanwhile, exactly as Serverpod's sequential loop does.
    pub(super) fn open_call(&mut self, open: OpenCall, ctx: &mut ws::WebsocketContext<Self>) {
        // 1. `args` must be a map, the cid must not be in use, and the limits must allow
        //    another call.
        let limits = &self.server.config;
        if Reader::new(&open.args).read_map_len().is_err()
            || self.calls.contains_key(&open.cid)
            || open.inputs.len() > limits.max_inputs_per_call
        {
            return self.answer(&open, OpenResult::InvalidArguments, ctx);
        }
        if self.calls.len() >= limits.max_calls_per_connection {
            log::info!(
                "connection {}: open refused, {} calls already open",
                self.id,
                self.calls.len()
            );
            return self.answer(&open, OpenResult::InvalidArguments, ctx);
        }
        // 2. The `auth` value must have the right shape; its key is unwrapped. Without one,
        //    a call that asks for cookie mode uses the handshake's auth cookie.
        let key = match (open.auth.as_deref(), open.auth_mode.as_deref()) {
            (Some(value), _) => match unwrap_auth_value(value) {
                Some(key) => Some(key),
                None => return self.answer(&open, OpenResult::AuthenticationFailed, ctx),
            },
            (None, Some(AUTH_MODE_COOKIE)) => self.cookie_key.clone(),
            (None, _) => None,
        };
        // 3. The endpoint must exist.
        if !self.server.endpoints.contains_key(open.endpoint.as_ref()) {
            return self.answer(&open, OpenResult::EndpointNotFound, ctx);
        }
        // 4. Who is calling: the handler runs only for calls that carry credentials.
        match (key, self.server.authentication.clone()) {
            (Some(key), Some(handler)) => {
                ctx.wait(
                    handler(key)
                        .into_actor(self)
                        .map(move |auth, act, ctx| act.open_as(open, auth, ctx)),
                );
            }
            _ => self.open_as(open, None, ctx),
        }
    }

    /// The rest of the open, once the caller is known.
    fn open_as(
        &mut self,
        open: OpenCall,
        auth: Option<AuthInfo>,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let server = self.server.clone();
        let Some(endpoint) = server.endpoints.get(open.endpoint.as_ref()) else {
            return self.answer(&open, OpenResult::EndpointNotFound, ctx);
        };
        // 5. Access, before the method is looked up (as Serverpod does).
        match check_access(endpoint.requirements(), auth.as_ref()) {
            Ok(()) => {}
            Err(Denied::Unauthenticated) => {
                return self.answer(&open, OpenResult::AuthenticationFailed, ctx)
            }
            Err(Denied::Unauthorized) => {
                return self.answer(&open, OpenResult::AuthorizationDeclined, ctx)
            }
        }
        // 6. The method.
        let Some(method) = endpoint.method(&open.method) else {
            return self.answer(&open, OpenResult::EndpointNotFound, ctx);
        };
        // 7. Arguments and input streams, by their declared types.
        let credit = InputCredit::new(
            self.server.config.max_queued_inputs,
            self.server.counters.clone(),
        );
        let mut prepared = match method.prepare(&open.args, &open.inputs, &credit) {
            Ok(prepared) => prepared,
            Err(PrepareError::Arguments(e)) => {
                log::debug!("connection {}: invalid arguments: {e}", self.id);
                return self.answer(&open, OpenResult::InvalidArguments, ctx);
            }
            Err(PrepareError::MissingInput(name)) => {
                log::debug!(
                    "connection {}: required input stream `{name}` not in `is`",
                    self.id
                );
                return self.answer(&open, OpenResult::InvalidArguments, ctx);
            }
        };
        let inputs = CallInputs::new(std::mem::take(&mut prepared.inputs), credit);
        let supervisor = self.supervisor();
        // 8. Success: the answer goes out before anything the call produces.
        self.answer(&open, OpenResult::Success, ctx);
        let target = Target {
            endpoint: open.endpoint.clone(),
            method: open.method.clone(),
            cid: open.cid,
            param: None,
        };
        server.counters.call_opened();
        let requirements = endpoint.requirements().clone();
        let session = Session::new(SessionParts {
            connection_id: self.id,
            endpoint: target.endpoint.clone(),
            method: target.method.clone(),
            call_id: target.cid,
            auth: auth.clone(),
            server: Server::from_inner(server.clone()),
        });
        let connection = self.outbox(ctx);
        let gate = self.gate();
        let call = CallActor::create(|call_ctx| {
            // Registered before the call runs, so a revocation cannot slip in between.
            let revocation = auth.filter(|_| requirements.any()).map(|auth| {
                server.revocations.register(
                    &auth.user_id,
                    auth.auth_id.clone(),
                    requirements.scopes.clone(),
                    call_ctx.address().recipient(),
                )
            });
            CallActor::new(CallParts {
                target: target.clone(),
                session,
                prepared,
                inputs: inputs.clone(),
                connection,
                supervisor: supervisor.recipient(),
                counters: server.counters.clone(),
                revocation,
                gate,
            })
        });
        self.adopt(&target, call, inputs);
    }

    fn answer(&self, open: &OpenCall, result: OpenResult, ctx: &mut ws::WebsocketContext<Self>) {
        if result != OpenResult::Success {
            log::debug!(
                "connection {}: open {}.{} refused: {result}",
                self.id,
                open.endpoint,
                open.method
            );
        }
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
}

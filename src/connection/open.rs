//! Opening a call: validation in Serverpod's order (reference §4.3), then the call actor.

use super::Connection;
use crate::auth::{check_access, AuthInfo, Denied};
use crate::call::{CallActor, CallInputs, CallParts};
use crate::credit::Credit;
use crate::method::{InputCredit, InputFlow, PrepareError, Session, SessionParts};
use crate::protocol::msgpack::Reader;
use crate::protocol::{
    unwrap_auth_value, Encoding, Message, OpenCall, OpenResponse, OpenResult, Target,
    AUTH_MODE_COOKIE,
};
use crate::queue::queue;
use crate::socket::Edge;
use actix::prelude::*;

impl Connection {
    /// Validates an `omsc`, answers it with exactly one `omsr`, and on success starts the
    /// call. The call's input streams exist before the next frame is read: when the
    /// authentication handler has to run, the connection waits for it (`Edge::wait`) and reads
    /// nothing else meanwhile, exactly as Serverpod's sequential loop does.
    pub(super) fn open_call(&mut self, open: OpenCall, edge: &mut Edge<'_, Self>) {
        // 1. `args` must be a map, the cid must not be in use, and the limits must allow
        //    another call.
        let limits = &self.methods.limits;
        if Reader::new(&open.args).read_map_len().is_err()
            || self.calls.contains_key(&open.cid)
            || open.inputs.len() > limits.max_inputs_per_call
        {
            return self.answer(&open, OpenResult::InvalidArguments, edge);
        }
        if self.calls.len() >= limits.max_calls_per_connection {
            log::info!(
                "connection {}: open refused, {} calls already open",
                self.id,
                self.calls.len()
            );
            return self.answer(&open, OpenResult::InvalidArguments, edge);
        }
        // 2. The `auth` value must have the right shape; its key is unwrapped. Without one,
        //    a call that asks for cookie mode uses the handshake's auth cookie.
        let key = match (open.auth.as_deref(), open.auth_mode.as_deref()) {
            (Some(value), _) => match unwrap_auth_value(value) {
                Some(key) => Some(key),
                None => return self.answer(&open, OpenResult::AuthenticationFailed, edge),
            },
            (None, Some(AUTH_MODE_COOKIE)) => self.cookie_key.clone(),
            (None, _) => None,
        };
        // 3. The endpoint must exist.
        if !self.methods.endpoints.contains_key(open.endpoint.as_ref()) {
            return self.answer(&open, OpenResult::EndpointNotFound, edge);
        }
        // 4. Who is calling: the handler runs only for calls that carry credentials.
        match (key, self.methods.authentication.clone()) {
            (Some(key), Some(handler)) => {
                edge.wait(handler(key), move |conn, auth, edge| {
                    conn.open_as(open, auth, edge)
                });
            }
            _ => self.open_as(open, None, edge),
        }
    }

    /// The rest of the open, once the caller is known.
    fn open_as(&mut self, open: OpenCall, auth: Option<AuthInfo>, edge: &mut Edge<'_, Self>) {
        let methods = self.methods.clone();
        let Some(endpoint) = methods.endpoints.get(open.endpoint.as_ref()) else {
            return self.answer(&open, OpenResult::EndpointNotFound, edge);
        };
        // 5. Access, before the method is looked up (as Serverpod does).
        match check_access(endpoint.requirements(&open.method), auth.as_ref()) {
            Ok(()) => {}
            Err(Denied::Unauthenticated) => {
                return self.answer(&open, OpenResult::AuthenticationFailed, edge)
            }
            Err(Denied::Unauthorized) => {
                return self.answer(&open, OpenResult::AuthorizationDeclined, edge)
            }
        }
        // 6. The method.
        let Some((method_name, method)) = endpoint.method(&open.method) else {
            return self.answer(&open, OpenResult::EndpointNotFound, edge);
        };
        // 7. Arguments and input streams, by their declared types. A flow-controlled call
        //    (`fc`) grants its client a window on each input, and gets its grants back.
        let window = open.flow.map(|_| methods.limits.input_window);
        let counters = methods.services.counters.clone();
        let (credit, grants) = match (open.inputs.is_empty(), window) {
            (true, _) => (methods.no_inputs.clone(), None),
            (false, None) => (
                InputCredit::new(methods.limits.max_queued_inputs, counters),
                None,
            ),
            (false, Some(window)) => {
                let (grants, granted) = queue();
                let flow = InputFlow { window, grants };
                (InputCredit::flow_controlled(flow, counters), Some(granted))
            }
        };
        let mut prepared = match method.prepare(&open.args, &open.inputs, &credit) {
            Ok(prepared) => prepared,
            Err(PrepareError::Arguments(e)) => {
                log::debug!("connection {}: invalid arguments: {e}", self.id);
                return self.answer(&open, OpenResult::InvalidArguments, edge);
            }
            Err(PrepareError::MissingInput(name)) => {
                log::debug!(
                    "connection {}: required input stream `{name}` not in `is`",
                    self.id
                );
                return self.answer(&open, OpenResult::InvalidArguments, edge);
            }
        };
        let inputs = CallInputs::new(std::mem::take(&mut prepared.inputs), credit, window);
        self.start_supervisor(edge);
        // 8. Success: the answer goes out before anything the call produces.
        self.answer_with(&open, OpenResult::Success, window, edge);
        let return_credit = open.flow.map(Credit::shared);
        // The registered names (the client's are equal): nothing of the decoded open stays.
        let target = Target {
            endpoint: endpoint.shared_name().clone(),
            method: method_name.clone(),
            cid: open.cid,
            param: None,
        };
        methods.services.counters.call_opened();
        let requirements = endpoint.requirements(&open.method).clone();
        let session = Session::new(SessionParts {
            connection_id: self.id,
            endpoint: target.endpoint.clone(),
            method: target.method.clone(),
            call_id: target.cid,
            auth: auth.clone(),
            services: methods.services.clone(),
        });
        let connection = edge.outbox();
        let gate = edge.gate();
        let encoding = self.encoding.unwrap_or(Encoding::MessagePack);
        let call = CallActor::create(|call_ctx| {
            // Registered before the call runs, so a revocation cannot slip in between.
            let revocation = auth.filter(|_| requirements.any()).map(|auth| {
                methods.services.revocations.register(
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
                counters: methods.services.counters.clone(),
                revocation,
                gate,
                encoding,
                credit: return_credit.clone(),
                grants,
            })
        });
        self.adopt(&target, call, inputs, return_credit);
    }

    /// Refuses an open.
    fn answer(&self, open: &OpenCall, result: OpenResult, edge: &mut Edge<'_, Self>) {
        self.answer_with(open, result, None, edge)
    }

    /// Answers an open; `flow` is the input credit of a flow-controlled call that opened.
    fn answer_with(
        &self,
        open: &OpenCall,
        result: OpenResult,
        flow: Option<u32>,
        edge: &mut Edge<'_, Self>,
    ) {
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
                flow,
            }),
            edge,
        );
    }
}

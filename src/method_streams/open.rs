//! Opening a call: validation in Serverpod's order (docs/PROTOCOL.md §4.2), then the call actor.

use super::MethodConnection;
use crate::auth::{check_access, AuthInfo, Denied, Requirements};
use crate::call::{CallActor, CallInputs, CallParts};
use crate::flow::Credit;
use crate::flow::{Grant, InputFlow, InputQueue};
use crate::instruments::MethodMetrics;
use crate::method::{AppState, PrepareError, Prepared, Session, SessionParts};
use crate::protocol::msgpack::Reader;
use crate::protocol::{
    unwrap_auth_value, Encoding, Message, OpenCall, OpenResponse, OpenResult, Target,
    AUTH_MODE_COOKIE,
};
use crate::queue::{queue, Receiver};
use crate::socket::Edge;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Instant;

impl MethodConnection {
    /// Validates an `omsc`, answers it with exactly one `omsr`, and on success starts the
    /// call. The call's input streams exist before the next frame is read: when the
    /// authentication handler has to run, the connection waits for it (`Edge::wait`) and reads
    /// nothing else meanwhile, exactly as Serverpod's sequential loop does.
    pub(super) fn open_call(&mut self, open: OpenCall, edge: &mut Edge<'_, Self>) {
        let received = Instant::now();
        // 1. `args` must be a map, the cid must not be in use, and the limits must allow
        //    another call.
        let limits = &self.methods.limits;
        let invalid = if Reader::new(&open.args).read_map_len().is_err() {
            Some("`args` is not a map".to_string())
        } else if self.calls.contains_key(&open.cid) {
            Some(format!("call id {} is already open", open.cid))
        } else if open.inputs.len() > limits.max_inputs_per_call {
            Some(format!(
                "{} input streams in `is`, more than the {} allowed",
                open.inputs.len(),
                limits.max_inputs_per_call
            ))
        } else if self.calls.len() >= limits.max_calls_per_connection {
            Some(format!(
                "{} calls already open on this connection, the most allowed",
                self.calls.len()
            ))
        } else {
            None
        };
        if let Some(why) = invalid {
            return self.refuse(&open, OpenResult::InvalidArguments, why, edge);
        }
        // 2. The `auth` value must have the right shape; its key is unwrapped. Without one,
        //    a call that asks for cookie mode uses the handshake's auth cookie.
        let key = match (open.auth.as_deref(), open.auth_mode.as_deref()) {
            (Some(value), _) => match unwrap_auth_value(value) {
                Some(key) => Some(key),
                None => {
                    let why = "the `auth` value is not `<scheme> <key>` (e.g. `Bearer <key>`)";
                    return self.refuse(&open, OpenResult::AuthenticationFailed, why, edge);
                }
            },
            (None, Some(AUTH_MODE_COOKIE)) => self.cookie_key.clone(),
            (None, _) => None,
        };
        // 3. The endpoint must exist.
        if !self.methods.endpoints.contains_key(open.endpoint.as_ref()) {
            let why = format!("no endpoint `{}`", open.endpoint);
            return self.refuse(&open, OpenResult::EndpointNotFound, why, edge);
        }
        // 4. Who is calling: the handler runs only for calls that carry credentials.
        match (key, self.methods.authentication.clone()) {
            (Some(key), Some(handler)) => {
                edge.wait(
                    handler(key, self.handshake.clone()),
                    move |conn, auth, edge| {
                        let caller = auth.map_or(Caller::KeyRefused, Caller::SignedIn);
                        conn.open_as(open, caller, received, edge)
                    },
                );
            }
            (Some(_), None) => self.open_as(open, Caller::KeyRefused, received, edge),
            (None, _) => self.open_as(open, Caller::NoKey, received, edge),
        }
    }

    /// The rest of the open, once the caller is known.
    fn open_as(
        &mut self,
        open: OpenCall,
        caller: Caller,
        received: Instant,
        edge: &mut Edge<'_, Self>,
    ) {
        let key_refused = matches!(caller, Caller::KeyRefused);
        let auth = match caller {
            Caller::SignedIn(auth) => Some(auth),
            Caller::NoKey | Caller::KeyRefused => None,
        };
        match self.prepare(&open, auth.as_ref(), key_refused) {
            Ok(ready) => self.start(open, auth, ready, received, edge),
            Err(Refusal { result, why }) => self.refuse(&open, result, why, edge),
        }
    }

    /// Steps 5 to 7: access, the method, its arguments and input streams.
    fn prepare(
        &self,
        open: &OpenCall,
        auth: Option<&AuthInfo>,
        key_refused: bool,
    ) -> Result<Ready, Refusal> {
        let setup = &self.methods;
        let Some(endpoint) = setup.endpoints.get(open.endpoint.as_ref()) else {
            let why = format!("no endpoint `{}`", open.endpoint);
            return Err(Refusal::new(OpenResult::EndpointNotFound, why));
        };
        // 5. Access, before the method is looked up (as Serverpod does).
        let requirements = endpoint.requirements(&open.method);
        match check_access(requirements, auth) {
            Ok(()) => {}
            Err(Denied::Unauthenticated) => {
                let why = if key_refused {
                    "the method needs a signed-in caller, and the call's key was not accepted"
                } else {
                    "the method needs a signed-in caller, and the call carries no key"
                };
                return Err(Refusal::new(OpenResult::AuthenticationFailed, why));
            }
            Err(Denied::Unauthorized) => {
                let why = "the caller lacks a scope the method requires";
                return Err(Refusal::new(OpenResult::AuthorizationDeclined, why));
            }
        }
        // 6. The method.
        let Some((method_name, method)) = endpoint.method(&open.method) else {
            let why = format!(
                "endpoint `{}` has no method `{}`",
                open.endpoint, open.method
            );
            return Err(Refusal::new(OpenResult::EndpointNotFound, why));
        };
        // 7. Arguments and input streams, by their declared types. A flow-controlled call
        //    (`fc`) grants its client a window on each input, and gets its grants back.
        let window = open.flow.map(|_| setup.limits.input_window);
        let counters = setup.services.counters.clone();
        let (queue_of_inputs, grants) = match (open.inputs.is_empty(), window) {
            (true, _) => (setup.no_inputs.clone(), None),
            (false, None) => (
                InputQueue::new(setup.limits.max_queued_inputs, counters),
                None,
            ),
            (false, Some(window)) => {
                let (grants, granted) = queue();
                let flow = InputFlow { window, grants };
                (InputQueue::flow_controlled(flow, counters), Some(granted))
            }
        };
        let mut prepared = match method.prepare(&open.args, &open.inputs, &queue_of_inputs) {
            Ok(prepared) => prepared,
            Err(PrepareError::Arguments(e)) => {
                let why = format!("`args` do not fit the method: {e}");
                return Err(Refusal::new(OpenResult::InvalidArguments, why));
            }
            Err(PrepareError::MissingInput(name)) => {
                let why = format!("the method's input stream `{name}` is not in `is`");
                return Err(Refusal::new(OpenResult::InvalidArguments, why));
            }
        };
        let metrics = method.metrics(endpoint.shared_name(), method_name);
        let inputs = CallInputs::new(
            std::mem::take(&mut prepared.inputs),
            queue_of_inputs,
            window,
            metrics.values_received.clone(),
        );
        Ok(Ready {
            // The registered names (the client's are equal): nothing of the decoded open
            // stays.
            target: Target {
                endpoint: endpoint.shared_name().clone(),
                method: method_name.clone(),
                cid: open.cid,
                param: None,
            },
            requirements: requirements.clone(),
            state: endpoint.app_state().cloned(),
            prepared,
            inputs,
            window,
            grants,
            metrics,
        })
    }

    /// Step 8: the answer goes out before anything the call produces, then the call runs.
    fn start(
        &mut self,
        open: OpenCall,
        auth: Option<AuthInfo>,
        ready: Ready,
        received: Instant,
        edge: &mut Edge<'_, Self>,
    ) {
        let setup = self.methods.clone();
        self.start_supervisor(edge);
        // Keyed value frames, when the client asked with a key above every earlier one, on
        // the MessagePack wire (docs/PROTOCOL.md §12); otherwise the call is answered
        // without `k`, and its values travel as `msm`.
        let key = open
            .key
            .filter(|key| *key > self.highest_key && edge.encoding() == Encoding::MessagePack);
        // The input names of a keyed call by place, shared with the method's (no copy).
        let places = match key {
            Some(_) => open
                .inputs
                .iter()
                .map(|name| ready.inputs.name(name))
                .collect(),
            None => Box::default(),
        };
        self.answer(&open, OpenResult::Success, ready.window, None, key, edge);
        ready.metrics.opened(received.elapsed());
        let return_credit = open.flow.map(Credit::shared);
        setup.services.counters.call_opened();
        let Ready {
            target,
            requirements,
            state,
            prepared,
            inputs,
            grants,
            metrics,
            ..
        } = ready;
        let session = Session::new(SessionParts {
            connection_id: self.id,
            endpoint: target.endpoint.clone(),
            method: target.method.clone(),
            call_id: target.cid,
            auth: auth.clone(),
            handshake: self.handshake.clone(),
            services: setup.services.clone(),
            state,
        });
        let (outbox, gate, encoding) = (edge.outbox(), edge.gate(), edge.encoding());
        // A call that required authentication remembers who opened it: a resume must be
        // theirs.
        let caller = auth.clone().filter(|_| requirements.any());
        let call = CallActor::create(|call_ctx| {
            // Registered before the call runs, so a revocation cannot slip in between.
            let revocation = auth.filter(|_| requirements.any()).map(|auth| {
                setup.services.revocations.register(
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
                outbox,
                counters: setup.services.counters.clone(),
                revocation,
                gate,
                encoding,
                credit: return_credit.clone(),
                grants,
                metrics,
                key,
            })
        });
        self.adopt(&target, call, inputs, return_credit, caller, (key, places));
    }

    /// Refuses an open, saying why: in the log (at WARN for what the client's code got
    /// wrong: its arguments, its inputs, the shape of its credentials), and to the client
    /// on the MessagePack wire (`why`; the JSON wire is Serverpod's, which has no place
    /// for it).
    fn refuse(
        &self,
        open: &OpenCall,
        result: OpenResult,
        why: impl Into<String>,
        edge: &mut Edge<'_, Self>,
    ) {
        let why = why.into();
        let (endpoint, method) = (&open.endpoint, &open.method);
        let level = match result {
            OpenResult::InvalidArguments => log::Level::Warn,
            _ if malformed_auth(open) => log::Level::Warn,
            _ => log::Level::Debug,
        };
        log::log!(
            level,
            "connection {}: open {endpoint}.{method} refused, {result}: {why}",
            self.id
        );
        let why = (edge.encoding() != Encoding::Json).then_some(why);
        self.answer(open, result, None, why, None, edge)
    }

    /// Answers an open; `flow` is the input credit of a flow-controlled call that opened,
    /// `key` the key it took.
    fn answer(
        &self,
        open: &OpenCall,
        result: OpenResult,
        flow: Option<u32>,
        why: Option<String>,
        key: Option<u32>,
        edge: &mut Edge<'_, Self>,
    ) {
        self.send(
            &Message::OpenResponse(OpenResponse {
                cid: open.cid,
                result,
                endpoint: open.endpoint.clone(),
                method: open.method.clone(),
                flow,
                why,
                key,
            }),
            edge,
        );
    }
}

/// The open carries an `auth` value that is not `<scheme> <key>` (`"tok"` for
/// `"Bearer tok"`): a mistake in the client's code, worth a warning.
fn malformed_auth(open: &OpenCall) -> bool {
    open.auth
        .as_deref()
        .is_some_and(|v| unwrap_auth_value(v).is_none())
}

/// Who is calling, once the authentication handler (if any) has run.
enum Caller {
    /// The call carries no key (nor a cookie in cookie mode).
    NoKey,
    /// It carries one that the handler did not accept (or there is no handler).
    KeyRefused,
    /// The handler accepted its key.
    SignedIn(AuthInfo),
}

/// Why an open is refused: the answer, and the reason given with it.
struct Refusal {
    result: OpenResult,
    why: String,
}

impl Refusal {
    fn new(result: OpenResult, why: impl Into<String>) -> Self {
        Refusal {
            result,
            why: why.into(),
        }
    }
}

/// A call whose open passed every check, with everything it starts with.
struct Ready {
    target: Target,
    requirements: Requirements,
    state: Option<AppState>,
    prepared: Prepared,
    inputs: Arc<CallInputs>,
    /// The input credit of a flow-controlled call.
    window: Option<u32>,
    grants: Option<Receiver<Grant>>,
    metrics: Arc<MethodMetrics>,
}

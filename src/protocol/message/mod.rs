//! The protocol's messages and their encoding.
//!
//! Every message is one binary WebSocket frame holding `{"type": T, "data": D}`; see
//! `docs/PROTOCOL.md`. Decoding is in the `decode` module.

pub(crate) mod decode;
pub(crate) mod json;
use crate::protocol::msgpack::write;
use crate::protocol::values::dynamic::Dynamic;
#[cfg(any(feature = "server", feature = "client"))]
use crate::protocol::values::wrapped::{write_parts, write_wrapped};
#[cfg(feature = "server")]
use crate::protocol::{EncodeError, Wire};
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

/// The answer to an open: `res` of `omsr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpenResult {
    /// The call is open.
    Success,
    /// No such endpoint or method, or the method is not a streaming method.
    EndpointNotFound,
    /// The call needs a signed-in user and the credentials did not give one.
    AuthenticationFailed,
    /// The user lacks a scope the endpoint requires.
    AuthorizationDeclined,
    /// The arguments or the input streams do not match the method.
    InvalidArguments,
}

impl OpenResult {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpenResult::Success => "success",
            OpenResult::EndpointNotFound => "endpointNotFound",
            OpenResult::AuthenticationFailed => "authenticationFailed",
            OpenResult::AuthorizationDeclined => "authorizationDeclined",
            OpenResult::InvalidArguments => "invalidArguments",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "success" => OpenResult::Success,
            "endpointNotFound" => OpenResult::EndpointNotFound,
            "authenticationFailed" => OpenResult::AuthenticationFailed,
            "authorizationDeclined" => OpenResult::AuthorizationDeclined,
            "invalidArguments" => OpenResult::InvalidArguments,
            _ => return None,
        })
    }

    /// The HTTP-like status code a client reports for a failed open.
    pub fn status_code(self) -> u16 {
        match self {
            OpenResult::Success => 200,
            OpenResult::EndpointNotFound => 404,
            OpenResult::AuthenticationFailed => 401,
            OpenResult::AuthorizationDeclined => 403,
            OpenResult::InvalidArguments => 400,
        }
    }
}

impl fmt::Display for OpenResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a stream closed: `cr` of `cmsc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The stream ended normally.
    Done,
    /// The stream ended because of an error.
    Error,
}

impl CloseReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Done => "done",
            CloseReason::Error => "error",
        }
    }
}

/// Which stream a message is about: the call (`en`, `m`, `cid`) and, for an input stream,
/// the parameter `p`. Without `p` it is the call's return stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Target {
    /// `en`: the endpoint name exactly as the client sent it.
    pub endpoint: Arc<str>,
    /// `m`: the method name.
    pub method: Arc<str>,
    /// `cid`: the call id.
    pub cid: Uuid,
    /// `p`: the input stream's parameter name, if any.
    pub param: Option<Arc<str>>,
}

impl Target {
    /// Call `cid` of `endpoint.method`, aimed at its return stream.
    pub fn new(endpoint: impl Into<Arc<str>>, method: impl Into<Arc<str>>, cid: Uuid) -> Self {
        Target {
            endpoint: endpoint.into(),
            method: method.into(),
            cid,
            param: None,
        }
    }

    /// Aimed at input stream `param` instead.
    pub fn with_param(mut self, param: impl Into<Arc<str>>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The same call, aimed at its return stream.
    pub fn call(&self) -> Target {
        Target {
            param: None,
            ..self.clone()
        }
    }

    /// The same call, aimed at input stream `param`.
    pub fn input(&self, param: &Arc<str>) -> Target {
        Target {
            param: Some(param.clone()),
            ..self.clone()
        }
    }
}

/// `omsc`: the client opens a call. Built with [`OpenCall::new`] and the `with_` methods,
/// so that a field added to the protocol breaks nobody.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OpenCall {
    /// `en`.
    pub endpoint: Arc<str>,
    /// `m`.
    pub method: Arc<str>,
    /// `cid`.
    pub cid: Uuid,
    /// `args`: the raw MessagePack value, normally a map from parameter name to value.
    pub args: Vec<u8>,
    /// `is`: the input streams the client will feed.
    pub inputs: Vec<String>,
    /// `auth`: an `Authorization`-style value.
    pub auth: Option<String>,
    /// `am`: the auth mode (Serverpod 4.0). [`AUTH_MODE_COOKIE`] lets the server take the
    /// key from the handshake's auth cookie when `auth` is absent; other values mean
    /// nothing, and are kept as sent.
    pub auth_mode: Option<String>,
    /// `fc`: the values the client grants the server on the call's return stream, which
    /// makes the call flow-controlled (streampod's extension; see `docs/PROTOCOL.md`).
    pub flow: Option<u32>,
    /// `k`: the key the client asks for the call's keyed value frames, in 1..=[`MAX_KEY`]
    /// and above every key it asked for before on the connection (streampod's extension,
    /// MessagePack wire only; docs/PROTOCOL.md §12).
    pub key: Option<u32>,
}

impl OpenCall {
    /// Opens call `cid` of `endpoint.method` with `args` (a MessagePack map) and the input
    /// streams `inputs`; no credentials, no flow control.
    pub fn new(
        endpoint: impl Into<Arc<str>>,
        method: impl Into<Arc<str>>,
        cid: Uuid,
        args: Vec<u8>,
        inputs: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        OpenCall {
            endpoint: endpoint.into(),
            method: method.into(),
            cid,
            args,
            inputs: inputs.into_iter().map(Into::into).collect(),
            auth: None,
            auth_mode: None,
            flow: None,
            key: None,
        }
    }

    /// Asking for keyed value frames under `key` (`k`).
    pub fn with_key(mut self, key: u32) -> Self {
        self.key = Some(key);
        self
    }

    /// With an `Authorization`-style `auth` value.
    pub fn with_auth(mut self, value: impl Into<String>) -> Self {
        self.auth = Some(value.into());
        self
    }

    /// With an auth mode (`am`), such as [`AUTH_MODE_COOKIE`].
    pub fn with_auth_mode(mut self, mode: impl Into<String>) -> Self {
        self.auth_mode = Some(mode.into());
        self
    }

    /// Flow-controlled, granting the server `credit` values on the return stream (`fc`).
    pub fn with_flow(mut self, credit: u32) -> Self {
        self.flow = Some(credit);
        self
    }
}

/// The largest key a call's keyed value frames may carry: 2³¹ − 1.
pub const MAX_KEY: u32 = i32::MAX as u32;

/// The largest credit a `fc` or `crd` may carry, and the most a stream's credit adds up
/// to (more is kept at this): 2³¹ − 1, exact in every client language's integers.
pub const MAX_CREDIT: u32 = i32::MAX as u32;

/// `why` of the `cmsc` that closes a revoked call.
pub(crate) const REVOKED: &str = "revoked";

/// A credit as read from a frame: an integer in 1..=[`MAX_CREDIT`], or nothing valid.
pub(crate) fn valid_credit(n: i64) -> Option<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_CREDIT).contains(n))
}

/// The `am` value that asks for the handshake's auth cookie (docs/PROTOCOL.md §4.6).
pub const AUTH_MODE_COOKIE: &str = "cookie";

/// `omsr`: the server answers an open. Built with [`OpenResponse::new`] and the `with_`
/// methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenResponse {
    /// `cid`.
    pub cid: Uuid,
    /// `res`.
    pub result: OpenResult,
    /// `en`, echoed.
    pub endpoint: Arc<str>,
    /// `m`, echoed.
    pub method: Arc<str>,
    /// `fc`: for a flow-controlled call that opened, the values the server grants the
    /// client on each of the call's input streams.
    pub flow: Option<u32>,
    /// `why`: for a refused open, what was wrong, in a sentence (streampod's extension, on
    /// the MessagePack wire only: Serverpod's JSON has no place for it).
    pub why: Option<String>,
    /// `k`: the open's key, echoed when the server takes it: from here on the call's values
    /// travel in keyed value frames, both ways (MessagePack wire only).
    pub key: Option<u32>,
}

impl OpenResponse {
    /// The answer `result` to the open of call `cid` of `endpoint.method`.
    pub fn new(
        cid: Uuid,
        result: OpenResult,
        endpoint: impl Into<Arc<str>>,
        method: impl Into<Arc<str>>,
    ) -> Self {
        OpenResponse {
            cid,
            result,
            endpoint: endpoint.into(),
            method: method.into(),
            flow: None,
            why: None,
            key: None,
        }
    }

    /// Taking the open's key (`k`): the call's values travel in keyed value frames.
    pub fn with_key(mut self, key: u32) -> Self {
        self.key = Some(key);
        self
    }

    /// Granting the client `credit` values on each input stream (`fc`).
    pub fn with_flow(mut self, credit: u32) -> Self {
        self.flow = Some(credit);
        self
    }

    /// Saying why the open was refused (`why`).
    pub fn with_why(mut self, why: impl Into<String>) -> Self {
        self.why = Some(why.into());
        self
    }
}

/// One protocol message. The variants with fields are built with the functions of the same
/// names (`Message::value(target, value)`), so that a field added to the protocol breaks
/// nobody.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// `ping`: answered by `pong`.
    Ping,
    /// `pong`.
    Pong,
    /// `omsc`.
    OpenCall(OpenCall),
    /// `omsr`.
    OpenResponse(OpenResponse),
    /// `msm`: one value on a stream.
    #[non_exhaustive]
    Value {
        /// The stream.
        target: Target,
        /// `o`.
        value: Dynamic,
    },
    /// A keyed value frame, `[k, i, className, data]`: `msm` in the compact form a call
    /// whose open took a key uses for its values (docs/PROTOCOL.md §12; MessagePack wire
    /// only).
    #[non_exhaustive]
    KeyedValue {
        /// `k`: the call's key.
        key: u32,
        /// `i`: the input stream, by its place in the open's `is`; none for the return
        /// stream.
        input: Option<u32>,
        /// The value.
        value: Dynamic,
    },
    /// `msse`: a serializable exception on a stream; a `cmsc` with `error` follows.
    #[non_exhaustive]
    Exception {
        /// The stream.
        target: Target,
        /// `ex`.
        exception: Dynamic,
    },
    /// `cmsc`: a stream (with `p`) or a whole call (without) is closed.
    #[non_exhaustive]
    Close {
        /// The stream.
        target: Target,
        /// `cr`.
        reason: CloseReason,
    },
    /// `cmsc` with `cr: error` that says why: on the MessagePack wire it carries `why`
    /// (streampod's extension), so that a client can tell what happened; on the JSON wire
    /// it is Serverpod's plain `cmsc`. `why: "revoked"` ([`Message::revoked`]): the
    /// caller's authentication was revoked. Any other `why` ([`Message::failed`]): the
    /// client sent something the call could not take (a value its input's type cannot
    /// hold, a value beyond its credit), in a sentence.
    #[non_exhaustive]
    Failed {
        /// The call, or one of its input streams.
        target: Target,
        /// Why, in a sentence, or `revoked`.
        why: String,
    },
    /// `crd`: the peer may send `n` more values on a stream of a flow-controlled call (the
    /// return stream without `p`, client to server; input stream `p`, server to client).
    #[non_exhaustive]
    Credit {
        /// The stream.
        target: Target,
        /// `n`, in 1..=[`MAX_CREDIT`].
        n: u32,
    },
    /// `brm`: the peer sent something that is not a valid message; the connection closes.
    #[non_exhaustive]
    BadRequest {
        /// `req`: a description of what was wrong.
        request: String,
    },
    /// `rst`: the server's side of a resumable connection (docs/PROTOCOL.md §11): the
    /// session's token, how many of the client's call frames it has received, and how long
    /// it keeps the session when the socket drops.
    #[non_exhaustive]
    ResumeState {
        /// `tok`: the session's resume token. A secret: never logged.
        token: String,
        /// `n`: the client's call frames the server has received.
        received: u64,
        /// `win`: the resume window, in milliseconds.
        window_ms: u64,
    },
    /// `rsr`: the client resumes a session on a new socket (its first frame).
    #[non_exhaustive]
    Resume {
        /// `tok`: the token the server gave.
        token: String,
        /// `n`: the server's call frames the client has received.
        received: u64,
        /// `auth`: the credentials, re-checked for every call that required them.
        auth: Option<String>,
    },
    /// `rsx`: a resume refused; the connection closes and the session's calls are lost.
    #[non_exhaustive]
    ResumeRefused {
        /// `why`.
        reason: ResumeRefusal,
    },
    /// `ack`: the sender has received this many of the other side's call frames; the other
    /// side may forget them.
    #[non_exhaustive]
    Ack {
        /// `n`.
        received: u64,
    },
}

/// Why a resume was refused (`why` of `rsx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResumeRefusal {
    /// `unknown`: no session ever had this token here.
    Unknown,
    /// `expired`: the session's window ran out before the client came back.
    Expired,
    /// `closed`: the session ended (its client closed it, or the server shut down).
    Closed,
    /// `elsewhere`: the token belongs to another server node.
    Elsewhere,
    /// `encoding`: the new socket speaks another wire than the session did.
    Encoding,
    /// `off`: this server does not resume sessions.
    Off,
}

impl ResumeRefusal {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResumeRefusal::Unknown => "unknown",
            ResumeRefusal::Expired => "expired",
            ResumeRefusal::Closed => "closed",
            ResumeRefusal::Elsewhere => "elsewhere",
            ResumeRefusal::Encoding => "encoding",
            ResumeRefusal::Off => "off",
        }
    }

    /// From its wire name (a name this version does not know reads as `Unknown`).
    pub fn parse(name: &str) -> ResumeRefusal {
        match name {
            "expired" => ResumeRefusal::Expired,
            "closed" => ResumeRefusal::Closed,
            "elsewhere" => ResumeRefusal::Elsewhere,
            "encoding" => ResumeRefusal::Encoding,
            "off" => ResumeRefusal::Off,
            _ => ResumeRefusal::Unknown,
        }
    }
}

impl fmt::Display for ResumeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Message {
    /// `msm`: `value` on the stream `target`.
    pub fn value(target: Target, value: Dynamic) -> Self {
        Message::Value { target, value }
    }

    /// A keyed value frame: `value` on the return stream (`input` none) or an input stream
    /// of the call whose open took `key`.
    pub fn keyed_value(key: u32, input: Option<u32>, value: Dynamic) -> Self {
        Message::KeyedValue { key, input, value }
    }

    /// `msse`: `exception` on the stream `target`.
    pub fn exception(target: Target, exception: Dynamic) -> Self {
        Message::Exception { target, exception }
    }

    /// `cmsc`: the stream `target` is closed for `reason`.
    pub fn close(target: Target, reason: CloseReason) -> Self {
        Message::Close { target, reason }
    }

    /// `cmsc` of a call closed by a revocation.
    pub fn revoked(target: Target) -> Self {
        Message::failed(target, REVOKED)
    }

    /// `cmsc` with `cr: error` of a call or input stream closed for what its client sent,
    /// saying `why`.
    pub fn failed(target: Target, why: impl Into<String>) -> Self {
        Message::Failed {
            target,
            why: why.into(),
        }
    }

    /// Whether this is the `cmsc` of a revoked call.
    pub fn is_revoked(&self) -> bool {
        matches!(self, Message::Failed { why, .. } if why == REVOKED)
    }

    /// `crd`: `n` more values on the stream `target`.
    pub fn credit(target: Target, n: u32) -> Self {
        Message::Credit { target, n }
    }

    /// `brm`: `request` was not a valid message.
    pub fn bad_request(request: impl Into<String>) -> Self {
        Message::BadRequest {
            request: request.into(),
        }
    }

    /// `rst`: a resumable session's state.
    pub fn resume_state(token: impl Into<String>, received: u64, window_ms: u64) -> Self {
        Message::ResumeState {
            token: token.into(),
            received,
            window_ms,
        }
    }

    /// `rsr`: resume the session `token`, having received `received` of its frames.
    pub fn resume(token: impl Into<String>, received: u64, auth: Option<String>) -> Self {
        Message::Resume {
            token: token.into(),
            received,
            auth,
        }
    }

    /// `rsx`: a resume refused.
    pub fn resume_refused(reason: ResumeRefusal) -> Self {
        Message::ResumeRefused { reason }
    }

    /// `ack`: `received` of the other side's call frames have arrived.
    pub fn ack(received: u64) -> Self {
        Message::Ack { received }
    }

    /// Whether the message is a call frame, which a resumable connection numbers, keeps
    /// until acknowledged and replays: everything but `ping`, `pong` and the resume frames
    /// (`rst`, `rsr`, `rsx`, `ack`).
    pub fn is_counted(&self) -> bool {
        !matches!(
            self,
            Message::Ping
                | Message::Pong
                | Message::ResumeState { .. }
                | Message::Resume { .. }
                | Message::ResumeRefused { .. }
                | Message::Ack { .. }
        )
    }

    /// The `type` key.
    pub fn type_key(&self) -> &'static str {
        match self {
            Message::Ping => "ping",
            Message::Pong => "pong",
            Message::OpenCall(_) => "omsc",
            Message::OpenResponse(_) => "omsr",
            Message::Value { .. } | Message::KeyedValue { .. } => "msm",
            Message::Exception { .. } => "msse",
            Message::Close { .. } | Message::Failed { .. } => "cmsc",
            Message::Credit { .. } => "crd",
            Message::BadRequest { .. } => "brm",
            Message::ResumeState { .. } => "rst",
            Message::Resume { .. } => "rsr",
            Message::ResumeRefused { .. } => "rsx",
            Message::Ack { .. } => "ack",
        }
    }

    /// Encodes the message as one MessagePack map.
    pub fn encode(&self) -> Vec<u8> {
        // Room for the envelope and the names, plus any payload: one allocation, no growth.
        let payload = match self {
            Message::Value { value, .. } | Message::KeyedValue { value, .. } => {
                value.data().len() + value.class_name().len()
            }
            Message::Exception { exception, .. } => {
                exception.data().len() + exception.class_name().len()
            }
            Message::OpenCall(open) => open.args.len(),
            _ => 0,
        };
        let mut out = Vec::with_capacity(160 + payload);
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoded message to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        if matches!(self, Message::Ping | Message::Pong) {
            write::map_len(out, 1);
            entry_str(out, "type", self.type_key());
            return;
        }
        if let Message::KeyedValue { key, input, value } = self {
            write_keyed_prefix(out, *key, *input);
            value.write_parts(out);
            return;
        }
        write_envelope(out, self.type_key());
        match self {
            Message::Ping | Message::Pong | Message::KeyedValue { .. } => {}
            Message::OpenCall(o) => {
                write::map_len(
                    out,
                    5 + u32::from(o.auth.is_some())
                        + u32::from(o.auth_mode.is_some())
                        + u32::from(o.flow.is_some())
                        + u32::from(o.key.is_some()),
                );
                entry_str(out, "en", &o.endpoint);
                entry_str(out, "m", &o.method);
                entry_cid(out, o.cid);
                write::str(out, "args");
                out.extend_from_slice(&o.args);
                write::str(out, "is");
                write::array_len(out, o.inputs.len() as u32);
                for name in &o.inputs {
                    write::str(out, name);
                }
                if let Some(auth) = &o.auth {
                    entry_str(out, "auth", auth);
                }
                if let Some(mode) = &o.auth_mode {
                    entry_str(out, "am", mode);
                }
                entry_credit(out, "fc", o.flow);
                entry_credit(out, "k", o.key);
            }
            Message::OpenResponse(r) => {
                write::map_len(
                    out,
                    4 + u32::from(r.flow.is_some())
                        + u32::from(r.why.is_some())
                        + u32::from(r.key.is_some()),
                );
                entry_cid(out, r.cid);
                entry_str(out, "res", r.result.as_str());
                entry_str(out, "en", &r.endpoint);
                entry_str(out, "m", &r.method);
                entry_credit(out, "fc", r.flow);
                if let Some(why) = &r.why {
                    entry_str(out, "why", why);
                }
                entry_credit(out, "k", r.key);
            }
            Message::Value { target, value } => {
                write_value_data_prefix(out, target);
                value.write_wrapped(out);
            }
            Message::Exception { target, exception } => {
                write_target(out, target, 1);
                write::str(out, "ex");
                exception.write_wrapped(out);
            }
            Message::Close { target, reason } => {
                write_target(out, target, 1);
                entry_str(out, "cr", reason.as_str());
            }
            Message::Failed { target, why } => {
                write_target(out, target, 2);
                entry_str(out, "cr", CloseReason::Error.as_str());
                entry_str(out, "why", why);
            }
            Message::Credit { target, n } => {
                write_target(out, target, 1);
                entry_credit(out, "n", Some(*n));
            }
            Message::BadRequest { request } => {
                write::map_len(out, 1);
                entry_str(out, "req", request);
            }
            Message::ResumeState {
                token,
                received,
                window_ms,
            } => {
                write::map_len(out, 3);
                entry_str(out, "tok", token);
                entry_position(out, "n", *received);
                entry_position(out, "win", *window_ms);
            }
            Message::Resume {
                token,
                received,
                auth,
            } => {
                write::map_len(out, 2 + u32::from(auth.is_some()));
                entry_str(out, "tok", token);
                entry_position(out, "n", *received);
                if let Some(auth) = auth {
                    entry_str(out, "auth", auth);
                }
            }
            Message::ResumeRefused { reason } => {
                write::map_len(out, 1);
                entry_str(out, "why", reason.as_str());
            }
            Message::Ack { received } => {
                write::map_len(out, 1);
                entry_position(out, "n", *received);
            }
        }
    }
}

/// A position or a count: an integer from 0 to 2⁵³ (exact in every client's numbers).
fn entry_position(out: &mut Vec<u8>, key: &str, n: u64) {
    write::str(out, key);
    write::int(out, n.min(MAX_POSITION) as i64);
}

/// The largest position (or count) a resume frame carries: 2⁵³, exact in JavaScript.
pub const MAX_POSITION: u64 = 1 << 53;

/// The WebSocket close code of a server that gave up on a resumable connection's socket
/// (its peer stopped answering pings) but keeps its session for the window: a client that
/// still hears it resumes. Every other close from the server ends the session.
pub const CLOSE_RESUMABLE: u16 = 4000;

/// `{"type": kind, "data": ` of a message with data.
fn write_envelope(out: &mut Vec<u8>, kind: &str) {
    write::map_len(out, 2);
    entry_str(out, "type", kind);
    write::str(out, "data");
}

fn entry_str(out: &mut Vec<u8>, key: &str, value: &str) {
    write::str(out, key);
    write::str(out, value);
}

fn entry_credit(out: &mut Vec<u8>, key: &str, credit: Option<u32>) {
    if let Some(credit) = credit {
        write::str(out, key);
        write::int(out, i64::from(credit));
    }
}

fn entry_cid(out: &mut Vec<u8>, cid: Uuid) {
    write::str(out, "cid");
    write::str(
        out,
        cid.as_hyphenated().encode_lower(&mut Uuid::encode_buffer()),
    );
}

/// A keyed value frame up to its value's class: `[k, i, `.
fn write_keyed_prefix(out: &mut Vec<u8>, key: u32, input: Option<u32>) {
    write::array_len(out, 4);
    write::int(out, i64::from(key));
    match input {
        Some(i) => write::int(out, i64::from(i)),
        None => write::nil(out),
    }
}

/// The `data` of an `msm` up to its value.
fn write_value_data_prefix(out: &mut Vec<u8>, target: &Target) {
    write_target(out, target, 1);
    write::str(out, "o");
}

/// The `msm` frames of one stream, with everything but the value encoded once: what a call
/// writes for each value it yields. Either full `msm` messages or, for a call whose open
/// took a key, keyed value frames.
#[cfg(any(feature = "server", feature = "client"))]
#[derive(Debug, Clone)]
pub(crate) struct ValueFrames {
    prefix: Vec<u8>,
    keyed: bool,
}

#[cfg(any(feature = "server", feature = "client"))]
impl ValueFrames {
    /// The frames for values on `target`.
    fn new(target: &Target) -> Self {
        let mut prefix = Vec::new();
        write_envelope(&mut prefix, "msm");
        write_value_data_prefix(&mut prefix, target);
        // Kept for the stream's life: no spare capacity.
        prefix.shrink_to_fit();
        ValueFrames {
            prefix,
            keyed: false,
        }
    }

    /// The keyed value frames of the call whose open took `key`: its return stream (`input`
    /// none) or the input stream at place `input` of its `is`.
    fn keyed(key: u32, input: Option<u32>) -> Self {
        let mut prefix = Vec::with_capacity(11);
        write_keyed_prefix(&mut prefix, key, input);
        ValueFrames {
            prefix,
            keyed: true,
        }
    }

    /// The frames for values on `target`, keyed when the call has a key: `input` is the
    /// stream's place in the open's `is`.
    pub(crate) fn for_stream(target: &Target, key: Option<u32>, input: Option<u32>) -> Self {
        match key {
            Some(key) => ValueFrames::keyed(key, input),
            None => ValueFrames::new(target),
        }
    }

    /// The `msm` frame carrying `value`, in a buffer it shares with other frames
    /// (`protocol::buffers`): no allocation of its own, and a clone (a resumable connection
    /// keeps the frame until acknowledged) only counts a reference.
    pub(crate) fn encode_shared(&self, value: &Dynamic) -> bytes::Bytes {
        let Ok(frame) = crate::protocol::encode_shared(|out| {
            self.encode_into(value, out);
            Ok::<(), std::convert::Infallible>(())
        });
        frame
    }

    /// [`ValueFrames::encode_shared`] for a value of any type, encoded straight into its
    /// frame (a method's output: no `Dynamic` on the way).
    #[cfg(feature = "server")]
    pub(crate) fn encode_value<T: Wire>(&self, value: &T) -> Result<bytes::Bytes, EncodeError> {
        // A dynamic value is wrapped already (a dynamic echo yields what it received).
        if let Some(dynamic) = (value as &dyn std::any::Any).downcast_ref::<Dynamic>() {
            return Ok(self.encode_shared(dynamic));
        }
        crate::protocol::encode_shared(|out| {
            self.write_value(out, &value.class_name(), |out| value.write_data(out))
        })
    }

    /// Appends the `msm` frame carrying `value`.
    pub(crate) fn encode_into(&self, value: &Dynamic, out: &mut Vec<u8>) {
        let Ok(()) = self.write_value(out, value.class_name(), |out| {
            out.extend_from_slice(value.data());
            Ok::<(), std::convert::Infallible>(())
        });
    }

    /// Appends the frame of a value of class `class` whose data `data` writes: the prefix,
    /// then the class and the data, as two values (keyed) or in a wrapped value's map.
    fn write_value<E>(
        &self,
        out: &mut Vec<u8>,
        class: &str,
        data: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        out.extend_from_slice(&self.prefix);
        if self.keyed {
            write_parts(out, class, data)
        } else {
            write_wrapped(out, class, data)
        }
    }
}

fn write_target(out: &mut Vec<u8>, target: &Target, extra: u32) {
    write::map_len(out, 3 + u32::from(target.param.is_some()) + extra);
    entry_str(out, "en", &target.endpoint);
    entry_str(out, "m", &target.method);
    entry_cid(out, target.cid);
    if let Some(p) = &target.param {
        entry_str(out, "p", p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::FrameError;

    fn target(param: Option<&str>) -> Target {
        Target {
            endpoint: "methodStreaming".into(),
            method: "intEchoStream".into(),
            cid: Uuid::parse_str("0d3ee6a3-9b59-4c1c-8f0e-5c8e3a1b2f10").unwrap(),
            param: param.map(Arc::from),
        }
    }

    #[test]
    fn every_message_round_trips() {
        let mut args = Vec::new();
        write::map_len(&mut args, 1);
        write::str(&mut args, "value");
        write::int(&mut args, 4);
        let messages = vec![
            Message::Ping,
            Message::Pong,
            Message::OpenCall(OpenCall {
                endpoint: "methodStreaming".into(),
                method: "intEchoStream".into(),
                cid: target(None).cid,
                args,
                inputs: vec!["stream".into()],
                auth: Some("Bearer abc".into()),
                auth_mode: Some(AUTH_MODE_COOKIE.into()),
                flow: Some(16),
                key: Some(MAX_KEY),
            }),
            Message::OpenCall(OpenCall {
                endpoint: "methodStreaming".into(),
                method: "simpleStream".into(),
                cid: target(None).cid,
                args: vec![0x80],
                inputs: vec![],
                auth: None,
                auth_mode: None,
                flow: None,
                key: None,
            }),
            Message::OpenResponse(OpenResponse {
                cid: target(None).cid,
                result: OpenResult::AuthorizationDeclined,
                endpoint: "methodStreaming".into(),
                method: "intEchoStream".into(),
                flow: None,
                why: Some("missing scope `admin`".into()),
                key: None,
            }),
            Message::OpenResponse(OpenResponse {
                cid: target(None).cid,
                result: OpenResult::Success,
                endpoint: "methodStreaming".into(),
                method: "intEchoStream".into(),
                flow: Some(MAX_CREDIT),
                why: None,
                key: Some(3),
            }),
            Message::Credit {
                target: target(None),
                n: 1,
            },
            Message::revoked(target(None)),
            Message::failed(target(Some("stream")), "expected a value of class `int`"),
            Message::Credit {
                target: target(Some("stream")),
                n: MAX_CREDIT,
            },
            Message::Value {
                target: target(Some("stream")),
                value: Dynamic::new(&1i64).unwrap(),
            },
            Message::keyed_value(1, None, Dynamic::new(&"hi".to_string()).unwrap()),
            Message::keyed_value(
                MAX_KEY,
                Some(MAX_KEY),
                Dynamic::new(&vec![1i64, 2]).unwrap(),
            ),
            Message::keyed_value(7, Some(0), Dynamic::new(&Option::<i64>::None).unwrap()),
            Message::Exception {
                target: target(None),
                exception: Dynamic::new(&"boom".to_string()).unwrap(),
            },
            Message::Close {
                target: target(None),
                reason: CloseReason::Error,
            },
            Message::BadRequest {
                request: "nope".into(),
            },
            Message::resume_state("tok-1", 0, 30_000),
            Message::resume("tok-1", MAX_POSITION, Some("Bearer k".into())),
            Message::resume("tok-1", 7, None),
            Message::resume_refused(ResumeRefusal::Expired),
            Message::ack(12),
        ];
        for m in messages {
            assert_eq!(Message::decode(&m.encode()).unwrap(), m);
            // The resume frames, on the JSON wire too (`why` and `revoked` are not on it).
            if !m.is_counted() && !matches!(m, Message::Ping | Message::Pong) {
                let json = m.encode_json().unwrap();
                assert_eq!(Message::decode_json(&json).unwrap(), m, "{json}");
            }
        }
    }

    #[test]
    fn resume_frames_are_not_counted_and_positions_are_bounded() {
        assert!(!Message::ack(1).is_counted());
        assert!(!Message::resume_state("t", 0, 1).is_counted());
        assert!(!Message::Ping.is_counted());
        assert!(Message::bad_request("x").is_counted());
        assert_eq!(
            Message::resume_state("abc", 5, 30_000)
                .encode_json()
                .unwrap(),
            r#"{"type":"rst","data":{"tok":"abc","n":5,"win":30000}}"#
        );
        for bad in [
            r#"{"type":"ack","data":{"n":-1}}"#,
            r#"{"type":"ack","data":{"n":9007199254740993}}"#,
            r#"{"type":"ack","data":{}}"#,
            r#"{"type":"rsr","data":{"n":1}}"#,
            r#"{"type":"rsx","data":{}}"#,
        ] {
            assert!(Message::decode_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_keyed_value_frame_is_four_items_and_small() {
        let value = Dynamic::new(&crate::protocol::ByteData(vec![7; 64])).unwrap();
        let keyed = Message::keyed_value(5, Some(0), value.clone()).encode();
        // [5, 0, "ByteData", bin8(64)]
        assert_eq!(&keyed[..12], b"\x94\x05\x00\xa8ByteData");
        assert_eq!(keyed.len(), 12 + 2 + 64);
        let full = Message::value(target(Some("stream")), value).encode();
        assert!(
            full.len() > keyed.len() + 90,
            "{} vs {}",
            full.len(),
            keyed.len()
        );
        let keyed = |items: &[&[u8]]| {
            let mut frame = Vec::new();
            write::array_len(&mut frame, items.len() as u32);
            items.iter().for_each(|item| frame.extend_from_slice(item));
            frame
        };
        let class: &[u8] = b"\xa3int";
        for (frame, field) in [
            (keyed(&[b"\x01", b"\xc0", class]), "k"),
            (keyed(&[b"\x00", b"\xc0", class, b"\x01"]), "k"),
            (keyed(&[b"\xff", b"\xc0", class, b"\x01"]), "k"),
            (
                keyed(&[b"\xce\x80\x00\x00\x00", b"\xc0", class, b"\x01"]),
                "k",
            ),
            (keyed(&[b"\xa1k", b"\xc0", class, b"\x01"]), "k"),
            (keyed(&[b"\x01", b"\xff", class, b"\x01"]), "i"),
            (keyed(&[b"\x01", b"\xa1p", class, b"\x01"]), "i"),
            (keyed(&[b"\x01", b"\xc0", b"\x01", b"\x01"]), "className"),
        ] {
            match Message::decode(&frame) {
                Err(FrameError::InvalidField {
                    message: "msm",
                    field: f,
                    ..
                }) if f == field => {}
                other => panic!("{frame:02x?}: {other:?}"),
            }
        }
        let mut trailing = keyed(&[b"\x01", b"\xc0", class, b"\x01"]);
        assert!(Message::decode(&trailing).is_ok());
        trailing.push(0xc0);
        assert!(matches!(
            Message::decode(&trailing),
            Err(FrameError::TrailingBytes)
        ));
        let cut = keyed(&[b"\x01", b"\xc0", class]);
        assert!(Message::decode(&cut[..cut.len() - 1]).is_err());
    }

    #[test]
    fn malformed_frames_are_errors() {
        assert!(matches!(
            Message::decode(b""),
            Err(FrameError::NotMessagePack(_))
        ));
        assert!(matches!(Message::decode(&[0x01]), Err(FrameError::NotAMap)));
        let mut f = Vec::new();
        write::map_len(&mut f, 1);
        write::str(&mut f, "type");
        write::str(&mut f, "OMSC");
        assert!(matches!(
            Message::decode(&f),
            Err(FrameError::UnknownType(_))
        ));
        let mut bad_cid = Message::Close {
            target: target(None),
            reason: CloseReason::Done,
        }
        .encode();
        let at = bad_cid.windows(4).position(|w| w == b"0d3e").unwrap();
        bad_cid[at] = b'x';
        assert!(matches!(
            Message::decode(&bad_cid),
            Err(FrameError::InvalidField { field: "cid", .. })
        ));
    }
}

#[cfg(all(test, any(feature = "server", feature = "client")))]
mod value_frames_tests {
    use super::*;

    #[test]
    fn a_value_frame_is_the_msm_message_byte_for_byte() {
        let target = Target {
            endpoint: "example".into(),
            method: "echoStream".into(),
            cid: uuid::Uuid::new_v4(),
            param: None,
        };
        let value = Dynamic::new(&42i64).unwrap();
        let mut frame = Vec::new();
        ValueFrames::new(&target).encode_into(&value, &mut frame);
        assert_eq!(frame, Message::Value { target, value }.encode());
    }

    #[test]
    fn a_keyed_frame_is_the_keyed_message_byte_for_byte() {
        let value = Dynamic::new(&"x".repeat(300)).unwrap();
        for input in [None, Some(0), Some(200)] {
            let mut frame = Vec::new();
            ValueFrames::keyed(70_000, input).encode_into(&value, &mut frame);
            let message = Message::keyed_value(70_000, input, value.clone());
            assert_eq!(frame, message.encode());
            assert_eq!(Message::decode(&frame).unwrap(), message);
        }
    }

    /// A method's value framed straight from its type is the frame of its `Dynamic`.
    #[cfg(feature = "server")]
    #[test]
    fn a_value_framed_from_its_type_is_its_dynamic_frame() {
        let target = Target {
            endpoint: "example".into(),
            method: "echoStream".into(),
            cid: uuid::Uuid::new_v4(),
            param: None,
        };
        let typed = crate::protocol::ByteData(vec![7; 64]);
        let dynamic = Dynamic::new(&typed).unwrap();
        for frames in [ValueFrames::new(&target), ValueFrames::keyed(3, None)] {
            let expected = frames.encode_shared(&dynamic);
            assert_eq!(frames.encode_value(&typed).unwrap(), expected);
            // A `Dynamic` output keeps its own class and data.
            assert_eq!(frames.encode_value(&dynamic).unwrap(), expected);
        }
        let long = "x".repeat(3000);
        let frames = ValueFrames::keyed(3, None);
        assert_eq!(
            frames.encode_value(&long).unwrap(),
            frames.encode_shared(&Dynamic::new(&long).unwrap())
        );
    }
}

//! Method-stream messages in Serverpod's JSON (docs/PROTOCOL.md §2, §3 and §9): the frames of the
//! JSON wire, byte for byte as Serverpod's server writes them (compact, its key order), and
//! read as its server reads them.

use crate::protocol::error::EncodeError;
use crate::protocol::error::FrameError;
use crate::protocol::message::{
    valid_credit, CloseReason, Message, OpenCall, OpenResponse, OpenResult, ResumeRefusal, Target,
    MAX_POSITION,
};
use crate::protocol::values::json::{any_json_to_msgpack, msgpack_to_any_json};
use crate::protocol::DecodeError;
use crate::protocol::Dynamic;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;
use uuid::Uuid;

impl Message {
    /// The message as one frame of Serverpod's JSON wire: compact, keys in Serverpod's order
    /// (`omsr` is `cid, res, en, m`; `msm` is `en, m, cid, [p,] o`; …), values in their JSON
    /// forms ([`Dynamic::to_json`](crate::protocol::Dynamic::to_json)). Fails only for a value that has
    /// no JSON form.
    pub fn encode_json(&self) -> Result<String, EncodeError> {
        // Written straight into one buffer, in order: no map is built for the envelope.
        let mut w = Writer::default();
        w.raw("{\"type\":");
        w.string(self.type_key());
        match self {
            Message::Ping | Message::Pong => {}
            Message::KeyedValue { .. } => return Err(EncodeError::MessagePackOnly("msm")),
            Message::OpenCall(o) => {
                w.raw(",\"data\":{\"en\":");
                w.string(&o.endpoint);
                w.raw(",\"m\":");
                w.string(&o.method);
                w.raw(",\"cid\":");
                w.cid(o.cid);
                w.raw(",\"args\":");
                w.string(&msgpack_to_any_json(&o.args)?.to_string());
                w.raw(",\"is\":");
                w.value(&Value::from(o.inputs.clone()));
                if let Some(auth) = &o.auth {
                    w.raw(",\"auth\":");
                    w.string(auth);
                }
                if let Some(mode) = &o.auth_mode {
                    w.raw(",\"am\":");
                    w.string(mode);
                }
                w.credit(",\"fc\":", o.flow);
                w.raw("}");
            }
            Message::OpenResponse(r) => {
                w.raw(",\"data\":{\"cid\":");
                w.cid(r.cid);
                w.raw(",\"res\":");
                w.string(r.result.as_str());
                w.raw(",\"en\":");
                w.string(&r.endpoint);
                w.raw(",\"m\":");
                w.string(&r.method);
                w.credit(",\"fc\":", r.flow);
                w.raw("}");
            }
            Message::Value { target, value } => {
                w.stream(target, "o");
                w.wrapped(value)?;
                w.raw("}");
            }
            Message::Exception { target, exception } => {
                w.stream(target, "ex");
                w.wrapped(exception)?;
                w.raw("}");
            }
            Message::Close { target, reason } => {
                w.stream(target, "cr");
                w.string(reason.as_str());
                w.raw("}");
            }
            // Serverpod's clients know no reasons: a plain close with an error.
            Message::Failed { target, .. } => {
                w.stream(target, "cr");
                w.string(CloseReason::Error.as_str());
                w.raw("}");
            }
            Message::Credit { target, n } => {
                w.stream(target, "n");
                w.credit("", Some(*n));
                w.raw("}");
            }
            Message::BadRequest { request } => {
                w.raw(",\"data\":{\"req\":");
                w.string(request);
                w.raw("}");
            }
            Message::ResumeState {
                token,
                received,
                window_ms,
            } => {
                w.raw(",\"data\":{\"tok\":");
                w.string(token);
                w.raw(",\"n\":");
                w.raw(&received.to_string());
                w.raw(",\"win\":");
                w.raw(&window_ms.to_string());
                w.raw("}");
            }
            Message::Resume {
                token,
                received,
                auth,
            } => {
                w.raw(",\"data\":{\"tok\":");
                w.string(token);
                w.raw(",\"n\":");
                w.raw(&received.to_string());
                if let Some(auth) = auth {
                    w.raw(",\"auth\":");
                    w.string(auth);
                }
                w.raw("}");
            }
            Message::ResumeRefused { reason } => {
                w.raw(",\"data\":{\"why\":");
                w.string(reason.as_str());
                w.raw("}");
            }
            Message::Ack { received } => {
                w.raw(",\"data\":{\"n\":");
                w.raw(&received.to_string());
                w.raw("}");
            }
        }
        w.raw("}");
        Ok(w.finish())
    }

    /// Reads one frame of Serverpod's JSON wire. Key order and unknown keys do not matter.
    /// `args` must be a JSON string: any other `args` makes the frame unreadable, as in
    /// Serverpod; a string that is not a JSON object becomes `args` that are not a map (the
    /// server answers `invalidArguments`). A value that has no MessagePack form keeps its
    /// class and gets data that no type reads, so that it fails only its own stream.
    pub fn decode_json(text: &str) -> Result<Message, FrameError> {
        let frame = parse(text)?;
        owned(&frame.kind, frame.data.unwrap_or_default())
    }
}

/// Reads one JSON frame and hands it to `f` as the MessagePack path's borrowed view: stream
/// traffic (`msm`, `msse`, `cmsc`) borrows from the frame, allocating no names, as a
/// MessagePack frame's does.
#[cfg(feature = "server")]
pub(crate) fn decode_json_ref<R>(
    text: &str,
    f: impl FnOnce(crate::protocol::MessageRef<'_>) -> R,
) -> Result<R, FrameError> {
    use crate::protocol::message::decode::{MessageRef, TargetRef, WrappedRef};
    let frame = parse(text)?;
    let d = frame.data.unwrap_or_default();
    let kind = &*frame.kind;
    let fields = Fields { message: kind };
    match kind {
        "msm" | "msse" => {
            let target = TargetRef {
                endpoint: fields.text("en", &d.en)?,
                method: fields.text("m", &d.m)?,
                cid: fields.cid(&d.cid)?,
                param: d.p.as_deref(),
            };
            let (wrapped, field) = if kind == "msm" {
                (&d.o, "o")
            } else {
                (&d.ex, "ex")
            };
            let wrapped = wrapped.as_ref().ok_or_else(|| fields.missing(field))?;
            let class = wrapped.class.trim();
            let data = crate::protocol::values::json::frame_data(class, &wrapped.data);
            let value = WrappedRef { class, data: &data };
            Ok(f(if kind == "msm" {
                MessageRef::Value { target, value }
            } else {
                MessageRef::Exception {
                    target,
                    exception: value,
                }
            }))
        }
        _ => owned(kind, d).map(|message| f(crate::protocol::borrow(&message))),
    }
}

/// The envelope of a frame, its strings borrowed from it where they need no unescaping.
fn parse(text: &str) -> Result<Envelope<'_>, FrameError> {
    serde_json::from_str(text).map_err(|e| FrameError::Json(Arc::new(e)))
}

/// The owned message of a frame of type `kind` with data `d`.
fn owned(kind: &str, d: Data<'_>) -> Result<Message, FrameError> {
    let fields = Fields { message: kind };
    {
        Ok(match kind {
            "ping" => Message::Ping,
            "pong" => Message::Pong,
            "omsc" => Message::OpenCall(OpenCall {
                endpoint: fields.name("en", &d.en)?,
                method: fields.name("m", &d.m)?,
                cid: fields.cid(&d.cid)?,
                args: match &d.args {
                    Some(Value::String(text)) => args(text),
                    Some(_) => return Err(fields.invalid("args", "not a string")),
                    None => return Err(fields.missing("args")),
                },
                // Required, as Serverpod reads it (a list; null is not one).
                inputs: match d.is {
                    None => return Err(fields.missing("is")),
                    Some(Value::Array(names)) => names
                        .into_iter()
                        .map(|n| match n {
                            Value::String(n) => Some(n),
                            _ => None,
                        })
                        .collect::<Option<_>>()
                        .ok_or_else(|| fields.invalid("is", "not a list of names"))?,
                    Some(_) => return Err(fields.invalid("is", "not a list of names")),
                },
                flow: fields.credit("fc", &d.fc)?,
                auth: d.auth.map(Cow::into_owned),
                auth_mode: d.am.map(Cow::into_owned),
                // Keyed value frames are MessagePack's alone.
                key: None,
            }),
            "omsr" => Message::OpenResponse(OpenResponse {
                cid: fields.cid(&d.cid)?,
                result: OpenResult::parse(fields.text("res", &d.res)?)
                    .ok_or_else(|| fields.invalid("res", "unknown open result"))?,
                endpoint: fields.name("en", &d.en)?,
                method: fields.name("m", &d.m)?,
                flow: fields.credit("fc", &d.fc)?,
                // Not on this wire: Serverpod's `omsr` has no reason, nor a key.
                why: None,
                key: None,
            }),
            "msm" => Message::Value {
                target: fields.target(&d)?,
                value: fields.wrapped("o", &d.o)?,
            },
            "msse" => Message::Exception {
                target: fields.target(&d)?,
                exception: fields.wrapped("ex", &d.ex)?,
            },
            "cmsc" => Message::Close {
                target: fields.target(&d)?,
                reason: match fields.text("cr", &d.cr)? {
                    "done" => CloseReason::Done,
                    "error" => CloseReason::Error,
                    _ => return Err(fields.invalid("cr", "unknown close reason")),
                },
            },
            "crd" => Message::Credit {
                target: fields.target(&d)?,
                n: fields
                    .credit("n", &d.n)?
                    .ok_or_else(|| fields.missing("n"))?,
            },
            "brm" => Message::BadRequest {
                request: fields.text("req", &d.req)?.to_string(),
            },
            "rst" => Message::ResumeState {
                token: fields.text("tok", &d.tok)?.to_string(),
                received: fields.position("n", &d.n)?,
                window_ms: fields.position("win", &d.win)?,
            },
            "rsr" => Message::Resume {
                token: fields.text("tok", &d.tok)?.to_string(),
                received: fields.position("n", &d.n)?,
                auth: d.auth.map(Cow::into_owned),
            },
            "rsx" => Message::ResumeRefused {
                reason: ResumeRefusal::parse(fields.text("why", &d.why)?),
            },
            "ack" => Message::Ack {
                received: fields.position("n", &d.n)?,
            },
            other => return Err(FrameError::UnknownType(other.to_string())),
        })
    }
}

/// The envelope of a frame, as read.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<Data<'a>>,
}

/// Every key a message's `data` may have; each message reads its own.
#[derive(Deserialize, Default)]
struct Data<'a> {
    #[serde(borrow, default)]
    en: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    m: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    cid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    p: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    res: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    cr: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    req: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    auth: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    am: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tok: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    why: Option<Cow<'a, str>>,
    #[serde(default)]
    win: Option<Value>,
    #[serde(default)]
    args: Option<Value>,
    #[serde(default)]
    is: Option<Value>,
    #[serde(default)]
    fc: Option<Value>,
    #[serde(default)]
    n: Option<Value>,
    #[serde(borrow, default)]
    o: Option<Wrapped<'a>>,
    #[serde(borrow, default)]
    ex: Option<Wrapped<'a>>,
}

/// A wrapped value, as read: no map is built for it.
#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(rename = "className", borrow)]
    class: Cow<'a, str>,
    #[serde(default)]
    data: Value,
}

/// A JSON frame written in order into one buffer.
struct Writer {
    out: Vec<u8>,
}

impl Default for Writer {
    fn default() -> Self {
        // The envelope, the names and a small value fit without growing.
        Writer {
            out: Vec::with_capacity(256),
        }
    }
}

impl Writer {
    fn raw(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    /// A JSON string, escaped as JSON needs (UTF-8 text stays as it is).
    fn string(&mut self, text: &str) {
        // Writing a `str` into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut self.out, text);
    }

    fn value(&mut self, value: &Value) {
        let _ = serde_json::to_writer(&mut self.out, value);
    }

    /// `{"className":..,"data":..}`, with no map built for it.
    fn wrapped(&mut self, value: &Dynamic) -> Result<(), DecodeError> {
        self.raw("{\"className\":");
        self.string(value.class_name());
        self.raw(",\"data\":");
        self.value(&crate::protocol::values::json::data_to_json(
            value.class_name(),
            value.data(),
        )?);
        self.raw("}");
        Ok(())
    }

    /// `key` then the credit, if there is one.
    fn credit(&mut self, key: &str, credit: Option<u32>) {
        if let Some(credit) = credit {
            self.raw(key);
            self.raw(&credit.to_string());
        }
    }

    fn cid(&mut self, cid: Uuid) {
        self.raw("\"");
        self.raw(cid.as_hyphenated().encode_lower(&mut Uuid::encode_buffer()));
        self.raw("\"");
    }

    /// `,"data":{"en":..,"m":..,"cid":..,["p":..,]"<key>":` of `msm`, `msse` and `cmsc`.
    fn stream(&mut self, target: &Target, key: &str) {
        self.raw(",\"data\":{\"en\":");
        self.string(&target.endpoint);
        self.raw(",\"m\":");
        self.string(&target.method);
        self.raw(",\"cid\":");
        self.cid(target.cid);
        if let Some(param) = &target.param {
            self.raw(",\"p\":");
            self.string(param);
        }
        self.raw(",\"");
        self.raw(key);
        self.raw("\":");
    }

    fn finish(self) -> String {
        // Only `str`s and serde_json's output went in: valid UTF-8.
        String::from_utf8(self.out).unwrap_or_default()
    }
}

/// A decoded JSON message as the MessagePack path's borrowed view, so that both wires take
/// the same handlers.
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) fn borrow(message: &Message) -> crate::protocol::MessageRef<'_> {
    use crate::protocol::message::decode::{MessageRef, TargetRef, WrappedRef};
    fn target_ref(target: &Target) -> TargetRef<'_> {
        TargetRef {
            endpoint: &target.endpoint,
            method: &target.method,
            cid: target.cid,
            param: target.param.as_deref(),
        }
    }
    match message {
        Message::Value { target, value } => MessageRef::Value {
            target: target_ref(target),
            value: WrappedRef {
                class: Dynamic::class_name(value),
                data: value.data(),
            },
        },
        Message::KeyedValue { key, input, value } => MessageRef::KeyedValue {
            key: *key,
            input: *input,
            value: WrappedRef {
                class: Dynamic::class_name(value),
                data: value.data(),
            },
        },
        Message::Exception { target, exception } => MessageRef::Exception {
            target: target_ref(target),
            exception: WrappedRef {
                class: Dynamic::class_name(exception),
                data: exception.data(),
            },
        },
        Message::Close { target, reason } => MessageRef::Close {
            target: target_ref(target),
            reason: *reason,
            why: None,
        },
        Message::Failed { target, why } => MessageRef::Close {
            target: target_ref(target),
            reason: CloseReason::Error,
            why: Some(why),
        },
        Message::Credit { target, n } => MessageRef::Credit {
            target: target_ref(target),
            n: *n,
        },
        other => MessageRef::Control(other.clone()),
    }
}

/// `args` as MessagePack: the object's map, or (for text that is not a JSON object) nil,
/// which the server answers with `invalidArguments`.
fn args(text: &str) -> Vec<u8> {
    match serde_json::from_str::<Value>(text) {
        Ok(object @ Value::Object(_)) => {
            any_json_to_msgpack(&object).unwrap_or_else(|_| vec![0xc0])
        }
        _ => vec![0xc0],
    }
}

/// The checks of one message's fields.
struct Fields<'a> {
    message: &'a str,
}

impl Fields<'_> {
    fn invalid(&self, field: &'static str, reason: &str) -> FrameError {
        FrameError::InvalidField {
            message: static_type_name(self.message),
            field,
            reason: reason.to_string(),
        }
    }

    /// A required position or count: an integer in 0..=2⁵³.
    fn position(&self, field: &'static str, value: &Option<Value>) -> Result<u64, FrameError> {
        match value {
            None | Some(Value::Null) => Err(self.missing(field)),
            Some(v) => v
                .as_u64()
                .filter(|n| *n <= MAX_POSITION)
                .ok_or_else(|| self.invalid(field, "not in 0..=2^53")),
        }
    }

    fn missing(&self, field: &'static str) -> FrameError {
        FrameError::MissingField {
            message: static_type_name(self.message),
            field,
        }
    }

    fn text<'v>(
        &self,
        field: &'static str,
        value: &'v Option<Cow<'_, str>>,
    ) -> Result<&'v str, FrameError> {
        value.as_deref().ok_or_else(|| self.missing(field))
    }

    fn name(
        &self,
        field: &'static str,
        value: &Option<Cow<'_, str>>,
    ) -> Result<Arc<str>, FrameError> {
        self.text(field, value).map(Arc::from)
    }

    /// An optional credit, which must be an integer in 1..=`MAX_CREDIT` when present.
    fn credit(
        &self,
        field: &'static str,
        value: &Option<Value>,
    ) -> Result<Option<u32>, FrameError> {
        match value {
            None => Ok(None),
            Some(n) => n
                .as_i64()
                .and_then(valid_credit)
                .map(Some)
                .ok_or_else(|| self.invalid(field, "not an integer in 1..=2147483647")),
        }
    }

    fn cid(&self, value: &Option<Cow<'_, str>>) -> Result<Uuid, FrameError> {
        let text = self.text("cid", value)?;
        crate::protocol::message::decode::parse_cid_bytes(text.as_bytes())
            .ok_or_else(|| self.invalid("cid", "not a UUID in 8-4-4-4-12 form"))
    }

    /// A wrapped value (see `Dynamic::from_json_frame`).
    fn wrapped(
        &self,
        field: &'static str,
        value: &Option<Wrapped<'_>>,
    ) -> Result<Dynamic, FrameError> {
        let value = value.as_ref().ok_or_else(|| self.missing(field))?;
        Ok(Dynamic::from_json_parts(&value.class, &value.data))
    }

    fn target(&self, d: &Data<'_>) -> Result<Target, FrameError> {
        Ok(Target {
            endpoint: self.name("en", &d.en)?,
            method: self.name("m", &d.m)?,
            cid: self.cid(&d.cid)?,
            param: d.p.as_deref().map(Arc::from),
        })
    }
}

/// The `type` names as the static strings errors carry.
fn static_type_name(kind: &str) -> &'static str {
    crate::protocol::message::decode::data_message(kind).unwrap_or("message")
}

#[cfg(all(test, any(feature = "server", feature = "client")))]
mod tests {
    use super::*;

    const CID: &str = "0d3ee6a3-3c9e-4b8e-9c3f-6b1f2b7a9e01";

    fn target(param: Option<&str>) -> Target {
        Target {
            endpoint: "methodStreaming".into(),
            method: "intEchoStream".into(),
            cid: Uuid::parse_str(CID).unwrap(),
            param: param.map(Arc::from),
        }
    }

    /// Transcript A of docs/PROTOCOL.md §6, the server's side, byte for byte.
    #[test]
    fn the_server_frames_of_transcript_a_are_serverpods() {
        assert_eq!(Message::Pong.encode_json().unwrap(), r#"{"type":"pong"}"#);
        let open = Message::OpenResponse(OpenResponse {
            cid: Uuid::parse_str(CID).unwrap(),
            result: OpenResult::Success,
            endpoint: "methodStreaming".into(),
            method: "intEchoStream".into(),
            flow: None,
            why: Some("not written on the JSON wire".into()),
            key: Some(1),
        });
        assert_eq!(
            open.encode_json().unwrap(),
            format!(
                r#"{{"type":"omsr","data":{{"cid":"{CID}","res":"success","en":"methodStreaming","m":"intEchoStream"}}}}"#
            )
        );
        assert!(matches!(
            Message::keyed_value(1, None, Dynamic::new(&1i64).unwrap()).encode_json(),
            Err(EncodeError::MessagePackOnly("msm"))
        ));
        let value = Message::Value {
            target: target(None),
            value: Dynamic::new(&1i64).unwrap(),
        };
        assert_eq!(
            value.encode_json().unwrap(),
            format!(
                r#"{{"type":"msm","data":{{"en":"methodStreaming","m":"intEchoStream","cid":"{CID}","o":{{"className":"int","data":1}}}}}}"#
            )
        );
        let close = Message::Close {
            target: target(Some("stream")),
            reason: CloseReason::Done,
        };
        assert_eq!(
            close.encode_json().unwrap(),
            format!(
                r#"{{"type":"cmsc","data":{{"en":"methodStreaming","m":"intEchoStream","cid":"{CID}","p":"stream","cr":"done"}}}}"#
            )
        );
    }

    /// Transcript A, the client's side: read, and written back exactly.
    #[test]
    fn the_client_frames_of_transcript_a_read_and_write_back_exactly() {
        for frame in [
            r#"{"type":"ping"}"#.to_string(),
            format!(
                r#"{{"type":"omsc","data":{{"en":"methodStreaming","m":"intEchoStream","cid":"{CID}","args":"{{}}","is":["stream"]}}}}"#
            ),
            format!(
                r#"{{"type":"msm","data":{{"en":"methodStreaming","m":"intEchoStream","cid":"{CID}","p":"stream","o":{{"className":"int","data":1}}}}}}"#
            ),
            format!(
                r#"{{"type":"cmsc","data":{{"en":"methodStreaming","m":"intEchoStream","cid":"{CID}","p":"stream","cr":"done"}}}}"#
            ),
        ] {
            let message = Message::decode_json(&frame).unwrap();
            assert_eq!(message.encode_json().unwrap(), frame);
        }
    }

    /// The flow-control extension (docs/PROTOCOL.md): `fc` after Serverpod's keys, `crd`
    /// with the stream's keys then `n`; read back exactly.
    #[test]
    fn flow_control_frames_read_and_write_back_exactly() {
        for frame in [
            format!(
                r#"{{"type":"omsc","data":{{"en":"methodStreaming","m":"intEchoStream","cid":"{CID}","args":"{{}}","is":["stream"],"fc":4}}}}"#
            ),
            format!(
                r#"{{"type":"omsr","data":{{"cid":"{CID}","res":"success","en":"methodStreaming","m":"intEchoStream","fc":256}}}}"#
            ),
            format!(
                r#"{{"type":"crd","data":{{"en":"methodStreaming","m":"intEchoStream","cid":"{CID}","n":10}}}}"#
            ),
            format!(
                r#"{{"type":"crd","data":{{"en":"methodStreaming","m":"intEchoStream","cid":"{CID}","p":"stream","n":2147483647}}}}"#
            ),
        ] {
            let message = Message::decode_json(&frame).unwrap();
            assert_eq!(message.encode_json().unwrap(), frame);
            // The same message on the MessagePack wire.
            assert_eq!(Message::decode(&message.encode()).unwrap(), message);
        }
        for n in ["0", "-1", "2147483648", "1.5", "\"4\"", "[4]"] {
            let frame =
                format!(r#"{{"type":"crd","data":{{"en":"e","m":"m","cid":"{CID}","n":{n}}}}}"#);
            assert!(Message::decode_json(&frame).is_err(), "n: {n}");
            let open = format!(
                r#"{{"type":"omsc","data":{{"en":"e","m":"m","cid":"{CID}","args":"{{}}","is":[],"fc":{n}}}}}"#
            );
            assert!(Message::decode_json(&open).is_err(), "fc: {n}");
        }
        let no_n = format!(r#"{{"type":"crd","data":{{"en":"e","m":"m","cid":"{CID}"}}}}"#);
        assert!(Message::decode_json(&no_n).is_err());
    }

    #[test]
    fn the_brm_of_invalid_command_test_is_serverpods() {
        let raw = r#"{"command":"this is not a valid command"}"#;
        assert!(Message::decode_json(raw).is_err());
        let answer = Message::BadRequest {
            request: raw.to_string(),
        };
        assert_eq!(
            answer.encode_json().unwrap(),
            r#"{"type":"brm","data":{"req":"{\"command\":\"this is not a valid command\"}"}}"#
        );
    }

    fn open(args: &str) -> Result<Message, FrameError> {
        Message::decode_json(&format!(
            r#"{{"type":"omsc","data":{{"en":"e","m":"m","cid":"{CID}","args":{args},"is":[],"am":"cookie"}}}}"#
        ))
    }

    #[test]
    fn args_must_be_a_string_and_only_an_object_is_a_map() {
        let Ok(Message::OpenCall(o)) = open(r#""{\"value\":4}""#) else {
            panic!("an object in a string is read")
        };
        assert_eq!(
            o.args,
            crate::protocol::encode_data(&std::collections::HashMap::from([(
                "value".to_string(),
                4i64
            )]))
            .unwrap()
        );
        assert_eq!(
            o.auth_mode.as_deref(),
            Some("cookie"),
            "unknown and 4.0 keys are fine"
        );
        for not_a_map in [r#""[4]""#, r#""4""#, r#""null""#, r#""not json""#] {
            let Ok(Message::OpenCall(o)) = open(not_a_map) else {
                panic!("{not_a_map} is still a frame")
            };
            assert_eq!(o.args, vec![0xc0], "{not_a_map}: answered invalidArguments");
        }
        for not_a_string in [r#"{"value":4}"#, "4", "null"] {
            assert!(
                open(not_a_string).is_err(),
                "{not_a_string} makes the frame unreadable"
            );
        }
    }

    #[test]
    fn a_value_without_a_form_fails_only_its_stream() {
        let frame = format!(
            r#"{{"type":"msm","data":{{"en":"e","m":"m","cid":"{CID}","p":"s","o":{{"className":"int","data":"four"}}}}}}"#
        );
        let Ok(Message::Value { value, .. }) = Message::decode_json(&frame) else {
            panic!("still a frame")
        };
        assert_eq!(value.class_name(), "int");
        assert!(value.decode::<i64>().is_err());
        let no_class = frame.replace(r#""className":"int","#, "");
        assert!(Message::decode_json(&no_class).is_err());
    }

    #[test]
    fn bad_frames_are_errors() {
        for frame in [
            "not json",
            "[]",
            r#"{"type":"PING"}"#,
            r#"{"type":"cmsc","data":{"en":"e","m":"m","cid":"nope","cr":"done"}}"#,
            r#"{"type":"cmsc","data":{"en":"e","m":"m","cid":"0d3ee6a3-3c9e-4b8e-9c3f-6b1f2b7a9e01","cr":"later"}}"#,
        ] {
            assert!(Message::decode_json(frame).is_err(), "{frame}");
        }
    }
}

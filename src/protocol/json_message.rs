//! Method-stream messages in Serverpod's JSON (reference §2, §3 and §15): the frames of the
//! JSON wire, byte for byte as Serverpod's server writes them (compact, its key order), and
//! read as its server reads them.

use super::error::FrameError;
use super::json::{any_json_to_msgpack, msgpack_to_any_json};
use super::message::{CloseReason, Message, OpenCall, OpenResponse, OpenResult, Target};
use super::DecodeError;
use super::Dynamic;
use serde_json::{Map, Value};
use std::sync::Arc;
use uuid::Uuid;

impl Message {
    /// The message as one frame of Serverpod's JSON wire: compact, keys in Serverpod's order
    /// (`omsr` is `cid, res, en, m`; `msm` is `en, m, cid, [p,] o`; …), values in their JSON
    /// forms ([`Dynamic::to_json`](super::Dynamic::to_json)). Fails only for a value that has
    /// no JSON form.
    pub fn encode_json(&self) -> Result<String, DecodeError> {
        let mut envelope = Map::new();
        envelope.insert("type".into(), self.type_key().into());
        let data = match self {
            Message::Ping | Message::Pong => None,
            Message::OpenCall(o) => {
                let mut d = Map::new();
                d.insert("en".into(), (*o.endpoint).into());
                d.insert("m".into(), (*o.method).into());
                d.insert("cid".into(), cid(o.cid));
                let args = msgpack_to_any_json(&o.args)?;
                d.insert("args".into(), Value::String(args.to_string()));
                d.insert("is".into(), o.inputs.clone().into());
                if let Some(auth) = &o.auth {
                    d.insert("auth".into(), auth.as_str().into());
                }
                if let Some(mode) = &o.auth_mode {
                    d.insert("am".into(), mode.as_str().into());
                }
                Some(d)
            }
            Message::OpenResponse(r) => {
                let mut d = Map::new();
                d.insert("cid".into(), cid(r.cid));
                d.insert("res".into(), r.result.as_str().into());
                d.insert("en".into(), (*r.endpoint).into());
                d.insert("m".into(), (*r.method).into());
                Some(d)
            }
            Message::Value { target, value } => Some(stream(target, "o", value.to_json()?)),
            Message::Exception { target, exception } => {
                Some(stream(target, "ex", exception.to_json()?))
            }
            Message::Close { target, reason } => Some(stream(target, "cr", reason.as_str().into())),
            Message::BadRequest { request } => {
                let mut d = Map::new();
                d.insert("req".into(), request.as_str().into());
                Some(d)
            }
        };
        if let Some(data) = data {
            envelope.insert("data".into(), Value::Object(data));
        }
        Ok(Value::Object(envelope).to_string())
    }

    /// Reads one frame of Serverpod's JSON wire. Key order and unknown keys do not matter.
    /// `args` must be a JSON string: any other `args` makes the frame unreadable, as in
    /// Serverpod; a string that is not a JSON object becomes `args` that are not a map (the
    /// server answers `invalidArguments`). A value that has no MessagePack form keeps its
    /// class and gets data that no type reads, so that it fails only its own stream.
    pub fn decode_json(text: &str) -> Result<Message, FrameError> {
        let frame: Value =
            serde_json::from_str(text).map_err(|e| FrameError::Json(e.to_string()))?;
        let frame = frame.as_object().ok_or(FrameError::NotAMap)?;
        let kind = frame
            .get("type")
            .and_then(Value::as_str)
            .ok_or(FrameError::MissingType)?;
        let empty = Map::new();
        let data = match frame.get("data") {
            Some(Value::Object(data)) => data,
            _ => &empty,
        };
        let fields = Fields {
            message: kind,
            data,
        };
        Ok(match kind {
            "ping" => Message::Ping,
            "pong" => Message::Pong,
            "omsc" => Message::OpenCall(OpenCall {
                endpoint: fields.name("en")?,
                method: fields.name("m")?,
                cid: fields.cid()?,
                args: args(fields.text("args")?),
                inputs: match data.get("is") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(names)) => names
                        .iter()
                        .map(|n| n.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| fields.invalid("is", "not a list of names"))?,
                    Some(_) => return Err(fields.invalid("is", "not a list of names")),
                },
                auth: fields.optional_text("auth")?,
                auth_mode: fields.optional_text("am")?,
            }),
            "omsr" => Message::OpenResponse(OpenResponse {
                cid: fields.cid()?,
                result: OpenResult::parse(fields.text("res")?)
                    .ok_or_else(|| fields.invalid("res", "unknown open result"))?,
                endpoint: fields.name("en")?,
                method: fields.name("m")?,
            }),
            "msm" => Message::Value {
                target: fields.target()?,
                value: fields.wrapped("o")?,
            },
            "msse" => Message::Exception {
                target: fields.target()?,
                exception: fields.wrapped("ex")?,
            },
            "cmsc" => Message::Close {
                target: fields.target()?,
                reason: match fields.text("cr")? {
                    "done" => CloseReason::Done,
                    "error" => CloseReason::Error,
                    _ => return Err(fields.invalid("cr", "unknown close reason")),
                },
            },
            "brm" => Message::BadRequest {
                request: fields.text("req")?.to_string(),
            },
            other => return Err(FrameError::UnknownType(other.to_string())),
        })
    }
}

/// A decoded JSON message as the MessagePack path's borrowed view, so that both wires take
/// the same handlers.
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) fn borrow(message: &Message) -> super::MessageRef<'_> {
    use super::decode::{MessageRef, TargetRef, WrappedRef};
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
        },
        other => MessageRef::Control(other.clone()),
    }
}

/// The data of `msm`, `msse` and `cmsc`: `en, m, cid, [p,]` then the message's own key.
fn stream(target: &Target, key: &str, value: Value) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("en".into(), (*target.endpoint).into());
    d.insert("m".into(), (*target.method).into());
    d.insert("cid".into(), cid(target.cid));
    if let Some(param) = &target.param {
        d.insert("p".into(), (**param).into());
    }
    d.insert(key.into(), value);
    d
}

fn cid(cid: Uuid) -> Value {
    Value::String(
        cid.as_hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .to_string(),
    )
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

/// The fields of one message's `data`.
struct Fields<'a> {
    message: &'a str,
    data: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn invalid(&self, field: &'static str, reason: &str) -> FrameError {
        FrameError::InvalidField {
            message: leak_type(self.message),
            field,
            reason: reason.to_string(),
        }
    }

    fn value(&self, field: &'static str) -> Result<&Value, FrameError> {
        self.data.get(field).ok_or(FrameError::MissingField {
            message: leak_type(self.message),
            field,
        })
    }

    fn text(&self, field: &'static str) -> Result<&str, FrameError> {
        self.value(field)?
            .as_str()
            .ok_or_else(|| self.invalid(field, "not a string"))
    }

    fn optional_text(&self, field: &'static str) -> Result<Option<String>, FrameError> {
        match self.data.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.invalid(field, "not a string")),
        }
    }

    fn name(&self, field: &'static str) -> Result<Arc<str>, FrameError> {
        self.text(field).map(Arc::from)
    }

    fn cid(&self) -> Result<Uuid, FrameError> {
        let text = self.text("cid")?;
        super::decode::parse_cid_bytes(text.as_bytes())
            .ok_or_else(|| self.invalid("cid", "not a UUID in 8-4-4-4-12 form"))
    }

    /// A wrapped value: its class must be there (see `Dynamic::from_json_frame`).
    fn wrapped(&self, field: &'static str) -> Result<Dynamic, FrameError> {
        Dynamic::from_json_frame(self.value(field)?)
            .ok_or_else(|| self.invalid(field, "no `className`"))
    }

    fn target(&self) -> Result<Target, FrameError> {
        Ok(Target {
            endpoint: self.name("en")?,
            method: self.name("m")?,
            cid: self.cid()?,
            param: self.optional_text("p")?.map(Arc::from),
        })
    }
}

/// The `type` names as the static strings errors carry.
fn leak_type(kind: &str) -> &'static str {
    match kind {
        "omsc" => "omsc",
        "omsr" => "omsr",
        "msm" => "msm",
        "msse" => "msse",
        "cmsc" => "cmsc",
        "brm" => "brm",
        _ => "message",
    }
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

    /// Transcript A of reference §6, the server's side, byte for byte.
    #[test]
    fn the_server_frames_of_transcript_a_are_serverpods() {
        assert_eq!(Message::Pong.encode_json().unwrap(), r#"{"type":"pong"}"#);
        let open = Message::OpenResponse(OpenResponse {
            cid: Uuid::parse_str(CID).unwrap(),
            result: OpenResult::Success,
            endpoint: "methodStreaming".into(),
            method: "intEchoStream".into(),
        });
        assert_eq!(
            open.encode_json().unwrap(),
            format!(
                r#"{{"type":"omsr","data":{{"cid":"{CID}","res":"success","en":"methodStreaming","m":"intEchoStream"}}}}"#
            )
        );
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

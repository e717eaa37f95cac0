//! Legacy streaming-endpoint messages in Serverpod's JSON (docs/PROTOCOL.md §7 and §9): what a
//! 3.x Dart client sends on `/websocket`, and what its server sends back.

use crate::protocol::error::FrameError;
use crate::protocol::LegacyMessage;
use crate::protocol::{Dynamic, EncodeError};
use serde_json::{Map, Value};

impl LegacyMessage {
    /// The message as one text frame: `{"endpoint":..,"object":{"className":..,"data":..}}`,
    /// or a command such as `{"command":"pong"}`. Fails only for a value that has no JSON
    /// form.
    pub fn encode_json(&self) -> Result<String, EncodeError> {
        let mut frame = Map::new();
        match self {
            LegacyMessage::Endpoint { endpoint, object } => {
                frame.insert("endpoint".into(), endpoint.as_str().into());
                frame.insert("object".into(), object.to_json()?);
            }
            LegacyMessage::Ping => command(&mut frame, "ping", Some(Map::new())),
            LegacyMessage::Pong => command(&mut frame, "pong", None),
            LegacyMessage::Auth { key } => {
                let mut args = Map::new();
                args.insert("key".into(), key.clone().map_or(Value::Null, Value::String));
                command(&mut frame, "auth", Some(args));
            }
            LegacyMessage::OtherCommand(name) => command(&mut frame, name, Some(Map::new())),
        }
        Ok(Value::Object(frame).to_string())
    }

    /// Reads one text frame from a client, as Serverpod's server reads it. A command needs
    /// an `args` map (`auth`'s has a `key` that is a string, or null to sign out), read
    /// before the command; an endpoint message needs
    /// `endpoint` and a wrapped `object`. Whatever is not one of those is an error, which
    /// the server answers by ending the connection, as Serverpod does.
    pub fn decode_json(text: &str) -> Result<LegacyMessage, FrameError> {
        Self::decode_json_as(text, true)
    }

    /// Reads one text frame from a server, as Serverpod's client reads it: the same, but a
    /// command needs no `args` (the server's `pong` has none).
    pub fn decode_json_from_server(text: &str) -> Result<LegacyMessage, FrameError> {
        Self::decode_json_as(text, false)
    }

    fn decode_json_as(text: &str, args_required: bool) -> Result<LegacyMessage, FrameError> {
        let invalid = |field: &'static str, reason: &str| FrameError::InvalidField {
            message: "legacy",
            field,
            reason: reason.to_string(),
        };
        let frame: Value =
            serde_json::from_str(text).map_err(|e| FrameError::Json(std::sync::Arc::new(e)))?;
        let frame = frame.as_object().ok_or(FrameError::NotAMap)?;
        if let Some(command) = frame.get("command") {
            // Every command needs its `args` map, read before the command, as Serverpod does.
            let no_args = Map::new();
            let args = match frame.get("args") {
                Some(Value::Object(args)) => args,
                None if !args_required => &no_args,
                Some(_) => return Err(invalid("args", "not a map")),
                None => {
                    return Err(FrameError::MissingField {
                        message: "command",
                        field: "args",
                    })
                }
            };
            let command = command
                .as_str()
                .ok_or_else(|| invalid("command", "not a string"))?;
            return Ok(match command {
                "ping" => LegacyMessage::Ping,
                "pong" => LegacyMessage::Pong,
                "auth" => LegacyMessage::Auth {
                    key: match args.get("key") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(key)) => Some(key.clone()),
                        Some(_) => return Err(invalid("args", "`key` is not a string")),
                    },
                },
                other => LegacyMessage::OtherCommand(other.to_string()),
            });
        }
        let endpoint = frame
            .get("endpoint")
            .ok_or(FrameError::MissingField {
                message: "legacy",
                field: "endpoint",
            })?
            .as_str()
            .ok_or_else(|| invalid("endpoint", "not a string"))?;
        let object = frame.get("object").ok_or(FrameError::MissingField {
            message: "legacy",
            field: "object",
        })?;
        Ok(LegacyMessage::Endpoint {
            endpoint: endpoint.to_string(),
            object: Dynamic::from_json_frame(object)
                .ok_or_else(|| invalid("object", "no `className`"))?,
        })
    }
}

fn command(frame: &mut Map<String, Value>, name: &str, args: Option<Map<String, Value>>) {
    frame.insert("command".into(), name.into());
    if let Some(args) = args {
        frame.insert("args".into(), Value::Object(args));
    }
}

#[cfg(all(test, any(feature = "server", feature = "client")))]
mod tests {
    use super::*;

    #[test]
    fn ping_gets_exactly_serverpods_pong() {
        assert_eq!(
            LegacyMessage::decode_json(r#"{"command":"ping","args":{}}"#).unwrap(),
            LegacyMessage::Ping
        );
        let pong = LegacyMessage::Pong.encode_json().unwrap();
        assert_eq!(pong, r#"{"command":"pong"}"#);
        // A client reads it; a server would not.
        assert_eq!(
            LegacyMessage::decode_json_from_server(&pong).unwrap(),
            LegacyMessage::Pong
        );
        assert!(LegacyMessage::decode_json(&pong).is_err());
    }

    #[test]
    fn every_legacy_message_round_trips_in_json() {
        for frame in [
            r#"{"endpoint":"streaming","object":{"className":"int","data":42}}"#,
            r#"{"command":"ping","args":{}}"#,
            r#"{"command":"auth","args":{"key":"Bearer x"}}"#,
            r#"{"command":"auth","args":{"key":null}}"#,
            r#"{"command":"later","args":{}}"#,
        ] {
            let message = LegacyMessage::decode_json(frame).unwrap();
            assert_eq!(message.encode_json().unwrap(), frame);
        }
    }

    #[test]
    fn what_serverpod_would_not_read_is_an_error() {
        for frame in [
            "not json",
            "[]",
            r#"{"command":"auth"}"#,
            r#"{"command":"ping"}"#,
            r#"{"command":"ping","args":null}"#,
            r#"{"command":"ping","args":[]}"#,
            r#"{"command":"auth","args":{"key":4}}"#,
            r#"{"command":4}"#,
            r#"{"endpoint":"e"}"#,
            r#"{"endpoint":"e","object":{"data":1}}"#,
        ] {
            assert!(LegacyMessage::decode_json(frame).is_err(), "{frame}");
        }
    }
}

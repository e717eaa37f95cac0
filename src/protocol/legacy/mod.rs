//! The legacy streaming-endpoint messages (`GET /websocket`), and their codec.
//!
//! Each binary frame is one MessagePack map: an endpoint message
//! `{"endpoint": NAME, "object": WRAPPED}` (both directions), or a control command
//! `{"command": NAME, "args": {...}}` (client to server; the server answers `ping` with
//! `{"command": "pong"}`).

mod json;

use crate::protocol::error::FrameError;
use crate::protocol::msgpack::{write, Kind, Reader};
use crate::protocol::values::dynamic::Dynamic;

/// One legacy message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LegacyMessage {
    /// A value for, or from, an endpoint.
    Endpoint {
        /// The endpoint's name.
        endpoint: String,
        /// The wrapped value.
        object: Dynamic,
    },
    /// `{"command": "ping", "args": {}}`.
    Ping,
    /// `{"command": "pong"}`.
    Pong,
    /// `{"command": "auth", "args": {"key": VALUE}}`: re-authenticate with an
    /// `Authorization`-style value, or sign out with nil.
    Auth {
        /// The new credentials.
        key: Option<String>,
    },
    /// A command this server does not know; ignored, as Serverpod does.
    OtherCommand(String),
}

impl LegacyMessage {
    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        match self {
            LegacyMessage::Endpoint { endpoint, object } => {
                write::map_len(&mut out, 2);
                write::str(&mut out, "endpoint");
                write::str(&mut out, endpoint);
                write::str(&mut out, "object");
                object.write_wrapped(&mut out);
            }
            LegacyMessage::Ping => command(&mut out, "ping", Some(&[])),
            LegacyMessage::Pong => command(&mut out, "pong", None),
            LegacyMessage::Auth { key } => {
                write::map_len(&mut out, 2);
                write::str(&mut out, "command");
                write::str(&mut out, "auth");
                write::str(&mut out, "args");
                write::map_len(&mut out, 1);
                write::str(&mut out, "key");
                match key {
                    Some(k) => write::str(&mut out, k),
                    None => write::nil(&mut out),
                }
            }
            LegacyMessage::OtherCommand(name) => command(&mut out, name, Some(&[])),
        }
        out
    }

    /// Decodes one frame.
    pub fn decode(frame: &[u8]) -> Result<LegacyMessage, FrameError> {
        let invalid =
            |field: &'static str, reason: &dyn std::fmt::Display| FrameError::InvalidField {
                message: "legacy",
                field,
                reason: reason.to_string(),
            };
        let mut r = Reader::new(frame);
        let len = match r.peek_kind() {
            Ok(Kind::Map) => r.read_map_len()?,
            Ok(_) => return Err(FrameError::NotAMap),
            Err(e) => return Err(FrameError::NotMessagePack(e)),
        };
        let (mut endpoint, mut object, mut command, mut args) = (None, None, None, None);
        for _ in 0..len {
            let key = r.read_str().ok();
            let value = r.read_raw()?;
            match key {
                Some("endpoint") => endpoint = Some(value),
                Some("object") => object = Some(value),
                Some("command") => command = Some(value),
                Some("args") => args = Some(value),
                _ => {}
            }
        }
        if !r.is_empty() {
            return Err(FrameError::TrailingBytes);
        }
        let text = |raw: &[u8], field: &'static str| -> Result<String, FrameError> {
            Reader::new(raw)
                .read_str()
                .map(str::to_owned)
                .map_err(|e| invalid(field, &e))
        };
        if let Some(command) = command {
            return match text(command, "command")?.as_str() {
                "ping" => Ok(LegacyMessage::Ping),
                "pong" => Ok(LegacyMessage::Pong),
                "auth" => {
                    let args = args.ok_or(FrameError::MissingField {
                        message: "auth",
                        field: "args",
                    })?;
                    Ok(LegacyMessage::Auth {
                        key: read_auth_key(args).map_err(|e| invalid("args", &e))?,
                    })
                }
                other => Ok(LegacyMessage::OtherCommand(other.to_string())),
            };
        }
        let endpoint = endpoint.ok_or(FrameError::MissingField {
            message: "legacy",
            field: "endpoint",
        })?;
        let object = object.ok_or(FrameError::MissingField {
            message: "legacy",
            field: "object",
        })?;
        Ok(LegacyMessage::Endpoint {
            endpoint: text(endpoint, "endpoint")?,
            object: Dynamic::read_wrapped(object).map_err(|e| invalid("object", &e))?,
        })
    }
}

fn command(out: &mut Vec<u8>, name: &str, args: Option<&[(&str, &str)]>) {
    write::map_len(out, 1 + u32::from(args.is_some()));
    write::str(out, "command");
    write::str(out, name);
    if let Some(args) = args {
        write::str(out, "args");
        write::map_len(out, args.len() as u32);
        for (k, v) in args {
            write::str(out, k);
            write::str(out, v);
        }
    }
}

fn read_auth_key(args: &[u8]) -> Result<Option<String>, crate::protocol::msgpack::ReadError> {
    let mut r = Reader::new(args);
    let len = r.read_map_len()?;
    let mut key = None;
    for _ in 0..len {
        let name = r.read_str()?;
        if name == "key" && !r.try_nil()? {
            key = Some(r.read_str()?.to_string());
        } else if name != "key" {
            r.read_raw()?;
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_legacy_message_round_trips() {
        for m in [
            LegacyMessage::Endpoint {
                endpoint: "streaming".into(),
                object: Dynamic::new(&42i64).unwrap(),
            },
            LegacyMessage::Ping,
            LegacyMessage::Pong,
            LegacyMessage::Auth {
                key: Some("Bearer x".into()),
            },
            LegacyMessage::Auth { key: None },
            LegacyMessage::OtherCommand("later".into()),
        ] {
            assert_eq!(LegacyMessage::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn malformed_legacy_frames_are_errors() {
        assert!(LegacyMessage::decode(&[0xc1]).is_err());
        assert!(
            LegacyMessage::decode(&[0x80]).is_err(),
            "an empty map has no endpoint"
        );
        let mut f = Vec::new();
        write::map_len(&mut f, 2);
        write::str(&mut f, "endpoint");
        write::int(&mut f, 1);
        write::str(&mut f, "object");
        write::nil(&mut f);
        assert!(LegacyMessage::decode(&f).is_err());
    }
}

//! Decoding frames into messages.
//!
//! [`MessageRef::decode`] parses a frame without copying: the names and values of the
//! messages that carry a stream's traffic (`msm`, `msse`, `cmsc`) borrow from the frame, so
//! routing a value to its call allocates nothing. [`Message::decode`] is the same parse,
//! turned into an owned message. The frame is walked once: `data` is parsed where it
//! stands when `type` came first (as every encoder in practice writes it), and a wrapped
//! value is split into `className` and `data` as it is read.
//!
//! Decoding is strict about what the engine needs (types of known fields, the `cid` form)
//! and ignores fields it does not know, as Serverpod does.

use crate::protocol::error::FrameError;
use crate::protocol::message::{
    valid_credit, CloseReason, Message, OpenCall, OpenResponse, OpenResult, ResumeRefusal, Target,
    MAX_KEY, MAX_POSITION,
};
use crate::protocol::msgpack::{Kind, Reader};
use crate::protocol::values::dynamic::Dynamic;
use crate::protocol::values::wrapped::read_wrapped_parts;
use std::sync::Arc;
use uuid::Uuid;

/// Which stream a message is about, borrowed from its frame; see [`Target`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef<'a> {
    /// `en`.
    pub endpoint: &'a str,
    /// `m`.
    pub method: &'a str,
    /// `cid`.
    pub cid: Uuid,
    /// `p`, for an input stream.
    pub param: Option<&'a str>,
}

impl TargetRef<'_> {
    /// The owned [`Target`].
    pub fn to_target(&self) -> Target {
        Target {
            endpoint: Arc::from(self.endpoint),
            method: Arc::from(self.method),
            cid: self.cid,
            param: self.param.map(Arc::from),
        }
    }
}

/// A wrapped value borrowed from its frame: the `className` and the raw MessagePack `data`,
/// not checked against the class registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrappedRef<'a> {
    /// `className`.
    pub class: &'a str,
    /// The raw `data`.
    pub data: &'a [u8],
}

impl WrappedRef<'_> {
    /// The owned value, unchecked (as [`Dynamic::read_wrapped`]).
    pub fn to_dynamic(&self) -> Dynamic {
        Dynamic::unchecked(self.class, self.data)
    }
}

/// A decoded message whose stream traffic borrows from the frame.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageRef<'a> {
    /// A message that names no stream (`ping`, `pong`, `omsc`, `omsr`, `brm`), owned: these
    /// are rare next to the values.
    Control(Message),
    /// `msm`.
    Value {
        /// The stream.
        target: TargetRef<'a>,
        /// `o`.
        value: WrappedRef<'a>,
    },
    /// A keyed value frame (`msm` in its compact form, docs/PROTOCOL.md §12).
    KeyedValue {
        /// `k`: the call's key.
        key: u32,
        /// `i`: the input stream's place in the open's `is`; none for the return stream.
        input: Option<u32>,
        /// The value.
        value: WrappedRef<'a>,
    },
    /// `msse`.
    Exception {
        /// The stream.
        target: TargetRef<'a>,
        /// `ex`.
        exception: WrappedRef<'a>,
    },
    /// `cmsc`.
    Close {
        /// The stream.
        target: TargetRef<'a>,
        /// `cr`.
        reason: CloseReason,
        /// `why`, with `cr: error`: what happened ([`Message::Failed`]).
        why: Option<&'a str>,
    },
    /// `crd`.
    Credit {
        /// The stream.
        target: TargetRef<'a>,
        /// `n`.
        n: u32,
    },
}

impl<'a> MessageRef<'a> {
    /// Decodes one frame.
    pub fn decode(frame: &'a [u8]) -> Result<Self, FrameError> {
        let mut r = Reader::new(frame);
        let len = match r.peek_kind() {
            Ok(Kind::Map) => r.read_map_len().map_err(FrameError::NotMessagePack)?,
            Ok(Kind::Array) => return decode_keyed(&mut r),
            Ok(_) => return Err(FrameError::NotAMap),
            Err(e) => return Err(FrameError::NotMessagePack(e)),
        };
        let (mut kind, mut raw_data, mut fields) = (None, None, None);
        for _ in 0..len {
            // Keys that are not strings are skipped with their values.
            match r.read_str_bytes().ok() {
                Some(b"type") => kind = Some(r.read_str().map_err(|_| FrameError::MissingType)?),
                // `type` came first: parse `data` where it stands.
                Some(b"data") => match kind.and_then(data_message) {
                    Some(message) => {
                        fields = Some(Fields::read(message, &mut r)?);
                        raw_data = None;
                    }
                    None => {
                        raw_data = Some(r.read_raw()?);
                        fields = None;
                    }
                },
                Some(_) => {
                    r.read_raw()?;
                }
                None => {
                    r.read_raw()?;
                    r.read_raw()?;
                }
            }
        }
        if !r.is_empty() {
            return Err(FrameError::TrailingBytes);
        }
        let kind = kind.ok_or(FrameError::MissingType)?;
        let message = match kind {
            "ping" => return Ok(MessageRef::Control(Message::Ping)),
            "pong" => return Ok(MessageRef::Control(Message::Pong)),
            other => data_message(other).ok_or_else(|| FrameError::UnknownType(truncate(other)))?,
        };
        let f = match fields {
            Some(f) => f,
            // `data` came before `type`: parse it now.
            None => {
                let data = raw_data.ok_or(FrameError::MissingField {
                    message,
                    field: "data",
                })?;
                Fields::read(message, &mut Reader::new(data))?
            }
        };
        f.into_message()
    }

    /// The owned message.
    pub fn into_owned(self) -> Message {
        match self {
            MessageRef::Control(message) => message,
            MessageRef::Value { target, value } => Message::Value {
                target: target.to_target(),
                value: value.to_dynamic(),
            },
            MessageRef::KeyedValue { key, input, value } => Message::KeyedValue {
                key,
                input,
                value: value.to_dynamic(),
            },
            MessageRef::Exception { target, exception } => Message::Exception {
                target: target.to_target(),
                exception: exception.to_dynamic(),
            },
            MessageRef::Close {
                target,
                reason: CloseReason::Error,
                why: Some(why),
            } => Message::failed(target.to_target(), why),
            MessageRef::Close { target, reason, .. } => Message::Close {
                target: target.to_target(),
                reason,
            },
            MessageRef::Credit { target, n } => Message::Credit {
                target: target.to_target(),
                n,
            },
        }
    }
}

impl Message {
    /// Decodes one frame.
    pub fn decode(frame: &[u8]) -> Result<Message, FrameError> {
        MessageRef::decode(frame).map(MessageRef::into_owned)
    }
}

/// A keyed value frame, `[k, i, className, data]`, after its first byte was seen to be an
/// array's.
fn decode_keyed<'a>(r: &mut Reader<'a>) -> Result<MessageRef<'a>, FrameError> {
    let invalid = |field: &'static str, reason: &dyn std::fmt::Display| FrameError::InvalidField {
        message: "msm",
        field,
        reason: reason.to_string(),
    };
    let len = r.read_array_len()?;
    if len != 4 {
        return Err(invalid(
            "k",
            &format_args!("a keyed value frame of {len} items, not 4"),
        ));
    }
    let in_range = |n: i64| u32::try_from(n).ok().filter(|n| *n <= MAX_KEY);
    let key = r
        .read_int()
        .ok()
        .and_then(in_range)
        .filter(|k| *k >= 1)
        .ok_or_else(|| invalid("k", &"not an integer in 1..=2147483647"))?;
    let input = match r.try_nil()? {
        true => None,
        false => Some(
            r.read_int()
                .ok()
                .and_then(in_range)
                .ok_or_else(|| invalid("i", &"neither nil nor an integer in 0..=2147483647"))?,
        ),
    };
    let class = r.read_str().map_err(|e| invalid("className", &e))?;
    let data = r.read_raw()?;
    if !r.is_empty() {
        return Err(FrameError::TrailingBytes);
    }
    Ok(MessageRef::KeyedValue {
        key,
        input,
        value: WrappedRef { class, data },
    })
}

/// The message types that carry `data`, by wire name.
pub(crate) fn data_message(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "omsc" => "omsc",
        "omsr" => "omsr",
        "msm" => "msm",
        "msse" => "msse",
        "cmsc" => "cmsc",
        "crd" => "crd",
        "brm" => "brm",
        "rst" => "rst",
        "rsr" => "rsr",
        "rsx" => "rsx",
        "ack" => "ack",
        _ => return None,
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

pub(crate) fn parse_cid_bytes(text: &[u8]) -> Option<Uuid> {
    if text.len() != 36 {
        return None;
    }
    Uuid::try_parse_ascii(text).ok()
}

/// The fields of a message's `data`, borrowed from the frame.
struct Fields<'a> {
    message: &'static str,
    en: Option<&'a str>,
    m: Option<&'a str>,
    /// Parsed as ASCII, so not checked as UTF-8.
    cid: Option<&'a [u8]>,
    p: Option<&'a str>,
    args: Option<&'a [u8]>,
    inputs: Option<Vec<String>>,
    auth: Option<&'a str>,
    auth_mode: Option<&'a str>,
    /// `fc` of `omsc` and `omsr`, `n` of `crd`: kept as read, checked when the message is
    /// built.
    fc: Option<i64>,
    n: Option<i64>,
    /// `o` of an `msm` or `ex` of an `msse`, split as it was read; the error is kept until
    /// the message is built, so that a missing `cid` is still reported first.
    wrapped: Option<Result<WrappedRef<'a>, String>>,
    res: Option<&'a str>,
    reason: Option<&'a str>,
    request: Option<&'a str>,
    why: Option<&'a str>,
    /// `tok` and `win` of the resume frames.
    tok: Option<&'a str>,
    win: Option<i64>,
    /// `k` of `omsc` and `omsr`.
    k: Option<i64>,
}

impl<'a> Fields<'a> {
    fn read(message: &'static str, r: &mut Reader<'a>) -> Result<Self, FrameError> {
        let mut f = Fields {
            message,
            en: None,
            m: None,
            cid: None,
            p: None,
            args: None,
            inputs: None,
            auth: None,
            auth_mode: None,
            fc: None,
            n: None,
            wrapped: None,
            res: None,
            reason: None,
            request: None,
            why: None,
            tok: None,
            win: None,
            k: None,
        };
        // The key of the message's wrapped value, if it has one.
        let wrapped_key: Option<&[u8]> = match message {
            "msm" => Some(b"o"),
            "msse" => Some(b"ex"),
            _ => None,
        };
        let len = r.read_map_len().map_err(|e| f.invalid("data", e))?;
        for _ in 0..len {
            let key = match r.read_str_bytes() {
                Ok(k) => k,
                Err(_) => {
                    r.read_raw()?;
                    r.read_raw()?;
                    continue;
                }
            };
            match key {
                b"en" => f.en = Some(f.string(r, "en")?),
                b"m" => f.m = Some(f.string(r, "m")?),
                b"cid" => f.cid = Some(r.read_str_bytes().map_err(|e| f.invalid("cid", e))?),
                b"p" => f.p = f.optional_string(r, "p")?,
                b"auth" => f.auth = f.optional_string(r, "auth")?,
                b"am" => f.auth_mode = f.optional_string(r, "am")?,
                b"fc" => f.fc = f.optional_int(r, "fc")?,
                b"n" => f.n = f.optional_int(r, "n")?,
                b"res" => f.res = Some(f.string(r, "res")?),
                b"cr" => f.reason = Some(f.string(r, "cr")?),
                b"req" => f.request = Some(f.string(r, "req")?),
                b"why" => f.why = f.optional_string(r, "why")?,
                b"tok" => f.tok = Some(f.string(r, "tok")?),
                b"win" => f.win = f.optional_int(r, "win")?,
                b"k" => f.k = f.optional_int(r, "k")?,
                b"args" => f.args = Some(r.read_raw()?),
                key if Some(key) == wrapped_key => {
                    let mut value = r.clone();
                    f.wrapped = Some(match read_wrapped_parts(&mut value) {
                        Ok((class, data)) => {
                            *r = value;
                            Ok(WrappedRef { class, data })
                        }
                        // Malformed MessagePack ends the parse; a well-formed value that is
                        // not a wrapped value is an invalid field.
                        Err(e) => {
                            r.read_raw()?;
                            Err(e.to_string())
                        }
                    });
                }
                b"is" => {
                    let n = r.read_array_len().map_err(|e| f.invalid("is", e))?;
                    let mut names = Vec::with_capacity(n);
                    for _ in 0..n {
                        names.push(f.string(r, "is")?.to_string());
                    }
                    f.inputs = Some(names);
                }
                _ => {
                    r.read_raw()?;
                }
            }
        }
        Ok(f)
    }

    fn into_message(mut self) -> Result<MessageRef<'a>, FrameError> {
        let message = match self.message {
            "omsc" => Message::OpenCall(OpenCall {
                endpoint: self.required_str("en")?.into(),
                method: self.required_str("m")?.into(),
                cid: self.cid()?,
                args: self.args.ok_or(self.missing("args"))?.to_vec(),
                inputs: match self.inputs.take() {
                    Some(inputs) => inputs,
                    None => return Err(self.missing("is")),
                },
                auth: self.auth.map(str::to_owned),
                auth_mode: self.auth_mode.map(str::to_owned),
                flow: self.credit("fc", self.fc)?,
                key: self.credit("k", self.k)?,
            }),
            "omsr" => Message::OpenResponse(OpenResponse {
                cid: self.cid()?,
                result: {
                    let res = self.res.ok_or(self.missing("res"))?;
                    OpenResult::parse(res).ok_or_else(|| {
                        self.invalid("res", format!("unknown response `{}`", truncate(res)))
                    })?
                },
                endpoint: self.required_str("en")?.into(),
                method: self.required_str("m")?.into(),
                flow: self.credit("fc", self.fc)?,
                why: self.why.map(str::to_owned),
                key: self.credit("k", self.k)?,
            }),
            "msm" => {
                return Ok(MessageRef::Value {
                    target: self.target()?,
                    value: self.wrapped("o")?,
                })
            }
            "msse" => {
                return Ok(MessageRef::Exception {
                    target: self.target()?,
                    exception: self.wrapped("ex")?,
                })
            }
            "cmsc" => {
                return Ok(MessageRef::Close {
                    target: self.target()?,
                    why: self.why,
                    reason: match self.reason.ok_or(self.missing("cr"))? {
                        "done" => CloseReason::Done,
                        "error" => CloseReason::Error,
                        other => {
                            return Err(self.invalid(
                                "cr",
                                format!("unknown close reason `{}`", truncate(other)),
                            ))
                        }
                    },
                })
            }
            "crd" => {
                return Ok(MessageRef::Credit {
                    target: self.target()?,
                    n: match self.credit("n", self.n)? {
                        Some(n) => n,
                        None => return Err(self.missing("n")),
                    },
                })
            }
            "rst" => Message::ResumeState {
                token: self.tok.ok_or(self.missing("tok"))?.to_string(),
                received: self.position("n", self.n)?,
                window_ms: self.position("win", self.win)?,
            },
            "rsr" => Message::Resume {
                token: self.tok.ok_or(self.missing("tok"))?.to_string(),
                received: self.position("n", self.n)?,
                auth: self.auth.map(str::to_owned),
            },
            "rsx" => Message::ResumeRefused {
                reason: ResumeRefusal::parse(self.why.ok_or(self.missing("why"))?),
            },
            "ack" => Message::Ack {
                received: self.position("n", self.n)?,
            },
            _ => Message::BadRequest {
                request: self.request.ok_or(self.missing("req"))?.to_string(),
            },
        };
        Ok(MessageRef::Control(message))
    }

    fn string(&self, r: &mut Reader<'a>, field: &'static str) -> Result<&'a str, FrameError> {
        r.read_str().map_err(|e| self.invalid(field, e))
    }

    fn optional_string(
        &self,
        r: &mut Reader<'a>,
        field: &'static str,
    ) -> Result<Option<&'a str>, FrameError> {
        if r.peek_kind()? == Kind::Nil {
            r.try_nil()?;
            return Ok(None);
        }
        self.string(r, field).map(Some)
    }

    /// An integer, or nil for none (as JSON's `null`).
    fn optional_int(
        &self,
        r: &mut Reader<'a>,
        field: &'static str,
    ) -> Result<Option<i64>, FrameError> {
        if r.try_nil()? {
            return Ok(None);
        }
        r.read_int().map(Some).map_err(|e| self.invalid(field, e))
    }

    fn missing(&self, field: &'static str) -> FrameError {
        FrameError::MissingField {
            message: self.message,
            field,
        }
    }

    fn invalid(&self, field: &'static str, reason: impl ToString) -> FrameError {
        FrameError::InvalidField {
            message: self.message,
            field,
            reason: reason.to_string(),
        }
    }

    fn required_str(&self, field: &'static str) -> Result<&'a str, FrameError> {
        let v = match field {
            "en" => self.en,
            _ => self.m,
        };
        v.ok_or(self.missing(field))
    }

    /// A required position or count: an integer in 0..=2⁵³.
    fn position(&self, field: &'static str, value: Option<i64>) -> Result<u64, FrameError> {
        let n = value.ok_or(self.missing(field))?;
        u64::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_POSITION)
            .ok_or_else(|| self.invalid(field, "not in 0..=2^53"))
    }

    /// An optional credit field (or key), which must be in 1..=`MAX_CREDIT` when present.
    fn credit(&self, field: &'static str, value: Option<i64>) -> Result<Option<u32>, FrameError> {
        value
            .map(|n| valid_credit(n).ok_or_else(|| self.invalid(field, "not in 1..=2147483647")))
            .transpose()
    }

    fn cid(&self) -> Result<Uuid, FrameError> {
        let text = self.cid.ok_or(self.missing("cid"))?;
        parse_cid_bytes(text).ok_or_else(|| self.invalid("cid", "not a UUID in 8-4-4-4-12 form"))
    }

    fn target(&self) -> Result<TargetRef<'a>, FrameError> {
        Ok(TargetRef {
            endpoint: self.required_str("en")?,
            method: self.required_str("m")?,
            cid: self.cid()?,
            param: self.p,
        })
    }

    fn wrapped(&mut self, field: &'static str) -> Result<WrappedRef<'a>, FrameError> {
        match self.wrapped.take() {
            Some(Ok(wrapped)) => Ok(wrapped),
            Some(Err(e)) => Err(self.invalid(field, e)),
            None => Err(self.missing(field)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::msgpack::write;

    #[test]
    fn data_before_type_decodes_the_same() {
        let message = Message::Close {
            target: Target {
                endpoint: "e".into(),
                method: "m".into(),
                cid: Uuid::nil(),
                param: Some("p".into()),
            },
            reason: CloseReason::Error,
        };
        let encoded = message.encode();
        // The same map with its two entries swapped: `data` first, then `type`.
        let mut r = Reader::new(&encoded);
        r.read_map_len().unwrap();
        let (_, kind, _) = (r.read_str(), r.read_str().unwrap(), r.read_str());
        let data = r.read_raw().unwrap();
        let mut swapped = Vec::new();
        write::map_len(&mut swapped, 2);
        write::str(&mut swapped, "data");
        swapped.extend_from_slice(data);
        write::str(&mut swapped, "type");
        write::str(&mut swapped, kind);
        assert_eq!(Message::decode(&swapped).unwrap(), message);
    }

    #[test]
    fn every_truncation_of_an_open_is_an_error() {
        let bytes = Message::OpenCall(OpenCall {
            endpoint: "A".into(),
            method: "a".into(),
            cid: Uuid::nil(),
            args: vec![0x80],
            inputs: vec!["stream".into()],
            auth: Some("Bearer 0".into()),
            auth_mode: Some("cookie".into()),
            flow: Some(300),
            key: Some(7),
        })
        .encode();
        for cut in 0..bytes.len() {
            assert!(
                Message::decode(&bytes[..cut]).is_err(),
                "cut {cut} of {}: {:?}",
                bytes.len(),
                Message::decode(&bytes[..cut])
            );
        }
    }
}

//! Errors of the protocol layer: one enum per job, one message per variant.

use crate::protocol::msgpack::ReadError;
use std::sync::Arc;
use thiserror::Error;

/// A value could not be turned into the requested type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The `className` names another type than the one expected.
    #[error("expected a value of class `{expected}`, got `{found}`")]
    WrongClass {
        /// The class the receiver expected.
        expected: String,
        /// The class the value had.
        found: String,
    },
    /// No type is registered under this `className`.
    #[error("unknown className `{0}`")]
    UnknownClass(String),
    /// The `data` does not have the shape its `className` promises.
    #[error("malformed `{class}` value: {reason}")]
    Malformed {
        /// The class whose data was malformed.
        class: String,
        /// What was wrong.
        reason: String,
    },
}

impl DecodeError {
    pub(crate) fn malformed(class: &str, reason: impl ToString) -> Self {
        DecodeError::Malformed {
            class: class.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// A value could not be written to the wire.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// serde could not write the value as MessagePack.
    #[error("the value cannot be written as MessagePack")]
    MessagePack(#[source] Arc<rmp_serde::encode::Error>),
    /// serde could not write the value as JSON.
    #[error("the value cannot be written as JSON")]
    Json(#[source] Arc<serde_json::Error>),
    /// A number, length or duration does not fit the wire's integers.
    #[error("{0} does not fit the wire's integers")]
    TooLarge(String),
    /// The value has no JSON form (a non-finite double), or its data is not what its class
    /// says, so no JSON can be made of it.
    #[error("the value has no JSON form")]
    NoJson(#[from] DecodeError),
    /// The message exists on the MessagePack wire only (a keyed value frame).
    #[error("a `{0}` in this form exists on the MessagePack wire only")]
    MessagePackOnly(&'static str),
}

impl From<rmp_serde::encode::Error> for EncodeError {
    fn from(e: rmp_serde::encode::Error) -> Self {
        EncodeError::MessagePack(Arc::new(e))
    }
}

impl From<serde_json::Error> for EncodeError {
    fn from(e: serde_json::Error) -> Self {
        EncodeError::Json(Arc::new(e))
    }
}

/// A frame is not a valid protocol message. Its [`report`] becomes the `req` of the `brm`
/// that answers it on the MessagePack wire.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The bytes are not one MessagePack value.
    #[error("frame is not valid MessagePack")]
    NotMessagePack(#[source] ReadError),
    /// Bytes follow the message.
    #[error("frame has trailing bytes after the message")]
    TrailingBytes,
    /// The top level is neither a map (a message) nor an array (a keyed value frame).
    #[error("frame is not a map")]
    NotAMap,
    /// No `type` key, or it is not a string.
    #[error("frame has no `type` string")]
    MissingType,
    /// A `type` this protocol does not know.
    #[error("unknown message type `{0}`")]
    UnknownType(String),
    /// A required field is absent.
    #[error("`{message}` message is missing field `{field}`")]
    MissingField {
        /// The message type.
        message: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A field has the wrong MessagePack type or an invalid value.
    #[error("`{message}` message has an invalid `{field}`: {reason}")]
    InvalidField {
        /// The message type.
        message: &'static str,
        /// The invalid field.
        field: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// Not JSON (on the JSON wire).
    #[error("frame is not valid JSON")]
    Json(#[source] Arc<serde_json::Error>),
    /// A text frame: this protocol speaks binary frames only.
    #[error("text frames are not supported; send one binary MessagePack frame per message")]
    TextFrame,
}

impl From<ReadError> for FrameError {
    fn from(e: ReadError) -> Self {
        FrameError::NotMessagePack(e)
    }
}

/// An error and every error beneath it, as one line (`a: b: c`): what a log line or a
/// `brm` should say, where each error's own message names only itself.
pub fn report(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        line.push_str(": ");
        line.push_str(&e.to_string());
        source = e.source();
    }
    line
}

//! The client's one error type.

use crate::protocol::{Dynamic, OpenResult, Wire};
use thiserror::Error;

/// Everything that can go wrong with a call, as the client sees it.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    /// The WebSocket could not be opened.
    #[error("could not connect: {0}")]
    ConnectFailed(String),
    /// The WebSocket opened but the server sent nothing within the connect timeout.
    #[error("connection attempt timed out")]
    ConnectTimedOut,
    /// The WebSocket closed while the call was open.
    #[error("method stream connection closed")]
    ConnectionClosed,
    /// The server refused to open the call.
    #[error("open failed: {response} ({code})")]
    OpenFailed {
        /// The server's answer.
        response: OpenResult,
        /// The HTTP-like status: 404, 401, 403 or 400.
        code: u16,
    },
    /// The call ended with an error the server did not send as a value.
    #[error("method stream closed with an error")]
    ClosedWithError,
    /// The method failed with a serializable exception.
    #[error("server exception {0:?}")]
    ServerException(Dynamic),
    /// No frame arrived within the idle timeout.
    #[error("method stream connection idle timeout")]
    IdleTimeout,
    /// The server sent something this client cannot read, or reported that the client did.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A value did not decode into the type the call expects.
    #[error("unexpected value: {0}")]
    Decode(String),
}

impl Error {
    /// The HTTP-like status code of a failed open.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::OpenFailed { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The server's exception as `T`, if this is one of that type.
    pub fn exception<T: Wire>(&self) -> Option<T> {
        match self {
            Error::ServerException(d) => d.decode().ok(),
            _ => None,
        }
    }

    pub(crate) fn open_failed(response: OpenResult) -> Self {
        Error::OpenFailed {
            response,
            code: response.status_code(),
        }
    }
}

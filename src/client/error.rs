//! The client's one error type. It stays `Clone` (one failed socket fails every call on it),
//! so an underlying error is kept behind an `Arc`, as tonic's `Status` keeps its source.

use crate::error::{shared, source_of, Source};
use crate::protocol::{Dynamic, OpenResult, Wire};
use std::fmt;

/// Everything that can go wrong with a call, as the client sees it. Where it came from an
/// error of another layer, [`std::error::Error::source`] gives that error.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The URL, or a setting of the builder (a cookie, a root certificate), cannot be used.
    InvalidSetting {
        /// What is wrong with it.
        reason: String,
        /// The error that said so, if another layer did.
        source: Option<Source>,
    },
    /// The WebSocket could not be opened.
    ConnectFailed {
        /// Why.
        reason: String,
        /// The I/O, TLS or WebSocket error, if there was one.
        source: Option<Source>,
    },
    /// The WebSocket opened but the server sent nothing within the connect timeout.
    ConnectTimedOut,
    /// The WebSocket closed while the call was open.
    ConnectionClosed,
    /// The server refused to open the call.
    OpenFailed {
        /// The server's answer.
        response: OpenResult,
        /// The HTTP-like status: 404, 401, 403 or 400.
        code: u16,
        /// What was wrong, as the server put it (a streampod server on the MessagePack
        /// wire says; Serverpod, and the JSON wire, do not).
        reason: Option<String>,
    },
    /// The call ended with an error the server did not send as a value.
    ClosedWithError,
    /// The server closed the call because the caller's authentication was revoked (a
    /// streampod server on the MessagePack wire says so; otherwise a revocation is
    /// [`Error::ClosedWithError`]).
    Revoked,
    /// The method failed with a serializable exception.
    ServerException(Dynamic),
    /// No frame arrived within the idle timeout.
    IdleTimeout,
    /// The server sent something this client cannot read, or reported that the client did.
    Protocol {
        /// What happened.
        reason: String,
        /// The decoding or WebSocket error, if there was one.
        source: Option<Source>,
    },
    /// A value did not decode into the type the call expects.
    Decode {
        /// What did not fit.
        reason: String,
        /// The decoding error.
        source: Option<Source>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidSetting { reason, .. } => write!(f, "invalid client setting: {reason}"),
            Error::ConnectFailed { reason, .. } => write!(f, "could not connect: {reason}"),
            Error::ConnectTimedOut => f.write_str("connection attempt timed out"),
            Error::ConnectionClosed => f.write_str("method stream connection closed"),
            Error::OpenFailed {
                response,
                code,
                reason,
            } => {
                write!(f, "open failed: {response} ({code})")?;
                match reason {
                    Some(reason) => write!(f, ": {reason}"),
                    None => Ok(()),
                }
            }
            Error::ClosedWithError => f.write_str("method stream closed with an error"),
            Error::Revoked => f.write_str("the call was closed: its authentication was revoked"),
            Error::ServerException(d) => write!(f, "server exception {d:?}"),
            Error::IdleTimeout => f.write_str("method stream connection idle timeout"),
            Error::Protocol { reason, .. } => write!(f, "protocol error: {reason}"),
            Error::Decode { reason, .. } => write!(f, "unexpected value: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::InvalidSetting { source, .. }
            | Error::ConnectFailed { source, .. }
            | Error::Protocol { source, .. }
            | Error::Decode { source, .. } => source_of(source),
            _ => None,
        }
    }
}

/// Equal when they say the same; sources are not compared.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && match (self, other) {
                (Error::ServerException(a), Error::ServerException(b)) => a == b,
                (Error::OpenFailed { response: a, .. }, Error::OpenFailed { response: b, .. }) => {
                    a == b
                }
                _ => self.to_string() == other.to_string(),
            }
    }
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

    pub(crate) fn invalid_setting(reason: impl Into<String>) -> Self {
        Error::InvalidSetting {
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn invalid_setting_from(
        reason: impl fmt::Display,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::InvalidSetting {
            reason: format!("{reason}: {error}"),
            source: shared(error),
        }
    }

    pub(crate) fn connect_failed(reason: impl Into<String>) -> Self {
        Error::ConnectFailed {
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn connect_failed_from(
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::ConnectFailed {
            reason: error.to_string(),
            source: shared(error),
        }
    }

    pub(crate) fn protocol(reason: impl Into<String>) -> Self {
        Error::Protocol {
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn protocol_from(
        reason: impl fmt::Display,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Protocol {
            reason: format!("{reason}: {error}"),
            source: shared(error),
        }
    }

    pub(crate) fn decode_from(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Decode {
            reason: error.to_string(),
            source: shared(error),
        }
    }

    pub(crate) fn open_failed(response: OpenResult, reason: Option<String>) -> Self {
        Error::OpenFailed {
            response,
            code: response.status_code(),
            reason,
        }
    }
}

//! The client's one error type. It stays `Clone` (one failed socket fails every call on it),
//! so an underlying error is kept behind an `Arc`, as tonic's `Status` keeps its source.

use crate::error::{shared, Source};
use crate::protocol::{Dynamic, OpenResult, ResumeRefusal, Wire};
use std::fmt;

/// Everything that can go wrong with a call, as the client sees it. Where it came from an
/// error of another layer, [`std::error::Error::source`] gives that error (the message does
/// not repeat it: print the chain to see both).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL, or a setting of the builder (a cookie, a root certificate), cannot be used.
    #[error("invalid client setting: {reason}")]
    InvalidSetting {
        /// What is wrong with it.
        reason: String,
        /// The error that said so, if another layer did.
        #[source]
        source: Option<Source>,
    },
    /// The WebSocket could not be opened.
    #[error("could not connect: {reason}")]
    ConnectFailed {
        /// Why.
        reason: String,
        /// The I/O, TLS or WebSocket error, if there was one.
        #[source]
        source: Option<Source>,
    },
    /// The WebSocket opened but the server sent nothing within the connect timeout.
    #[error("connection attempt timed out")]
    ConnectTimedOut,
    /// The WebSocket closed while the call was open.
    #[error("method stream connection closed")]
    ConnectionClosed,
    /// The server refused to open the call.
    #[error("open failed: {response} ({code}){}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
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
    #[error("method stream closed with an error")]
    ClosedWithError,
    /// The server closed the call because the caller's authentication was revoked (a
    /// streampod server on the MessagePack wire says so; otherwise a revocation is
    /// [`Error::ClosedWithError`]).
    #[error("the call was closed: its authentication was revoked")]
    Revoked,
    /// The server ended the call because of something this client sent: a value one of its
    /// input streams' types cannot hold, or a value beyond the credit it granted. The
    /// calling code has a bug (often a value of the wrong type): report it. A streampod
    /// server on the MessagePack wire says so; otherwise this is
    /// [`Error::ClosedWithError`].
    #[error("the server refused what the call sent: {reason}")]
    Rejected {
        /// What was wrong, as the server put it.
        reason: String,
    },
    /// The method failed with a serializable exception.
    #[error("server exception {0:?}")]
    ServerException(Dynamic),
    /// No frame arrived within the idle timeout.
    #[error("method stream connection idle timeout")]
    IdleTimeout,
    /// The socket dropped and the connection could not be resumed (`docs/PROTOCOL.md`
    /// §11): the server refused (the reason says why: `expired`, `closed`, `unknown`, ...)
    /// or the window ran out before any attempt got through (`expired`, with the last
    /// attempt's error as the source). The call's method is gone: call again, and work out
    /// what was missed.
    #[error("the connection could not be resumed: {reason}")]
    ResumeFailed {
        /// Why, as the server said, or `expired` when no attempt reached it in time.
        reason: ResumeRefusal,
        /// The last reconnect attempt's error, when the window ran out.
        #[source]
        source: Option<Source>,
    },
    /// The server sent something this client cannot read, or reported that the client did.
    #[error("protocol error: {reason}")]
    Protocol {
        /// What happened.
        reason: String,
        /// The decoding or WebSocket error, if there was one.
        #[source]
        source: Option<Source>,
    },
    /// A value did not decode into the type the call expects.
    #[error("unexpected value: {reason}")]
    Decode {
        /// What did not fit.
        reason: String,
        /// The decoding error.
        #[source]
        source: Option<Source>,
    },
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
            reason: reason.to_string(),
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
        reason: impl fmt::Display,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::ConnectFailed {
            reason: reason.to_string(),
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
            reason: reason.to_string(),
            source: shared(error),
        }
    }

    /// A value that is not a `T`, which `error` explains.
    pub(crate) fn decode_from<T: Wire>(error: crate::protocol::DecodeError) -> Self {
        Error::Decode {
            reason: format!("not a `{}`", T::type_name()),
            source: shared(error),
        }
    }

    pub(crate) fn resume_failed(reason: ResumeRefusal, last_attempt: Option<Error>) -> Self {
        Error::ResumeFailed {
            reason,
            source: last_attempt.and_then(shared),
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

//! The error a stream carries, in both directions, and the way every error of the crate
//! keeps its cause.

use crate::protocol::{Dynamic, Wire};
use std::fmt;
use std::sync::Arc;

/// An underlying error (I/O, TLS, WebSocket, Redis, decoding) that one of ours keeps as its
/// [`source`](std::error::Error::source). Shared, so that the errors holding it stay `Clone`
/// (as tonic's `Status` keeps its source). It derefs to the error itself, and is that error
/// in the chain: `source()` gives the I/O or Redis error, which `downcast_ref` finds.
#[derive(Clone)]
pub struct Source(Arc<dyn std::error::Error + Send + Sync>);

impl std::ops::Deref for Source {
    type Target = dyn std::error::Error + Send + Sync;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// A [`Source`] from any error.
#[cfg(any(feature = "client", feature = "redis"))]
pub(crate) fn shared(error: impl std::error::Error + Send + Sync + 'static) -> Option<Source> {
    Some(Source(Arc::new(error)))
}

/// An error on a stream: the item a method yields to end its return stream with an error,
/// the error item a method sees on an input stream, and the error a client input stream
/// yields to end that input.
///
/// Only [`StreamError::Exception`] crosses the wire as a value (`msse`, then
/// `cmsc(error)`); [`StreamError::Failed`] crosses only as "closed with error", its message
/// is logged where it happened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A serializable exception: a registered model that reaches the other side as itself.
    #[error("exception {0:?}")]
    Exception(Dynamic),
    /// Any other failure.
    #[error("{0}")]
    Failed(String),
}

impl StreamError {
    /// A serializable exception carrying `value`. If the value cannot be encoded, the
    /// result is a [`StreamError::Failed`] that says so.
    pub fn exception<T: Wire>(value: T) -> Self {
        match Dynamic::new(&value) {
            Ok(d) => StreamError::Exception(d),
            Err(e) => StreamError::Failed(e.to_string()),
        }
    }

    /// A failure that the other side sees only as "closed with error".
    pub fn failed(message: impl fmt::Display) -> Self {
        StreamError::Failed(message.to_string())
    }

    /// The exception as `T`, if it is one of that type.
    pub fn exception_as<T: Wire>(&self) -> Option<T> {
        match self {
            StreamError::Exception(d) => d.decode().ok(),
            StreamError::Failed(_) => None,
        }
    }

    /// The error an input stream yields when the client closed it with `cr: error`.
    pub fn closed_with_error() -> Self {
        StreamError::Failed("stream closed with error".into())
    }
}

impl From<crate::protocol::DecodeError> for StreamError {
    fn from(e: crate::protocol::DecodeError) -> Self {
        StreamError::Failed(e.to_string())
    }
}

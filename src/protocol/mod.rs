//! The wire protocol, pure: nothing here knows about actors, sockets or runtimes.
//!
//! - `msgpack`: MessagePack's primitives (a bounded reader, writers).
//! - `values`: what a value is on the wire: [`Wire`] and its implementations, [`Dynamic`]
//!   (a value of any registered class), the class registry, and their JSON forms.
//! - `message`: the method-stream messages ([`Message`]), their MessagePack codec (and a
//!   borrowed decoder for the hot path) and their JSON codec.
//! - `legacy`: the legacy-endpoint messages ([`LegacyMessage`]), both codecs.
//! - `frame`: a message as the frame its connection's [`Encoding`] asks for.
//! - `buffers`: where values and frames are encoded (a per-thread scratch, and chunks
//!   that short-lived encodings share).
//! - `auth_value`, `error`.

mod auth_value;
mod buffers;
mod error;
mod frame;
mod legacy;
mod message;
pub(crate) mod msgpack;
mod values;

pub use auth_value::{basic_auth_value, unwrap_auth_value};
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use buffers::encode_shared;
pub use error::{report, DecodeError, EncodeError, FrameError};
pub use frame::Frame;
pub use legacy::LegacyMessage;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use message::decode::{MessageRef, TargetRef, WrappedRef};
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use message::json::borrow;
#[cfg(feature = "server")]
pub(crate) use message::json::decode_json_ref;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use message::ValueFrames;
#[cfg(feature = "client")]
pub(crate) use message::REVOKED;
pub use message::{
    CloseReason, Message, OpenCall, OpenResponse, OpenResult, ResumeRefusal, Target,
    AUTH_MODE_COOKIE, CLOSE_RESUMABLE, MAX_CREDIT, MAX_KEY, MAX_POSITION,
};
pub use msgpack::ReadError;
pub use values::datetime::DateTime;
pub use values::dynamic::Dynamic;
#[cfg(feature = "typescript")]
#[doc(hidden)]
pub use values::reflection;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use values::registry;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use values::wire::is_void;
pub use values::wire::{encode_data, read_serde, write_serde, BigInt, ByteData, Wire};

/// How a connection's frames are written. A server takes it from each connection's first
/// data frame; a client chooses it (`ClientConfig::encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Encoding {
    /// MessagePack in binary frames, streampod's own (the default).
    #[default]
    MessagePack,
    /// Serverpod's JSON in text frames.
    Json,
}

/// The path method streams are served at.
pub const WEBSOCKET_PATH: &str = "/v1/websocket";

/// The path legacy streaming endpoints are served at.
pub const LEGACY_WEBSOCKET_PATH: &str = "/websocket";

/// The decoder's borrowed view of a frame, for the crate's own benches and fuzz target. Not
/// part of the API: it changes whenever the decoder does.
#[doc(hidden)]
pub mod internals {
    pub use super::message::decode::{MessageRef, TargetRef, WrappedRef};
    pub use super::values::model_json::model_json;
    pub use serde_json::Value as JsonValue;
}

//! The wire protocol, pure: messages, wrapped values and their MessagePack codec. Nothing
//! here knows about actors, sockets or runtimes.

mod auth_value;
mod datetime;
mod decode;
mod dynamic;
mod error;
mod frame;
mod json;
mod json_message;
mod json_model;
mod legacy;
mod legacy_json;
mod message;
pub(crate) mod msgpack;
pub(crate) mod registry;
mod value;
mod wrapped;

pub use auth_value::{basic_auth_value, unwrap_auth_value};
pub use datetime::DateTime;
#[cfg(feature = "server")]
pub(crate) use decode::TargetRef;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use decode::{MessageRef, WrappedRef};
#[cfg(feature = "server")]
pub(crate) use dynamic::encode_exact;
pub use dynamic::Dynamic;
pub use error::{DecodeError, EncodeError, FrameError};
pub use frame::Frame;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use json_message::borrow;
#[cfg(feature = "server")]
pub(crate) use json_message::decode_json_ref;
pub use legacy::LegacyMessage;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use message::ValueFrames;
pub use message::{
    CloseReason, Message, OpenCall, OpenResponse, OpenResult, Target, AUTH_MODE_COOKIE, MAX_CREDIT,
};
pub use msgpack::ReadError;
pub use value::{encode_data, read_serde, write_serde, BigInt, ByteData, Wire};

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
    pub use super::decode::{MessageRef, TargetRef, WrappedRef};
    pub use super::json_model::model_json;
    pub use serde_json::Value as JsonValue;
}

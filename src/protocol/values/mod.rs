//! Values on the wire: the [`Wire`](wire::Wire) trait and its implementations, wrapped
//! values of any class ([`Dynamic`](dynamic::Dynamic)), the class registry that checks them,
//! and their JSON forms (docs/PROTOCOL.md §3.1, §9).

pub(crate) mod datetime;
pub(crate) mod dynamic;
pub(crate) mod json;
pub(crate) mod model_json;
#[cfg(feature = "typescript")]
pub mod reflection;
pub(crate) mod registry;
pub(crate) mod untagged;
pub(crate) mod wire;
pub(crate) mod wrapped;

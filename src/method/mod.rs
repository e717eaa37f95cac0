//! What a streaming method is, independent of any socket: endpoint definitions
//! ([`Endpoint`], typed arguments and input streams), the [`Session`] a running method
//! gets, and the [`Services`] of the server that a session may reach.

mod args_shape;
mod endpoint;
mod inputs;
mod output;
mod services;
mod session;

pub use endpoint::{Access, Endpoint, NoArgs};
pub(crate) use endpoint::{PrepareError, Prepared};
pub use inputs::{InputParam, InputSet, InputStream};
pub(crate) use inputs::{InputSink, NamedSink};
pub(crate) use output::{Framer, OutputValue};
pub(crate) use services::Services;
pub(crate) use session::{AppState, SessionParts};
pub use session::{Session, SessionMessages};

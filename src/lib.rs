//! streampod
mod call;
pub mod client;
pub mod config;
mod connection;
mod error;
pub mod protocol;
mod recent;
mod server;

pub use config::Config;
pub use error::StreamError;
pub use protocol::{BigInt, ByteData, DateTime, Dynamic, Wire};
pub use server::{
    Endpoint, InputParam, InputSet, InputStream, NoArgs, RunningServer, Server, ServerBuilder, Session, Stats,
    WEBSOCKET_PATH,
};

//! streampod
pub mod protocol;
pub use protocol::{Dynamic, Wire};

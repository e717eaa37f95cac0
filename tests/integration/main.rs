//! streampod's integration tests, in one binary.
//!
//! Each module was once its own test binary. They share one so that the tree is built and
//! linked once: 25 binaries of ~135 MB each filled the CI machine's disk. Tests that need
//! the process to themselves (the environment) stay in binaries of their own beside this
//! directory.

mod support;

mod auth_open;
mod bad_request;
mod bus_history;
mod call_log;
mod cancel_and_teardown;
mod canvas_recovery;
mod client_auth;
mod client_calls;
mod client_connection;
mod client_transport;
mod client_values;
mod cookie_auth;
mod decoder_properties;
mod exceptions;
mod flow_control;
mod foreign_wakes;
mod graceful_shutdown;
mod input_streams;
mod json_wire;
mod keepalive;
mod keyed_frames;
mod legacy_client;
mod legacy_endpoints;
mod legacy_outbound;
mod limits_and_flow;
mod message_bus;
mod non_reading_peers;
mod open_call;
mod origin;
mod panics;
mod ping_pong;
mod prompt_close;
mod random_bus;
mod random_client_calls;
mod random_legacy;
mod random_revocation;
mod random_sessions;
#[cfg(feature = "redis")]
mod redis_cluster;
#[cfg(feature = "redis")]
mod redis_history;
mod resume_client;
mod resume_server;
mod revocation;
mod server_frames;
mod session_close;
mod shutdown_and_leaks;
mod ticker_example;
#[cfg(feature = "tls")]
mod tls;
mod two_workers;
mod typed_endpoints;
#[cfg(feature = "typescript")]
mod typescript;
mod untagged_inputs;
mod value_types;
mod websocket_frames;

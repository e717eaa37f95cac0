//! Every limit and interval of the server, with its default and the reason for it.

/// Server settings. Build with [`Config::default`] and change what you need.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest WebSocket message accepted, in bytes; a larger one closes the connection with
    /// code 1009. Default 1 MiB: far above any sane stream value, small enough that one
    /// client cannot make the server buffer much.
    pub max_frame_size: usize,
    /// How many ended call ids a connection remembers, so that frames the client sent
    /// before it saw the end are dropped quietly instead of answered. Default 256: a client
    /// rarely has more calls ending at once, and the memory is a few KiB.
    pub remembered_ended_calls: usize,
    /// Worker threads for [`Server::spawn`](crate::Server::spawn). Default 1: enough for
    /// tests and demos; an application that builds its own `HttpServer` sets its own.
    pub workers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 1 << 20,
            remembered_ended_calls: 256,
            workers: 1,
        }
    }
}

//! The `ticker` endpoint: a paced count and a bidi echo of ints, long-lived enough to watch a
//! connection drop and resume under them. Shared by `examples/ticker.rs` and the tests.
#![allow(dead_code)]

use futures::{stream, Stream, StreamExt};
use std::time::Duration;
use streampod::{InputStream, StreamError};

/// Streams that take their time.
#[streampod::endpoint(name = "ticker")]
pub trait Ticker {
    /// The ints `from`, `from` + 1, ... up to and without `to`, one every `interval_ms`
    /// milliseconds (at once when it is 0 or less).
    fn count(
        &self,
        from: i64,
        to: i64,
        interval_ms: i64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;

    /// Each int of `stream`, back as it arrives.
    fn echo(
        &self,
        stream: InputStream<i64>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
}

/// The implementation.
pub struct Ticks;

impl Ticker for Ticks {
    fn count(
        &self,
        from: i64,
        to: i64,
        interval_ms: i64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        let interval = Duration::from_millis(interval_ms.max(0) as u64);
        stream::iter(from..to).then(move |n| async move {
            if !interval.is_zero() {
                tokio::time::sleep(interval).await;
            }
            Ok(n)
        })
    }

    fn echo(
        &self,
        stream: InputStream<i64>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        stream
    }
}

//! [`Inputs`]: the input streams a call feeds, by parameter name.

use super::connection::InputSource;
use crate::error::StreamError;
use crate::protocol::{Dynamic, Wire};
use futures::{Stream, StreamExt};
use std::sync::Arc;

/// The input streams of one call, by parameter name.
///
/// ```
/// use futures::stream;
/// use streampod::client::Inputs;
/// let inputs = Inputs::new().values("stream", stream::iter(vec![1i64, 2, 3]));
/// ```
#[derive(Default)]
pub struct Inputs {
    pub(super) streams: Vec<(Arc<str>, InputSource)>,
}

impl Inputs {
    /// No input streams.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an input stream that may fail: an `Err` ends it with an error (a
    /// [`StreamError::Exception`] reaches the method as that value).
    pub fn stream<T, S>(mut self, name: &str, stream: S) -> Self
    where
        T: Wire,
        S: Stream<Item = Result<T, StreamError>> + Send + 'static,
    {
        let source = stream
            .map(|item| item.and_then(|v| Dynamic::in_flight(&v).map_err(StreamError::failed)))
            .boxed();
        self.streams.push((Arc::from(name), source));
        self
    }

    /// Adds an input stream of plain values.
    pub fn values<T, S>(self, name: &str, stream: S) -> Self
    where
        T: Wire,
        S: Stream<Item = T> + Send + 'static,
    {
        self.stream(name, stream.map(Ok))
    }
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.streams.iter().map(|(n, _)| &**n).collect();
        f.debug_struct("Inputs").field("streams", &names).finish()
    }
}

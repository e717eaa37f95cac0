//! The `methodStreaming` endpoint: Serverpod's test methods (docs/PROTOCOL.md §6 uses them), named exactly
//! as Serverpod names them. Shared by `examples/conformance_server.rs` and the tests.
#![allow(dead_code)]

use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streampod::{model, DateTime, Dynamic, Endpoint, InputStream, Session, StreamError};

/// Serverpod's `SimpleData` model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimpleData {
    pub num: i64,
}
model!(SimpleData);

/// Serverpod's `ExceptionWithData` serializable exception.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionWithData {
    pub message: String,
    pub creation_date: DateTime,
    pub error_fields: Vec<String>,
    pub some_nullable_field: Option<i64>,
}
model!(ExceptionWithData);

impl ExceptionWithData {
    /// The exception Serverpod's test methods throw.
    pub fn thrown() -> Self {
        ExceptionWithData {
            message: "Throwing an exception".into(),
            creation_date: DateTime::now(),
            error_fields: vec!["first line error".into(), "second line error".into()],
            some_nullable_field: Some(1),
        }
    }
}

type Values<T> = BoxStream<'static, Result<T, StreamError>>;

fn count(n: i64) -> impl Stream<Item = Result<i64, StreamError>> {
    stream::iter((0..n.max(0)).map(Ok))
}

/// Serverpod's `stream.first`: the first value, or the input's error.
async fn first<T>(mut input: InputStream<T>) -> Result<T, StreamError> {
    match input.next().await {
        Some(item) => item,
        None => Err(StreamError::failed("input stream ended without a value")),
    }
}

fn throwing<T: Send + 'static>(error: StreamError) -> Values<T> {
    stream::once(async move { Err(error) }).boxed()
}

/// Serverpod's test methods, declared once: the conformance server
/// serves [`TestMethods`] through it, and every protocol test runs against it.
#[streampod::endpoint(name = "methodStreaming")]
pub trait MethodStreaming {
    // Stream-returning methods.
    fn simple_stream(&self) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn never_ending_stream_with_delay(
        &self,
        milliseconds_delay: u64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn int_stream_from_value(
        &self,
        value: i64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn simple_stream_with_parameter(
        &self,
        value: i64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn simple_data_stream(
        &self,
        value: i64,
    ) -> impl Stream<Item = Result<SimpleData, StreamError>> + Send + 'static;
    fn int_echo_stream(
        &self,
        stream: InputStream<i64>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn dynamic_echo_stream(
        &self,
        stream: InputStream<Dynamic>,
    ) -> impl Stream<Item = Result<Dynamic, StreamError>> + Send + 'static;
    fn nullable_int_echo_stream(
        &self,
        stream: InputStream<Option<i64>>,
    ) -> impl Stream<Item = Result<Option<i64>, StreamError>> + Send + 'static;
    fn simple_in_out_data_stream(
        &self,
        stream: InputStream<SimpleData>,
    ) -> impl Stream<Item = Result<SimpleData, StreamError>> + Send + 'static;
    fn simple_list_in_out_int_stream(
        &self,
        stream: InputStream<Vec<i64>>,
    ) -> impl Stream<Item = Result<Vec<i64>, StreamError>> + Send + 'static;
    fn multiple_int_echo_streams(
        &self,
        stream1: InputStream<i64>,
        stream2: InputStream<i64>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn optional_echo_stream(
        &self,
        stream: Option<InputStream<i64>>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn delayed_stream_response(
        &self,
        delay: u64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn out_stream_throws_exception(
        &self,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn out_stream_throws_serializable_exception(
        &self,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn exception_thrown_before_stream_return(
        &self,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;
    fn exception_thrown_in_stream_return(
        &self,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;

    // Future-returning methods.
    async fn int_return_from_stream(&self, stream: InputStream<i64>) -> Result<i64, StreamError>;
    async fn nullable_int_return_from_stream(
        &self,
        stream: InputStream<Option<i64>>,
    ) -> Result<Option<i64>, StreamError>;
    async fn simple_input_return_stream(
        &self,
        stream: InputStream<i64>,
    ) -> Result<i64, StreamError>;
    async fn void_return_after_stream(&self, stream: InputStream<i64>) -> Result<(), StreamError>;
    async fn direct_void_return_with_stream_input(
        &self,
        stream: InputStream<i64>,
    ) -> Result<(), StreamError>;
    async fn direct_one_int_return_with_stream_input(
        &self,
        stream: InputStream<i64>,
    ) -> Result<i64, StreamError>;
    async fn delayed_never_listened_input_stream(
        &self,
        delay: u64,
        stream: InputStream<i64>,
    ) -> Result<(), StreamError>;
    /// Keeps its input open while it throws, so it is closed with the call.
    async fn in_stream_throws_exception(&self, stream: InputStream<i64>)
        -> Result<(), StreamError>;
    /// Keeps its input open while it throws, so it is closed with the call.
    async fn in_stream_throws_serializable_exception(
        &self,
        stream: InputStream<i64>,
    ) -> Result<(), StreamError>;
    async fn throws_exception(&self) -> Result<i64, StreamError>;
    async fn throws_serializable_exception(&self) -> Result<i64, StreamError>;
    async fn did_input_stream_have_error(
        &self,
        stream: InputStream<i64>,
    ) -> Result<bool, StreamError>;
    async fn did_input_stream_have_serializable_exception_error(
        &self,
        stream: InputStream<i64>,
    ) -> Result<bool, StreamError>;

    // Probes backed by the server's counters.
    async fn open_calls(&self, session: Session) -> Result<i64, StreamError>;
    async fn cancelled_calls(&self, session: Session) -> Result<i64, StreamError>;
    async fn legacy_user_objects(&self) -> Result<i64, StreamError>;
}

/// The test methods; the one piece of state is the legacy endpoint's count of user objects.
pub struct TestMethods {
    legacy_user_objects: Arc<AtomicUsize>,
}

impl MethodStreaming for TestMethods {
    fn simple_stream(&self) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        count(10)
    }
    fn never_ending_stream_with_delay(
        &self,
        milliseconds_delay: u64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        let period = Duration::from_millis(milliseconds_delay.max(1));
        stream::unfold(0i64, move |i| async move {
            tokio::time::sleep(period).await;
            Some((Ok(i), i + 1))
        })
    }
    fn int_stream_from_value(
        &self,
        value: i64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        count(value)
    }
    fn simple_stream_with_parameter(
        &self,
        value: i64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        count(value)
    }
    fn simple_data_stream(
        &self,
        value: i64,
    ) -> impl Stream<Item = Result<SimpleData, StreamError>> + Send + 'static {
        count(value).map(|n| n.map(|num| SimpleData { num }))
    }
    fn int_echo_stream(
        &self,
        stream: InputStream<i64>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        stream
    }
    fn dynamic_echo_stream(
        &self,
        stream: InputStream<Dynamic>,
    ) -> impl Stream<Item = Result<Dynamic, StreamError>> + Send + 'static {
        stream
    }
    fn nullable_int_echo_stream(
        &self,
        stream: InputStream<Option<i64>>,
    ) -> impl Stream<Item = Result<Option<i64>, StreamError>> + Send + 'static {
        stream
    }
    fn simple_in_out_data_stream(
        &self,
        stream: InputStream<SimpleData>,
    ) -> impl Stream<Item = Result<SimpleData, StreamError>> + Send + 'static {
        stream
    }
    fn simple_list_in_out_int_stream(
        &self,
        stream: InputStream<Vec<i64>>,
    ) -> impl Stream<Item = Result<Vec<i64>, StreamError>> + Send + 'static {
        stream
    }
    fn multiple_int_echo_streams(
        &self,
        stream1: InputStream<i64>,
        stream2: InputStream<i64>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        stream::select(stream1, stream2)
    }
    fn optional_echo_stream(
        &self,
        stream: Option<InputStream<i64>>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        match stream {
            Some(s) => s.boxed(),
            None => stream::iter([Ok(-1)]).boxed(),
        }
    }
    fn delayed_stream_response(
        &self,
        delay: u64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        stream::once(async move {
            tokio::time::sleep(Duration::from_secs(delay)).await;
            Ok(42i64)
        })
    }
    fn out_stream_throws_exception(
        &self,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        throwing::<i64>(StreamError::failed("Throwing an exception"))
    }
    fn out_stream_throws_serializable_exception(
        &self,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        throwing::<i64>(StreamError::exception(ExceptionWithData::thrown()))
    }
    #[allow(unreachable_code)]
    fn exception_thrown_before_stream_return(
        &self,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        panic!("Throwing an exception before the stream is returned");
        stream::empty()
    }
    fn exception_thrown_in_stream_return(
        &self,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        throwing::<i64>(StreamError::failed("first event is an error"))
    }

    async fn int_return_from_stream(&self, stream: InputStream<i64>) -> Result<i64, StreamError> {
        first(stream).await
    }
    async fn nullable_int_return_from_stream(
        &self,
        stream: InputStream<Option<i64>>,
    ) -> Result<Option<i64>, StreamError> {
        first(stream).await
    }
    async fn simple_input_return_stream(
        &self,
        stream: InputStream<i64>,
    ) -> Result<i64, StreamError> {
        first(stream).await
    }
    async fn void_return_after_stream(&self, stream: InputStream<i64>) -> Result<(), StreamError> {
        stream.for_each(|_| async {}).await;
        Ok(())
    }
    async fn direct_void_return_with_stream_input(
        &self,
        _stream: InputStream<i64>,
    ) -> Result<(), StreamError> {
        Ok(())
    }
    async fn direct_one_int_return_with_stream_input(
        &self,
        _stream: InputStream<i64>,
    ) -> Result<i64, StreamError> {
        Ok(1)
    }
    async fn delayed_never_listened_input_stream(
        &self,
        delay: u64,
        stream: InputStream<i64>,
    ) -> Result<(), StreamError> {
        let _never_read = stream;
        tokio::time::sleep(Duration::from_secs(delay)).await;
        Ok(())
    }
    async fn in_stream_throws_exception(
        &self,
        stream: InputStream<i64>,
    ) -> Result<(), StreamError> {
        let _input = stream;
        Err(StreamError::failed("Throwing an exception"))
    }
    async fn in_stream_throws_serializable_exception(
        &self,
        stream: InputStream<i64>,
    ) -> Result<(), StreamError> {
        let _input = stream;
        Err(StreamError::exception(ExceptionWithData::thrown()))
    }
    async fn throws_exception(&self) -> Result<i64, StreamError> {
        Err(StreamError::failed("Throwing an exception"))
    }
    async fn throws_serializable_exception(&self) -> Result<i64, StreamError> {
        Err(StreamError::exception(ExceptionWithData::thrown()))
    }
    async fn did_input_stream_have_error(
        &self,
        stream: InputStream<i64>,
    ) -> Result<bool, StreamError> {
        Ok(stream.any(|item| async move { item.is_err() }).await)
    }
    async fn did_input_stream_have_serializable_exception_error(
        &self,
        stream: InputStream<i64>,
    ) -> Result<bool, StreamError> {
        Ok(stream
            .any(|item| async move { matches!(item, Err(StreamError::Exception(_))) })
            .await)
    }

    async fn open_calls(&self, session: Session) -> Result<i64, StreamError> {
        Ok(session.stats().open_calls.saturating_sub(1) as i64)
    }
    async fn cancelled_calls(&self, session: Session) -> Result<i64, StreamError> {
        Ok(session.stats().calls_cancelled as i64)
    }
    async fn legacy_user_objects(&self) -> Result<i64, StreamError> {
        Ok(self.legacy_user_objects.load(Ordering::Relaxed) as i64)
    }
}

/// The endpoint with every test method.
pub fn endpoint(legacy_user_objects: Arc<AtomicUsize>) -> Endpoint {
    TestMethods {
        legacy_user_objects,
    }
    .into_endpoint()
}

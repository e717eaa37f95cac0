//! The `methodStreaming` endpoint: Serverpod's test methods (reference §12.0), named exactly
//! as Serverpod names them. Shared by `examples/conformance_server.rs` and the tests.
#![allow(dead_code)]

use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streampod::{model, DateTime, Dynamic, Endpoint, InputStream, NoArgs, Session, StreamError};

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

#[derive(Deserialize)]
struct Value {
    value: i64,
}

#[derive(Deserialize)]
struct Delay {
    delay: u64,
}

#[derive(Deserialize)]
struct MillisecondsDelay {
    #[serde(rename = "millisecondsDelay")]
    milliseconds_delay: u64,
}

type Values<T> = BoxStream<'static, Result<T, StreamError>>;
type Input<T> = (InputStream<T>,);

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

/// The endpoint with every test method.
pub fn endpoint(legacy_user_objects: Arc<AtomicUsize>) -> Endpoint {
    Endpoint::new("methodStreaming")
        // Stream-returning methods.
        .stream("simpleStream", [], |_, _: NoArgs, ()| count(10))
        .stream(
            "neverEndingStreamWithDelay",
            [],
            |_, a: MillisecondsDelay, ()| {
                let period = Duration::from_millis(a.milliseconds_delay.max(1));
                stream::unfold(0i64, move |i| async move {
                    tokio::time::sleep(period).await;
                    Some((Ok(i), i + 1))
                })
            },
        )
        .stream("intStreamFromValue", [], |_, a: Value, ()| count(a.value))
        .stream("simpleStreamWithParameter", [], |_, a: Value, ()| {
            count(a.value)
        })
        .stream("simpleDataStream", [], |_, a: Value, ()| {
            count(a.value).map(|n| n.map(|num| SimpleData { num }))
        })
        .stream(
            "intEchoStream",
            ["stream"],
            |_, _: NoArgs, (s,): Input<i64>| s,
        )
        .stream(
            "dynamicEchoStream",
            ["stream"],
            |_, _: NoArgs, (s,): Input<Dynamic>| s,
        )
        .stream(
            "nullableIntEchoStream",
            ["stream"],
            |_, _: NoArgs, (s,): Input<Option<i64>>| s,
        )
        .stream(
            "simpleInOutDataStream",
            ["stream"],
            |_, _: NoArgs, (s,): Input<SimpleData>| s,
        )
        .stream(
            "simpleListInOutIntStream",
            ["stream"],
            |_, _: NoArgs, (s,): Input<Vec<i64>>| s,
        )
        .stream(
            "multipleIntEchoStreams",
            ["stream1", "stream2"],
            |_, _: NoArgs, (a, b): (InputStream<i64>, InputStream<i64>)| stream::select(a, b),
        )
        .stream(
            "optionalEchoStream",
            ["stream"],
            |_, _: NoArgs, (s,): (Option<InputStream<i64>>,)| match s {
                Some(s) => s.boxed(),
                None => stream::iter([Ok(-1)]).boxed(),
            },
        )
        .stream("delayedStreamResponse", [], |_, a: Delay, ()| {
            stream::once(async move {
                tokio::time::sleep(Duration::from_secs(a.delay)).await;
                Ok(42i64)
            })
        })
        .stream("outStreamThrowsException", [], |_, _: NoArgs, ()| {
            throwing::<i64>(StreamError::failed("Throwing an exception"))
        })
        .stream(
            "outStreamThrowsSerializableException",
            [],
            |_, _: NoArgs, ()| throwing::<i64>(StreamError::exception(ExceptionWithData::thrown())),
        )
        .stream(
            "exceptionThrownBeforeStreamReturn",
            [],
            |_, _: NoArgs, ()| -> Values<i64> {
                panic!("Throwing an exception before the stream is returned")
            },
        )
        .stream("exceptionThrownInStreamReturn", [], |_, _: NoArgs, ()| {
            throwing::<i64>(StreamError::failed("first event is an error"))
        })
        // Future-returning methods.
        .future(
            "intReturnFromStream",
            ["stream"],
            |_, _: NoArgs, (s,): Input<i64>| first(s),
        )
        .future(
            "nullableIntReturnFromStream",
            ["stream"],
            |_, _: NoArgs, (s,): Input<Option<i64>>| first(s),
        )
        .future(
            "simpleInputReturnStream",
            ["stream"],
            |_, _: NoArgs, (s,): Input<i64>| first(s),
        )
        .future(
            "voidReturnAfterStream",
            ["stream"],
            |_, _: NoArgs, (s,): Input<i64>| async move {
                s.for_each(|_| async {}).await;
                Ok(())
            },
        )
        .future(
            "directVoidReturnWithStreamInput",
            ["stream"],
            |_, _: NoArgs, (_s,): Input<i64>| async { Ok(()) },
        )
        .future(
            "directOneIntReturnWithStreamInput",
            ["stream"],
            |_, _: NoArgs, (_s,): Input<i64>| async { Ok(1i64) },
        )
        .future(
            "delayedNeverListenedInputStream",
            ["stream"],
            |_, a: Delay, (s,): Input<i64>| async move {
                let _never_read = s;
                tokio::time::sleep(Duration::from_secs(a.delay)).await;
                Ok(())
            },
        )
        // These keep their input open while they throw, so it is closed with the call.
        .future(
            "inStreamThrowsException",
            ["stream"],
            |_, _: NoArgs, (s,): Input<i64>| async move {
                let _input = s;
                Err::<(), _>(StreamError::failed("Throwing an exception"))
            },
        )
        .future(
            "inStreamThrowsSerializableException",
            ["stream"],
            |_, _: NoArgs, (s,): Input<i64>| async move {
                let _input = s;
                Err::<(), _>(StreamError::exception(ExceptionWithData::thrown()))
            },
        )
        .future("throwsException", [], |_, _: NoArgs, ()| async {
            Err::<i64, _>(StreamError::failed("Throwing an exception"))
        })
        .future(
            "throwsSerializableException",
            [],
            |_, _: NoArgs, ()| async {
                Err::<i64, _>(StreamError::exception(ExceptionWithData::thrown()))
            },
        )
        .future(
            "didInputStreamHaveError",
            ["stream"],
            |_, _: NoArgs, (s,): Input<i64>| async move {
                Ok(s.any(|item| async move { item.is_err() }).await)
            },
        )
        .future(
            "didInputStreamHaveSerializableExceptionError",
            ["stream"],
            |_, _: NoArgs, (s,): Input<i64>| async move {
                Ok(
                    s.any(|item| async move { matches!(item, Err(StreamError::Exception(_))) })
                        .await,
                )
            },
        )
        // Probes backed by the server's counters.
        .future(
            "openCalls",
            [],
            |session: Session, _: NoArgs, ()| async move {
                Ok(session.stats().open_calls.saturating_sub(1) as i64)
            },
        )
        .future(
            "cancelledCalls",
            [],
            |session: Session, _: NoArgs, ()| async move {
                Ok(session.stats().calls_cancelled as i64)
            },
        )
        .future(
            "legacyUserObjects",
            [],
            move |_, _: NoArgs, ()| {
                let held = legacy_user_objects.load(Ordering::Relaxed);
                async move { Ok(held as i64) }
            },
        )
}

//! Random mixes of concurrent calls on one Rust client: echoes whose input ends cleanly or
//! with an error, streams dropped part-way, counting streams, failing and unknown methods,
//! and futures that read their input. Every call sees exactly what its method sent, in
//! order, and its end; afterwards the server holds no call, and the client's socket,
//! with no call left, is closed.

use crate::support::*;
use futures::{stream, StreamExt};
use proptest::prelude::*;
use streampod::client::{Client, Error, Inputs};
use streampod::protocol::OpenResult;
use streampod::{NoArgs, StreamError};

#[derive(Debug, Clone)]
enum Call {
    /// `intEchoStream` fed `values`, then ended cleanly or with an error; the caller reads
    /// `take` items (all if `None`) and drops the stream.
    Echo {
        values: Vec<i64>,
        fail_input: bool,
        take: Option<usize>,
    },
    /// `simpleStream`: 0 to 9.
    Count,
    /// `outStreamThrowsException`.
    Throws,
    /// A method that does not exist.
    Unknown,
    /// `didInputStreamHaveError`, a future that reads its whole input.
    HadError { values: Vec<i64>, fail_input: bool },
}

fn call() -> impl Strategy<Value = Call> {
    let values = proptest::collection::vec(any::<i64>(), 0..300);
    prop_oneof![
        4 => (values.clone(), any::<bool>(), proptest::option::of(0usize..20)).prop_map(
            |(values, fail_input, take)| Call::Echo { values, fail_input, take }
        ),
        1 => Just(Call::Count),
        1 => Just(Call::Throws),
        1 => Just(Call::Unknown),
        1 => (values, any::<bool>())
            .prop_map(|(values, fail_input)| Call::HadError { values, fail_input }),
    ]
}

/// `values`, then an error if `fail`.
fn input(values: &[i64], fail: bool) -> Inputs {
    let items: Vec<Result<i64, StreamError>> = values
        .iter()
        .copied()
        .map(Ok)
        .chain(fail.then(|| Err(StreamError::failed("input failed"))))
        .collect();
    Inputs::new().stream("stream", stream::iter(items))
}

/// Runs one call and compares what it got with what its method must send.
async fn run(client: &Client, call: &Call) -> Result<(), String> {
    let got: Vec<Result<i64, Error>> = match call {
        Call::Echo {
            values,
            fail_input,
            take,
        } => {
            let s = client.stream::<i64>(
                ENDPOINT,
                "intEchoStream",
                NoArgs {},
                input(values, *fail_input),
            );
            match take {
                Some(n) => s.take(*n).collect().await,
                None => s.collect().await,
            }
        }
        Call::Count => {
            let s = client.stream::<i64>(ENDPOINT, "simpleStream", NoArgs {}, Inputs::new());
            s.collect().await
        }
        Call::Throws => {
            let method = "outStreamThrowsException";
            client
                .stream::<i64>(ENDPOINT, method, NoArgs {}, Inputs::new())
                .collect()
                .await
        }
        Call::Unknown => {
            client
                .stream::<i64>(ENDPOINT, "noSuchMethod", NoArgs {}, Inputs::new())
                .collect()
                .await
        }
        Call::HadError { values, fail_input } => {
            let had = client
                .call::<bool>(
                    ENDPOINT,
                    "didInputStreamHaveError",
                    NoArgs {},
                    input(values, *fail_input),
                )
                .await;
            return match had {
                Ok(had) if had == *fail_input => Ok(()),
                other => Err(format!("didInputStreamHaveError gave {other:?}")),
            };
        }
    };
    let expected: Vec<Result<i64, Error>> = match call {
        Call::Echo {
            values,
            fail_input,
            take,
        } => {
            let all = values
                .iter()
                .copied()
                .map(Ok)
                .chain(fail_input.then_some(Err(Error::ClosedWithError)));
            all.take(take.unwrap_or(usize::MAX)).collect()
        }
        Call::Count => (0..10).map(Ok).collect(),
        Call::Throws => vec![Err(Error::ClosedWithError)],
        Call::Unknown => {
            // The open fails; only the kind of failure is compared.
            return match got.as_slice() {
                [Err(Error::OpenFailed {
                    response: OpenResult::EndpointNotFound,
                    ..
                })] => Ok(()),
                other => Err(format!("an unknown method gave {other:?}")),
            };
        }
        Call::HadError { .. } => unreachable!(),
    };
    if got == expected {
        Ok(())
    } else {
        Err(format!("got {got:?}\nexpected {expected:?}"))
    }
}

async fn run_mix(calls: Vec<Call>) {
    let server = TestServer::start();
    let client = Client::new(&server.http_url()).unwrap();
    let results = futures::future::join_all(calls.iter().map(|call| run(&client, call))).await;
    for (call, result) in calls.iter().zip(results) {
        if let Err(e) = result {
            panic!("{call:?}: {e}\nall calls: {calls:?}");
        }
    }
    server
        .wait_for_stats("no call left, and the client's socket closed", |s| {
            s.open_calls == 0 && s.open_connections == 0 && s.queued_inputs == 0
        })
        .await;
}

proptest! {
    // 32 mixes of up to 6 calls, about a second in all (600 passed once, in 16 s).
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_calls_on_one_client_each_get_exactly_their_values(
        calls in proptest::collection::vec(call(), 1..7)
    ) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(run_mix(calls));
    }
}

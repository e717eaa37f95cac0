//! `#[streampod::endpoint]`: a trait declares the endpoint for both sides. Every method
//! shape round-trips through the generated client; a macro endpoint and the same endpoint
//! built by hand are indistinguishable on the wire; access can differ per method, and
//! revocation closes exactly the calls whose method required authentication.

use crate::support::conformance::{bearer, server_builder};
use crate::support::*;
use futures::{stream, Stream, StreamExt};
use streampod::client::{Client, Error, StaticAuthKey};
use streampod::{Access, Endpoint, InputStream, NoArgs, Revoked, Session, StreamError};

#[streampod::endpoint(name = "typed")]
pub trait Typed {
    /// Counts from 0 up to `count` - 1.
    fn count_up(
        &self,
        session: Session,
        count: i64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;

    /// Echoes `values`, each plus `offset`.
    fn echo(
        &self,
        offset: i64,
        values: InputStream<i64>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static;

    /// The sum of `numbers`, and of `more` if the client sends it.
    async fn sum(
        &self,
        numbers: InputStream<i64>,
        more: Option<InputStream<i64>>,
    ) -> Result<i64, StreamError>;

    /// Nothing back: a void method.
    async fn greet(&self, #[streampod(name = "who")] name: String) -> Result<(), StreamError>;

    /// Always fails.
    async fn fail(&self) -> Result<i64, StreamError>;

    /// The caller's user id; signed-in callers only.
    #[streampod(require_login)]
    fn whoami(
        &self,
        session: Session,
    ) -> impl Stream<Item = Result<String, StreamError>> + Send + 'static;
}

struct Impl;

impl Typed for Impl {
    fn count_up(
        &self,
        _session: Session,
        count: i64,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        stream::iter((0..count).map(Ok))
    }

    fn echo(
        &self,
        offset: i64,
        values: InputStream<i64>,
    ) -> impl Stream<Item = Result<i64, StreamError>> + Send + 'static {
        values.map(move |v| v.map(|v| v + offset))
    }

    async fn sum(
        &self,
        numbers: InputStream<i64>,
        more: Option<InputStream<i64>>,
    ) -> Result<i64, StreamError> {
        let mut total = 0;
        let all = match more {
            Some(more) => numbers.chain(more).boxed(),
            None => numbers.boxed(),
        };
        let values: Vec<Result<i64, StreamError>> = all.collect().await;
        for v in values {
            total += v?;
        }
        Ok(total)
    }

    async fn greet(&self, name: String) -> Result<(), StreamError> {
        assert!(!name.is_empty());
        Ok(())
    }

    async fn fail(&self) -> Result<i64, StreamError> {
        Err(StreamError::failed("always"))
    }

    fn whoami(
        &self,
        session: Session,
    ) -> impl Stream<Item = Result<String, StreamError>> + Send + 'static {
        let user = session
            .auth()
            .map(|a| a.user_id.clone())
            .unwrap_or_default();
        stream::once(async move { Ok(user) }).chain(stream::pending())
    }
}

/// The same endpoint through the builder, by hand.
fn by_hand() -> Endpoint {
    #[derive(serde::Deserialize)]
    struct Count {
        count: i64,
    }
    #[derive(serde::Deserialize)]
    struct Offset {
        offset: i64,
    }
    Endpoint::new("typed")
        .stream("countUp", [], |_, a: Count, ()| {
            stream::iter((0..a.count).map(Ok))
        })
        .stream(
            "echo",
            ["values"],
            |_, a: Offset, (values,): (InputStream<i64>,)| {
                values.map(move |v| v.map(|v| v + a.offset))
            },
        )
        .future(
            "sum",
            ["numbers", "more"],
            |_, _: NoArgs, (numbers, more): (InputStream<i64>, Option<InputStream<i64>>)| async move {
                Impl.sum(numbers, more).await
            },
        )
}

fn server() -> TestServer {
    TestServer::from_builder(server_builder().endpoint(Impl.into_endpoint()))
}

wire_test!(async fn every_method_shape_round_trips_through_the_generated_client(wire) {
    let server = server();
    let typed = TypedClient::new(&client_on(&server, wire));
    let counted: Vec<_> = typed.count_up(3).collect().await;
    assert_eq!(counted, vec![Ok(0), Ok(1), Ok(2)]);
    let echoed: Vec<_> = typed.echo(10, stream::iter([1, 2, 3])).collect().await;
    assert_eq!(echoed, vec![Ok(11), Ok(12), Ok(13)]);
    assert_eq!(typed.sum(stream::iter([1, 2]), None::<stream::Empty<i64>>).await, Ok(3));
    assert_eq!(typed.sum(stream::iter([1, 2]), Some(stream::iter([10]))).await, Ok(13));
    assert_eq!(typed.greet("ada".to_string()).await, Ok(()));
    assert_eq!(typed.fail().await, Err(Error::ClosedWithError));
    // `whoami` wants a signed-in caller; `countUp` on the same endpoint does not.
    assert!(matches!(
        typed.whoami().next().await,
        Some(Err(Error::OpenFailed { code: 401, .. }))
    ));
});

#[tokio::test]
async fn a_macro_endpoint_and_a_builder_endpoint_send_the_same_frames() {
    let macro_server = server();
    let hand_server = TestServer::from_builder(server_builder().endpoint(by_hand()));
    let count = map(vec![("count", 3.into())]);
    let offset = map(vec![("offset", 10.into())]);
    // Each session: the call's method and cid, its frames, and its inputs to close after.
    let sessions = [
        (
            "countUp",
            cid(1),
            vec![omsc_to("typed", "countUp", &cid(1), count, &[], None)],
            vec![],
        ),
        (
            "echo",
            cid(2),
            vec![
                omsc_to("typed", "echo", &cid(2), offset, &["values"], None),
                msm_to("typed", "echo", &cid(2), Some("values"), int(5)),
                msm_to("typed", "echo", &cid(2), Some("values"), int(6)),
            ],
            vec!["values"],
        ),
        (
            "sum",
            cid(3),
            vec![
                omsc_to(
                    "typed",
                    "sum",
                    &cid(3),
                    no_args(),
                    &["numbers", "more"],
                    None,
                ),
                msm_to("typed", "sum", &cid(3), Some("numbers"), int(5)),
                msm_to("typed", "sum", &cid(3), Some("more"), int(6)),
            ],
            vec!["numbers", "more"],
        ),
    ];
    // The answers of both servers to the same frames must be equal, frame for frame.
    for (method, id, frames, inputs) in sessions {
        let mut answers = Vec::new();
        for server in [&macro_server, &hand_server] {
            let mut raw = RawClient::connect(server).await;
            for frame in frames.iter().cloned() {
                raw.send(frame).await;
            }
            for p in &inputs {
                raw.send(cmsc_to("typed", method, &id, Some(p))).await;
            }
            let mut got = Vec::new();
            loop {
                let f = raw.recv().await;
                let end = f.kind == "cmsc" && f.str("p").is_none();
                got.push(f);
                if end {
                    break;
                }
            }
            answers.push(got);
        }
        assert_eq!(answers[0], answers[1], "{method}");
        assert!(answers[0].len() >= 2, "{:?}", answers[0]);
    }
}

fn cmsc_to(endpoint: &str, method: &str, cid: &str, p: Option<&str>) -> Vec<u8> {
    let mut data = vec![
        ("en", endpoint.into()),
        ("m", method.into()),
        ("cid", cid.into()),
    ];
    if let Some(p) = p {
        data.push(("p", p.into()));
    }
    data.push(("cr", "done".into()));
    frame("cmsc", Some(map(data)))
}

/// A public `watch` next to a login-only `bid` on an endpoint that requires login by
/// default: anyone may watch, and revoking the user closes the bid and not the watch.
#[tokio::test]
async fn access_can_differ_per_method_and_revocation_closes_only_what_required_it() {
    let auction = Endpoint::new("auction")
        .stream("watch", [], |_, _: NoArgs, ()| {
            stream::iter([Ok(1i64)]).chain(stream::pending())
        })
        .require_login()
        .stream("bid", [], |_, _: NoArgs, ()| {
            stream::iter([Ok(2i64)]).chain(stream::pending())
        })
        .access("watch", Access::Public);
    let server = TestServer::from_builder(server_builder().endpoint(auction));
    let anonymous = Client::new(&server.http_url()).unwrap();
    let mut watch = anonymous.stream::<i64>("auction", "watch", NoArgs {}, Default::default());
    assert_eq!(watch.next().await, Some(Ok(1)));
    let refused = anonymous
        .stream::<i64>("auction", "bid", NoArgs {}, Default::default())
        .next()
        .await;
    assert!(matches!(
        refused,
        Some(Err(Error::OpenFailed { code: 401, .. }))
    ));

    let signed_in = Client::builder(&server.http_url())
        .auth_key(StaticAuthKey(bearer("42", "t", &[])))
        .build()
        .unwrap();
    let mut watch_signed_in =
        signed_in.stream::<i64>("auction", "watch", NoArgs {}, Default::default());
    let mut bid = signed_in.stream::<i64>("auction", "bid", NoArgs {}, Default::default());
    assert_eq!(watch_signed_in.next().await, Some(Ok(1)));
    assert_eq!(bid.next().await, Some(Ok(2)));
    server
        .server
        .revoke_authentication("42", Revoked::User)
        .await
        .unwrap();
    assert_eq!(bid.next().await, Some(Err(Error::Revoked)));
    // The public call goes on: it was never subject to the user's credentials.
    server
        .wait_for_stats("the bid closed", |s| s.open_calls == 2)
        .await;
    drop((watch, watch_signed_in));
    server
        .wait_for_stats("the watches closed", |s| s.open_calls == 0)
        .await;
}

wire_test!(async fn a_refused_open_says_why_on_the_messagepack_wire_only(wire) {
    let server = server();
    let client = client_on(&server, wire);
    #[derive(serde::Serialize)]
    struct Wrong {
        count: &'static str,
    }
    let refused = client
        .stream::<i64>("typed", "countUp", Wrong { count: "three" }, Default::default())
        .next()
        .await;
    let Some(Err(Error::OpenFailed { code, reason, .. })) = refused else {
        panic!("refused: {refused:?}");
    };
    assert_eq!(code, 400);
    match wire {
        streampod::Encoding::Json => assert_eq!(reason, None, "Serverpod's omsr has no reason"),
        _ => {
            let reason = reason.expect("a reason on the MessagePack wire");
            assert!(reason.contains("`args`") && reason.contains("count"), "{reason}");
        }
    }
    let missing = client
        .stream::<i64>("typed", "echo", Offset1 { offset: 1 }, Default::default())
        .next()
        .await;
    if let (Some(Err(Error::OpenFailed { reason: Some(r), .. })), streampod::Encoding::MessagePack) =
        (&missing, wire)
    {
        assert!(r.contains("`values`"), "{r}");
    } else if wire == streampod::Encoding::MessagePack {
        panic!("no reason for a missing input: {missing:?}");
    }
});

#[derive(serde::Serialize)]
struct Offset1 {
    offset: i64,
}

/// `Endpoint::with_state`: every call of the endpoint reaches the same state.
#[tokio::test]
async fn every_call_of_an_endpoint_reaches_its_state() {
    use std::sync::atomic::{AtomicI64, Ordering};
    #[derive(Default)]
    struct Tally(AtomicI64);
    let tally = Endpoint::new("tally")
        .with_state(Tally::default())
        .future("add", [], |session: Session, _: NoArgs, ()| async move {
            let tally = session.state::<Tally>().ok_or(StreamError::failed("no state"))?;
            Ok(tally.0.fetch_add(1, Ordering::SeqCst) + 1)
        })
        .future("wrongType", [], |session: Session, _: NoArgs, ()| async move {
            Ok(session.state::<String>().is_none())
        });
    let server = TestServer::from_builder(server_builder().endpoint(tally));
    let client = Client::new(&server.http_url()).unwrap();
    for expected in 1..=3i64 {
        let got = client
            .call::<i64>("tally", "add", NoArgs {}, Default::default())
            .await;
        assert_eq!(got, Ok(expected));
    }
    let other = client
        .call::<bool>("tally", "wrongType", NoArgs {}, Default::default())
        .await;
    assert_eq!(other, Ok(true), "state of another type is none");
}

/// `ClientConfig::linger`: calls made one after another share a socket while it lingers;
/// with no linger each gets a new one.
#[tokio::test]
async fn sequential_calls_share_a_lingering_socket() {
    let conn =
        Endpoint::new("conn").future("id", [], |session: Session, _: NoArgs, ()| async move {
            Ok(session.connection_id() as i64)
        });
    let server = TestServer::from_builder(server_builder().endpoint(conn));
    let ids = |linger: std::time::Duration| {
        let url = server.http_url();
        async move {
            let client = Client::builder(&url)
                .config(streampod::client::ClientConfig::default().linger(linger))
                .build()
                .unwrap();
            let mut ids = Vec::new();
            for _ in 0..3 {
                let id = client
                    .call::<i64>("conn", "id", NoArgs {}, Default::default())
                    .await;
                ids.push(id.unwrap());
            }
            ids
        }
    };
    let lingering = ids(streampod::client::ClientConfig::default().linger).await;
    assert!(
        lingering.iter().all(|id| *id == lingering[0]),
        "{lingering:?}"
    );
    let closing = ids(std::time::Duration::ZERO).await;
    assert!(
        closing[0] != closing[1] && closing[1] != closing[2],
        "a new socket per call without linger: {closing:?}"
    );
}

//! Revoking authentication closes exactly the calls it should, on every connection, and
//! nothing else (docs/PROTOCOL.md §4.6; Serverpod's revoked_authentication_stream_test in-process
//! and authenticated_streaming_method_test).

use crate::support::conformance::bearer;
use crate::support::*;
use futures::channel::mpsc;
use futures::StreamExt;
use streampod::client::{CallStream, Client, Inputs, StaticAuthKey};
use streampod::{NoArgs, Revoked};

const AUTHENTICATED: &str = "authenticatedMethodStreaming";
const SIGNED_IN: &str = "signedInMethodStreaming";

async fn revoke(server: &TestServer, user: &str, revoked: Revoked) {
    server
        .server
        .revoke_authentication(user, revoked)
        .await
        .expect("posted");
}

/// A client signed in as user 1 with `auth_id` and the `admin` scope.
fn client(server: &TestServer, wire: streampod::Encoding, auth_id: &str) -> Client {
    Client::builder(&server.http_url())
        .config(streampod::client::ClientConfig::default().encoding(wire))
        .auth_key(StaticAuthKey(bearer("1", auth_id, &["admin"])))
        .build()
        .unwrap()
}

/// An echo call on `endpoint`, proven open by one echoed value.
struct Echo {
    tx: mpsc::UnboundedSender<i64>,
    call: CallStream<i64>,
}

impl Echo {
    async fn open(c: &Client, endpoint: &str) -> Self {
        let (tx, rx) = mpsc::unbounded();
        let mut call = c.stream::<i64>(
            endpoint,
            "intEchoStream",
            NoArgs {},
            Inputs::new().values("stream", rx),
        );
        tx.unbounded_send(1).unwrap();
        assert_eq!(call.next().await, Some(Ok(1)), "{endpoint} echo opens");
        Echo { tx, call }
    }

    async fn assert_alive(&mut self) {
        self.tx.unbounded_send(42).unwrap();
        assert_eq!(self.call.next().await, Some(Ok(42)));
    }

    async fn assert_revoked(&mut self, wire: streampod::Encoding) {
        let got = tokio::time::timeout(PATIENCE, self.call.next())
            .await
            .expect("closed in time");
        assert_eq!(got, Some(Err(revoked_on(wire))));
        assert_eq!(self.call.next().await, None);
    }
}

async fn revoke_and_expect(revoked: Revoked, closes: bool) {
    let server = TestServer::start();
    let wire = streampod::Encoding::MessagePack;
    let c = client(&server, wire, "token-1");
    let mut echo = Echo::open(&c, AUTHENTICATED).await;
    revoke(&server, "1", revoked).await;
    if closes {
        echo.assert_revoked(wire).await;
    } else {
        echo.assert_alive().await;
    }
}

#[tokio::test]
async fn revoking_the_user_closes_the_stream() {
    revoke_and_expect(Revoked::User, true).await;
}

#[tokio::test]
async fn revoking_the_current_auth_id_closes_the_stream() {
    revoke_and_expect(Revoked::AuthId("token-1".into()), true).await;
}

#[tokio::test]
async fn revoking_another_auth_id_keeps_the_stream() {
    revoke_and_expect(Revoked::AuthId("token-2".into()), false).await;
}

#[tokio::test]
async fn revoking_a_required_scope_closes_the_stream() {
    revoke_and_expect(Revoked::Scopes(vec!["admin".into()]), true).await;
}

#[tokio::test]
async fn revoking_an_unrelated_scope_keeps_the_stream() {
    revoke_and_expect(Revoked::Scopes(vec!["other".into()]), false).await;
}

wire_test!(async fn revoking_another_user_keeps_the_stream(wire) {
    let server = TestServer::start();
    let mut echo = Echo::open(&client(&server, wire, "token-1"), AUTHENTICATED).await;
    revoke(&server, "2", Revoked::User).await;
    echo.assert_alive().await;
});

wire_test!(async fn two_streams_both_close_on_user_revocation(wire) {
    let server = TestServer::start();
    let c = client(&server, wire, "token-1");
    let mut a = Echo::open(&c, AUTHENTICATED).await;
    let mut b = Echo::open(&c, AUTHENTICATED).await;
    revoke(&server, "1", Revoked::User).await;
    a.assert_revoked(wire).await;
    b.assert_revoked(wire).await;
});

wire_test!(async fn two_streams_both_close_on_scope_revocation(wire) {
    let server = TestServer::start();
    let c = client(&server, wire, "token-1");
    let mut a = Echo::open(&c, AUTHENTICATED).await;
    let mut b = Echo::open(&c, AUTHENTICATED).await;
    revoke(&server, "1", Revoked::Scopes(vec!["admin".into()])).await;
    a.assert_revoked(wire).await;
    b.assert_revoked(wire).await;
});

wire_test!(async fn a_public_stream_survives_its_users_revocation(wire) {
    let server = TestServer::start();
    let c = client(&server, wire, "token-1");
    let mut private = Echo::open(&c, AUTHENTICATED).await;
    let mut public = Echo::open(&c, ENDPOINT).await;
    revoke(&server, "1", Revoked::User).await;
    private.assert_revoked(wire).await;
    public.assert_alive().await;
});

wire_test!(async fn scope_revocation_spares_endpoints_that_do_not_require_the_scope(wire) {
    let server = TestServer::start();
    let c = client(&server, wire, "token-1");
    let mut signed_in = Echo::open(&c, SIGNED_IN).await;
    revoke(&server, "1", Revoked::Scopes(vec!["admin".into()])).await;
    signed_in.assert_alive().await;
    revoke(&server, "1", Revoked::User).await;
    signed_in.assert_revoked(wire).await;
});

wire_test!(async fn revocation_reaches_every_connection_of_the_user(wire) {
    let server = TestServer::start();
    let (c1, c2) = (client(&server, wire, "token-1"), client(&server, wire, "token-2"));
    let mut a = Echo::open(&c1, AUTHENTICATED).await;
    let mut b = Echo::open(&c2, SIGNED_IN).await;
    assert_eq!(server.stats().open_connections, 2);
    revoke(&server, "1", Revoked::User).await;
    a.assert_revoked(wire).await;
    b.assert_revoked(wire).await;
});

wire_test!(async fn a_method_can_revoke_through_its_session(wire) {
    let server = TestServer::start();
    let c = client(&server, wire, "token-1");
    let mut echo = Echo::open(&c, AUTHENTICATED).await;
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct RevokeAuthId {
        user_id: &'static str,
        auth_id: &'static str,
    }
    let args = RevokeAuthId {
        user_id: "1",
        auth_id: "token-1",
    };
    let posted: bool = c
        .call("authControl", "revokeAuthId", args, Inputs::new())
        .await
        .unwrap();
    assert!(posted);
    echo.assert_revoked(wire).await;
});

#[tokio::test]
async fn the_wire_shows_cmsc_error_for_the_call_and_its_inputs() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let auth = bearer("1", "t", &["admin"]);
    raw.send(omsc_to(
        AUTHENTICATED,
        "intEchoStream",
        &cid(1),
        no_args(),
        &["stream"],
        Some(&auth),
    ))
    .await;
    raw.recv()
        .await
        .assert_open_at(AUTHENTICATED, &cid(1), "success");
    revoke(&server, "1", Revoked::User).await;
    raw.recv().await.assert_close(&cid(1), None, "error");
    raw.recv()
        .await
        .assert_close(&cid(1), Some("stream"), "error");
    raw.expect_quiet().await;
}

wire_test!(async fn bookkeeping_is_removed_however_a_call_ends(wire) {
    let server = TestServer::start();
    let c = client(&server, wire, "token-1");
    // Calls that end by themselves.
    for _ in 0..50 {
        let values: Vec<_> = c
            .stream::<i64>(AUTHENTICATED, "simpleStream", NoArgs {}, Inputs::new())
            .collect()
            .await;
        assert_eq!(values.len(), 10);
    }
    server
        .wait_for_stats("finished calls forgotten", |s| s.authenticated_calls == 0)
        .await;
    // Cancelled, revoked, and torn down with their connection.
    let cancelled = Echo::open(&c, AUTHENTICATED).await;
    drop(cancelled);
    server
        .wait_for_stats("cancelled call forgotten", |s| s.authenticated_calls == 0)
        .await;
    let mut revoked = Echo::open(&c, AUTHENTICATED).await;
    revoke(&server, "1", Revoked::User).await;
    revoked.assert_revoked(wire).await;
    server
        .wait_for_stats("revoked call forgotten", |s| s.authenticated_calls == 0)
        .await;
    let _open = Echo::open(&c, AUTHENTICATED).await;
    assert_eq!(server.stats().authenticated_calls, 1);
    c.close().await;
    server
        .wait_for_stats("torn-down call forgotten", |s| {
            s.authenticated_calls == 0 && s.open_calls == 0
        })
        .await;
    // Public calls are never tracked.
    let _public = Echo::open(&c, ENDPOINT).await;
    assert_eq!(server.stats().authenticated_calls, 0);
});

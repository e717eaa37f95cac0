//! Authentication at open, in Serverpod's order (docs/PROTOCOL.md §4.2
//! steps 2–6; Serverpod's open_method_stream_command_test, authenticated cases).

use crate::support::conformance::{bearer, fixture_authentication, server_builder};
use crate::support::*;
use std::time::Duration;

const AUTHENTICATED: &str = "authenticatedMethodStreaming";
const SIGNED_IN: &str = "signedInMethodStreaming";

async fn open_with(
    server: &TestServer,
    endpoint: &str,
    method: &str,
    auth: Option<&str>,
) -> (RawClient, Frame) {
    let mut raw = RawClient::connect(server).await;
    raw.send(omsc_to(endpoint, method, &cid(1), no_args(), &[], auth))
        .await;
    let f = raw.recv().await;
    (raw, f)
}

async fn response(endpoint: &str, method: &str, auth: Option<&str>) -> String {
    let server = TestServer::start();
    let (_raw, f) = open_with(&server, endpoint, method, auth).await;
    assert_eq!(f.kind, "omsr");
    f.str("res").unwrap().to_string()
}

#[tokio::test]
async fn no_credentials_is_authentication_failed() {
    assert_eq!(
        response(AUTHENTICATED, "simpleStream", None).await,
        "authenticationFailed"
    );
}

#[tokio::test]
async fn an_invalid_token_is_authentication_failed() {
    assert_eq!(
        response(AUTHENTICATED, "simpleStream", Some("invalid token")).await,
        "authenticationFailed"
    );
}

#[tokio::test]
async fn a_user_without_the_scope_is_declined() {
    let auth = bearer("1", "token-1", &["user"]);
    assert_eq!(
        response(AUTHENTICATED, "simpleStream", Some(&auth)).await,
        "authorizationDeclined"
    );
}

#[tokio::test]
async fn a_user_with_the_scope_is_admitted_and_served() {
    let server = TestServer::start();
    let auth = bearer("1", "token-1", &["admin"]);
    let (mut raw, f) = open_with(&server, AUTHENTICATED, "simpleStream", Some(&auth)).await;
    f.assert_open_at(AUTHENTICATED, &cid(1), "success");
    let values: Vec<i64> = raw.recv_n(10).await.iter().map(Frame::int).collect();
    assert_eq!(values, (0..10).collect::<Vec<_>>());
}

#[tokio::test]
async fn login_only_endpoints_admit_any_signed_in_user() {
    assert_eq!(
        response(SIGNED_IN, "intEchoStream", None).await,
        "authenticationFailed"
    );
    let auth = bearer("1", "t", &[]);
    assert_eq!(response(SIGNED_IN, "whoAmI", Some(&auth)).await, "success");
}

#[tokio::test]
async fn the_session_knows_who_is_calling() {
    let server = TestServer::start();
    let auth = bearer("7", "t", &[]);
    let (mut raw, f) = open_with(&server, SIGNED_IN, "whoAmI", Some(&auth)).await;
    assert_eq!(f.str("res"), Some("success"));
    let (class, data) = raw.recv().await.wrapped("o");
    assert_eq!((class.as_str(), data.as_str()), ("String", Some("7")));
}

#[tokio::test]
async fn malformed_credentials_are_authentication_failed_and_the_connection_stays() {
    for auth in [
        "Basic !!!not-base64",
        "Bearer two tokens",
        "nospace",
        "Bearer a\u{7f}",
    ] {
        let server = TestServer::start();
        let (mut raw, f) = open_with(&server, AUTHENTICATED, "simpleStream", Some(auth)).await;
        assert_eq!(f.str("res"), Some("authenticationFailed"), "{auth:?}");
        raw.expect_quiet().await;
    }
}

#[tokio::test]
async fn a_basic_value_is_decoded_to_its_key() {
    let auth = streampod::basic_auth_value("user:1:t:admin");
    assert_eq!(
        response(AUTHENTICATED, "simpleStream", Some(&auth)).await,
        "success"
    );
}

#[tokio::test]
async fn access_is_checked_before_the_method_is_looked_up() {
    assert_eq!(
        response(AUTHENTICATED, "noSuchMethod", None).await,
        "authenticationFailed"
    );
    let auth = bearer("1", "t", &["admin"]);
    assert_eq!(
        response(AUTHENTICATED, "noSuchMethod", Some(&auth)).await,
        "endpointNotFound"
    );
}

#[tokio::test]
async fn an_invalid_key_on_a_public_endpoint_is_simply_unauthenticated() {
    assert_eq!(
        response(ENDPOINT, "simpleStream", Some("Bearer nobody")).await,
        "success"
    );
}

#[tokio::test]
async fn frames_after_an_open_wait_for_its_authentication() {
    // A slow handler: the values sent right behind the open, in the same write (so that the
    // server reads them in one batch), must still reach the call, in order.
    let slow = server_builder().authentication_handler(|key: String| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        fixture_authentication(key).await
    });
    let server = TestServer::from_builder(slow);
    let mut raw = RawClient::connect(&server).await;
    let auth = bearer("1", "t", &[]);
    let mut frames = vec![omsc_to(
        SIGNED_IN,
        "intEchoStream",
        &cid(1),
        no_args(),
        &["stream"],
        Some(&auth),
    )];
    for v in 5..8 {
        frames.push(msm_to(
            SIGNED_IN,
            "intEchoStream",
            &cid(1),
            Some("stream"),
            int(v),
        ));
    }
    raw.send_together(frames).await;
    raw.recv()
        .await
        .assert_open_at(SIGNED_IN, &cid(1), "success");
    for v in 5..8 {
        assert_eq!(raw.recv().await.int(), v);
    }
}

#[tokio::test]
async fn the_handler_and_the_session_see_the_handshake() {
    use std::sync::{Arc, Mutex};
    use streampod::{AuthInfo, Endpoint, Handshake, NoArgs, Session};
    // A handler that refuses a client without the proxy's header, and records the peer.
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let handler = move |key: String, handshake: Handshake| {
        *record.lock().unwrap() = handshake.peer_addr();
        let allowed = handshake.header("X-Tenant") == Some("acme");
        async move { allowed.then(|| AuthInfo::user(key)) }
    };
    // A method that reports what its session knows of the handshake.
    let whois = Endpoint::new("whois")
        .future("peer", [], |session: Session, _: NoArgs, ()| async move {
            let handshake = session.handshake();
            let peer = handshake.peer_addr().map(|a| a.ip().to_string());
            Ok(format!(
                "{} {}",
                peer.unwrap_or_default(),
                handshake.header("x-tenant").unwrap_or("-")
            ))
        })
        .require_login();
    let server = TestServer::from_builder(
        server_builder()
            .endpoint(whois)
            .authentication_handler(handler),
    );
    for (tenant, expected) in [
        (Some("acme"), "success"),
        (Some("other"), "authenticationFailed"),
        (None, "authenticationFailed"),
    ] {
        let headers: Vec<(&'static str, &str)> = tenant.iter().map(|t| ("X-Tenant", *t)).collect();
        let mut raw = RawClient::connect_with_headers(&server, &headers).await;
        raw.send(omsc_to(
            "whois",
            "peer",
            &cid(1),
            no_args(),
            &[],
            Some("Bearer alice"),
        ))
        .await;
        let answer = raw.recv().await;
        answer.assert_open_at("whois", &cid(1), expected);
        if expected == "success" {
            let (_, said) = raw.recv().await.wrapped("o");
            assert_eq!(said.as_str(), Some("127.0.0.1 acme"));
        }
    }
    let peer = seen
        .lock()
        .unwrap()
        .expect("the handler saw the peer's address");
    assert!(peer.ip().is_loopback());
}

//! Cookie mode (Serverpod 4.0, docs/PROTOCOL.md §4.2 step 3, §4.6): a call opened with
//! `am: "cookie"` and no `auth` is authenticated with the server's auth cookie from the
//! WebSocket handshake; without `am`, or with an `auth` value, the cookie is not used.

use crate::support::conformance::{bearer, server_builder};
use crate::support::*;
use futures::StreamExt;
use rmpv::Value;
use streampod::client::{Client, Error, Inputs, StaticAuthKey};
use streampod::protocol::OpenResult;
use streampod::{ConfigError, NoArgs, Revoked};

const SIGNED_IN: &str = "signedInMethodStreaming";
const COOKIE: &str = "sp_auth";
const ORIGIN: &str = "https://app.example.com";

fn cookie_server() -> TestServer {
    TestServer::from_builder(
        server_builder()
            .allowed_origins([ORIGIN])
            .auth_cookie(COOKIE),
    )
}

/// An `omsc` of `whoAmI` on the signed-in endpoint, with optional `auth` and `am`.
fn open_who_am_i(cid: &str, auth: Option<&str>, am: Option<&str>) -> Vec<u8> {
    let mut data = vec![
        ("en", SIGNED_IN.into()),
        ("m", "whoAmI".into()),
        ("cid", cid.into()),
        ("args", no_args()),
        ("is", Value::Array(vec![])),
    ];
    if let Some(auth) = auth {
        data.push(("auth", auth.into()));
    }
    if let Some(am) = am {
        data.push(("am", am.into()));
    }
    frame("omsc", Some(map(data)))
}

/// The `omsr` result of that open, on a connection made with `headers`.
async fn open_result(
    server: &TestServer,
    headers: &[(&'static str, &str)],
    auth: Option<&str>,
    am: Option<&str>,
) -> String {
    let mut raw = RawClient::connect_with_headers(server, headers).await;
    raw.send(open_who_am_i(&cid(1), auth, am)).await;
    let answer = raw.recv().await;
    assert_eq!(answer.kind, "omsr", "{answer:?}");
    answer.str("res").expect("res").to_string()
}

fn cookie_client(
    server: &TestServer,
    wire: streampod::Encoding,
    value: &str,
) -> streampod::client::ClientBuilder {
    Client::builder(&server.http_url())
        .config(streampod::client::ClientConfig::default().encoding(wire))
        .auth_cookie(COOKIE, value)
}

/// The user the signed-in endpoint sees.
async fn who_am_i(client: &Client) -> Result<String, Error> {
    client
        .call(SIGNED_IN, "whoAmI", NoArgs {}, Inputs::new())
        .await
}

wire_test!(async fn a_call_in_cookie_mode_is_authenticated_by_the_handshake_cookie(wire) {
    let server = cookie_server();
    let cookie = format!("theme=dark; {COOKIE}=user:7:c1:");
    let headers = [("Cookie", cookie.as_str()), ("Origin", ORIGIN)];
    assert_eq!(
        open_result(&server, &headers, None, Some("cookie")).await,
        "success"
    );
    let client = cookie_client(&server, wire, "user:7:c1:").build().unwrap();
    assert_eq!(who_am_i(&client).await.unwrap(), "7");
});

#[tokio::test]
async fn without_cookie_mode_the_cookie_is_not_used() {
    let server = cookie_server();
    let cookie = format!("{COOKIE}=user:7:c1:");
    let headers = [("Cookie", cookie.as_str())];
    assert_eq!(
        open_result(&server, &headers, None, None).await,
        "authenticationFailed"
    );
    assert_eq!(
        open_result(&server, &headers, None, Some("header")).await,
        "authenticationFailed"
    );
}

wire_test!(async fn an_auth_value_wins_over_the_cookie(wire) {
    let server = cookie_server();
    let cookie = format!("{COOKIE}=user:7:c1:");
    let headers = [("Cookie", cookie.as_str())];
    // A malformed `auth` fails even though the cookie is good.
    assert_eq!(
        open_result(&server, &headers, Some("Bearer two tokens"), Some("cookie")).await,
        "authenticationFailed"
    );
    let client = cookie_client(&server, wire, "user:7:c1:")
        .auth_key(StaticAuthKey(bearer("8", "t", &[])))
        .build()
        .unwrap();
    assert_eq!(who_am_i(&client).await.unwrap(), "8");
});

wire_test!(async fn cookie_mode_without_a_valid_cookie_is_unauthenticated(wire) {
    let server = cookie_server();
    assert_eq!(
        open_result(&server, &[], None, Some("cookie")).await,
        "authenticationFailed"
    );
    let other = [("Cookie", "session=user:7:c1:")];
    assert_eq!(
        open_result(&server, &other, None, Some("cookie")).await,
        "authenticationFailed"
    );
    let client = cookie_client(&server, wire, "not-a-user").build().unwrap();
    let err = who_am_i(&client).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::OpenFailed {
                response: OpenResult::AuthenticationFailed,
                ..
            }
        ),
        "{err:?}"
    );
});

#[tokio::test]
async fn a_server_without_an_auth_cookie_ignores_cookie_mode() {
    let server = TestServer::start();
    let cookie = format!("{COOKIE}=user:7:c1:");
    let headers = [("Cookie", cookie.as_str())];
    assert_eq!(
        open_result(&server, &headers, None, Some("cookie")).await,
        "authenticationFailed"
    );
}

#[tokio::test]
async fn a_handshake_from_an_unlisted_origin_gets_no_call_at_all() {
    let server = cookie_server();
    let request = {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = server.url().into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("Cookie", format!("{COOKIE}=user:7:c1:").parse().unwrap());
        headers.insert("Origin", "https://evil.example.com".parse().unwrap());
        request
    };
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn an_auth_cookie_needs_allowed_origins() {
    let err = server_builder().auth_cookie(COOKIE).build().err();
    assert!(
        matches!(
            err,
            Some(ConfigError::Invalid {
                setting: "auth_cookie",
                ..
            })
        ),
        "{err:?}"
    );
    let config = streampod::Config::default().auth_cookie(Some(COOKIE.into()));
    assert!(server_builder().config(config).build().is_err());
}

wire_test!(async fn revocation_closes_a_call_opened_with_the_cookie(wire) {
    let server = cookie_server();
    let client = cookie_client(&server, wire, "user:7:c1:").build().unwrap();
    let (tx, rx) = futures::channel::mpsc::unbounded::<i64>();
    let mut echo = client.stream::<i64>(
        SIGNED_IN,
        "intEchoStream",
        NoArgs {},
        Inputs::new().values("stream", rx),
    );
    tx.unbounded_send(1).unwrap();
    assert_eq!(echo.next().await.unwrap().unwrap(), 1);
    server
        .server
        .revoke_authentication("7", Revoked::User)
        .await
        .unwrap();
    let end = tokio::time::timeout(PATIENCE, echo.next())
        .await
        .expect("the call to end");
    assert_eq!(end, Some(Err(revoked_on(wire))));
});

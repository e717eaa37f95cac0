//! Random revocations over a random set of calls: calls of two users with two auth ids each,
//! on an endpoint that requires the `admin` scope, one that requires login, and a public
//! one, on separate clients; then revocations of users, auth ids and scopes (some of users
//! or ids that have no call). Exactly the calls the rules of docs/PROTOCOL.md §4.6 name are closed,
//! with "closed with error"; every other call still echoes.

use crate::support::conformance::bearer;
use crate::support::*;
use futures::channel::mpsc;
use futures::StreamExt;
use proptest::prelude::*;
use streampod::client::{CallStream, Client, Error, Inputs, StaticAuthKey};
use streampod::{NoArgs, Revoked};

const ENDPOINTS: [&str; 3] = [
    "authenticatedMethodStreaming",
    "signedInMethodStreaming",
    ENDPOINT,
];
const USERS: [&str; 3] = ["1", "2", "3"];
const AUTH_IDS: [&str; 3] = ["a", "b", "c"];

#[derive(Debug, Clone)]
struct CallSpec {
    user: usize,
    auth_id: usize,
    endpoint: usize,
}

#[derive(Debug, Clone)]
enum Revocation {
    User(usize),
    AuthId(usize, usize),
    Scope(usize, bool),
}

impl Revocation {
    fn user(&self) -> &'static str {
        match *self {
            Revocation::User(u) | Revocation::AuthId(u, _) | Revocation::Scope(u, _) => USERS[u],
        }
    }

    fn revoked(&self) -> Revoked {
        match *self {
            Revocation::User(_) => Revoked::User,
            Revocation::AuthId(_, a) => Revoked::AuthId(AUTH_IDS[a].into()),
            Revocation::Scope(_, admin) => {
                Revoked::Scopes(vec![if admin { "admin" } else { "other" }.into()])
            }
        }
    }

    /// The rules: only the user's calls, only on endpoints that require something; an auth
    /// id closes the calls opened with it; a scope, the calls of endpoints that require it.
    fn closes(&self, call: &CallSpec) -> bool {
        let endpoint = ENDPOINTS[call.endpoint];
        if self.user() != USERS[call.user] || endpoint == ENDPOINT {
            return false;
        }
        match *self {
            Revocation::User(_) => true,
            Revocation::AuthId(_, a) => a == call.auth_id,
            Revocation::Scope(_, admin) => admin && endpoint == "authenticatedMethodStreaming",
        }
    }
}

fn call_spec() -> impl Strategy<Value = CallSpec> {
    (0usize..2, 0usize..2, 0usize..3).prop_map(|(user, auth_id, endpoint)| CallSpec {
        user,
        auth_id,
        endpoint,
    })
}

fn revocation() -> impl Strategy<Value = Revocation> {
    prop_oneof![
        (0usize..3).prop_map(Revocation::User),
        (0usize..3, 0usize..3).prop_map(|(u, a)| Revocation::AuthId(u, a)),
        (0usize..3, any::<bool>()).prop_map(|(u, admin)| Revocation::Scope(u, admin)),
    ]
}

async fn run(calls: Vec<CallSpec>, revocations: Vec<Revocation>) {
    let server = TestServer::start();
    let mut open = Vec::new();
    for spec in &calls {
        let key = bearer(USERS[spec.user], AUTH_IDS[spec.auth_id], &["admin"]);
        let client = Client::builder(&server.http_url())
            .auth_key(StaticAuthKey(key))
            .build()
            .unwrap();
        let (tx, rx) = mpsc::unbounded::<i64>();
        let mut call: CallStream<i64> = client.stream(
            ENDPOINTS[spec.endpoint],
            "intEchoStream",
            NoArgs {},
            Inputs::new().values("stream", rx),
        );
        tx.unbounded_send(1).unwrap();
        assert_eq!(call.next().await, Some(Ok(1)), "{spec:?} opens");
        open.push((client, tx, call));
    }
    for r in &revocations {
        server
            .server
            .revoke_authentication(r.user(), r.revoked())
            .await
            .unwrap();
    }
    for (spec, (_client, tx, call)) in calls.iter().zip(open.iter_mut()) {
        let closed = revocations.iter().any(|r| r.closes(spec));
        if closed {
            let got = tokio::time::timeout(PATIENCE, call.next())
                .await
                .unwrap_or_else(|_| panic!("{spec:?} was not closed by {revocations:?}"));
            assert_eq!(got, Some(Err(Error::Revoked)), "{spec:?}");
        } else {
            tx.unbounded_send(42).unwrap();
            let got = tokio::time::timeout(PATIENCE, call.next()).await.unwrap();
            assert_eq!(got, Some(Ok(42)), "{spec:?} after {revocations:?}");
        }
    }
    let alive = calls
        .iter()
        .filter(|c| !revocations.iter().any(|r| r.closes(c)))
        .count();
    server
        .wait_for_stats("exactly the closed calls gone", |s| s.open_calls == alive)
        .await;
}

proptest! {
    // 32 cases of up to 6 calls and 4 revocations, about a second.
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, max_shrink_time: SHRINK_MS, ..ProptestConfig::default() })]

    #[test]
    fn revocations_close_exactly_the_calls_they_name(
        calls in proptest::collection::vec(call_spec(), 1..7),
        revocations in proptest::collection::vec(revocation(), 1..5),
    ) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(calls, revocations));
    }
}

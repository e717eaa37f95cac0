//! The conformance server's endpoints and settings, shared by
//! `examples/conformance_server.rs` and the tests: `methodStreaming`, the authenticated
//! endpoints, the revocation controls, and a fixture authentication handler.
#![allow(dead_code)]

use super::method_streaming::{self, ExceptionWithData, SimpleData};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use streampod::bus::{HistoryRule, Scope};
use streampod::legacy::{Legacy, LegacyContext, LegacyEndpoint, LegacySession};
use streampod::{
    AuthInfo, Config, Dynamic, Endpoint, InputStream, NoArgs, Revoked, ServerBuilder, Session,
    StreamError,
};

/// **Test fixture, not a real authentication scheme.** Accepts an unwrapped key of the
/// form `user:<userId>:<authId>:<scope,scope,...>` (scopes may be empty), as sent in
/// `auth: "Bearer user:1:token-1:admin"`, and nothing else.
pub async fn fixture_authentication(key: String) -> Option<AuthInfo> {
    let mut parts = key.strip_prefix("user:")?.splitn(3, ':');
    let (user, auth_id, scopes) = (parts.next()?, parts.next()?, parts.next()?);
    if user.is_empty() || auth_id.is_empty() {
        return None;
    }
    Some(AuthInfo::new(user, scopes.split(',').filter(|s| !s.is_empty())).with_auth_id(auth_id))
}

/// The `auth` value the fixture handler accepts.
pub fn bearer(user: &str, auth_id: &str, scopes: &[&str]) -> String {
    format!("Bearer user:{user}:{auth_id}:{}", scopes.join(","))
}

fn echo(_: Session, _: NoArgs, (stream,): (InputStream<i64>,)) -> InputStream<i64> {
    stream
}

/// Requires login and the `admin` scope.
pub fn authenticated_method_streaming() -> Endpoint {
    Endpoint::new("authenticatedMethodStreaming")
        .require_scopes(["admin"])
        .stream("simpleStream", [], |_, _: NoArgs, ()| {
            futures::stream::iter((0..10i64).map(Ok))
        })
        .stream("intEchoStream", ["stream"], echo)
}

/// Requires login only.
pub fn signed_in_method_streaming() -> Endpoint {
    Endpoint::new("signedInMethodStreaming")
        .require_login()
        .stream("intEchoStream", ["stream"], echo)
        .future("whoAmI", [], |session: Session, _: NoArgs, ()| async move {
            Ok(session
                .auth()
                .map(|a| a.user_id.clone())
                .unwrap_or_default())
        })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevokeUser {
    user_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevokeAuthId {
    user_id: String,
    auth_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevokeScopes {
    user_id: String,
    scopes: Vec<String>,
}

/// Public, **test fixture only**: lets any caller revoke any user's authentication.
pub fn auth_control() -> Endpoint {
    Endpoint::new("authControl")
        .future(
            "revokeUser",
            [],
            |s: Session, a: RevokeUser, ()| async move {
                s.revoke_authentication(&a.user_id, Revoked::User)
                    .await
                    .map_err(StreamError::failed)?;
                Ok(true)
            },
        )
        .future(
            "revokeAuthId",
            [],
            |s: Session, a: RevokeAuthId, ()| async move {
                s.revoke_authentication(&a.user_id, Revoked::AuthId(a.auth_id))
                    .await
                    .map_err(StreamError::failed)?;
                Ok(true)
            },
        )
        .future(
            "revokeScopes",
            [],
            |s: Session, a: RevokeScopes, ()| async move {
                s.revoke_authentication(&a.user_id, Revoked::Scopes(a.scopes))
                    .await
                    .map_err(StreamError::failed)?;
                Ok(true)
            },
        )
}

/// The legacy `streaming` endpoint: echoes every `SimpleData`, in order, and keeps a user
/// object per session counting the messages the session sent it; to the `String` `"count"`
/// it answers `SimpleData { num: <messages the session sent before this one> }`.
#[derive(Default)]
pub struct LegacyStreaming {
    /// Sessions that hold a user object now, read by `methodStreaming.legacyUserObjects`.
    pub user_objects: Arc<AtomicUsize>,
}

impl LegacyEndpoint for LegacyStreaming {
    type UserObject = i64;

    fn stream_closed(&mut self, ctx: &mut LegacyContext<'_, Self>, session: &LegacySession) {
        if ctx.user_object(session).is_some() {
            self.user_objects.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn handle_stream_message(
        &mut self,
        ctx: &mut LegacyContext<'_, Self>,
        session: &LegacySession,
        message: Dynamic,
    ) -> Result<(), StreamError> {
        let sent_before = match ctx.user_object(session).copied() {
            Some(sent) => sent,
            None => {
                self.user_objects.fetch_add(1, Ordering::Relaxed);
                0
            }
        };
        ctx.set_user_object(session, sent_before + 1);
        let reply = match message.decode::<String>() {
            Ok(text) if text == "count" => SimpleData { num: sent_before },
            _ => message.decode::<SimpleData>()?,
        };
        ctx.send_stream_message(session, &reply)
            .map_err(StreamError::failed)
    }
}

/// A legacy endpoint that sends every message it receives to every open session of it, the
/// sender included, as a legacy chat room does.
#[derive(Default)]
pub struct LegacyBroadcast;

impl LegacyEndpoint for LegacyBroadcast {
    type UserObject = ();

    fn handle_stream_message(
        &mut self,
        ctx: &mut LegacyContext<'_, Self>,
        _: &LegacySession,
        message: Dynamic,
    ) -> Result<(), StreamError> {
        for session in ctx.sessions() {
            ctx.send_stream_message(&session, &message)
                .map_err(StreamError::failed)?;
        }
        Ok(())
    }
}

/// A legacy endpoint that echoes `SimpleData`.
#[derive(Default)]
pub struct LegacyEcho;

impl LegacyEndpoint for LegacyEcho {
    type UserObject = ();

    fn handle_stream_message(
        &mut self,
        ctx: &mut LegacyContext<'_, Self>,
        session: &LegacySession,
        message: Dynamic,
    ) -> Result<(), StreamError> {
        let data = message.decode::<SimpleData>()?;
        ctx.send_stream_message(session, &data)
            .map_err(StreamError::failed)
    }
}

#[derive(Deserialize)]
struct Channel {
    channel: String,
}

#[derive(Deserialize)]
struct BusPost {
    channel: String,
    text: String,
    scope: String,
}

/// `subscribeSince`'s arguments: a channel and, to recover, the position last seen.
#[derive(Deserialize)]
struct Since {
    channel: String,
    epoch: Option<String>,
    offset: Option<u64>,
}

/// Where a `subscribeSince` stream starts: its first value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusRecovery {
    pub recovered: bool,
    pub epoch: String,
    pub offset: i64,
}
streampod::model!(BusRecovery);

/// A message of a `subscribeSince` stream, with its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusEvent {
    pub epoch: String,
    pub offset: i64,
    pub text: String,
}
streampod::model!(BusEvent);

/// Channels that keep history on the conformance server: those whose names start with `h:`
/// keep their last 1,000 messages.
pub fn with_history(config: Config) -> Config {
    config.bus_history(vec![HistoryRule::new("h:", 1000)])
}

/// The message bus, reachable by clients: `subscribe(channel)` streams the `String`s posted
/// on a channel; `post(channel, text, scope)` posts one (`local`, `global` or `auto`);
/// `subscribeSince(channel, epoch?, offset?)` streams a `BusRecovery` (where it starts),
/// then `BusEvent`s (each message with its position), recovering what was posted after
/// `offset` when the channel kept it.
pub fn bus() -> Endpoint {
    Endpoint::new("bus")
        .stream("subscribeSince", [], |s: Session, a: Since, ()| {
            futures::stream::once(async move {
                let since = a.epoch.as_deref().zip(a.offset);
                let messages = match s
                    .messages()
                    .create_stream_since::<String>(&a.channel, since)
                    .await
                {
                    Ok(messages) => messages,
                    Err(e) => {
                        let failed = Err(StreamError::failed(e));
                        return futures::stream::once(async move { failed }).boxed();
                    }
                };
                let recovery = messages.recovery().clone();
                let epoch = recovery.epoch.clone();
                let first = Dynamic::new(&BusRecovery {
                    recovered: recovery.recovered,
                    epoch: recovery.epoch,
                    offset: recovery.offset as i64,
                })
                .map_err(StreamError::failed);
                let events = messages.map(move |item| {
                    let item = item.map_err(StreamError::failed)?;
                    Dynamic::new(&BusEvent {
                        epoch: epoch.clone(),
                        offset: item.offset as i64,
                        text: item.value,
                    })
                    .map_err(StreamError::failed)
                });
                futures::stream::once(async move { first })
                    .chain(events)
                    .boxed()
            })
            .flatten()
        })
        .stream("subscribe", [], |s: Session, a: Channel, ()| {
            s.messages()
                .create_stream::<String>(&a.channel)
                .map(|item| item.map_err(StreamError::failed))
        })
        .stream("subscribeWithListener", [], |s: Session, a: Channel, ()| {
            // The same as `subscribe`, through a session listener instead of a stream.
            let (tx, rx) = futures::channel::mpsc::unbounded();
            s.messages().add_listener(&a.channel, move |message| {
                let _ = tx.unbounded_send(message.decode::<String>().map_err(StreamError::from));
            });
            rx
        })
        .future("post", [], |s: Session, a: BusPost, ()| async move {
            let scope = match a.scope.as_str() {
                "local" => Scope::Local,
                "global" => Scope::Global,
                "auto" => Scope::Auto,
                other => return Err(StreamError::failed(format!("unknown scope {other}"))),
            };
            s.messages()
                .post_message(&a.channel, &a.text, scope)
                .await
                .map_err(StreamError::failed)?;
            Ok(true)
        })
}

/// Every endpoint and model of the conformance server, with the fixture handler.
pub fn server_builder() -> ServerBuilder {
    let user_objects = Arc::new(AtomicUsize::new(0));
    streampod::Server::builder()
        .endpoint(method_streaming::endpoint(user_objects.clone()))
        .endpoint(authenticated_method_streaming())
        .endpoint(signed_in_method_streaming())
        .endpoint(auth_control())
        .endpoint(bus())
        .legacy_endpoint(Legacy::new("streaming", LegacyStreaming { user_objects }))
        .legacy_endpoint(Legacy::new("broadcast", LegacyBroadcast))
        .legacy_endpoint(Legacy::new("signInRequired", LegacyEcho).require_login())
        .legacy_endpoint(Legacy::new("adminScopeRequired", LegacyEcho).require_scopes(["admin"]))
        .model::<SimpleData>()
        .model::<ExceptionWithData>()
        .model::<BusRecovery>()
        .model::<BusEvent>()
        .config(with_history(Config::default()))
        .authentication_handler(fixture_authentication)
}

//! The WebSocket edge shared by both kinds of connection (method streams and legacy
//! endpoints): reassembling fragmented messages within the size limit, the keepalive, and
//! closing with a code. This and the connection actors are the only code that knows
//! `actix-web-actors`.

use actix::prelude::*;
use actix_web_actors::ws;
use std::time::Duration;

/// What one WebSocket event means to a connection.
pub(crate) enum Incoming {
    /// A whole binary message.
    Binary(Vec<u8>),
    /// A whole text message.
    Text,
    /// The peer closed.
    Closed(Option<ws::CloseReason>),
    /// The peer answered a ping.
    Pong,
    /// Nothing to act on (a ping was answered, a fragment stored).
    Nothing,
    /// The connection must close with this code and reason.
    Fail(ws::CloseCode, &'static str),
}

/// Turns WebSocket events into whole messages, refusing to grow past `max` bytes.
pub(crate) struct FrameAssembler {
    fragment: Option<(bool, Vec<u8>)>,
    max: usize,
}

impl FrameAssembler {
    pub(crate) fn new(max: usize) -> Self {
        FrameAssembler {
            fragment: None,
            max,
        }
    }

    /// Takes one event; answers pings itself.
    pub(crate) fn push<A>(
        &mut self,
        event: Result<ws::Message, ws::ProtocolError>,
        ctx: &mut ws::WebsocketContext<A>,
    ) -> Incoming
    where
        A: Actor<Context = ws::WebsocketContext<A>>,
    {
        match event {
            Ok(ws::Message::Binary(bytes)) => Incoming::Binary(bytes.to_vec()),
            Ok(ws::Message::Text(_)) => Incoming::Text,
            Ok(ws::Message::Continuation(item)) => self.fragment(item),
            Ok(ws::Message::Ping(p)) => {
                ctx.pong(&p);
                Incoming::Nothing
            }
            Ok(ws::Message::Pong(_)) => Incoming::Pong,
            Ok(ws::Message::Nop) => Incoming::Nothing,
            Ok(ws::Message::Close(reason)) => Incoming::Closed(reason),
            Err(ws::ProtocolError::Overflow) => {
                Incoming::Fail(ws::CloseCode::Size, "message too large")
            }
            Err(e) => {
                log::debug!("websocket protocol error: {e}");
                Incoming::Fail(ws::CloseCode::Protocol, "websocket protocol error")
            }
        }
    }

    fn fragment(&mut self, item: actix_http::ws::Item) -> Incoming {
        use actix_http::ws::Item;
        let (last, bytes) = match item {
            Item::FirstText(b) => {
                self.fragment = Some((true, Vec::new()));
                (false, b)
            }
            Item::FirstBinary(b) => {
                self.fragment = Some((false, Vec::new()));
                (false, b)
            }
            Item::Continue(b) => (false, b),
            Item::Last(b) => (true, b),
        };
        let Some((is_text, buf)) = self.fragment.as_mut() else {
            return Incoming::Fail(
                ws::CloseCode::Protocol,
                "continuation without a first frame",
            );
        };
        if buf.len() + bytes.len() > self.max {
            return Incoming::Fail(ws::CloseCode::Size, "message too large");
        }
        buf.extend_from_slice(&bytes);
        if !last {
            return Incoming::Nothing;
        }
        let is_text = *is_text;
        let buf = std::mem::take(buf);
        self.fragment = None;
        if is_text {
            Incoming::Text
        } else {
            Incoming::Binary(buf)
        }
    }
}

/// Closes the connection with `code`, after whatever was already written.
pub(crate) fn close<A>(code: ws::CloseCode, reason: &str, ctx: &mut ws::WebsocketContext<A>)
where
    A: Actor<Context = ws::WebsocketContext<A>>,
{
    ctx.close(Some(ws::CloseReason {
        code,
        description: Some(reason.to_string()),
    }));
    ctx.stop();
}

/// An actor with a keepalive.
pub(crate) trait HasKeepalive: Actor<Context = ws::WebsocketContext<Self>> {
    /// The keepalive's state.
    fn keepalive(&mut self) -> &mut Keepalive;
}

/// The server's ping loop: a ping every interval; a peer that has not answered the
/// previous one by the next tick is gone, and is closed with 1001 (dart:io's rule, which
/// Serverpod relies on).
#[derive(Default)]
pub(crate) struct Keepalive {
    awaiting_pong: bool,
}

impl Keepalive {
    pub(crate) fn start<A: HasKeepalive>(interval: Duration, ctx: &mut ws::WebsocketContext<A>) {
        ctx.run_interval(interval, |act, ctx| {
            let keepalive = act.keepalive();
            if keepalive.awaiting_pong {
                log::debug!("no pong within the ping interval; closing");
                return close(ws::CloseCode::Away, "ping timeout", ctx);
            }
            keepalive.awaiting_pong = true;
            ctx.ping(b"");
        });
    }

    /// The peer answered.
    pub(crate) fn pong(&mut self) {
        self.awaiting_pong = false;
    }
}

/// What every connection does when it starts: count itself, join the server's live
/// connections (for shutdown), and start its keepalive.
pub(crate) fn joined<A>(
    server: &crate::server::ServerInner,
    id: u64,
    ctx: &mut ws::WebsocketContext<A>,
) where
    A: HasKeepalive + Handler<crate::server::GoingAway>,
{
    server.counters.connection_opened();
    server.connections.joined(
        id,
        crate::server::LiveConnection {
            close: ctx.address().recipient(),
            supervisor: None,
        },
    );
    Keepalive::start(server.config.websocket_ping_interval, ctx);
}

/// What every connection does when it stops: leave the live connections, and the count.
pub(crate) fn left(server: &crate::server::ServerInner, id: u64) {
    server.connections.left(id);
    server.counters.connection_closed();
}

//! A small chat over the legacy streaming-endpoint API.
//!
//! ```text
//! cargo run --example legacy_chat
//! ```
//! Three simulated users connect to `/websocket`, join with a nickname (kept as each
//! session's user object), and post a line; every message fans out to every session.

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::net::TcpListener;
use streampod::client::LegacyClient;
use streampod::legacy::{Legacy, LegacyContext, LegacyEndpoint, LegacySession};
use streampod::{model, Dynamic, Server, StreamError};

/// Client → server: "call me this".
#[derive(Debug, Serialize, Deserialize)]
struct Join {
    nickname: String,
}
model!(Join);

/// Client → server: a line to post.
#[derive(Debug, Serialize, Deserialize)]
struct Post {
    text: String,
}
model!(Post);

/// Server → every client: who said what.
#[derive(Debug, Serialize, Deserialize)]
struct ChatLine {
    from: String,
    text: String,
}
model!(ChatLine);

/// The chat room. Each session's user object is its nickname.
struct Chat;

impl Chat {
    fn broadcast(ctx: &mut LegacyContext<'_, Self>, line: &ChatLine) -> Result<(), StreamError> {
        for session in ctx.sessions() {
            ctx.send_stream_message(&session, line)
                .map_err(StreamError::failed)?;
        }
        Ok(())
    }
}

impl LegacyEndpoint for Chat {
    type UserObject = String;

    fn handle_stream_message(
        &mut self,
        ctx: &mut LegacyContext<'_, Self>,
        session: &LegacySession,
        message: Dynamic,
    ) -> Result<(), StreamError> {
        if let Ok(join) = message.decode::<Join>() {
            ctx.set_user_object(session, join.nickname.clone());
            let line = ChatLine {
                from: "server".into(),
                text: format!("{} joined", join.nickname),
            };
            return Self::broadcast(ctx, &line);
        }
        let post = message.decode::<Post>()?;
        let from = ctx
            .user_object(session)
            .cloned()
            .unwrap_or_else(|| "anonymous".into());
        Self::broadcast(
            ctx,
            &ChatLine {
                from,
                text: post.text,
            },
        )
    }

    fn stream_closed(&mut self, _ctx: &mut LegacyContext<'_, Self>, _session: &LegacySession) {
        // The nickname (user object) is dropped by the server right after this.
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    let server = Server::builder()
        .legacy_endpoint(Legacy::new("chat", Chat))
        .model::<Join>()
        .model::<Post>()
        .model::<ChatLine>()
        .build()?;
    let running = server.spawn(TcpListener::bind("127.0.0.1:0")?)?;
    let url = format!("http://{}", running.addr());

    let names = ["alice", "bob", "carol"];
    let mut users = Vec::new();
    for name in names {
        let client = LegacyClient::new(&url, None)?;
        client.open_streaming_connection().await?;
        let chat = client.endpoint("chat");
        let inbox = chat.stream();
        users.push((name, client, chat, inbox));
    }
    // Everyone joins before anyone talks, so everyone sees every line.
    for (name, _, chat, inbox) in users.iter_mut() {
        chat.send(&Join {
            nickname: name.to_string(),
        })?;
        // Our own join notice comes back once we are in the room.
        while let Some(line) = inbox.next().await {
            if line?.decode::<ChatLine>()?.text == format!("{name} joined") {
                break;
            }
        }
    }
    // Each line reaches every user before the next is posted, so transcripts read alike.
    let mut transcripts = vec![Vec::new(); users.len()];
    for speaker in 0..users.len() {
        let text = format!("hello from {}", users[speaker].0);
        users[speaker].2.send(&Post { text: text.clone() })?;
        for (listener, (_, _, _, inbox)) in users.iter_mut().enumerate() {
            while let Some(message) = inbox.next().await {
                let line = message?.decode::<ChatLine>()?;
                if line.from == "server" {
                    continue;
                }
                transcripts[listener].push(format!("{}: {}", line.from, line.text));
                if line.text == text {
                    break;
                }
            }
        }
    }
    for ((name, client, _, _), transcript) in users.iter().zip(&transcripts) {
        for line in transcript {
            println!("[{name} sees] {line}");
        }
        client.close_streaming_connection().await;
    }
    running.stop().await;
    Ok(())
}

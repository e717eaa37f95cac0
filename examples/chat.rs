//! A chat room on the message bus.
//!
//! ```text
//! cargo run --example chat
//! ```
//! runs a server on the in-process bus and three simulated users, and prints the
//! conversation. As one node of a cluster:
//! ```text
//! cargo run --example chat --features redis -- --bind 127.0.0.1:8081 --redis redis://127.0.0.1:6379/
//! cargo run --example chat --features redis -- --bind 127.0.0.1:8082 --redis redis://127.0.0.1:6379/
//! ```
//! each node serves the `chat` endpoint and runs one user named after its address, who
//! posts a line every two seconds and prints everything said in the room, on any node.

use futures::{stream, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::net::TcpListener;
use std::time::Duration;
use streampod::bus::Scope;
use streampod::client::Client;
use streampod::{model, Server, Session, StreamError};

/// One line in a room.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChatMessage {
    from: String,
    text: String,
}
model!(ChatMessage);

/// A chat room, declared once for the server and the client.
#[streampod::endpoint(name = "chat")]
trait Chat {
    /// Everything said in `room` from now on, starting with a welcome once the
    /// subscription is in place.
    fn join(
        &self,
        session: Session,
        room: String,
        name: String,
    ) -> impl Stream<Item = Result<ChatMessage, StreamError>> + Send + 'static;

    /// Says `text` in `room`, on every node.
    async fn post(
        &self,
        session: Session,
        room: String,
        from: String,
        text: String,
    ) -> Result<bool, StreamError>;
}

/// The rooms live on the bus: the endpoint holds no state of its own.
struct Rooms;

fn channel(room: &str) -> String {
    format!("chat-room-{room}")
}

impl Chat for Rooms {
    fn join(
        &self,
        session: Session,
        room: String,
        name: String,
    ) -> impl Stream<Item = Result<ChatMessage, StreamError>> + Send + 'static {
        let lines = session
            .messages()
            .create_stream::<ChatMessage>(&channel(&room));
        let welcome = ChatMessage {
            from: "server".into(),
            text: format!("welcome to {room}, {name}"),
        };
        stream::once(async move { Ok(welcome) })
            .chain(lines.map(|m| m.map_err(StreamError::failed)))
    }

    async fn post(
        &self,
        session: Session,
        room: String,
        from: String,
        text: String,
    ) -> Result<bool, StreamError> {
        let message = ChatMessage { from, text };
        session
            .messages()
            .post_message(&channel(&room), &message, Scope::Auto)
            .await
            .map_err(StreamError::failed)?;
        Ok(true)
    }
}

async fn say(chat: &ChatClient, from: &str, text: &str) -> Result<(), Box<dyn std::error::Error>> {
    chat.post("lobby".into(), from.into(), text.into()).await?;
    Ok(())
}

/// Three users on one in-process server.
async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder().endpoint(Rooms.into_endpoint()).build()?;
    let running = server.spawn(TcpListener::bind("127.0.0.1:0")?)?;
    let client = Client::new(&format!("http://{}", running.addr()))?;
    let chat = ChatClient::new(&client);
    let names = ["alice", "bob", "carol"];
    let mut rooms = Vec::new();
    for name in names {
        let mut room = chat.join("lobby".into(), name.into());
        let welcome = room.next().await.ok_or("no welcome")??;
        println!("[{name}] {}: {}", welcome.from, welcome.text);
        rooms.push((name, room));
    }
    for name in names {
        say(&chat, name, &format!("hi, I'm {name}")).await?;
    }
    for (name, room) in rooms.iter_mut() {
        for _ in 0..names.len() {
            let line = room.next().await.ok_or("room closed")??;
            println!("[{name}] {}: {}", line.from, line.text);
        }
    }
    drop(rooms);
    running.stop().await;
    Ok(())
}

/// One node of a cluster, with one user, until killed.
async fn node(bind: String, redis: String) -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .endpoint(Rooms.into_endpoint())
        .redis_url(redis)
        .build()?;
    let running = server.spawn(TcpListener::bind(&bind)?)?;
    println!("listening on {}", running.addr());
    let name = format!("user@{}", running.addr());
    let client = Client::new(&format!("http://{}", running.addr()))?;
    let chat = ChatClient::new(&client);
    let mut room = chat.join("lobby".into(), name.clone());
    let period = Duration::from_secs(2);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut count = 0;
    loop {
        tokio::select! {
            line = room.next() => match line {
                Some(Ok(line)) => println!("{}: {}", line.from, line.text),
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            _ = ticker.tick() => {
                count += 1;
                if let Err(e) = say(&chat, &name, &format!("message {count}")).await {
                    println!("(could not post: {e})");
                }
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let (mut bind, mut redis) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => bind = args.next(),
            "--redis" => redis = args.next(),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    match (bind, redis) {
        (None, None) => demo().await,
        (Some(bind), Some(redis)) => node(bind, redis).await,
        _ => Err("a cluster node needs both --bind ADDR and --redis URL".into()),
    }
}

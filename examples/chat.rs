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

use futures::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::net::TcpListener;
use std::time::Duration;
use streampod::bus::Scope;
use streampod::client::{Client, Inputs};
use streampod::{model, Endpoint, Server, Session, StreamError};

/// One line in a room.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChatMessage {
    from: String,
    text: String,
}
model!(ChatMessage);

#[derive(Serialize, Deserialize)]
struct Join {
    room: String,
    name: String,
}

#[derive(Serialize, Deserialize)]
struct Post {
    room: String,
    from: String,
    text: String,
}

fn channel(room: &str) -> String {
    format!("chat-room-{room}")
}

/// `join(room, name)` streams the room, starting with a welcome once the subscription is
/// in place; `post(room, from, text)` says something in it, on every node.
fn chat_endpoint() -> Endpoint {
    Endpoint::new("chat")
        .stream("join", [], |session: Session, join: Join, ()| {
            let room = session
                .messages()
                .create_stream::<ChatMessage>(&channel(&join.room));
            let welcome = ChatMessage {
                from: "server".into(),
                text: format!("welcome to {}, {}", join.room, join.name),
            };
            stream::once(async move { Ok(welcome) })
                .chain(room.map(|m| m.map_err(StreamError::failed)))
        })
        .future("post", [], |session: Session, post: Post, ()| async move {
            let message = ChatMessage {
                from: post.from,
                text: post.text,
            };
            session
                .messages()
                .post_message(&channel(&post.room), &message, Scope::Auto)
                .await
                .map_err(StreamError::failed)?;
            Ok(true)
        })
}

async fn say(client: &Client, from: &str, text: &str) -> Result<(), Box<dyn std::error::Error>> {
    let post = Post {
        room: "lobby".into(),
        from: from.into(),
        text: text.into(),
    };
    client
        .call::<bool>("chat", "post", post, Inputs::new())
        .await?;
    Ok(())
}

/// Three users on one in-process server.
async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder().endpoint(chat_endpoint()).build()?;
    let running = server.spawn(TcpListener::bind("127.0.0.1:0")?)?;
    let client = Client::new(&format!("http://{}", running.addr()))?;
    let names = ["alice", "bob", "carol"];
    let mut rooms = Vec::new();
    for name in names {
        let join = Join {
            room: "lobby".into(),
            name: name.into(),
        };
        let mut room = client.stream::<ChatMessage>("chat", "join", join, Inputs::new());
        let welcome = room.next().await.ok_or("no welcome")??;
        println!("[{name}] {}: {}", welcome.from, welcome.text);
        rooms.push((name, room));
    }
    for name in names {
        say(&client, name, &format!("hi, I'm {name}")).await?;
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
        .endpoint(chat_endpoint())
        .redis_url(redis)
        .build()?;
    let running = server.spawn(TcpListener::bind(&bind)?)?;
    println!("listening on {}", running.addr());
    let name = format!("user@{}", running.addr());
    let client = Client::new(&format!("http://{}", running.addr()))?;
    let join = Join {
        room: "lobby".into(),
        name: name.clone(),
    };
    let mut room = client.stream::<ChatMessage>("chat", "join", join, Inputs::new());
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
                if let Err(e) = say(&client, &name, &format!("message {count}")).await {
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

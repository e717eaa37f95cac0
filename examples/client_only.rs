//! A client built without the `server` feature, from the same endpoint trait a server
//! implements: the shape of a crate shared by a server and its clients.
//!
//! ```text
//! cargo run --example chat -- --bind 127.0.0.1:8081 --redis redis://127.0.0.1:6379/   # a server
//! cargo run --example client_only --no-default-features --features client -- http://127.0.0.1:8081
//! ```
//! In a build without the server the trait itself is not generated, only `ChatClient`, so
//! the trait names what only it uses by full path (`streampod::Session`, `futures::Stream`):
//! a `use` of them would not resolve, or go unused, here. CI builds this example with the
//! client feature alone.

use futures::StreamExt;
use serde::{Deserialize, Serialize};

/// One line in a room.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatMessage {
    from: String,
    text: String,
}
streampod::model!(ChatMessage);

/// The chat endpoint of `examples/chat.rs`, declared as a shared crate would declare it.
#[streampod::endpoint(name = "chat")]
pub trait Chat {
    /// Everything said in `room` from now on.
    fn join(
        &self,
        session: streampod::Session,
        room: String,
        name: String,
    ) -> impl futures::Stream<Item = Result<ChatMessage, streampod::StreamError>> + Send + 'static;

    /// Says `text` in `room`.
    async fn post(
        &self,
        session: streampod::Session,
        room: String,
        from: String,
        text: String,
    ) -> Result<bool, streampod::StreamError>;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8081".into());
    let client = streampod::client::Client::new(&url)?;
    let chat = ChatClient::new(&client);
    let mut room = chat.join("lobby".into(), "client_only".into());
    chat.post("lobby".into(), "client_only".into(), "hello".into())
        .await?;
    while let Some(line) = room.next().await {
        let line = line?;
        println!("{}: {}", line.from, line.text);
    }
    Ok(())
}

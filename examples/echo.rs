//! The echo demo: a server and a client in one process.
//!
//! ```text
//! cargo run --example echo
//! ```

use futures::channel::mpsc;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::net::TcpListener;
use streampod::client::{Client, Inputs};
use streampod::{model, Dynamic, Endpoint, InputStream, NoArgs, Server, StreamError};

/// A serializable exception, registered like any model.
#[derive(Debug, Serialize, Deserialize)]
struct MyException {
    message: String,
}
model!(MyException);

fn example_endpoint() -> Endpoint {
    Endpoint::new("example")
        // The whole echo method.
        .stream(
            "echoStream",
            ["stream"],
            |_session, _: NoArgs, (stream,): (InputStream<Dynamic>,)| stream,
        )
        // Echoes until the client's stream fails, then fails with an exception of its own.
        .stream(
            "errorStream",
            ["stream"],
            |_session, _: NoArgs, (stream,): (InputStream<Dynamic>,)| {
                stream.map(|item| {
                    item.map_err(|error| {
                        let message = error.exception_as::<MyException>().map(|e| e.message);
                        println!(
                            "Server received error: {}",
                            message.unwrap_or_else(|| error.to_string())
                        );
                        StreamError::exception(MyException {
                            message: "Error from server".into(),
                        })
                    })
                })
            },
        )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    let server = Server::builder()
        .endpoint(example_endpoint())
        .model::<MyException>()
        .build()?;
    let running = server.spawn(TcpListener::bind("127.0.0.1:0")?)?;
    let client = Client::new(&format!("http://{}", running.addr()))?;

    // One dynamic input stream carrying a String and an int.
    let (input, rx) = mpsc::unbounded::<Result<Dynamic, StreamError>>();
    let mut echo = client.stream::<Dynamic>(
        "example",
        "echoStream",
        NoArgs {},
        Inputs::new().stream("stream", rx),
    );
    input.unbounded_send(Ok(Dynamic::new(&"Hello".to_string())?))?;
    input.unbounded_send(Ok(Dynamic::new(&42i64)?))?;
    for _ in 0..2 {
        let message = echo.next().await.ok_or("echo ended early")??;
        println!("Received message: {message}");
    }
    drop(input);
    // Closing the input ends the echo, and the call with it.
    assert!(echo.next().await.is_none());

    // Errors cross in both directions.
    let (input, rx) = mpsc::unbounded::<Result<Dynamic, StreamError>>();
    let mut errors = client.stream::<Dynamic>(
        "example",
        "errorStream",
        NoArgs {},
        Inputs::new().stream("stream", rx),
    );
    input.unbounded_send(Err(StreamError::exception(MyException {
        message: "Error from client".into(),
    })))?;
    match errors.next().await {
        Some(Err(error)) => {
            let message = error.exception::<MyException>().map(|e| e.message);
            println!(
                "Client received error: {}",
                message.unwrap_or_else(|| error.to_string())
            );
        }
        other => return Err(format!("expected an error, got {other:?}").into()),
    }

    running.stop().await;
    Ok(())
}

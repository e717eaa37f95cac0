//! An application that mounts streampod on its own `HttpServer` shuts down on a real
//! SIGTERM at once: its clients hear 1001 (going away) and the process exits, instead of
//! actix-web's 30 s wait for connections that never end by themselves. The canvas example
//! mounts it with `Server::shutdown_on_signal`.

use crate::support::pixorama::{ImageData, ImageUpdate};
use crate::support::{example, serve_example};
use futures::StreamExt;
use std::process::Child;
use std::time::{Duration, Instant};
use streampod::client::{Client, ClientConfig, Error, Inputs};
use streampod::{Dynamic, NoArgs};

/// Kills the example if the test fails before it exits.
struct Reaped(Option<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn sigterm_closes_every_connection_and_exits_at_once() {
    let (child, addr) = serve_example(&mut example("canvas"));
    let pid = child.id();
    let mut child = Reaped(Some(child));
    let client = Client::builder(&format!("http://{addr}"))
        .config(ClientConfig::default().resume(false))
        .model::<ImageData>()
        .model::<ImageUpdate>()
        .build()
        .unwrap();
    let mut board = client.stream::<Dynamic>("pixorama", "imageUpdates", NoArgs {}, Inputs::new());
    let first = tokio::time::timeout(Duration::from_secs(30), board.next()).await;
    assert!(matches!(first, Ok(Some(Ok(_)))), "the board: {first:?}");

    let signalled = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // The subscriber hears the end at once (a second later would be actix-web's wait).
    let end = tokio::time::timeout(Duration::from_secs(5), board.next())
        .await
        .expect("the stream ends within 5 s of SIGTERM");
    assert_eq!(
        end.map(|r| r.map(|_| ())),
        Some(Err(Error::ConnectionClosed))
    );
    let mut exited = child.0.take().unwrap();
    let status = tokio::task::spawn_blocking(move || exited.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "exited {:?} after SIGTERM",
        signalled.elapsed()
    );
}

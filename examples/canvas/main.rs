//! A shared pixel canvas, Pixorama's rules: a 64×64 board, 16 colours, every page sees
//! every click at once.
//!
//! ```text
//! cargo run --example canvas                    # then open http://127.0.0.1:8080/
//! cargo run --example canvas --features redis -- --bind 127.0.0.1:8081 --redis redis://127.0.0.1:6379/
//! ```
//! The page is `static/index.html` with `static/app.js`, on the TypeScript client
//! (`clients/typescript`, bundled into `clients/typescript/browser/streampod.js` by `npm run
//! bundle`: the browser build any page without a bundler can load; it is committed, so no
//! npm step is needed to run this). The board lives in each node; a
//! click is posted on the bus, and every node applies it to its board and sends it to its
//! pages, so a second node with `--redis` shares the board from then on.

use actix_web::{web, App, HttpResponse, HttpServer};
use futures::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streampod::bus::Scope;
use streampod::{model, Dynamic, Endpoint, NoArgs, Server, Session, StreamError};

const WIDTH: usize = 64;
const HEIGHT: usize = 64;
const COLORS: u8 = 16;
/// The bus channel of the board's changes.
const CHANNEL: &str = "pixorama";

/// The whole board: one colour index per pixel, row by row.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageData {
    pixels: Vec<u8>,
    width: i64,
    height: i64,
}
model!(ImageData);

/// One pixel set to one colour.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageUpdate {
    pixel_index: i64,
    color_index: i64,
}
model!(ImageUpdate);

type Board = Arc<Mutex<Vec<u8>>>;

fn snapshot(board: &Board) -> ImageData {
    ImageData {
        pixels: board.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        width: WIDTH as i64,
        height: HEIGHT as i64,
    }
}

/// `imageUpdates()`: the whole board, then every change. `setPixel(pixelIndex,
/// colorIndex)`: a change, for every page on every node.
fn pixorama(board: Board) -> Endpoint {
    Endpoint::new("pixorama")
        .stream(
            "imageUpdates",
            [],
            move |session: Session, _: NoArgs, ()| {
                // Subscribed before the board is read: no change falls between the two (one may
                // come twice, which sets a pixel to the colour it has).
                let changes = session.messages().create_stream::<ImageUpdate>(CHANNEL);
                let first = Dynamic::new(&snapshot(&board)).map_err(StreamError::failed);
                stream::once(async move { first }).chain(changes.map(|change| {
                    change
                        .map_err(StreamError::failed)
                        .and_then(|c| Dynamic::new(&c).map_err(StreamError::failed))
                }))
            },
        )
        .future(
            "setPixel",
            [],
            |session: Session, u: ImageUpdate, ()| async move {
                let on_board = (0..(WIDTH * HEIGHT) as i64).contains(&u.pixel_index);
                if !on_board || !(0..i64::from(COLORS)).contains(&u.color_index) {
                    return Err(StreamError::failed("no such pixel or colour"));
                }
                session
                    .messages()
                    .post_message(CHANNEL, &u, Scope::Auto)
                    .await
                    .map_err(StreamError::failed)?;
                Ok(())
            },
        )
}

const INDEX: &str = include_str!("static/index.html");
const APP: &str = include_str!("static/app.js");
const CLIENT: &str = include_str!("../../clients/typescript/browser/streampod.js");

fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok().content_type(content_type).body(body)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let mut bind = "127.0.0.1:8080".to_string();
    let mut builder = Server::builder();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--bind" => bind = value()?,
            "--redis" => builder = builder.redis_url(value()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let board: Board = Arc::new(Mutex::new(vec![0; WIDTH * HEIGHT]));
    let server = builder.endpoint(pixorama(board.clone())).build()?;
    // Every change, from this node or another, lands on this node's board.
    server.messages().add_listener(CHANNEL, move |message| {
        if let Ok(u) = message.decode::<ImageUpdate>() {
            let mut pixels = board.lock().unwrap_or_else(|e| e.into_inner());
            pixels[u.pixel_index as usize] = u.color_index as u8;
        }
    });
    let listener = TcpListener::bind(&bind)?;
    let addr = listener.local_addr()?;
    actix_web::rt::System::new().block_on(async move {
        let hook = server.on_connect_hook();
        let http = HttpServer::new(move || {
            let server = server.clone();
            App::new()
                .configure(move |c| server.mount(c))
                .route(
                    "/",
                    web::get().to(|| async { asset(INDEX, "text/html; charset=utf-8") }),
                )
                .route(
                    "/app.js",
                    web::get().to(|| async { asset(APP, "text/javascript") }),
                )
                .route(
                    "/streampod.js",
                    web::get().to(|| async { asset(CLIENT, "text/javascript") }),
                )
        })
        .on_connect(hook)
        .client_disconnect_timeout(Duration::ZERO)
        .workers(1)
        .listen(listener)?
        .run();
        println!("listening on {addr}");
        http.await
    })?;
    Ok(())
}

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

#[path = "../support/pixorama.rs"]
mod pixorama;

use actix_web::{web, App, HttpResponse, HttpServer};
use pixorama::{Board, ImageUpdate, CHANNEL, HEIGHT, WIDTH};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streampod::{Config, Server};

const INDEX: &str = include_str!("static/index.html");
const APP: &str = include_str!("static/app.js");
const CLIENT: &str = include_str!("../../clients/typescript/browser/streampod.js");
/// The `pixorama` endpoint's client, generated from its trait (`static/pixorama.ts`,
/// compiled by the TypeScript client's `npm run bundle`).
const ENDPOINT_CLIENT: &str = include_str!("static/pixorama.js");

fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok().content_type(content_type).body(body)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let mut bind = "127.0.0.1:8080".to_string();
    // The board's channel keeps history: a page that reconnects gets what it missed.
    let mut builder =
        Server::builder().config(Config::default().bus_history(vec![pixorama::history()]));
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--bind" => bind = value()?,
            "--redis" => builder = builder.redis_url(value()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let board: Board = Arc::new(Mutex::new(vec![0; WIDTH * HEIGHT]));
    let server = builder
        .endpoint(pixorama::endpoint(board.clone()))
        .build()?;
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
        let app = server.clone();
        let http = HttpServer::new(move || {
            let server = app.clone();
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
                .route(
                    "/pixorama.js",
                    web::get().to(|| async { asset(ENDPOINT_CLIENT, "text/javascript") }),
                )
        })
        .on_connect(hook)
        .client_disconnect_timeout(Duration::ZERO)
        .workers(1)
        // SIGTERM or Ctrl-C: every page is told (1001) at once, then the server stops.
        .disable_signals()
        .listen(listener)?
        .run();
        actix_web::rt::spawn(server.shutdown_on_signal(http.handle(), Duration::from_secs(5)));
        println!("listening on {addr}");
        http.await
    })?;
    Ok(())
}

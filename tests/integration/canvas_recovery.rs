//! The canvas example's endpoint: a page that comes back from its last change gets the
//! changes it missed from the board's history, not the whole board again.

use crate::support::pixorama::{
    self, BoardPosition, ImageData, ImageUpdate, PixelChange, PixoramaClient,
};
use crate::support::*;
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use streampod::client::{CallStream, Client};
use streampod::{Config, Dynamic, Server};

async fn next(stream: &mut CallStream<Dynamic>) -> Dynamic {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("a value")
        .expect("open")
        .expect("not an error")
}

#[tokio::test]
async fn a_page_back_from_its_last_change_gets_only_what_it_missed() {
    let board = Arc::new(Mutex::new(vec![0; pixorama::WIDTH * pixorama::HEIGHT]));
    let builder = Server::builder()
        .config(Config::default().bus_history(vec![pixorama::history()]))
        .endpoint(pixorama::endpoint(board));
    let server = TestServer::from_builder(builder);
    let client = Client::builder(&server.url())
        .model::<BoardPosition>()
        .model::<ImageData>()
        .model::<ImageUpdate>()
        .model::<PixelChange>()
        .build()
        .unwrap();
    let canvas = PixoramaClient::new(&client);

    let mut first = canvas.image_updates_since(None, None);
    let position = next(&mut first).await.decode::<BoardPosition>().unwrap();
    assert!(!position.recovered);
    assert!(
        next(&mut first).await.decode::<ImageData>().is_ok(),
        "the whole board"
    );
    for i in 0..3 {
        canvas.set_pixel(i, 5).await.unwrap();
        let change = next(&mut first).await.decode::<PixelChange>().unwrap();
        assert_eq!((change.offset, change.pixel_index), (i + 1, i));
    }
    drop(first);
    canvas.set_pixel(10, 7).await.unwrap();
    canvas.set_pixel(11, 8).await.unwrap();

    let mut back = canvas.image_updates_since(Some(position.epoch.clone()), Some(3));
    let position = next(&mut back).await.decode::<BoardPosition>().unwrap();
    assert!(position.recovered, "{position:?}");
    // The two missed changes, and no board.
    for (offset, pixel, color) in [(4, 10, 7), (5, 11, 8)] {
        let change = next(&mut back).await.decode::<PixelChange>().unwrap();
        assert_eq!(
            (change.offset, change.pixel_index, change.color_index),
            (offset, pixel, color)
        );
    }
}

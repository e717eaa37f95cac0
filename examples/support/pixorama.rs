//! The canvas example's endpoint, `pixorama` (Pixorama's rules: a 64×64 board, 16 colours):
//! its models and its trait, shared by the example and by the test that keeps its generated
//! TypeScript client (`examples/canvas/static/pixorama.ts`) in step.

use futures::{stream, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use streampod::bus::Scope;
use streampod::{model, Dynamic, Endpoint, Session, StreamError};

pub const WIDTH: usize = 64;
pub const HEIGHT: usize = 64;
const COLORS: u8 = 16;
/// The bus channel of the board's changes.
pub const CHANNEL: &str = "pixorama";

/// The whole board: one colour index per pixel, row by row.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageData {
    pub pixels: Vec<u8>,
    pub width: i64,
    pub height: i64,
}
model!(ImageData);

/// One pixel set to one colour.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdate {
    pub pixel_index: i64,
    pub color_index: i64,
}
model!(ImageUpdate);

/// The board, one colour index per pixel.
pub type Board = Arc<Mutex<Vec<u8>>>;

/// A shared pixel board.
#[streampod::endpoint(name = "pixorama")]
pub trait Pixorama {
    /// The whole board (an `ImageData`), then every change (an `ImageUpdate`).
    fn image_updates(
        &self,
        session: Session,
    ) -> impl Stream<Item = Result<Dynamic, StreamError>> + Send + 'static;
    /// Sets one pixel to one colour, for every page on every node.
    async fn set_pixel(
        &self,
        session: Session,
        pixel_index: i64,
        color_index: i64,
    ) -> Result<(), StreamError>;
}

/// The board of this node.
pub struct Canvas {
    pub board: Board,
}

fn snapshot(board: &Board) -> ImageData {
    ImageData {
        pixels: board.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        width: WIDTH as i64,
        height: HEIGHT as i64,
    }
}

impl Pixorama for Canvas {
    fn image_updates(
        &self,
        session: Session,
    ) -> impl Stream<Item = Result<Dynamic, StreamError>> + Send + 'static {
        // Subscribed before the board is read: no change falls between the two (one may
        // come twice, which sets a pixel to the colour it has).
        let changes = session.messages().create_stream::<ImageUpdate>(CHANNEL);
        let first = Dynamic::new(&snapshot(&self.board)).map_err(StreamError::failed);
        stream::once(async move { first }).chain(changes.map(|change| {
            change
                .map_err(StreamError::failed)
                .and_then(|c| Dynamic::new(&c).map_err(StreamError::failed))
        }))
    }

    async fn set_pixel(
        &self,
        session: Session,
        pixel_index: i64,
        color_index: i64,
    ) -> Result<(), StreamError> {
        let on_board = (0..(WIDTH * HEIGHT) as i64).contains(&pixel_index);
        if !on_board || !(0..i64::from(COLORS)).contains(&color_index) {
            return Err(StreamError::failed("no such pixel or colour"));
        }
        let update = ImageUpdate {
            pixel_index,
            color_index,
        };
        session
            .messages()
            .post_message(CHANNEL, &update, Scope::Auto)
            .await
            .map_err(StreamError::failed)?;
        Ok(())
    }
}

/// The endpoint over `board`.
pub fn endpoint(board: Board) -> Endpoint {
    Canvas { board }.into_endpoint()
}

//! The canvas example's endpoint, `pixorama` (Pixorama's rules: a 64×64 board, 16 colours):
//! its models and its trait, shared by the example and by the test that keeps its generated
//! TypeScript client (`examples/canvas/static/pixorama.ts`) in step.

use futures::{stream, Stream, StreamExt, TryStreamExt};
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

/// Where an `imageUpdatesSince` stream starts: whether it recovered the changes after the
/// page's last position (then they follow), or the whole board follows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardPosition {
    pub recovered: bool,
    pub epoch: String,
    pub offset: i64,
}
model!(BoardPosition);

/// One change, with its position in the board's history.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PixelChange {
    pub offset: i64,
    pub pixel_index: i64,
    pub color_index: i64,
}
model!(PixelChange);

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
    /// Where the stream starts (a `BoardPosition`); then, unless it recovered every change
    /// after the page's last position (`epoch`, `offset`), the whole board (an
    /// `ImageData`); then every change (a `PixelChange`, with its offset). A page that
    /// reconnects gets what it missed, not the whole board again.
    fn image_updates_since(
        &self,
        session: Session,
        epoch: Option<String>,
        offset: Option<i64>,
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

    fn image_updates_since(
        &self,
        session: Session,
        epoch: Option<String>,
        offset: Option<i64>,
    ) -> impl Stream<Item = Result<Dynamic, StreamError>> + Send + 'static {
        let board = self.board.clone();
        stream::once(async move {
            let since = epoch
                .as_deref()
                .zip(offset.and_then(|o| u64::try_from(o).ok()));
            let changes = session
                .messages()
                .create_stream_since::<ImageUpdate>(CHANNEL, since)
                .await
                .map_err(StreamError::failed)?;
            let recovery = changes.recovery().clone();
            let position = BoardPosition {
                recovered: recovery.recovered,
                epoch: recovery.epoch,
                offset: recovery.offset as i64,
            };
            let mut first = vec![Dynamic::new(&position).map_err(StreamError::failed)];
            if !recovery.recovered {
                // Read after subscribing: a change may be in both, which sets a pixel twice.
                first.push(Dynamic::new(&snapshot(&board)).map_err(StreamError::failed));
            }
            let changes = changes.map(|change| {
                let change = change.map_err(StreamError::failed)?;
                Dynamic::new(&PixelChange {
                    offset: change.offset as i64,
                    pixel_index: change.value.pixel_index,
                    color_index: change.value.color_index,
                })
                .map_err(StreamError::failed)
            });
            Ok::<_, StreamError>(stream::iter(first).chain(changes))
        })
        .try_flatten()
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

/// The history the board's channel keeps: enough for a page that was away a while.
pub fn history() -> streampod::bus::HistoryRule {
    streampod::bus::HistoryRule::new(CHANNEL, 4_096)
}

/// The endpoint over `board`.
pub fn endpoint(board: Board) -> Endpoint {
    Canvas { board }.into_endpoint()
}

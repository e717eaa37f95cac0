//! The TypeScript modules this repository generates from its endpoint traits, and where
//! each is committed: written by `cargo run --features typescript --example typescript`,
//! checked by a test (a stale one fails it).

use super::method_streaming::{ExceptionWithData, MethodStreamingDefinition, SimpleData};
use super::pixorama::{BoardPosition, ImageData, ImageUpdate, PixelChange, PixoramaDefinition};
use std::path::PathBuf;
use streampod::typescript::Module;

const REGENERATE: &str = "Regenerate: cargo run --features typescript --example typescript";

/// Each module with its path in the repository.
pub fn modules() -> Vec<(PathBuf, Module)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    vec![
        (
            // The conformance server's endpoint, for the TypeScript client's tests.
            root.join("clients/typescript/test/generated/methodStreaming.ts"),
            Module::new()
                .header(REGENERATE)
                .endpoint(MethodStreamingDefinition)
                .model::<SimpleData>()
                .exception::<ExceptionWithData>(),
        ),
        (
            // The canvas page's client: it loads the browser build from `/streampod.js`.
            root.join("examples/canvas/static/pixorama.ts"),
            Module::new()
                .header(REGENERATE)
                .import_from("/streampod.js")
                .endpoint(PixoramaDefinition)
                .model::<ImageData>()
                .model::<ImageUpdate>()
                .model::<BoardPosition>()
                .model::<PixelChange>(),
        ),
    ]
}

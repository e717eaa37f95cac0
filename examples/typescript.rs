//! Writes the TypeScript modules generated from this repository's endpoint traits (the
//! conformance server's, for the TypeScript client's tests, and the canvas example's):
//!
//! ```text
//! cargo run --features typescript --example typescript
//! ```
//!
//! An app does the same for its own traits with `streampod::typescript::Module`, from a
//! test (`Module::check`) or a build step (`Module::write`).

#[path = "support/method_streaming.rs"]
mod method_streaming;
#[path = "support/pixorama.rs"]
// Only its definition is used here; the server half is the canvas example's.
#[allow(dead_code)]
mod pixorama;
#[path = "support/typescript_modules.rs"]
mod typescript_modules;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for (path, module) in typescript_modules::modules() {
        module.write(&path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

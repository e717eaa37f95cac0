//! TypeScript generated from endpoint traits: the committed modules are what their traits
//! generate, and serde's attributes come out as the wire carries them.

use crate::support::typescript_modules::modules;
use futures::Stream;
use serde::{Deserialize, Serialize};
use streampod::typescript::Module;
use streampod::{model, DateTime, StreamError};

#[test]
fn the_committed_typescript_modules_are_what_the_traits_generate() {
    for (path, module) in modules() {
        if let Err(e) = module.check(&path) {
            panic!("{e} (cargo run --features typescript --example typescript)");
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vote {
    poll_id: i64,
    option: Choice,
    #[serde(rename = "at")]
    cast_at: Option<DateTime>,
    #[serde(skip)]
    _local: u8,
    voter: Voter,
}
model!(Vote);

#[derive(Serialize, Deserialize)]
enum Choice {
    Yes,
    No,
    Other(String),
}

#[derive(Serialize, Deserialize)]
struct Voter {
    name: String,
    tags: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Tally {
    counts: std::collections::HashMap<String, i64>,
}
model!(Tally, "PollTally");

/// A poll, declared for its definition only (nothing serves it here).
#[allow(dead_code)]
#[streampod::endpoint]
trait Poll {
    /// Votes, one by one; how many were counted.
    async fn vote(
        &self,
        poll_id: i64,
        votes: streampod::InputStream<Vote>,
    ) -> Result<i64, StreamError>;
    /// The tallies as they change.
    fn results(
        &self,
        poll_id: i64,
        since: Option<DateTime>,
    ) -> impl Stream<Item = Result<Vec<Tally>, StreamError>> + Send + 'static;
    async fn close(&self, poll_id: i64) -> Result<(), StreamError>;
}

#[test]
fn models_and_methods_come_out_as_the_wire_carries_them() {
    let text = Module::new().endpoint(PollDefinition).render().unwrap();
    for expected in [
        // rename_all, rename, skip, Option, a nested plain struct, DateTime as its text.
        "export interface Vote {\n  __className__?: 'Vote';\n  pollId: number;\n  option: Choice;\n  \
         at: DateTime | null;\n  voter: Voter;\n}",
        "export type Choice = 'Yes' | 'No' | { Other: string };",
        "export interface Voter {\n  name: string;\n  tags: string[];\n}",
        "export type DateTime = string;",
        // A model named by its className, which is not its Rust name.
        "__className__?: 'PollTally';\n  counts: Record<string, number>;",
        "vote(pollId: number, votes: AsyncIterable<Vote> | Iterable<Vote>, options?: CallOptions): \
         Promise<number> {\n    return this.client.call<number>('poll', 'vote', { pollId }, \
         { votes: typedValues('Vote', votes) }, options);",
        "results(pollId: number, since: DateTime | null, options?: CallOptions): AsyncIterable<Tally[]>",
        "close(pollId: number, options?: CallOptions): Promise<void> {\n    return this.client.callVoid(",
        "  /**\n   * Votes, one by one; how many were counted.\n   */",
    ] {
        assert!(text.contains(expected), "missing:\n{expected}\n\nin:\n{text}");
    }
    // The methods' argument structs are not types of the module.
    assert!(!text.contains("Args"), "{text}");
}

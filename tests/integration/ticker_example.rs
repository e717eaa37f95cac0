//! `examples/ticker.rs` as a person runs it: `serve` prints where it listens, `watch`
//! prints each int on a line of its own and then `done`, or `error: …`. (Cargo builds the
//! examples before the tests; they sit next to this binary.)

use crate::support::{example, serve_example};
use std::process::{Child, Command};

fn ticker() -> Command {
    example("ticker")
}

/// `ticker serve` on a free port: the child and its URL.
fn serve() -> (Child, String) {
    let (child, addr) = serve_example(ticker().arg("serve"));
    (child, format!("http://{addr}"))
}

fn watch(args: &[&str]) -> String {
    let out = ticker().arg("watch").args(args).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn watch_prints_the_count_the_echo_or_the_error() {
    let (mut server, url) = serve();
    let counted = watch(&[
        "--url",
        &url,
        "--from",
        "3",
        "--to",
        "7",
        "--interval-ms",
        "5",
    ]);
    assert_eq!(counted, "3\n4\n5\n6\ndone\n");
    let echoed = watch(&["--url", &url, "--echo", "3", "--interval-ms", "5"]);
    assert_eq!(echoed, "0\n1\n2\ndone\n");
    server.kill().unwrap();
    server.wait().unwrap();
    let failed = watch(&["--url", &url, "--from", "0", "--to", "3", "--no-resume"]);
    assert!(failed.starts_with("error: could not connect"), "{failed}");
}

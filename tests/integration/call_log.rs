//! The call log: one line per ended call under `streampod::calls`, saying how it ended.

use crate::support::conformance::bearer;
use crate::support::*;
use std::sync::{Mutex, Once};
use streampod::{Revoked, CALL_LOG_TARGET};

/// The call log's lines, captured by this test binary's logger.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == CALL_LOG_TARGET && metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            LINES.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

fn capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).expect("no other logger in the test binary");
        log::set_max_level(log::LevelFilter::Info);
    });
}

/// A cid of this module's own, so lines of other tests running meanwhile never match.
fn log_cid(n: u8) -> String {
    format!("c0ffee00-0000-4000-8000-0000000000{n:02x}")
}

/// Waits for the log line of `cid` and returns it.
async fn line_for(cid: &str) -> String {
    let find = || {
        LINES
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains(&format!("cid={cid} ")))
            .cloned()
    };
    wait_until("the call's log line", || find().is_some()).await;
    find().unwrap()
}

#[tokio::test]
async fn a_call_that_ends_by_itself_is_logged_done_with_its_values() {
    capture();
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let cid = log_cid(1);
    raw.send(omsc("simpleStream", &cid, no_args(), &[])).await;
    raw.recv_n(12).await; // omsr, ten values, cmsc
    let line = line_for(&cid).await;
    assert!(line.starts_with("methodStreaming.simpleStream "), "{line}");
    assert!(line.contains(" user=- done after "), "{line}");
    assert!(line.ends_with(" 10 values sent"), "{line}");
}

#[tokio::test]
async fn cancelled_failed_and_dropped_calls_say_so() {
    capture();
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let (cancelled, failed, dropped) = (log_cid(2), log_cid(3), log_cid(4));
    raw.send(omsc("intEchoStream", &cancelled, no_args(), &["stream"]))
        .await;
    raw.recv().await.assert_open(&cancelled, "success");
    raw.send(msm("intEchoStream", &cancelled, Some("stream"), int(5)))
        .await;
    assert_eq!(raw.recv().await.int(), 5);
    raw.send(cmsc("intEchoStream", &cancelled, None, "done"))
        .await;
    let line = line_for(&cancelled).await;
    assert!(line.contains(" cancelled after "), "{line}");
    assert!(line.ends_with(" 1 values sent"), "{line}");

    raw.send(omsc("outStreamThrowsException", &failed, no_args(), &[]))
        .await;
    assert!(line_for(&failed).await.contains(" failed after "));

    raw.send(omsc("intEchoStream", &dropped, no_args(), &["stream"]))
        .await;
    // The other two calls have ended (their lines are written), so this is the open one.
    wait_until("the call open", || server.stats().open_calls == 1).await;
    raw.drop_tcp();
    assert!(line_for(&dropped)
        .await
        .contains(" dropped with its connection after "));
}

#[tokio::test]
async fn a_revoked_call_is_logged_with_its_user() {
    capture();
    let server = TestServer::start();
    let mut raw = RawClient::connect(&server).await;
    let cid = log_cid(5);
    let auth = bearer("77", "t", &[]);
    raw.send(omsc_to(
        "signedInMethodStreaming",
        "intEchoStream",
        &cid,
        no_args(),
        &["stream"],
        Some(&auth),
    ))
    .await;
    raw.recv()
        .await
        .assert_open_at("signedInMethodStreaming", &cid, "success");
    server
        .server
        .revoke_authentication("77", Revoked::User)
        .await
        .unwrap();
    let line = line_for(&cid).await;
    assert!(line.contains(" user=77 revoked after "), "{line}");
}

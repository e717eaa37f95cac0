//! `STREAMPOD_WEBSOCKET_PING_INTERVAL`: whole seconds, positive, or the server does not
//! start. One test in its own binary, because the environment is process-wide.

use std::time::Duration;
use streampod::config::PING_INTERVAL_ENV;
use streampod::{ConfigError, Server};

#[test]
fn the_environment_sets_the_ping_interval_and_bad_values_stop_the_build() {
    std::env::remove_var(PING_INTERVAL_ENV);
    let server = Server::builder().build().unwrap();
    assert_eq!(
        server.config().websocket_ping_interval,
        Duration::from_secs(30)
    );

    std::env::set_var(PING_INTERVAL_ENV, "7");
    let server = Server::builder().build().unwrap();
    assert_eq!(
        server.config().websocket_ping_interval,
        Duration::from_secs(7)
    );

    // The environment wins over code: an operator changes it without a rebuild.
    let server = Server::builder()
        .websocket_ping_interval(Duration::from_secs(3))
        .build()
        .unwrap();
    assert_eq!(
        server.config().websocket_ping_interval,
        Duration::from_secs(7)
    );
    // And the send timeout that derives from it follows.
    assert_eq!(server.config().send_timeout, Some(Duration::from_secs(14)));

    for bad in ["0", "-5", "1.5", "ten", ""] {
        std::env::set_var(PING_INTERVAL_ENV, bad);
        let err = Server::builder()
            .build()
            .expect_err("a bad value fails the build");
        assert!(
            matches!(err, ConfigError::InvalidEnv { .. }),
            "{bad:?}: {err:?}"
        );
        assert!(err.to_string().contains(PING_INTERVAL_ENV), "{err}");
    }
    std::env::remove_var(PING_INTERVAL_ENV);
}

//! A real Redis for the cluster tests. `STREAMPOD_TEST_REDIS_URL` (set by `.ci/run`, which
//! starts one) names a shared server; tests that must stop and restart Redis start their own
//! `redis-server` process on a free loopback port. With `CI` set, no Redis fails the test;
//! locally the test is skipped with the reason printed.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    shared: Option<String>,
}

/// The `redis-server` binary, or why there is none.
fn binary() -> Result<String, String> {
    let bin =
        std::env::var("STREAMPOD_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    match Command::new(&bin).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(bin),
        _ => Err(format!(
            "`{bin}` is not available (install Debian's redis-server)"
        )),
    }
}

impl RedisServer {
    /// The shared Redis if there is one, else one of the test's own.
    pub fn shared() -> Option<Self> {
        match std::env::var("STREAMPOD_TEST_REDIS_URL") {
            Ok(url) if !url.is_empty() => Some(RedisServer {
                port: 0,
                child: None,
                shared: Some(url),
            }),
            _ => Self::start(),
        }
    }

    /// Starts a Redis of the test's own, or returns `None` (locally) when there is no
    /// `redis-server`.
    pub fn start() -> Option<Self> {
        let bin = match binary() {
            Ok(bin) => bin,
            Err(reason) if std::env::var_os("CI").is_some() => {
                panic!("Redis is required in CI: {reason}")
            }
            Err(reason) => {
                eprintln!("skipping: {reason}");
                return None;
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = RedisServer {
            port,
            child: None,
            shared: None,
        };
        server.spawn(&bin);
        Some(server)
    }

    fn spawn(&mut self, bin: &str) {
        let child = Command::new(bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        match &self.shared {
            Some(url) => url.clone(),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// Stops the server (its port stays reserved for [`RedisServer::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        assert!(
            self.shared.is_none(),
            "only a test's own Redis can be restarted"
        );
        self.stop();
        self.spawn(&binary().expect("redis-server"));
    }

    /// Subscribers Redis counts on `channel`.
    pub async fn subscribers(&self, channel: &str) -> i64 {
        let client = redis::Client::open(self.url()).unwrap();
        let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
            return 0;
        };
        let reply: redis::RedisResult<(String, i64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(&mut conn)
            .await;
        reply.map(|(_, n)| n).unwrap_or(0)
    }

    /// Waits until `channel` has at least `n` subscribers in Redis.
    pub async fn wait_for_subscribers(&self, channel: &str, n: i64) {
        let deadline = Instant::now() + super::PATIENCE;
        while self.subscribers(channel).await < n {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} subscribers on {channel}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

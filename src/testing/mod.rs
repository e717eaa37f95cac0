//! A test kit for apps (feature `testing`): a server started in-process on a free port,
//! behind a [`FaultProxy`] that cuts, refuses, stalls or delays its connections, to test
//! how an app's clients live through a bad network, resume included
//! (docs/PROTOCOL.md §11).
//!
//! ```
//! use futures::StreamExt;
//! use streampod::client::{Client, Inputs};
//! use streampod::testing::TestServer;
//! use streampod::{Endpoint, NoArgs, Server};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let count = Endpoint::new("ticker").stream("count", [], |_session, _: NoArgs, ()| {
//!     futures::stream::iter((0..100i64).map(Ok))
//! });
//! let server = TestServer::start(Server::builder().endpoint(count).build()?).await?;
//! let client = Client::new(&server.url())?;
//! let mut values = client.stream::<i64>("ticker", "count", NoArgs {}, Inputs::new());
//! assert_eq!(values.next().await.transpose()?, Some(0));
//! // The network drops: the client resumes, and no value is lost or repeated.
//! server.proxy().cut_all();
//! let rest: Vec<i64> = values.map(Result::unwrap).collect().await;
//! assert_eq!(rest, (1..100).collect::<Vec<_>>());
//! # Ok(()) }
//! ```

mod proxy;

pub use proxy::FaultProxy;

use crate::{RunningServer, Server, Stats};

/// A server on a free loopback port with a [`FaultProxy`] in front. Clients reach it
/// through the proxy ([`TestServer::url`]) unless they are meant to be spared its faults
/// ([`TestServer::direct_url`]). Dropping it stops the server and the proxy.
#[derive(Debug)]
pub struct TestServer {
    running: RunningServer,
    proxy: FaultProxy,
}

impl TestServer {
    /// Serves `server` on a free loopback port, on a thread of its own, with a proxy in
    /// front. Needs a tokio runtime, which runs the proxy.
    pub async fn start(server: Server) -> std::io::Result<TestServer> {
        let running = server.spawn(std::net::TcpListener::bind("127.0.0.1:0")?)?;
        let proxy = FaultProxy::start(running.addr()).await?;
        Ok(TestServer { running, proxy })
    }

    /// The server's URL through the proxy, for a client.
    pub fn url(&self) -> String {
        self.proxy.http_url()
    }

    /// The server's own URL, past the proxy.
    pub fn direct_url(&self) -> String {
        self.running.url()
    }

    /// The proxy, to break connections with.
    pub fn proxy(&self) -> &FaultProxy {
        &self.proxy
    }

    /// The server's counters: connections (detached ones too), calls, queues.
    pub fn stats(&self) -> Stats {
        self.running.server().stats()
    }

    /// The running server, to stop or shut it down.
    pub fn running(&self) -> &RunningServer {
        &self.running
    }

    /// The running server and the proxy, to stop the server while the proxy stays.
    pub fn into_parts(self) -> (RunningServer, FaultProxy) {
        (self.running, self.proxy)
    }
}

//! [`FaultProxy`]: a TCP proxy on loopback that breaks connections on command, for tests of
//! what a client does when the network misbehaves.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Bytes read at once from either side.
const CHUNK: usize = 16 * 1024;

/// Chunks in flight in one direction while latency holds them: with the kernel's buffers,
/// what bounds the proxy's memory per connection.
const IN_FLIGHT: usize = 64;

/// What the proxy does to the connections through it; changed by the [`FaultProxy`]
/// methods, read by every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Faults {
    /// Bumped by [`FaultProxy::cut_all`]: every connection open then is cut.
    cuts: u64,
    /// New connections are reset at once.
    down: bool,
    /// No byte moves either way (the connections stay open).
    stalled: bool,
    /// Each byte is held this long before it is passed on.
    latency: Duration,
    /// A connection is cut once it has carried this many bytes (both ways together).
    cut_after: Option<u64>,
}

/// A TCP proxy in front of a server, on a free loopback port, that cuts, refuses, stalls
/// or delays connections when told. Cut connections are reset (as by a dead NAT or a
/// crashed load balancer): neither side gets a WebSocket close.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use streampod::testing::FaultProxy;
/// let proxy = FaultProxy::start("127.0.0.1:8080".parse().unwrap()).await?;
/// let url = proxy.http_url(); // give this to the client
/// proxy.cut_all(); // every connection through it drops now
/// proxy.set_down(true); // and the next ones are refused, until set_down(false)
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    faults: watch::Sender<Faults>,
    counters: Arc<Counters>,
    accepting: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Counters {
    open: AtomicUsize,
    accepted: AtomicU64,
    cut: AtomicU64,
}

impl FaultProxy {
    /// A proxy to `upstream` on a free loopback port. Needs a tokio runtime, which runs it.
    pub async fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (faults, watching) = watch::channel(Faults::default());
        let counters = Arc::new(Counters::default());
        let accepting = tokio::spawn(accept(listener, upstream, watching, counters.clone()));
        Ok(FaultProxy {
            addr,
            faults,
            counters,
            accepting,
        })
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` and the proxy's address: a client's server URL.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts every connection open now (each side sees a reset).
    pub fn cut_all(&self) {
        self.faults.send_modify(|f| f.cuts += 1);
    }

    /// While `down`, new connections are reset as soon as they arrive (a server that is
    /// unreachable); open ones are left alone (cut them with [`FaultProxy::cut_all`]).
    pub fn set_down(&self, down: bool) {
        self.faults.send_modify(|f| f.down = down);
    }

    /// While `stalled`, no byte moves either way and nothing is closed: a network that
    /// silently stopped. Keepalives then notice it, or nothing does.
    pub fn set_stalled(&self, stalled: bool) {
        self.faults.send_modify(|f| f.stalled = stalled);
    }

    /// Holds every byte this long before passing it on, both ways (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        self.faults.send_modify(|f| f.latency = latency);
    }

    /// Cuts each connection once it has carried `bytes` (both ways together), after
    /// passing exactly that many; `None` lets them run. Counts from each connection's
    /// start, for the open connections too.
    pub fn set_cut_after(&self, bytes: Option<u64>) {
        self.faults.send_modify(|f| f.cut_after = bytes);
    }

    /// Connections open through the proxy now.
    pub fn open_connections(&self) -> usize {
        self.counters.open.load(Ordering::SeqCst)
    }

    /// Connections accepted so far (refused ones too).
    pub fn accepted(&self) -> u64 {
        self.counters.accepted.load(Ordering::SeqCst)
    }

    /// Connections the proxy has cut so far (refused ones too).
    pub fn cut(&self) -> u64 {
        self.counters.cut.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    /// Stops accepting; open connections are cut.
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut_all();
    }
}

async fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    faults: watch::Receiver<Faults>,
    counters: Arc<Counters>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        counters.accepted.fetch_add(1, Ordering::SeqCst);
        if faults.borrow().down {
            counters.cut.fetch_add(1, Ordering::SeqCst);
            reset(client);
            continue;
        }
        let (faults, counters) = (faults.clone(), counters.clone());
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return reset(client);
            };
            counters.open.fetch_add(1, Ordering::SeqCst);
            let cut = relay(client, server, faults).await;
            counters.open.fetch_sub(1, Ordering::SeqCst);
            if cut {
                counters.cut.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
}

/// Closes a socket with a reset (SO_LINGER 0), as a network failure would end it.
fn reset(socket: TcpStream) {
    let _ = socket.set_zero_linger();
    drop(socket);
}

/// Passes bytes both ways until both sides have closed (each close passed on in turn), or
/// until the faults cut the connection: then both sockets are reset. True when it was cut.
async fn relay(client: TcpStream, server: TcpStream, faults: watch::Receiver<Faults>) -> bool {
    // Every end of the proxy's sockets is a reset from now on, unless both sides closed.
    for socket in [&client, &server] {
        let _ = socket.set_nodelay(true);
        let _ = socket.set_zero_linger();
    }
    let carried = AtomicU64::new(0);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = direction(client_read, server_write, faults.clone(), &carried);
    let down = direction(server_read, client_write, faults.clone(), &carried);
    let mut watching = faults;
    let cuts_at_start = watching.borrow().cuts;
    let ordered = async move {
        let _ = watching.wait_for(|f| f.cuts != cuts_at_start).await;
    };
    let both = async {
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        while !(up_done && down_done) {
            let cut = tokio::select! {
                cut = &mut up, if !up_done => { up_done = true; cut }
                cut = &mut down, if !down_done => { down_done = true; cut }
            };
            if cut {
                return true;
            }
        }
        false
    };
    // Returning drops (and so resets) every half.
    tokio::select! {
        cut = both => cut,
        () = ordered => true,
    }
}

/// One direction: a reader that takes chunks (while not stalled) and stamps them, and a
/// writer that passes each on when its latency is over. Ends when the reader's side closed
/// (the close passed on: false) or the byte count was reached (true: cut).
async fn direction(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    faults: watch::Receiver<Faults>,
    carried: &AtomicU64,
) -> bool {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT);
    let mut reading_faults = faults.clone();
    let mut writing_faults = faults;
    let reading = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            if reading_faults.wait_for(|f| !f.stalled).await.is_err() {
                break;
            }
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let due = Instant::now() + reading_faults.borrow().latency;
            if tx.send((due, buf[..n].to_vec())).await.is_err() {
                break;
            }
        }
        // The sender drops here: the writer ends once it has passed everything on.
        drop(tx);
        std::future::pending::<()>().await;
    };
    let writing = async {
        while let Some((due, mut chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if writing_faults.wait_for(|f| !f.stalled).await.is_err() {
                return false;
            }
            // Up to the byte count exactly, then the cut.
            let limit = writing_faults.borrow().cut_after;
            let before = carried.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            let over = limit.filter(|n| before + chunk.len() as u64 >= *n);
            if let Some(n) = over {
                chunk.truncate(n.saturating_sub(before) as usize);
            }
            if to.write_all(&chunk).await.is_err() {
                return false;
            }
            if over.is_some() {
                return true;
            }
        }
        let _ = to.shutdown().await;
        false
    };
    tokio::select! {
        cut = writing => cut,
        // Never: the reader waits forever once done, for the writer to finish.
        () = reading => false,
    }
}

//! Input streams: the stream parameters of a method.
//!
//! A method declares its input streams as a tuple of [`InputStream<T>`] (required) and
//! `Option<InputStream<T>>` (optional), with their names in an array of the same length, so
//! the count is checked by the compiler and the element type of each stream is known
//! statically. Each stream has a sink on the call's side that decodes incoming values into
//! `T`: a value of the wrong class becomes an error item and ends that stream only.

use crate::error::StreamError;
use crate::flow::{Grant, GrantBack, InputFlow, InputQueue};
use crate::protocol::registry::Registry;
use crate::protocol::{DecodeError, Wire};
use crate::queue::{queue, Receiver, Sender};
use futures::Stream;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// A stream of values the client sends for one stream parameter.
///
/// It yields `Ok(value)` for each value, `Err(StreamError::Exception(..))` when the client's
/// stream failed with a serializable exception, and `Err(StreamError::Failed(..))` when it
/// was closed with an error or sent a value that is not a `T`. It ends when the client
/// closes it, or when the call ends. Dropping it tells the client to stop sending.
pub struct InputStream<T> {
    rx: Receiver<Result<T, StreamError>>,
    /// What the queue held when the stream last looked, taken in one go (one lock per
    /// batch, not per value); the two swap buffers, so neither allocates per batch.
    taken: VecDeque<Result<T, StreamError>>,
    credit: Arc<InputQueue>,
    /// On a flow-controlled call: values taken and not yet granted back.
    returns: Option<Returns>,
}

/// What one input stream of a flow-controlled call gives back to its client.
struct Returns {
    param: Arc<str>,
    back: GrantBack,
}

impl Returns {
    /// One value taken: reports a batch to `flow` when it is complete.
    fn taken(&mut self, flow: &InputFlow) {
        if let Some(n) = self.back.took_one() {
            // The call may have ended; then there is nobody to grant to.
            let _ = flow.grants.send(Grant {
                param: self.param.clone(),
                n,
            });
        }
    }
}

// Nothing in it is pinned: its values are moved out as they are taken.
impl<T> Unpin for InputStream<T> {}

impl<T> Stream for InputStream<T> {
    type Item = Result<T, StreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.taken.is_empty() && !ready!(this.rx.poll_swap(cx, &mut this.taken)) {
            return Poll::Ready(None);
        }
        let item = this.taken.pop_front();
        if let Some(Ok(_)) = &item {
            // Counted out of the queue as the method takes it, not as the batch is taken:
            // the bound is on what the method has not taken.
            this.credit.taken(1);
            if let (Some(returns), Some(flow)) = (&mut this.returns, this.credit.flow()) {
                returns.taken(flow);
            }
        }
        Poll::Ready(item)
    }
}

impl<T> Drop for InputStream<T> {
    fn drop(&mut self) {
        // What the method never took leaves the queue with it.
        let queued = self.rx.close();
        let left = queued
            .iter()
            .chain(&self.taken)
            .filter(|item| item.is_ok())
            .count();
        self.credit.taken(left);
        // The call hears of it once the queue is closed (its sink sees it dropped).
        self.credit.mark_dropped();
    }
}

impl<T> std::fmt::Debug for InputStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InputStream")
    }
}

/// The call's end of one input stream. Public only so that the sealed [`InputParam`] can
/// name it; not reachable from outside the crate.
#[doc(hidden)]
pub trait InputSink: Send {
    /// Decodes (against `registry`) a wrapped value (`className` and raw `data`) and keeps
    /// it for the next [`flush`](InputSink::flush). An error means the value was not a
    /// valid `T`.
    #[allow(private_interfaces)]
    fn stage(
        &mut self,
        registry: &Arc<Registry>,
        class: &str,
        data: &[u8],
    ) -> Result<(), DecodeError>;
    /// Hands the values staged to the method, in one batch; returns how many there were.
    fn flush(&mut self) -> usize;
    /// Delivers an error item, after the values staged.
    fn fail(&mut self, error: StreamError);
    /// True when the method dropped its stream.
    fn is_dropped(&self) -> bool;
}

struct TypedSink<T> {
    tx: Sender<Result<T, StreamError>>,
    credit: Arc<InputQueue>,
    /// Values decoded and not yet handed over: the connection hands over what one read
    /// brought at once (one lock and one count for them all).
    staged: Vec<T>,
}

impl<T: Wire> InputSink for TypedSink<T> {
    #[allow(private_interfaces)]
    fn stage(
        &mut self,
        registry: &Arc<Registry>,
        class: &str,
        data: &[u8],
    ) -> Result<(), DecodeError> {
        self.staged.push(registry.decode::<T>(class, data)?);
        Ok(())
    }

    fn flush(&mut self) -> usize {
        let n = self.staged.len();
        if n == 0 {
            return 0;
        }
        // Counted in before the method can take them: it counts them out as it does.
        self.credit.sent(n);
        // A send error means the method dropped the stream; the call notices that itself.
        if !self.tx.send_many(self.staged.drain(..).map(Ok)) {
            self.credit.taken(n);
        }
        n
    }

    fn fail(&mut self, error: StreamError) {
        self.flush();
        let _ = self.tx.send(Err(error));
    }

    fn is_dropped(&self) -> bool {
        self.tx.is_closed()
    }
}

/// A named input stream sink, as the call actor holds it.
pub(crate) type NamedSink = (Arc<str>, Box<dyn InputSink>);

fn channel<T: Wire>(
    name: &'static str,
    credit: &Arc<InputQueue>,
) -> (InputStream<T>, Box<dyn InputSink>) {
    let (tx, rx) = queue();
    (
        InputStream {
            rx,
            taken: VecDeque::new(),
            credit: credit.clone(),
            returns: credit.flow().map(|flow| Returns {
                param: Arc::from(name),
                back: GrantBack::new(flow.window),
            }),
        },
        Box::new(TypedSink {
            tx,
            credit: credit.clone(),
            staged: Vec::new(),
        }),
    )
}

/// Seals [`InputParam`] and [`InputSet`]: the crate's implementations are the only ones.
mod sealed {
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

impl<T> sealed::Sealed for InputStream<T> {}
impl<T> sealed::Sealed for Option<InputStream<T>> {}
impl sealed::Sealed for () {}

/// One stream parameter: [`InputStream<T>`] (required) or `Option<InputStream<T>>`
/// (optional; `None` when the client did not list it in `is`). Sealed: implemented by
/// those two only.
pub trait InputParam: sealed::Sealed + Sized + Send + 'static {
    /// Whether the client must list this parameter in `is`.
    const REQUIRED: bool;
    /// Builds parameter `name`; `requested` tells whether the client listed it.
    #[doc(hidden)]
    fn create(
        name: &'static str,
        requested: bool,
        credit: &Arc<InputQueue>,
    ) -> (Self, Option<Box<dyn InputSink>>);
    /// Registers the element type with a server's class registry.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn register(registry: &Registry);
}

impl<T: Wire> InputParam for InputStream<T> {
    const REQUIRED: bool = true;
    fn create(
        name: &'static str,
        _requested: bool,
        credit: &Arc<InputQueue>,
    ) -> (Self, Option<Box<dyn InputSink>>) {
        let (stream, sink) = channel::<T>(name, credit);
        (stream, Some(sink))
    }
    #[allow(private_interfaces)]
    fn register(registry: &Registry) {
        registry.register::<T>();
    }
}

impl<T: Wire> InputParam for Option<InputStream<T>> {
    const REQUIRED: bool = false;
    fn create(
        name: &'static str,
        requested: bool,
        credit: &Arc<InputQueue>,
    ) -> (Self, Option<Box<dyn InputSink>>) {
        if !requested {
            return (None, None);
        }
        let (stream, sink) = channel::<T>(name, credit);
        (Some(stream), Some(sink))
    }
    #[allow(private_interfaces)]
    fn register(registry: &Registry) {
        registry.register::<T>();
    }
}

/// The full set of a method's stream parameters: `()` or a tuple of [`InputParam`]s, with
/// `N` names. Sealed: implemented for those only.
pub trait InputSet<const N: usize>: sealed::Sealed + Sized + Send + 'static {
    /// Builds the streams for the inputs the client requested in `is`. Fails with the name
    /// of a required parameter that is missing from `is`.
    #[doc(hidden)]
    fn build(
        names: &[&'static str; N],
        requested: &[String],
        credit: &Arc<InputQueue>,
    ) -> Result<(Self, Vec<NamedSink>), String>;
    /// Registers every element type with a server's class registry.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn register(registry: &Registry);
}

impl InputSet<0> for () {
    fn build(
        _: &[&'static str; 0],
        _: &[String],
        _: &Arc<InputQueue>,
    ) -> Result<(Self, Vec<NamedSink>), String> {
        Ok(((), Vec::new()))
    }
    #[allow(private_interfaces)]
    fn register(_: &Registry) {}
}

macro_rules! input_set {
    ($n:literal; $($p:ident $i:tt),+) => {
        impl<$($p: InputParam),+> sealed::Sealed for ($($p,)+) {}
        impl<$($p: InputParam),+> InputSet<$n> for ($($p,)+) {
            fn build(
                names: &[&'static str; $n],
                requested: &[String],
                credit: &Arc<InputQueue>,
            ) -> Result<(Self, Vec<NamedSink>), String> {
                let mut sinks = Vec::with_capacity($n);
                let set = ($({
                    let name = names[$i];
                    let wanted = requested.iter().any(|r| r == name);
                    if $p::REQUIRED && !wanted {
                        return Err(name.to_string());
                    }
                    let (param, sink) = $p::create(name, wanted, credit);
                    if let Some(sink) = sink {
                        sinks.push((Arc::from(name), sink));
                    }
                    param
                },)+);
                Ok((set, sinks))
            }
            #[allow(private_interfaces)]
            fn register(registry: &Registry) {
                $($p::register(registry);)+
            }
        }
    };
}
input_set!(1; A 0);
input_set!(2; A 0, B 1);
input_set!(3; A 0, B 1, C 2);
input_set!(4; A 0, B 1, C 2, D 3);
input_set!(5; A 0, B 1, C 2, D 3, E 4);
input_set!(6; A 0, B 1, C 2, D 3, E 4, F 5);

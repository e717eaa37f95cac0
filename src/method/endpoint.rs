//! Defining endpoints: an [`Endpoint`] is a name and a set of streaming methods.
//!
//! A method is a plain Rust closure. Its arguments are one serde type decoded from the
//! `args` map (use [`NoArgs`] for none); its input streams are a tuple of
//! [`InputStream`](super::InputStream)s named by an array of the same length; it returns a
//! `Stream` of `Result<T, StreamError>` ([`Endpoint::stream`]) or a `Future` of one
//! ([`Endpoint::future`]; `T = ()` for a void method). Each registration erases the types
//! into a [`Method`], which the connection uses to validate an open and the call uses to run.

use super::inputs::{InputSet, NamedSink};
use super::output::{Framer, OutputValue};
use super::session::AppState;
use super::session::Session;
use crate::auth::Requirements;
use crate::error::StreamError;
use crate::flow::InputQueue;
use crate::instruments::MethodMetrics;
use crate::protocol::registry::Registry;
use crate::protocol::Wire;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};

/// Arguments of a method that takes none. Accepts any `args` map.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, serde::Serialize)]
pub struct NoArgs {}

/// What a running method produces, erased: `Some(value)` per value, `None` for the end of a
/// void method (nothing is sent for it), `Err` to end with an error.
pub(crate) type Output = BoxStream<'static, Result<Option<OutputValue>, StreamError>>;

/// A validated open, ready to run: the method bound to its decoded arguments, and the sinks
/// of the input streams the client requested. It runs with the call's [`Framer`].
pub(crate) struct Prepared {
    pub(crate) run: Box<dyn FnOnce(Session, Framer) -> Output + Send>,
    pub(crate) inputs: Vec<NamedSink>,
}

/// Why an open was refused after the method was found.
#[derive(Debug)]
pub(crate) enum PrepareError {
    /// `args` did not decode into the declared type.
    Arguments(String),
    /// A required input stream is missing from `is`.
    MissingInput(String),
}

type Preparer =
    dyn Fn(&[u8], &[String], &Arc<InputQueue>) -> Result<Prepared, PrepareError> + Send + Sync;

/// One registered method, with its types erased.
#[derive(Clone)]
pub(crate) struct Method {
    prepare: Arc<Preparer>,
    /// The method's metric handles, resolved on its first call.
    metrics: Arc<OnceLock<Arc<MethodMetrics>>>,
}

impl Method {
    /// The method's metric handles (`endpoint` and `method` are its registered names).
    pub(crate) fn metrics(&self, endpoint: &str, method: &str) -> Arc<MethodMetrics> {
        self.metrics
            .get_or_init(|| Arc::new(MethodMetrics::new(endpoint, method)))
            .clone()
    }

    pub(crate) fn prepare(
        &self,
        args: &[u8],
        requested: &[String],
        credit: &Arc<InputQueue>,
    ) -> Result<Prepared, PrepareError> {
        (self.prepare)(args, requested, credit)
    }
}

/// Who may call a method: see [`Endpoint::access`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// A signed-in caller.
    Login,
    /// A signed-in caller holding every one of these scopes.
    Scopes(Vec<String>),
}

impl Access {
    /// [`Access::Scopes`] from any list of names.
    pub fn scopes(scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Access::Scopes(scopes.into_iter().map(Into::into).collect())
    }
}

/// A named group of streaming methods, registered on the server builder.
///
/// ```
/// use futures::StreamExt;
/// use streampod::{Dynamic, Endpoint, InputStream, NoArgs};
///
/// let example = Endpoint::new("example")
///     .stream("echoStream", ["stream"], |_session, _: NoArgs, (stream,): (InputStream<Dynamic>,)| stream)
///     .future("sum", ["numbers"], |_session, _: NoArgs, (numbers,): (InputStream<i64>,)| async move {
///         let all: Vec<_> = numbers.collect().await;
///         all.into_iter().sum::<Result<i64, _>>()
///     });
/// assert_eq!(example.name(), "example");
/// ```
#[derive(Clone)]
pub struct Endpoint {
    /// Shared with every call's target and session: a call allocates no names of its own.
    name: Arc<str>,
    methods: HashMap<Arc<str>, Method>,
    /// What every method asks of its callers, unless it has its own (`access`).
    requirements: Requirements,
    /// CallSetup whose access differs from the endpoint's, by name.
    access: HashMap<String, Requirements>,
    /// The application state every call's session reaches (`Session::state`).
    state: Option<AppState>,
    /// Registers the types of every method (return and input streams) with the class
    /// registry of the server the endpoint is built into.
    classes: Vec<fn(&Registry)>,
}

impl Endpoint {
    /// An endpoint with no methods yet, served under `name` (the `en` of the protocol).
    pub fn new(name: impl Into<String>) -> Self {
        Endpoint {
            name: Arc::from(name.into()),
            methods: HashMap::new(),
            requirements: Requirements::default(),
            access: HashMap::new(),
            state: None,
            classes: Vec::new(),
        }
    }

    /// Makes the classes of every method's values known to `registry`.
    pub(crate) fn register_classes(&self, registry: &Registry) {
        self.classes.iter().for_each(|register| register(registry));
    }

    /// Requires a signed-in caller for every method of the endpoint that has no access of
    /// its own ([`Endpoint::access`]), wherever it stands in the chain: an open without
    /// valid credentials is answered `authenticationFailed`.
    pub fn require_login(mut self) -> Self {
        self.requirements.login = true;
        self
    }

    /// Requires a signed-in caller holding every one of `scopes`, for every method of the
    /// endpoint that has no access of its own: without credentials the answer is
    /// `authenticationFailed`, with a scope missing `authorizationDeclined`. Revoking one
    /// of these scopes closes the open calls of those methods.
    pub fn require_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.requirements.add_scopes(scopes);
        self
    }

    /// Gives method `method` its own access, in place of the endpoint's: a public `watch`
    /// next to a login-only `placeBid`. Revocation closes a call only if its method
    /// required authentication.
    ///
    /// ```
    /// use streampod::{Access, Endpoint};
    /// let auction = Endpoint::new("auction")
    ///     .require_login()                     // every method, unless it says otherwise
    ///     .access("watch", Access::Public)     // anyone may watch
    ///     .access("close", Access::scopes(["admin"]));
    /// ```
    pub fn access(mut self, method: &str, access: Access) -> Self {
        let mut requirements = Requirements::default();
        match access {
            Access::Public => {}
            Access::Login => requirements.login = true,
            Access::Scopes(scopes) => requirements.add_scopes(scopes),
        }
        self.access.insert(method.to_string(), requirements);
        self
    }

    /// Gives every call of the endpoint `state`, through [`Session::state`]: the
    /// application's data in one place, not an `Arc` cloned into every closure.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use streampod::{Endpoint, NoArgs, Session};
    ///
    /// #[derive(Default)]
    /// struct Bids { count: AtomicU64 }
    ///
    /// let auction = Endpoint::new("auction")
    ///     .with_state(Bids::default())
    ///     .future("bid", [], |session: Session, _: NoArgs, ()| async move {
    ///         let bids = session.state::<Bids>().expect("the endpoint's state");
    ///         Ok(bids.count.fetch_add(1, Ordering::Relaxed) + 1)
    ///     });
    /// ```
    pub fn with_state<S: Send + Sync + 'static>(mut self, state: S) -> Self {
        self.state = Some(Arc::new(state));
        self
    }

    /// The endpoint's application state.
    pub(crate) fn app_state(&self) -> Option<&AppState> {
        self.state.as_ref()
    }

    /// What method `method` asks of its callers (the endpoint's, for a method it does not
    /// have: the access check comes before the method is looked up, as in Serverpod).
    pub(crate) fn requirements(&self, method: &str) -> &Requirements {
        self.access.get(method).unwrap_or(&self.requirements)
    }

    /// The endpoint's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The endpoint's name, shared.
    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.name
    }

    /// The method called `name`, with its name, shared.
    pub(crate) fn method(&self, name: &str) -> Option<(&Arc<str>, &Method)> {
        self.methods.get_key_value(name)
    }

    /// Adds a method that returns a stream of values of type `T`.
    ///
    /// `inputs` names the method's stream parameters, in the order of the tuple `I`. The
    /// stream's first `Err` ends the call with an error.
    ///
    /// # Panics
    ///
    /// If `A` is not read from a map (a `()`, a tuple, a number): Serverpod's `args` is
    /// always a map, so such a method could never be called. Use [`NoArgs`] for none.
    pub fn stream<A, I, F, S, T, const N: usize>(
        mut self,
        method: &str,
        inputs: [&'static str; N],
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + Send + 'static,
        I: InputSet<N>,
        F: Fn(Session, A, I) -> S + Send + Sync + 'static,
        S: Stream<Item = Result<T, StreamError>> + Send + 'static,
        T: Wire,
    {
        let handler = Arc::new(handler);
        let run = move |session: Session, args: A, set: I, mut framer: Framer| -> Output {
            handler(session, args, set)
                .map(move |item| item.and_then(|v| framer.output(&v).map(Some)))
                .boxed()
        };
        self.add::<A, I, T, N>(method, inputs, run);
        self
    }

    /// Adds a method that returns one value of type `T` (`()` for none: a void method sends
    /// no value, only its end).
    ///
    /// # Panics
    ///
    /// As [`Endpoint::stream`], if `A` is not read from a map.
    pub fn future<A, I, F, Fut, T, const N: usize>(
        mut self,
        method: &str,
        inputs: [&'static str; N],
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + Send + 'static,
        I: InputSet<N>,
        F: Fn(Session, A, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, StreamError>> + Send + 'static,
        T: Wire,
    {
        let handler = Arc::new(handler);
        let run = move |session: Session, args: A, set: I, mut framer: Framer| -> Output {
            futures::stream::once(handler(session, args, set))
                .filter(|result| {
                    futures::future::ready(!(result.is_ok() && crate::protocol::is_void::<T>()))
                })
                .map(move |result| result.and_then(|v| framer.output(&v).map(Some)))
                .boxed()
        };
        self.add::<A, I, T, N>(method, inputs, run);
        self
    }

    fn add<A, I, T, const N: usize>(
        &mut self,
        method: &str,
        names: [&'static str; N],
        run: impl Fn(Session, A, I, Framer) -> Output + Send + Sync + 'static,
    ) where
        A: DeserializeOwned + Send + 'static,
        I: InputSet<N>,
        T: Wire,
    {
        assert!(
            super::args_shape::reads_a_map::<A>(),
            "the arguments of {}.{method} must be a struct or a map: Serverpod's `args` is \
             always a map, so `{}` could never be read (use `NoArgs` for none)",
            self.name,
            std::any::type_name::<A>(),
        );
        self.classes.push(|registry| {
            registry.register::<T>();
            I::register(registry);
        });
        let run = Arc::new(run);
        let prepare = move |args: &[u8],
                            requested: &[String],
                            credit: &Arc<InputQueue>|
              -> Result<Prepared, PrepareError> {
            let args: A = read_args(args).map_err(PrepareError::Arguments)?;
            let (set, inputs) =
                I::build(&names, requested, credit).map_err(PrepareError::MissingInput)?;
            let run = run.clone();
            Ok(Prepared {
                run: Box::new(move |session, framer| run(session, args, set, framer)),
                inputs,
            })
        };
        self.methods.insert(
            Arc::from(method),
            Method {
                prepare: Arc::new(prepare),
                metrics: Arc::default(),
            },
        );
    }
}

/// A call's `args` as `A`; the error names the field that did not fit (`count: invalid
/// type: string "three", expected i64`).
fn read_args<A: DeserializeOwned>(args: &[u8]) -> Result<A, String> {
    let mut de = rmp_serde::Deserializer::from_read_ref(args);
    de.set_max_depth(crate::protocol::msgpack::MAX_DEPTH);
    serde_path_to_error::deserialize(&mut de).map_err(|e| match e.path().to_string() {
        path if path == "." => e.inner().to_string(),
        path => format!("{path}: {}", e.inner()),
    })
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut methods: Vec<&Arc<str>> = self.methods.keys().collect();
        methods.sort();
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("methods", &methods)
            .field("requirements", &self.requirements)
            .field("access", &self.access)
            .finish()
    }
}

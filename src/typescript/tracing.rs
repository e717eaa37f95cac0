//! The types of a module, read from their serde implementations by `serde-reflection`: each
//! model's fields, each method's arguments, and every serde type they hold.

use super::definition::{Param, Value};
use super::Module;
use crate::protocol::reflection::{ModelSink, TraceOnce};
use serde_reflection::{Format, Registry, Samples, Tracer, TracerConfig};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

/// Why a module could not be generated, written or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A method's arguments could not be traced through serde.
    #[error("the arguments of {method} cannot be traced: {reason}")]
    Arguments {
        /// `endpoint.method`.
        method: String,
        /// What serde-reflection said.
        reason: String,
    },
    /// The traced types do not make a complete set (an enum whose variants could not all
    /// be reached, say).
    #[error("the types cannot be completed: {0}")]
    Incomplete(String),
    /// The committed file is not what the module renders.
    #[error("{0} is not what its Rust definitions generate: generate it again")]
    Stale(String),
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(super) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The tracing of a module's types: where each value reports the models it holds.
pub(super) struct Tracing {
    tracer: Tracer,
    samples: Samples,
    /// Models by their serde name, with their `className`.
    classes: BTreeMap<String, String>,
    /// Models that could not be traced (by `className`), and why.
    untraced: BTreeMap<String, String>,
}

impl std::fmt::Debug for Tracing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracing")
            .field("classes", &self.classes)
            .finish_non_exhaustive()
    }
}

/// A model is traced once; one that cannot be is noted, not an error: it is rendered as an
/// open record.
impl ModelSink for Tracing {
    fn model(&mut self, class: Cow<'static, str>, trace: TraceOnce) {
        if self.classes.values().any(|c| *c == class) || self.untraced.contains_key(&*class) {
            return;
        }
        match self.trace(trace) {
            Ok(Format::TypeName(name)) => {
                self.classes.insert(name, class.into_owned());
            }
            // Not a container (a newtype of a built-in, say): rendered by its `className`.
            Ok(_) => {}
            Err(e) => {
                self.untraced.insert(class.into_owned(), e);
            }
        }
    }
}

/// What the tracing found, for the rendering.
pub(super) struct Traced {
    /// Every serde container met, by its serde name, normalized.
    pub(super) registry: Registry,
    /// Models: serde name → `className`.
    pub(super) classes: BTreeMap<String, String>,
    /// Models that could not be traced: `className` → why.
    pub(super) untraced: BTreeMap<String, String>,
    /// Each method's arguments struct (its serde name), endpoint by endpoint.
    pub(super) args: Vec<Vec<Option<String>>>,
}

fn tracer() -> Tracer {
    // As rmp-serde: not human-readable. Newtypes read their recorded samples: a DateTime
    // checks the text it reads.
    let config = TracerConfig::default()
        .is_human_readable(false)
        .record_samples_for_newtype_structs(true);
    let mut tracer = Tracer::new(config);
    // The sample's own format, which a newtype's sample needs beside it.
    let _ = tracer.trace_value(&mut Samples::new(), &crate::DateTime::from_millis(0));
    tracer
}

/// At most this many passes over one type: one per variant of its largest enum suffices.
const MAX_PASSES: usize = 1024;

/// Traces a type on `tracer` until none of `enums` is left incomplete; its format.
fn passes(
    trace: TraceOnce,
    tracer: &mut Tracer,
    samples: &Samples,
    enums: &[String],
) -> Result<Format, String> {
    for _ in 0..MAX_PASSES {
        let format = trace(tracer, samples).map_err(|e| e.to_string())?;
        let mut again = false;
        for name in enums {
            again |= tracer.check_incomplete_enum(name).is_some();
        }
        if !again {
            return Ok(format);
        }
    }
    Err(format!("an enum with more than {MAX_PASSES} variants"))
}

impl Tracing {
    pub(super) fn new() -> Self {
        let mut samples = Samples::new();
        // A sample of each of streampod's types that check what they read, so that models
        // holding one can be traced. (Tracing a value of a known type cannot fail.)
        let _ = tracer().trace_value(&mut samples, &crate::DateTime::from_millis(0));
        Tracing {
            tracer: tracer(),
            samples,
            classes: BTreeMap::new(),
            untraced: BTreeMap::new(),
        }
    }

    /// Traces a method's arguments struct; its serde name.
    fn args(&mut self, trace: TraceOnce) -> Result<String, String> {
        match self.trace(trace)? {
            Format::TypeName(name) => Ok(name),
            other => Err(format!("not a struct: {other:?}")),
        }
    }

    /// Traces a type with every variant of every enum it holds, at any depth; its format.
    ///
    /// serde-reflection explores one variant of a nested enum per pass, and only of an enum
    /// whose "incomplete" mark was taken off by name. The names are learnt first, on tracers
    /// of their own, from the error that lists the enums still incomplete; then the type is
    /// traced on this tracer, pass after pass, until none is. (A failed trace would leave
    /// this tracer half-done, so nothing reaches it before the trial ones succeed.)
    fn trace(&mut self, trace: TraceOnce) -> Result<Format, String> {
        let mut enums: Vec<String> = Vec::new();
        loop {
            let mut trial = tracer();
            passes(trace, &mut trial, &self.samples, &enums)?;
            match trial.registry() {
                Ok(_) => break,
                Err(serde_reflection::Error::MissingVariants(names))
                    if names.iter().any(|n| !enums.contains(n)) =>
                {
                    enums.extend(names);
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        passes(trace, &mut self.tracer, &self.samples, &enums)
    }

    fn value(&mut self, value: &Value) {
        (value.models)(self)
    }

    pub(super) fn trace_module(mut self, module: &Module) -> Result<Traced, Error> {
        let mut args = Vec::new();
        for endpoint in &module.endpoints {
            let mut of_endpoint = Vec::new();
            for method in &endpoint.methods {
                let name = match method.args {
                    Some(trace) => Some(self.args(trace).map_err(|reason| Error::Arguments {
                        method: format!("{}.{}", endpoint.name, method.wire),
                        reason,
                    })?),
                    None => None,
                };
                of_endpoint.push(name);
                self.value(&method.returns);
                for param in &method.params {
                    if let Param::Input { value, .. } = param {
                        self.value(value);
                    }
                }
            }
            args.push(of_endpoint);
        }
        for value in module.models.iter().chain(&module.exceptions) {
            self.value(value);
        }
        let registry = self
            .tracer
            .registry()
            .map_err(|e| Error::Incomplete(e.to_string()))?;
        Ok(Traced {
            registry,
            classes: self.classes,
            untraced: self.untraced,
            args,
        })
    }
}

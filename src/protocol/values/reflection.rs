//! What a value tells the TypeScript generator (feature `typescript`): the models it holds,
//! each with a function that traces its serde type once. The generator (`streampod::typescript`)
//! is the sink; this layer knows only serde-reflection, not the generator.

use serde_reflection::{Format, Samples, Tracer};
use std::borrow::Cow;

/// One pass of serde-reflection over a type: its format, or why it cannot be traced.
pub type TraceOnce = fn(&mut Tracer, &Samples) -> serde_reflection::Result<Format>;

/// Where [`Wire::trace_models`](super::wire::Wire::trace_models) reports the models a type
/// holds.
pub trait ModelSink {
    /// The model of class `class`, traced by `trace`.
    fn model(&mut self, class: Cow<'static, str>, trace: TraceOnce);
}

/// `T`'s [`TraceOnce`].
pub fn trace_once<T: serde::de::DeserializeOwned>(
    tracer: &mut Tracer,
    samples: &Samples,
) -> serde_reflection::Result<Format> {
    tracer
        .trace_type_once::<T>(samples)
        .map(|(format, _)| format)
}

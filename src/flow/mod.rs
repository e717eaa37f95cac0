//! Flow control: every bound on what one party can make another hold, in one place.
//!
//! | What is bounded | Mechanism | Where it acts |
//! |---|---|---|
//! | A call's return values, with `fc` (docs/PROTOCOL.md §10) | [`Credit`] granted by the client (`fc`, then `crd`); the method's output is pulled through [`Credited`], one value ahead at most | the call actor; the Rust client's input pumps the same way, on the server's credit |
//! | A call's input values, with `fc` | a [`Credit`] per input stream, counted as values arrive (`call::CallInputs`); [`GrantBack`] gives back ⌈window/2⌉ at a time as the method takes them, as [`Grant`]s the call sends as `crd(p)` | the connection (counting), the input streams (granting), the call actor (sending) |
//! | A call's input values, without `fc` | [`InputQueue`]: at most `max_queued_inputs` untaken; the connection stops reading its socket while it is full | the connection |
//! | Bytes for one connection | [`OutboundGate`]: at most `max_outbound_bytes` produced and not yet taken by the socket; a call's output is pulled through [`Gated`] | the call actors, the socket edge's `Drain` |
//! | A client's consumer | the client grants back as its consumer takes values ([`GrantBack`]) | `client::call` |
//!
//! Credit is in values, the gate in bytes: credit keeps one slow stream from holding up its
//! neighbours on a connection, the gate keeps one slow connection from growing the server.

mod credit;
#[cfg(feature = "server")]
mod gate;
#[cfg(feature = "server")]
mod input_queue;

pub(crate) use credit::{Credit, Credited, GrantBack};
#[cfg(feature = "server")]
pub(crate) use gate::{Gated, OutboundGate};
#[cfg(feature = "server")]
pub(crate) use input_queue::{Grant, InputFlow, InputQueue};

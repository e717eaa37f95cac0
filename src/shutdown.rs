//! How a server's shutdown reaches its connections: [`GoingAway`], sent first to the helpers
//! a connection attached (its call supervisor), then to every connection. Below both the
//! socket edge, which sends it, and the calls, whose supervisor hears it.

use actix::prelude::*;

/// Tells a connection (or one of its helpers) that the server is going away.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct GoingAway;

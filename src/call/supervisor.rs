//! [`CallSupervisor`]: owns the call actors of one connection.
//!
//! `actix::Supervisor` restarts a single actor in place, which a streaming call cannot
//! survive, so supervision here is explicit: the supervisor holds the address of every live
//! call, forgets a call when the connection hears that it ended ([`Forget`]), and on
//! [`StopAll`] (sent by the connection when it stops, for whatever reason) or [`GoingAway`]
//! (the server shuts down) tells every remaining call to shut down.

use super::messages::{Adopt, Forget, Shutdown, StopAll};
use super::CallActor;
use crate::socket::GoingAway;
use actix::prelude::*;
use uuid::Uuid;

/// The owner of one connection's calls.
#[derive(Default)]
pub(crate) struct CallSupervisor {
    /// A list, not a map: most connections hold a call or a few, and a map's smallest
    /// table is four entries (180 bytes) where the list starts at one (40).
    calls: Vec<(Uuid, Addr<CallActor>)>,
}

impl Actor for CallSupervisor {
    type Context = Context<Self>;
}

impl Handler<Adopt> for CallSupervisor {
    type Result = ();
    fn handle(&mut self, msg: Adopt, _: &mut Context<Self>) {
        if self.calls.capacity() == 0 {
            self.calls.reserve_exact(1);
        }
        self.calls.push((msg.cid, msg.call));
    }
}

impl Handler<Forget> for CallSupervisor {
    type Result = ();
    fn handle(&mut self, msg: Forget, _: &mut Context<Self>) {
        if let Some(i) = self.calls.iter().position(|(cid, _)| *cid == msg.cid) {
            self.calls.swap_remove(i);
        }
    }
}

impl Handler<StopAll> for CallSupervisor {
    type Result = ();
    fn handle(&mut self, _: StopAll, ctx: &mut Context<Self>) {
        self.stop_all(ctx);
    }
}

impl Handler<GoingAway> for CallSupervisor {
    type Result = ();
    fn handle(&mut self, _: GoingAway, ctx: &mut Context<Self>) {
        self.stop_all(ctx);
    }
}

impl CallSupervisor {
    fn stop_all(&mut self, ctx: &mut Context<Self>) {
        for (_, call) in self.calls.drain(..) {
            call.do_send(Shutdown);
        }
        ctx.stop();
    }
}

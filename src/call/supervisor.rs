//! [`CallSupervisor`]: owns the call actors of one connection.
//!
//! `actix::Supervisor` restarts a single actor in place, which a streaming call cannot
//! survive, so supervision here is explicit: the supervisor holds the address of every live
//! call, forgets a call when the connection hears that it ended ([`Forget`]), and on
//! [`StopAll`] (sent by the connection when it stops, for whatever reason) or [`GoingAway`]
//! (the server shuts down) tells every remaining call to shut down.

use super::messages::{Adopt, Forget, Shutdown, StopAll};
use super::{CallActor, CallTable};
use crate::shutdown::GoingAway;
use actix::prelude::*;

/// The owner of one connection's calls.
pub(crate) struct CallSupervisor {
    calls: CallTable<Addr<CallActor>>,
}

impl Default for CallSupervisor {
    fn default() -> Self {
        CallSupervisor {
            calls: CallTable::new(),
        }
    }
}

impl Actor for CallSupervisor {
    type Context = Context<Self>;
}

impl Handler<Adopt> for CallSupervisor {
    type Result = ();
    fn handle(&mut self, msg: Adopt, _: &mut Context<Self>) {
        self.calls.insert(msg.cid, msg.call);
    }
}

impl Handler<Forget> for CallSupervisor {
    type Result = ();
    fn handle(&mut self, msg: Forget, _: &mut Context<Self>) {
        self.calls.remove(&msg.cid);
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
        for call in self.calls.drain() {
            call.do_send(Shutdown);
        }
        ctx.stop();
    }
}

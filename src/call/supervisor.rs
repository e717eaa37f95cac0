//! [`CallSupervisor`]: owns the call actors of one connection.
//!
//! `actix::Supervisor` restarts a single actor in place, which a streaming call cannot
//! survive, so supervision here is explicit: the supervisor holds the address of every live
//! call, forgets a call when it reports [`CallEnded`], and on [`StopAll`] (sent by the
//! connection when it stops, for whatever reason) tells every remaining call to shut down.

use super::messages::{Adopt, CallEnded, Shutdown, StopAll};
use super::CallActor;
use actix::prelude::*;
use std::collections::HashMap;
use uuid::Uuid;

/// The owner of one connection's calls.
#[derive(Default)]
pub(crate) struct CallSupervisor {
    calls: HashMap<Uuid, Addr<CallActor>>,
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

impl Handler<CallEnded> for CallSupervisor {
    type Result = ();
    fn handle(&mut self, msg: CallEnded, _: &mut Context<Self>) {
        self.calls.remove(&msg.cid);
    }
}

impl Handler<StopAll> for CallSupervisor {
    type Result = ();
    fn handle(&mut self, _: StopAll, ctx: &mut Context<Self>) {
        for (_, call) in self.calls.drain() {
            call.do_send(Shutdown);
        }
        ctx.stop();
    }
}

//! Revocation: which open calls belong to which user, so that revoking a user's
//! authentication closes exactly the calls it should, on every connection of every node.
//!
//! Only calls on endpoints that require login or scopes are tracked (calls on public
//! endpoints are never closed by revocation). A call registers when it opens and removes
//! itself when it ends, so the table holds open calls only. While a user has tracked calls
//! on this node, the node listens on the user's revocation channel of the message bus; a
//! revocation is a message on that channel, so it reaches every node through Redis.

use super::Revoked;
use crate::bus::{BusError, ListenerId, MessageBus, Scope};
use crate::model;
use actix::Recipient;
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// Tells a call that its authentication was revoked.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub(crate) struct Revoke;

/// A revocation as it travels on the bus.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevokedAuthentication {
    /// `user`, `authId` or `scopes`.
    kind: String,
    #[serde(default)]
    auth_id: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}
model!(RevokedAuthentication, "streampod.RevokedAuthentication");

impl From<Revoked> for RevokedAuthentication {
    fn from(r: Revoked) -> Self {
        let (kind, auth_id, scopes) = match r {
            Revoked::User => ("user", None, Vec::new()),
            Revoked::AuthId(id) => ("authId", Some(id), Vec::new()),
            Revoked::Scopes(scopes) => ("scopes", None, scopes),
        };
        RevokedAuthentication {
            kind: kind.into(),
            auth_id,
            scopes,
        }
    }
}

impl RevokedAuthentication {
    fn into_revoked(self) -> Option<Revoked> {
        match self.kind.as_str() {
            "user" => Some(Revoked::User),
            "authId" => self.auth_id.map(Revoked::AuthId),
            "scopes" => Some(Revoked::Scopes(self.scopes)),
            _ => None,
        }
    }
}

/// The bus channel that carries `user_id`'s revocations.
fn channel(user_id: &str) -> String {
    format!("_streampod_revoked_authentication_{user_id}")
}

struct Entry {
    auth_id: Option<String>,
    required_scopes: Arc<HashSet<String>>,
    call: Recipient<Revoke>,
}

/// One user's tracked calls on this node, and the bus listener that serves them.
struct UserCalls {
    listener: ListenerId,
    entries: Vec<(u64, Entry)>,
}

/// Open authenticated calls, by user.
pub(crate) struct Revocations {
    by_user: DashMap<String, UserCalls>,
    next_id: AtomicU64,
    tracked: AtomicUsize,
    bus: MessageBus,
    this: Weak<Revocations>,
}

/// Removes its call's entry when dropped: the call holds it for as long as it runs.
pub(crate) struct Registration {
    table: Arc<Revocations>,
    user_id: String,
    id: u64,
}

impl Revocations {
    pub(crate) fn new(bus: MessageBus) -> Arc<Self> {
        Arc::new_cyclic(|this| Revocations {
            by_user: DashMap::new(),
            next_id: AtomicU64::new(1),
            tracked: AtomicUsize::new(0),
            bus,
            this: this.clone(),
        })
    }

    pub(crate) fn register(
        self: &Arc<Self>,
        user_id: &str,
        auth_id: Option<String>,
        required_scopes: Arc<HashSet<String>>,
        call: Recipient<Revoke>,
    ) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            auth_id,
            required_scopes,
            call,
        };
        self.by_user
            .entry(user_id.to_string())
            .or_insert_with(|| UserCalls {
                listener: self.listen(user_id),
                entries: Vec::new(),
            })
            .entries
            .push((id, entry));
        self.tracked.fetch_add(1, Ordering::Relaxed);
        Registration {
            table: self.clone(),
            user_id: user_id.to_string(),
            id,
        }
    }

    /// Listens on the user's revocation channel.
    fn listen(&self, user_id: &str) -> ListenerId {
        let table = self.this.clone();
        let user = user_id.to_string();
        self.bus.add_listener(&channel(user_id), move |message| {
            let revoked = message
                .decode::<RevokedAuthentication>()
                .ok()
                .and_then(RevokedAuthentication::into_revoked);
            match (table.upgrade(), revoked) {
                (Some(table), Some(revoked)) => table.revoke_here(&user, &revoked),
                (_, None) => log::warn!("ignoring a malformed revocation for user {user}"),
                _ => {}
            }
        })
    }

    /// Posts a revocation on the bus (scope `Auto`).
    pub(crate) async fn post(&self, user_id: &str, revoked: Revoked) -> Result<(), BusError> {
        let message = RevokedAuthentication::from(revoked);
        self.bus
            .post_message(&channel(user_id), &message, Scope::Auto)
            .await
    }

    /// Tells this node's calls of `user_id` that `revoked` applies to.
    fn revoke_here(&self, user_id: &str, revoked: &Revoked) {
        let Some(calls) = self.by_user.get(user_id) else {
            return;
        };
        for (_, entry) in calls.entries.iter() {
            let applies = match revoked {
                Revoked::User => true,
                Revoked::AuthId(id) => entry.auth_id.as_deref() == Some(id.as_str()),
                Revoked::Scopes(scopes) => scopes.iter().any(|s| entry.required_scopes.contains(s)),
            };
            if applies {
                entry.call.do_send(Revoke);
            }
        }
    }

    /// Calls currently tracked.
    pub(crate) fn tracked(&self) -> usize {
        self.tracked.load(Ordering::Relaxed)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut emptied = false;
        if let Some(mut calls) = self.table.by_user.get_mut(&self.user_id) {
            calls.entries.retain(|(id, _)| *id != self.id);
            emptied = calls.entries.is_empty();
        }
        if emptied {
            if let Some((_, calls)) = self
                .table
                .by_user
                .remove_if(&self.user_id, |_, c| c.entries.is_empty())
            {
                self.table
                    .bus
                    .remove_listener(&channel(&self.user_id), calls.listener);
            }
        }
        self.table.tracked.fetch_sub(1, Ordering::Relaxed);
    }
}

//! Revocation: which open calls belong to which user, so that revoking a user's
//! authentication closes exactly the calls it should, on every connection of the server.
//!
//! Only calls on endpoints that require login or scopes are tracked (calls on public
//! endpoints are never closed by revocation). A call registers when it opens and removes
//! itself when it ends, so the table holds open calls only.

use super::auth::Revoked;
use actix::Recipient;
use dashmap::DashMap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Tells a call that its authentication was revoked.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub(crate) struct Revoke;

struct Entry {
    auth_id: Option<String>,
    required_scopes: Arc<HashSet<String>>,
    call: Recipient<Revoke>,
}

/// Open authenticated calls, by user.
#[derive(Default)]
pub(crate) struct Revocations {
    by_user: DashMap<String, Vec<(u64, Entry)>>,
    next_id: AtomicU64,
    tracked: AtomicUsize,
}

/// Removes its call's entry when dropped: the call holds it for as long as it runs.
pub(crate) struct Registration {
    table: Arc<Revocations>,
    user_id: String,
    id: u64,
}

impl Revocations {
    pub(crate) fn register(
        self: &Arc<Self>,
        user_id: &str,
        auth_id: Option<String>,
        required_scopes: Arc<HashSet<String>>,
        call: Recipient<Revoke>,
    ) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.by_user.entry(user_id.to_string()).or_default().push((
            id,
            Entry {
                auth_id,
                required_scopes,
                call,
            },
        ));
        self.tracked.fetch_add(1, Ordering::Relaxed);
        Registration {
            table: self.clone(),
            user_id: user_id.to_string(),
            id,
        }
    }

    /// Tells every call of `user_id` that `revoked` applies to; returns how many.
    pub(crate) fn revoke(&self, user_id: &str, revoked: &Revoked) -> usize {
        let Some(entries) = self.by_user.get(user_id) else {
            return 0;
        };
        let mut closed = 0;
        for (_, entry) in entries.iter() {
            let applies = match revoked {
                Revoked::User => true,
                Revoked::AuthId(id) => entry.auth_id.as_deref() == Some(id.as_str()),
                Revoked::Scopes(scopes) => scopes.iter().any(|s| entry.required_scopes.contains(s)),
            };
            if applies {
                entry.call.do_send(Revoke);
                closed += 1;
            }
        }
        closed
    }

    /// Calls currently tracked.
    pub(crate) fn tracked(&self) -> usize {
        self.tracked.load(Ordering::Relaxed)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut emptied = false;
        if let Some(mut entries) = self.table.by_user.get_mut(&self.user_id) {
            entries.retain(|(id, _)| *id != self.id);
            emptied = entries.is_empty();
        }
        if emptied {
            self.table
                .by_user
                .remove_if(&self.user_id, |_, entries| entries.is_empty());
        }
        self.table.tracked.fetch_sub(1, Ordering::Relaxed);
    }
}

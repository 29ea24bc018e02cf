//! Measuring, not computing: every power comes from the server's answer to a credential.
//!
//! - account: its grants (`GET …/users/{id}/permissions` with the bootstrap client) united with
//!   those of the groups the server lists it in (`groups.rs`); nothing when it is disabled or
//!   deleted;
//! - client: `effective_permissions` of `GET /api/v1/me` with its newest working secret (a
//!   public client, which has none, or one whose secrets all ended: the `effective_permissions`
//!   the bootstrap client reads);
//! - token: `effective_permissions` of `GET /api/v1/me` with it (401: nothing);
//! - keys: a secret, its own `/me`; a password, its account's power while it is the account's
//!   current password and no factor stands in the way (`factors.rs`: the account has none, or
//!   the agent holds one); a session, its account's while no password change or factor removal
//!   ended it; a verified email, the account's while it is still its verified email (and, as for
//!   a password, no factor stands in the way); a public client's redirect URI, the client's power
//!   while the URI is still registered; an authenticator app's secret, nothing by itself;
//! - log streams and their receivers: `streams.rs`.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;

use super::power::Power;
use super::world::{retry_after, Auth, Body, Key, Principal, World};
use crate::support::Reply;

/// The powers of one moment; `None` where the server gave no usable answer.
#[derive(Clone, Default)]
pub struct Snapshot {
    pub accounts: Vec<Option<Power>>,
    pub clients: Vec<Option<Power>>,
    pub tokens: Vec<Option<Power>>,
    pub streams: Vec<Option<Power>>,
    pub groups: Vec<Option<Power>>,
    /// Per agent: each key it holds and the key's power.
    pub keys: Vec<Vec<(Key, Option<Power>)>>,
}

/// What an agent reaches: the union of its keys' powers, and whether a key could not be measured.
#[derive(Debug, Clone, Copy)]
pub struct Reach {
    pub power: Power,
    pub unknown: bool,
}

impl Snapshot {
    pub fn principal(&self, p: Principal) -> Option<Power> {
        match p {
            Principal::Account(a) => self.accounts.get(a).copied().flatten(),
            Principal::Client(c) => self.clients.get(c).copied().flatten(),
            Principal::Token(t) => self.tokens.get(t).copied().flatten(),
            Principal::Stream(s) => self.streams.get(s).copied().flatten(),
            Principal::Group(g) => self.groups.get(g).copied().flatten(),
        }
    }

    /// After a step without requests (a key handed over): the agents' keys as they are now,
    /// with the powers measured last.
    pub fn rekey(&mut self, w: &World<'_>) {
        let old = std::mem::take(&mut self.keys);
        let anywhere: Vec<&(Key, Option<Power>)> = old.iter().flatten().collect();
        self.keys = w
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                a.keys
                    .iter()
                    .map(|k| {
                        // The agent's own measurement first (a redirect URI's power is the
                        // agent's), then any holder's (a key handed over).
                        // A password or an email is worth what its holder can sign in with
                        // (a factor of the account may stand in the way): computed again.
                        if let Some(power) = w.sign_in_key_power(i, k, self) {
                            return (k.clone(), power);
                        }
                        let mine = old.get(i).and_then(|keys| keys.iter().find(|(j, _)| j == k));
                        let power =
                            mine.or_else(|| anywhere.iter().copied().find(|(j, _)| j == k)).and_then(|(_, p)| *p);
                        (k.clone(), power)
                    })
                    .collect()
            })
            .collect();
    }

    pub fn reach(&self, agent: usize) -> Reach {
        let mut reach = Reach { power: Power::EMPTY, unknown: false };
        for (_, p) in &self.keys[agent] {
            match p {
                Some(p) => reach.power = reach.power.union(*p),
                None => reach.unknown = true,
            }
        }
        reach
    }
}

impl World<'_> {
    /// `GET /api/v1/me` from the oracle's address, on the other replica, waiting out a throttle.
    fn me(&self, auth: &Auth) -> Reply {
        let mut r = self.oracle.send(Method::GET, "/api/v1/me", auth, &self.oracle_addr, Body::Empty);
        for _ in 0..3 {
            if r.status != 429 && r.status != 503 {
                break;
            }
            std::thread::sleep(retry_after(&r));
            r = self.oracle.send(Method::GET, "/api/v1/me", auth, &self.oracle_addr, Body::Empty);
        }
        // What the replica let through, the server the agents speak to must answer alike: a
        // change made there reaches the replica's next request (a stale cache would show here).
        if r.status == 200 {
            let here = self.http.send(Method::GET, "/api/v1/me", auth, &self.oracle_addr, Body::Empty);
            let (there_power, here_power) = (self.power_of_me(&r), self.power_of_me(&here));
            if here.status != 429 && here.status != 503 && there_power != here_power {
                self.disagreements.borrow_mut().push(format!(
                    "the replica answered {} with {}, the server that made the changes {} with {}",
                    r.status,
                    there_power.map_or("?".into(), |p| self.u.describe(p)),
                    here.status,
                    here_power.map_or("?".into(), |p| self.u.describe(p)),
                ));
            }
        }
        r
    }

    fn power_of_me(&self, r: &Reply) -> Option<Power> {
        match r.status {
            200 => Some(self.u.expand_json(&r.json["effective_permissions"])),
            401 | 403 => Some(Power::EMPTY),
            _ => None,
        }
    }

    /// Whether a client can do nothing right now whatever its secret (disabled, no owner, or
    /// a disabled owner), from the bootstrap client's view; `None` when it is gone.
    fn client_view(&self, c: usize) -> Option<Value> {
        let r = self.boot(Method::GET, &format!("/api/v1/clients/{}", self.clients[c].id), Body::Empty);
        (r.status == 200).then_some(r.json)
    }

    fn blocked(&self, view: &Value) -> bool {
        if view["disabled"] == Value::Bool(true) || view["owner"].is_null() {
            return true;
        }
        let owner = view["owner"]["account_id"].as_str().unwrap_or_default();
        self.account_of_id(owner).is_none_or(|a| self.accounts[a].disabled || self.accounts[a].deleted)
    }

    /// Measures every principal and every key.
    pub fn measure(&mut self) -> Snapshot {
        let mut snap = Snapshot::default();
        let groups = self.measure_groups(&mut snap);
        for a in 0..self.accounts.len() {
            let power = self.measure_account(a, &groups);
            snap.accounts.push(power);
        }
        // Secret -> power, for every secret measured.
        let mut secrets: HashMap<(usize, String), Option<Power>> = HashMap::new();
        // Clients whose secret was refused although the client works: the secret ended.
        let mut blocked: HashMap<usize, bool> = HashMap::new();
        let mut redirects: HashMap<usize, Vec<String>> = HashMap::new();
        for c in 0..self.clients.len() {
            let power = self.measure_client(c, &mut secrets, &mut blocked, &mut redirects);
            snap.clients.push(power);
        }
        for t in 0..self.tokens.len() {
            let r = self.me(&Auth::Bearer(self.tokens[t].access.clone()));
            snap.tokens.push(self.power_of_me(&r));
        }
        // Secrets held by agents that are not their client's newest.
        let held: Vec<(usize, String)> = self
            .agents
            .iter()
            .flat_map(|a| a.keys.iter())
            .filter_map(|k| match k {
                Key::Secret { client, secret } => Some((*client, secret.clone())),
                _ => None,
            })
            .collect();
        for (c, s) in held {
            if secrets.contains_key(&(c, s.clone())) || !self.clients[c].secret_live(&s) {
                continue;
            }
            let r = self.me(&Auth::Basic(self.clients[c].client_id.clone(), s.clone()));
            let power = self.power_of_me(&r);
            if r.status == 401 && !blocked.get(&c).copied().unwrap_or(false) {
                self.kill_secret(c, &s);
            }
            secrets.insert((c, s), power);
        }
        self.prune_dead_secrets();
        let receivers = self.measure_streams(&mut snap);
        for agent in 0..self.agents.len() {
            let keys: Vec<(Key, Option<Power>)> = self.agents[agent]
                .keys
                .iter()
                .map(|k| match k {
                    Key::Stream { stream } => (k.clone(), self.stream_key_power(agent, *stream, &snap, &receivers)),
                    Key::Signer { client, kid } => (k.clone(), self.signer_power(*client, kid)),
                    _ => (k.clone(), self.key_power(agent, k, &snap, &secrets, &redirects)),
                })
                .collect();
            snap.keys.push(keys);
        }
        snap
    }

    fn measure_account(&mut self, a: usize, groups: &HashMap<String, Option<Power>>) -> Option<Power> {
        if self.accounts[a].deleted {
            return Some(Power::EMPTY);
        }
        let ns = self.u.names[self.accounts[a].ns].clone();
        let id = self.accounts[a].id.clone();
        let r = self.boot(Method::GET, &format!("/api/v1/namespaces/{ns}/users/{id}"), Body::Empty);
        match r.status {
            404 => {
                self.accounts[a].deleted = true;
                return Some(Power::EMPTY);
            }
            200 => {}
            _ => return None,
        }
        let account = &mut self.accounts[a];
        account.username = r.json["username"].as_str().map(str::to_owned);
        account.email = r.json["email"].as_str().map(str::to_owned);
        account.email_verified = r.json["email_verified"] == Value::Bool(true);
        account.disabled = r.json["disabled"] == Value::Bool(true);
        if !self.measure_factors(a, &ns, &id) {
            return None;
        }
        let p = self.boot(Method::GET, &format!("/api/v1/namespaces/{ns}/users/{id}/permissions"), Body::Empty);
        match p.status {
            200 if self.accounts[a].disabled => Some(Power::EMPTY),
            // Its own grants and its groups', united by the model.
            200 => {
                let own = self.u.expand_json(&p.json["permissions"]);
                self.power_through_groups(&ns, &id, groups).map(|through| own.union(through))
            }
            404 => {
                self.accounts[a].deleted = true;
                Some(Power::EMPTY)
            }
            _ => None,
        }
    }

    fn measure_client(
        &mut self,
        c: usize,
        secrets: &mut HashMap<(usize, String), Option<Power>>,
        blocked: &mut HashMap<usize, bool>,
        redirects: &mut HashMap<usize, Vec<String>>,
    ) -> Option<Power> {
        if self.clients[c].deleted {
            return Some(Power::EMPTY);
        }
        if self.clients[c].public {
            let Some(view) = self.client_view(c) else {
                self.mark_deleted(c);
                return Some(Power::EMPTY);
            };
            let uris = view["redirect_uris"]
                .as_array()
                .map(|a| a.iter().filter_map(|u| u.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            redirects.insert(c, uris);
            return Some(self.u.expand_json(&view["effective_permissions"]));
        }
        while let Some(secret) = self.clients[c].newest_live_secret().map(str::to_owned) {
            let r = self.me(&Auth::Basic(self.clients[c].client_id.clone(), secret.clone()));
            if r.status != 401 {
                let power = self.power_of_me(&r);
                // A client never does more than its owner may right now: what its secret acts
                // with is what the database says it may do (read fresh by the bootstrap client),
                // whatever either server remembered.
                if let (200, Some(acts), Some(view)) = (r.status, power, self.client_view(c)) {
                    let stored = self.u.expand_json(&view["effective_permissions"]);
                    if acts != stored {
                        self.disagreements.borrow_mut().push(format!(
                            "client {} acts with {} but may do {} now",
                            self.clients[c].label,
                            self.u.describe(acts),
                            self.u.describe(stored)
                        ));
                    }
                }
                blocked.insert(c, false);
                secrets.insert((c, secret), power);
                return power;
            }
            let Some(view) = self.client_view(c) else {
                self.mark_deleted(c);
                return Some(Power::EMPTY);
            };
            if self.blocked(&view) {
                blocked.insert(c, true);
                secrets.insert((c, secret), Some(Power::EMPTY));
                return Some(Power::EMPTY);
            }
            // The client works but refuses this secret: it ended.
            self.kill_secret(c, &secret);
        }
        let Some(view) = self.client_view(c) else {
            self.mark_deleted(c);
            return Some(Power::EMPTY);
        };
        Some(self.u.expand_json(&view["effective_permissions"]))
    }

    /// What a signing key of client `c` reaches: a client_credentials grant with an assertion it
    /// signs, then `/me` with the token (a refused assertion: nothing).
    fn signer_power(&self, c: usize, kid: &str) -> Option<Power> {
        if self.clients[c].deleted {
            return Some(Power::EMPTY);
        }
        let assertion = self.assertion(c, kid);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion.as_str()),
        ];
        let r = self.http.send(Method::POST, "/oauth/token", &Auth::Anonymous, &self.oracle_addr, Body::Form(&form));
        match r.status {
            200 => {
                let token = r.json["access_token"].as_str().unwrap_or_default().to_owned();
                self.power_of_me(&self.me(&Auth::Bearer(token)))
            }
            // A key no longer registered, a disabled client or owner, a client that no longer
            // takes client_credentials: nothing the key reaches by itself.
            400 | 401 => Some(Power::EMPTY),
            _ => None,
        }
    }

    pub fn mark_deleted(&mut self, c: usize) {
        self.clients[c].deleted = true;
        for s in self.clients[c].secrets.iter_mut() {
            s.1 = false;
        }
    }

    pub fn kill_secret(&mut self, c: usize, secret: &str) {
        for s in self.clients[c].secrets.iter_mut().filter(|s| s.0 == secret) {
            s.1 = false;
        }
    }

    /// Holders lose the secrets that ended (so that nobody keeps presenting a dead secret,
    /// which would count against the client's and the address's throttles).
    pub fn prune_dead_secrets(&mut self) {
        let clients = &self.clients;
        for agent in &mut self.agents {
            agent.keys.retain(|k| match k {
                Key::Secret { client, secret } => clients[*client].secret_live(secret),
                _ => true,
            });
        }
    }

    /// The power of a key that signs in (a password, or a verified email that resets it) in the
    /// hands of `agent`: its account's while the key is current and no factor of the account
    /// stands in the way (`factors.rs`); `None` for other keys.
    pub fn sign_in_key_power(&self, agent: usize, key: &Key, snap: &Snapshot) -> Option<Option<Power>> {
        let (account, current) = match key {
            Key::Password { account, password } => {
                (*account, self.accounts[*account].password.as_deref() == Some(password))
            }
            Key::Email { account, email } => {
                let a = &self.accounts[*account];
                (*account, a.email.as_deref() == Some(email) && a.email_verified)
            }
            _ => return None,
        };
        if self.accounts[account].deleted || !current || !self.password_suffices(agent, account) {
            return Some(Some(Power::EMPTY));
        }
        Some(snap.accounts.get(account).copied().flatten())
    }

    fn key_power(
        &self,
        agent: usize,
        key: &Key,
        snap: &Snapshot,
        secrets: &HashMap<(usize, String), Option<Power>>,
        redirects: &HashMap<usize, Vec<String>>,
    ) -> Option<Power> {
        let account_power = |a: usize| snap.accounts[a];
        match key {
            Key::Secret { client, secret } => {
                if !self.clients[*client].secret_live(secret) {
                    return Some(Power::EMPTY);
                }
                secrets.get(&(*client, secret.clone())).copied().unwrap_or(Some(Power::EMPTY))
            }
            Key::Password { .. } | Key::Email { .. } => self.sign_in_key_power(agent, key, snap).flatten(),
            Key::Token { token } => snap.tokens[*token],
            Key::Session { account, generation } => {
                if self.accounts[*account].session_generation == *generation {
                    account_power(*account)
                } else {
                    Some(Power::EMPTY)
                }
            }
            Key::Redirect { client } => {
                let mine = &self.agents[agent].redirect;
                if redirects.get(client).is_some_and(|uris| uris.contains(mine)) {
                    snap.clients[*client]
                } else {
                    Some(Power::EMPTY)
                }
            }
            // Half of a sign-in: what it adds is counted in the password's power.
            Key::Factor { .. } => Some(Power::EMPTY),
            Key::Stream { .. } | Key::Signer { .. } => unreachable!("measured by stream_key_power, signer_power"),
        }
    }
}

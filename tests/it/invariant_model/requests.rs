//! What the operations share: choosing callers and targets, sending a request with an agent's
//! key, learning from refusals and tokens, and showing a step.

use reqwest::Method;
use serde_json::{json, Value};

use super::ops::{ok, status, Outcome, ScopePick, Sel, Step};
use super::world::{Auth, Body, Key, Principal, TokenP, World};
use crate::support::Reply;

impl World<'_> {
    pub(super) fn step_no(&self) -> usize {
        self.step.unwrap_or(0)
    }

    /// A caller: among the agents holding a Management API key (a client secret or an access
    /// token), the `agent`-th, and its `key`-th such key.
    pub(super) fn caller(&self, sel: &Sel) -> (usize, Option<Key>) {
        let holders: Vec<usize> =
            (0..self.agents.len()).filter(|&a| self.agents[a].keys.iter().any(Key::is_api)).collect();
        let Some(agent) = Self::pick(&holders, sel.agent) else { return (0, None) };
        let keys: Vec<&Key> = self.agents[agent].keys.iter().filter(|k| k.is_api()).collect();
        (agent, Some(keys[usize::from(sel.key) % keys.len()].clone()))
    }

    /// Picks among `choices` with two indices (the first agent-like, the second key-like).
    pub(super) fn pick2<T: Clone>(choices: &[T], i: u8, j: u8) -> Option<T> {
        (!choices.is_empty()).then(|| choices[(usize::from(i) * 256 + usize::from(j)) % choices.len()].clone())
    }

    /// Every (agent, account, password) where the agent can sign the account in.
    pub(super) fn usable_passwords(&self) -> Vec<(usize, usize, String)> {
        let mut out = Vec::new();
        for (x, agent) in self.agents.iter().enumerate() {
            for k in &agent.keys {
                if let Key::Password { account, password } = k {
                    if self.usable_password(*account, password) {
                        out.push((x, *account, password.clone()));
                    }
                }
            }
        }
        out
    }

    pub(super) fn live_clients(&self) -> Vec<usize> {
        (0..self.clients.len()).filter(|&c| !self.clients[c].deleted).collect()
    }

    pub(super) fn live_accounts(&self) -> Vec<usize> {
        (0..self.accounts.len()).filter(|&a| !self.accounts[a].deleted).collect()
    }

    pub(super) fn pick<T: Copy>(list: &[T], i: u8) -> Option<T> {
        (!list.is_empty()).then(|| list[usize::from(i) % list.len()])
    }

    /// A request of agent `agent` with `key` on the Management API.
    pub(super) fn api(&self, agent: usize, key: &Key, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let auth = self.api_auth(key).expect("an API key");
        let body = match body {
            Some(v) => Body::Json(v),
            None => Body::Empty,
        };
        self.http.send(method, path, &auth, &self.agents[agent].addr, body)
    }

    /// After a 401 for a secret the model believed alive, finds out whether it ended.
    pub(super) fn after_refusal(&mut self, key: &Key, r: &Reply) {
        if let (Key::Secret { client, secret }, 401) = (key, r.status) {
            let view = self.boot(Method::GET, &format!("/api/v1/clients/{}", self.clients[*client].id), Body::Empty);
            if view.status == 404 {
                self.mark_deleted(*client);
            } else if view.json["disabled"] != Value::Bool(true) && !view.json["owner"].is_null() {
                let owner = view.json["owner"]["account_id"].as_str().unwrap_or_default();
                let owner_ok = self.account_of_id(owner).is_some_and(|a| !self.accounts[a].disabled);
                if owner_ok {
                    let secret = secret.clone();
                    self.kill_secret(*client, &secret);
                }
            }
            self.prune_dead_secrets();
        }
    }

    pub(super) fn api_step(&mut self, kind: &'static str, agent: usize, key: &Key, r: &Reply, what: String) -> Step {
        let outcome = if ok(r) { Outcome::Succeeded } else { Outcome::Refused };
        if !ok(r) {
            self.after_refusal(key, r);
        }
        Step {
            kind,
            agent,
            p0: self.principal_of(key),
            outcome,
            changed: true,
            text: format!("{} via {}: {what} -> {}", self.agents[agent].name, self.describe_key(key), status(r)),
            probe_violation: None,
        }
    }

    pub(super) fn scope_text(&self, pick: &ScopePick) -> String {
        let mut parts: Vec<String> = ["openid", "profile", "offline_access", "account"]
            .iter()
            .enumerate()
            .filter(|(i, _)| pick.named & (1 << i) != 0)
            .map(|(_, s)| (*s).to_owned())
            .collect();
        parts.extend(self.grants(&pick.grants));
        parts.join(" ")
    }

    /// The bootstrap client's view of a client (for choosing what an agent can do with it).
    pub(super) fn client_settings(&self, c: usize) -> Option<Value> {
        let r = self.boot(Method::GET, &format!("/api/v1/clients/{}", self.clients[c].id), Body::Empty);
        (r.status == 200).then_some(r.json)
    }

    /// The live secret `agent` holds for client `c`, if any.
    pub(super) fn secret_held(&self, agent: usize, c: usize) -> Option<String> {
        self.agents[agent].keys.iter().find_map(|k| match k {
            Key::Secret { client, secret } if *client == c && self.clients[c].secret_live(secret) => {
                Some(secret.clone())
            }
            _ => None,
        })
    }

    /// A token request of `agent` for client `c` (its secret, or none for a public client).
    pub(super) fn token_request(&self, agent: usize, c: usize, form: &[(&str, &str)]) -> Reply {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let client_id = self.clients[c].client_id.clone();
        let signer = self.agents[agent].keys.iter().rev().find_map(|k| match k {
            Key::Signer { client, kid } if *client == c => Some(kid.clone()),
            _ => None,
        });
        let assertion = signer.map(|kid| self.assertion(c, &kid));
        let auth = match (self.secret_held(agent, c), &assertion) {
            (Some(secret), _) => Auth::Basic(client_id.clone(), secret),
            (None, Some(assertion)) => {
                fields.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
                fields.push(("client_assertion", assertion));
                Auth::Anonymous
            }
            (None, None) => {
                fields.push(("client_id", &client_id));
                Auth::Anonymous
            }
        };
        self.http.send(Method::POST, "/oauth/token", &auth, &self.agents[agent].addr, Body::Form(&fields))
    }

    /// The step of a token request by `agent` at client `c`: a 200 records the token (for
    /// `account`, with `scope`) and names it after `text`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn token_step(
        &mut self,
        kind: &'static str,
        agent: usize,
        c: usize,
        account: Option<usize>,
        r: &Reply,
        scope: &str,
        mut text: String,
    ) -> Step {
        let outcome = if r.status == 200 {
            let t = self.record_token(agent, c, account, r, scope);
            text.push_str(&format!(" (token {})", self.tokens[t].label));
            Outcome::Succeeded
        } else {
            Outcome::Refused
        };
        Step { kind, agent, p0: Some(Principal::Client(c)), outcome, changed: true, text, probe_violation: None }
    }

    pub(super) fn record_token(
        &mut self,
        agent: usize,
        c: usize,
        account: Option<usize>,
        r: &Reply,
        scope: &str,
    ) -> usize {
        let t = self.tokens.len();
        let label = format!(
            "t{t}({}{})",
            self.clients[c].label,
            account.map(|a| format!(" for {}", self.accounts[a].label)).unwrap_or_default()
        );
        self.tokens.push(TokenP {
            label,
            access: r.json["access_token"].as_str().unwrap_or_default().to_owned(),
            refresh: r.json["refresh_token"].as_str().map(str::to_owned),
            client: c,
            account,
            scope: r.json["scope"].as_str().unwrap_or(scope).to_owned(),
        });
        self.agents[agent].learn(Key::Token { token: t });
        t
    }

    /// Whether `agent` can sign `account` in with what it knows: the current password, and an
    /// account that may sign in (a wrong password would count against the throttles).
    pub(super) fn usable_password(&self, account: usize, password: &str) -> bool {
        let a = &self.accounts[account];
        !a.deleted && !a.disabled && a.username.is_some() && a.password.as_deref() == Some(password)
    }

    pub(super) fn show_patch(&self, body: &Value) -> String {
        let mut shown = body.clone();
        if let Some(id) = body["owner_account_id"].as_str() {
            if let Some(a) = self.account_of_id(id) {
                shown["owner_account_id"] = json!(self.accounts[a].label);
            }
        }
        shown.to_string()
    }
}

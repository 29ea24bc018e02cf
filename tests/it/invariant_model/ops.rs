//! The operations agents try, as abstract values (indices taken modulo the current counts when
//! an operation runs, so that a shrunk sequence still means something), and how each runs.

use proptest::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use super::measure::Snapshot;
use super::power::{Perm, Power, STAR};
use super::world::{encode, page_kind, pkce, random_text, AppSpec, Auth, Body, Key, PageKind, Principal, TokenP, World, GRANTS};
use crate::support::browser::query_param;
use crate::support::Reply;

/// A caller: agent `agent` (modulo the agents) with its `key`-th usable API key.
#[derive(Debug, Clone)]
pub struct Sel {
    pub agent: u8,
    pub key: u8,
}

#[derive(Debug, Clone, Default)]
pub struct ClientChange {
    pub name: bool,
    pub permissions: Option<Vec<u8>>,
    pub grant_types: Option<u8>,
    /// Redirect URIs: the caller's own.
    pub redirect: bool,
    pub user_ns: Option<u8>,
    pub password_grant: Option<bool>,
    pub skip_consent: Option<bool>,
    pub registration: Option<bool>,
    pub disabled: Option<bool>,
    pub owner: Option<u8>,
}

#[derive(Debug, Clone)]
pub enum AccountChange {
    /// A verified email address the caller reads.
    Email,
    Username,
    Disable,
    Enable,
    Delete,
}

/// Scopes: bits over `openid profile offline_access account`, and grants of the alphabet.
#[derive(Debug, Clone)]
pub struct ScopePick {
    pub named: u8,
    pub grants: Vec<u8>,
}

#[derive(Debug, Clone)]
pub enum Op {
    CreateClient { caller: Sel, owner: u8, grants: Vec<u8>, app: AppSpec },
    PatchClient { caller: Sel, client: u8, change: ClientChange },
    RotateSecret { caller: Sel, client: u8, overlap: bool },
    DeleteClient { caller: Sel, client: u8 },
    SetGrants { caller: Sel, account: u8, grants: Vec<u8> },
    SetPassword { caller: Sel, account: u8 },
    PatchAccount { caller: Sel, account: u8, change: AccountChange },
    CreateAccount { caller: Sel, ns: u8 },
    /// No request: agent `from` gives one of its keys to another agent.
    HandOver { from: u8, key: u8, to: u8 },
    /// The agent signs in, in its browser, with a password it holds.
    SignIn { agent: u8, key: u8 },
    /// The agent lures a victim's browser to an authorization request of a client it controls.
    Lure { agent: u8, client: u8, victim: u8, scope: ScopePick, prompt: u8 },
    Refresh { agent: u8, key: u8, narrower: Option<u8> },
    PasswordGrant { agent: u8, client: u8, key: u8, scope: ScopePick },
    ClientCredentials { agent: u8, key: u8, grants: Vec<u8> },
    /// A read the key's measured power says it may not do: the server must refuse it.
    Probe { agent: u8, key: u8, perm: u8 },
}

pub const KINDS: [&str; 15] = [
    "create-client",
    "patch-client",
    "rotate-secret",
    "delete-client",
    "set-grants",
    "set-password",
    "patch-account",
    "create-account",
    "hand-over",
    "sign-in",
    "lure",
    "refresh",
    "password-grant",
    "client-credentials",
    "probe",
];

impl Op {
    pub fn kind(&self) -> &'static str {
        KINDS[match self {
            Op::CreateClient { .. } => 0,
            Op::PatchClient { .. } => 1,
            Op::RotateSecret { .. } => 2,
            Op::DeleteClient { .. } => 3,
            Op::SetGrants { .. } => 4,
            Op::SetPassword { .. } => 5,
            Op::PatchAccount { .. } => 6,
            Op::CreateAccount { .. } => 7,
            Op::HandOver { .. } => 8,
            Op::SignIn { .. } => 9,
            Op::Lure { .. } => 10,
            Op::Refresh { .. } => 11,
            Op::PasswordGrant { .. } => 12,
            Op::ClientCredentials { .. } => 13,
            Op::Probe { .. } => 14,
        }]
    }
}

// ---------------------------------------------------------------- strategies

pub fn grants(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0..GRANTS.len() as u8, 0..=max)
}

fn sel() -> impl Strategy<Value = Sel> {
    (any::<u8>(), any::<u8>()).prop_map(|(agent, key)| Sel { agent, key })
}

pub fn app() -> impl Strategy<Value = AppSpec> {
    // API clients and confidential web apps twice as often as public apps; half the apps sign
    // in the owner's own namespace.
    let kind = prop_oneof![2 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)];
    (kind, 0u8..6, any::<bool>(), prop::bool::weighted(0.2), prop::bool::weighted(0.6)).prop_map(
        |(kind, user_ns, skip_consent, registration, password_grant)| AppSpec { kind, user_ns, skip_consent, registration, password_grant },
    )
}

fn scope(max_grants: usize) -> impl Strategy<Value = ScopePick> {
    (any::<u8>(), grants(max_grants)).prop_map(|(named, grants)| ScopePick { named, grants })
}

fn client_change() -> impl Strategy<Value = ClientChange> {
    let some = |p: f64| prop::bool::weighted(p);
    (
        (some(0.2), prop::option::weighted(0.3, grants(3)), prop::option::weighted(0.35, any::<u8>()), some(0.45)),
        (prop::option::weighted(0.35, any::<u8>()), prop::option::weighted(0.2, any::<bool>()), prop::option::weighted(0.15, any::<bool>())),
        (prop::option::weighted(0.1, any::<bool>()), prop::option::weighted(0.25, any::<bool>()), prop::option::weighted(0.25, any::<u8>())),
    )
        .prop_map(|((name, permissions, grant_types, redirect), (user_ns, password_grant, skip_consent), (registration, disabled, owner))| ClientChange {
            name,
            permissions,
            grant_types,
            redirect,
            user_ns,
            password_grant,
            skip_consent,
            registration,
            disabled,
            owner,
        })
}

fn account_change() -> impl Strategy<Value = AccountChange> {
    prop_oneof![
        3 => Just(AccountChange::Email),
        1 => Just(AccountChange::Username),
        2 => Just(AccountChange::Disable),
        2 => Just(AccountChange::Enable),
        1 => Just(AccountChange::Delete),
    ]
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (sel(), any::<u8>(), grants(3), app()).prop_map(|(caller, owner, grants, app)| Op::CreateClient { caller, owner, grants, app }),
        10 => (sel(), any::<u8>(), client_change()).prop_map(|(caller, client, change)| Op::PatchClient { caller, client, change }),
        5 => (sel(), any::<u8>(), any::<bool>()).prop_map(|(caller, client, overlap)| Op::RotateSecret { caller, client, overlap }),
        2 => (sel(), any::<u8>()).prop_map(|(caller, client)| Op::DeleteClient { caller, client }),
        7 => (sel(), any::<u8>(), grants(4)).prop_map(|(caller, account, grants)| Op::SetGrants { caller, account, grants }),
        6 => (sel(), any::<u8>()).prop_map(|(caller, account)| Op::SetPassword { caller, account }),
        5 => (sel(), any::<u8>(), account_change()).prop_map(|(caller, account, change)| Op::PatchAccount { caller, account, change }),
        2 => (sel(), any::<u8>()).prop_map(|(caller, ns)| Op::CreateAccount { caller, ns }),
        3 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(from, key, to)| Op::HandOver { from, key, to }),
        4 => (any::<u8>(), any::<u8>()).prop_map(|(agent, key)| Op::SignIn { agent, key }),
        12 => (any::<u8>(), any::<u8>(), any::<u8>(), scope(2), any::<u8>())
            .prop_map(|(agent, client, victim, scope, prompt)| Op::Lure { agent, client, victim, scope, prompt }),
        4 => (any::<u8>(), any::<u8>(), prop::option::of(any::<u8>())).prop_map(|(agent, key, narrower)| Op::Refresh { agent, key, narrower }),
        7 => (any::<u8>(), any::<u8>(), any::<u8>(), scope(1)).prop_map(|(agent, client, key, scope)| Op::PasswordGrant { agent, client, key, scope }),
        5 => (any::<u8>(), any::<u8>(), grants(2)).prop_map(|(agent, key, grants)| Op::ClientCredentials { agent, key, grants }),
        5 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(agent, key, perm)| Op::Probe { agent, key, perm }),
    ]
}

// ---------------------------------------------------------------- execution

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not applicable in this state (no such key, no such client, …): nothing was sent.
    Skipped,
    Refused,
    Succeeded,
}

/// What one step did.
pub struct Step {
    pub kind: &'static str,
    pub agent: usize,
    /// The principal whose credential the step used (for a grant at the token endpoint: the
    /// client there).
    pub p0: Option<Principal>,
    pub outcome: Outcome,
    /// Whether a request that may change something was sent (then the oracle measures again).
    pub changed: bool,
    pub text: String,
    /// A probe the server answered although the key may not do it.
    pub probe_violation: Option<String>,
}

impl Step {
    fn skipped(kind: &'static str, agent: usize, why: impl Into<String>) -> Step {
        Step { kind, agent, p0: None, outcome: Outcome::Skipped, changed: false, text: format!("({kind} skipped: {})", why.into()), probe_violation: None }
    }
}

fn ok(r: &Reply) -> bool {
    (200..300).contains(&r.status)
}

fn status(r: &Reply) -> String {
    if ok(r) {
        return r.status.to_string();
    }
    let why = r.json["missing_grant"].as_str().map(|g| format!(" missing {g}")).or_else(|| r.json["error"].as_str().map(|e| format!(" {e}"))).unwrap_or_default();
    format!("{}{why}", r.status)
}

const GRANT_TYPES: [&[&str]; 4] = [
    &["authorization_code", "refresh_token"],
    &["authorization_code"],
    &["client_credentials"],
    &["client_credentials", "authorization_code", "refresh_token"],
];

impl World<'_> {
    fn step_no(&self) -> usize {
        self.step.unwrap_or(0)
    }

    /// A caller: among the agents holding a Management API key (a client secret or an access
    /// token), the `agent`-th, and its `key`-th such key.
    fn caller(&self, sel: &Sel) -> (usize, Option<Key>) {
        let holders: Vec<usize> = (0..self.agents.len()).filter(|&a| self.agents[a].keys.iter().any(Key::is_api)).collect();
        let Some(agent) = Self::pick(&holders, sel.agent) else { return (0, None) };
        let keys: Vec<&Key> = self.agents[agent].keys.iter().filter(|k| k.is_api()).collect();
        (agent, Some(keys[usize::from(sel.key) % keys.len()].clone()))
    }

    /// Picks among `choices` with two indices (the first agent-like, the second key-like).
    fn pick2<T: Clone>(choices: &[T], i: u8, j: u8) -> Option<T> {
        (!choices.is_empty()).then(|| choices[(usize::from(i) * 256 + usize::from(j)) % choices.len()].clone())
    }

    /// Every (agent, account, password) where the agent can sign the account in.
    fn usable_passwords(&self) -> Vec<(usize, usize, String)> {
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

    fn live_clients(&self) -> Vec<usize> {
        (0..self.clients.len()).filter(|&c| !self.clients[c].deleted).collect()
    }

    fn live_accounts(&self) -> Vec<usize> {
        (0..self.accounts.len()).filter(|&a| !self.accounts[a].deleted).collect()
    }

    fn pick<T: Copy>(list: &[T], i: u8) -> Option<T> {
        (!list.is_empty()).then(|| list[usize::from(i) % list.len()])
    }

    /// A request of agent `agent` with `key` on the Management API.
    fn api(&self, agent: usize, key: &Key, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let auth = self.api_auth(key).expect("an API key");
        let body = match body {
            Some(v) => Body::Json(v),
            None => Body::Empty,
        };
        self.http.send(method, path, &auth, &self.agents[agent].addr, body)
    }

    /// After a 401 for a secret the model believed alive, finds out whether it ended.
    fn after_refusal(&mut self, key: &Key, r: &Reply) {
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

    fn api_step(&mut self, kind: &'static str, agent: usize, key: &Key, r: &Reply, what: String) -> Step {
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

    fn scope_text(&self, pick: &ScopePick) -> String {
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
    fn client_settings(&self, c: usize) -> Option<Value> {
        let r = self.boot(Method::GET, &format!("/api/v1/clients/{}", self.clients[c].id), Body::Empty);
        (r.status == 200).then_some(r.json)
    }

    /// The live secret `agent` holds for client `c`, if any.
    fn secret_held(&self, agent: usize, c: usize) -> Option<String> {
        self.agents[agent].keys.iter().find_map(|k| match k {
            Key::Secret { client, secret } if *client == c && self.clients[c].secret_live(secret) => Some(secret.clone()),
            _ => None,
        })
    }

    /// A token request of `agent` for client `c` (its secret, or none for a public client).
    fn token_request(&self, agent: usize, c: usize, form: &[(&str, &str)]) -> Reply {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let client_id = self.clients[c].client_id.clone();
        let auth = match self.secret_held(agent, c) {
            Some(secret) => Auth::Basic(client_id.clone(), secret),
            None => {
                fields.push(("client_id", &client_id));
                Auth::Anonymous
            }
        };
        self.http.send(Method::POST, "/oauth/token", &auth, &self.agents[agent].addr, Body::Form(&fields))
    }

    fn record_token(&mut self, agent: usize, c: usize, account: Option<usize>, r: &Reply, scope: &str) -> usize {
        let t = self.tokens.len();
        let label = format!("t{t}({}{})", self.clients[c].label, account.map(|a| format!(" for {}", self.accounts[a].label)).unwrap_or_default());
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
    fn usable_password(&self, account: usize, password: &str) -> bool {
        let a = &self.accounts[account];
        !a.deleted && !a.disabled && a.username.is_some() && a.password.as_deref() == Some(password)
    }

    pub fn execute(&mut self, op: &Op, snap: &Snapshot) -> Step {
        let kind = op.kind();
        let step = self.step_no();
        match op {
            Op::CreateClient { caller, owner, grants, app } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let grants = self.grants(grants);
                let mut body = json!({ "name": format!("made at step {step}"), "permissions": grants });
                let accounts = self.live_accounts();
                let o = usize::from(*owner) % (accounts.len() + 1);
                let owner_label = if o < accounts.len() {
                    body["owner_account_id"] = json!(self.accounts[accounts[o]].id);
                    self.accounts[accounts[o]].label.clone()
                } else {
                    "itself".to_owned()
                };
                self.app_settings(&mut body, app, x);
                let r = self.api(x, &key, Method::POST, "/api/v1/clients", Some(&body));
                let what = format!("create client {grants:?} owned by {owner_label} {}", super::world::describe_app(&body));
                let mut s = self.api_step(kind, x, &key, &r, what);
                if r.status == 201 {
                    let c = self.add_client(&r.json, &format!("n{step}"));
                    s.text.push_str(&format!(" (client n{step})"));
                    if self.clients[c].public {
                        self.agents[x].learn(Key::Redirect { client: c });
                    } else {
                        let secret = self.clients[c].newest_live_secret().unwrap_or_default().to_owned();
                        self.agents[x].learn(Key::Secret { client: c, secret });
                    }
                }
                s
            }
            Op::PatchClient { caller, client, change } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(c) = Self::pick(&self.live_clients(), *client) else { return Step::skipped(kind, x, "no client") };
                let mut body = json!({});
                if change.name {
                    body["name"] = json!(format!("renamed at step {step}"));
                }
                if let Some(g) = &change.permissions {
                    body["permissions"] = json!(self.grants(g));
                }
                if let Some(t) = change.grant_types {
                    body["grant_types"] = json!(GRANT_TYPES[usize::from(t) % GRANT_TYPES.len()]);
                }
                if change.redirect {
                    body["redirect_uris"] = json!([self.agents[x].redirect]);
                }
                if let Some(ns) = change.user_ns {
                    body["user_namespace"] = json!(self.u.names[usize::from(ns) % 3]);
                }
                if let Some(v) = change.password_grant {
                    body["password_grant_enabled"] = json!(v);
                }
                if let Some(v) = change.skip_consent {
                    body["skip_consent"] = json!(v);
                }
                if let Some(v) = change.registration {
                    body["registration_enabled"] = json!(v);
                }
                if let Some(v) = change.disabled {
                    body["disabled"] = json!(v);
                }
                if let Some(o) = change.owner {
                    if let Some(a) = Self::pick(&self.live_accounts(), o) {
                        body["owner_account_id"] = json!(self.accounts[a].id);
                    }
                }
                if body.as_object().is_some_and(|m| m.is_empty()) {
                    body["name"] = json!(format!("renamed at step {step}"));
                }
                let r = self.api(x, &key, Method::PATCH, &format!("/api/v1/clients/{}", self.clients[c].id), Some(&body));
                let shown = self.show_patch(&body);
                let s = self.api_step(kind, x, &key, &r, format!("PATCH client {} {shown}", self.clients[c].label));
                if ok(&r) && change.redirect && self.clients[c].public {
                    self.agents[x].learn(Key::Redirect { client: c });
                }
                s
            }
            Op::RotateSecret { caller, client, overlap } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(c) = Self::pick(&self.live_clients(), *client) else { return Step::skipped(kind, x, "no client") };
                let seconds = if *overlap { 2_592_000 } else { 0 };
                let r = self.api(
                    x,
                    &key,
                    Method::POST,
                    &format!("/api/v1/clients/{}/secrets", self.clients[c].id),
                    Some(&json!({ "previous_secret_expires_in": seconds })),
                );
                let s = self.api_step(kind, x, &key, &r, format!("rotate the secret of client {} (old ones kept {seconds} s)", self.clients[c].label));
                if ok(&r) {
                    if let Some(secret) = r.json["client_secret"].as_str() {
                        if seconds == 0 {
                            for old in self.clients[c].secrets.iter_mut() {
                                old.1 = false;
                            }
                        }
                        self.clients[c].secrets.push((secret.to_owned(), true));
                        self.prune_dead_secrets();
                        self.agents[x].learn(Key::Secret { client: c, secret: secret.to_owned() });
                    }
                }
                s
            }
            Op::DeleteClient { caller, client } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(c) = Self::pick(&self.live_clients(), *client) else { return Step::skipped(kind, x, "no client") };
                let r = self.api(x, &key, Method::DELETE, &format!("/api/v1/clients/{}", self.clients[c].id), None);
                let s = self.api_step(kind, x, &key, &r, format!("delete client {}", self.clients[c].label));
                if ok(&r) {
                    self.mark_deleted(c);
                    self.prune_dead_secrets();
                }
                s
            }
            Op::SetGrants { caller, account, grants } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(a) = Self::pick(&self.live_accounts(), *account) else { return Step::skipped(kind, x, "no account") };
                let grants = self.grants(grants);
                let path = format!("/api/v1/namespaces/{}/users/{}/permissions", self.u.names[self.accounts[a].ns], self.accounts[a].id);
                let r = self.api(x, &key, Method::PUT, &path, Some(&json!({ "permissions": grants })));
                self.api_step(kind, x, &key, &r, format!("set the grants of {} to {grants:?}", self.accounts[a].label))
            }
            Op::SetPassword { caller, account } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(a) = Self::pick(&self.live_accounts(), *account) else { return Step::skipped(kind, x, "no account") };
                let password = format!("pw set at {step} {}", random_text(10));
                let path = format!("/api/v1/namespaces/{}/users/{}/password", self.u.names[self.accounts[a].ns], self.accounts[a].id);
                let r = self.api(x, &key, Method::PUT, &path, Some(&json!({ "password": password })));
                let s = self.api_step(kind, x, &key, &r, format!("set the password of {}", self.accounts[a].label));
                if ok(&r) {
                    self.accounts[a].password = Some(password.clone());
                    self.accounts[a].session_generation += 1;
                    self.agents[x].learn(Key::Password { account: a, password });
                }
                s
            }
            Op::PatchAccount { caller, account, change } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(a) = Self::pick(&self.live_accounts(), *account) else { return Step::skipped(kind, x, "no account") };
                let path = format!("/api/v1/namespaces/{}/users/{}", self.u.names[self.accounts[a].ns], self.accounts[a].id);
                let label = self.accounts[a].label.clone();
                let email = format!("{}.s{step}.m{}@model.test", self.agents[x].name, self.case);
                let (r, what) = match change {
                    AccountChange::Email => (
                        self.api(x, &key, Method::PATCH, &path, Some(&json!({ "email": email, "email_verified": true }))),
                        format!("set the verified email of {label} to {email} (the caller's)"),
                    ),
                    AccountChange::Username => {
                        let name = format!("m{}r{step}", self.case);
                        (self.api(x, &key, Method::PATCH, &path, Some(&json!({ "username": name }))), format!("rename {label} to {name}"))
                    }
                    AccountChange::Disable => (self.api(x, &key, Method::PATCH, &path, Some(&json!({ "disabled": true }))), format!("disable {label}")),
                    AccountChange::Enable => (self.api(x, &key, Method::PATCH, &path, Some(&json!({ "disabled": false }))), format!("enable {label}")),
                    AccountChange::Delete => (self.api(x, &key, Method::DELETE, &path, None), format!("delete {label}")),
                };
                let s = self.api_step(kind, x, &key, &r, what);
                if ok(&r) {
                    match change {
                        AccountChange::Email => self.agents[x].learn(Key::Email { account: a, email }),
                        AccountChange::Delete => self.accounts[a].deleted = true,
                        _ => {}
                    }
                }
                s
            }
            Op::CreateAccount { caller, ns } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let ns = usize::from(*ns) % 3;
                let username = format!("m{}n{step}", self.case);
                let password = format!("pw new {step} {}", random_text(10));
                let r = self.api(
                    x,
                    &key,
                    Method::POST,
                    &format!("/api/v1/namespaces/{}/users", self.u.names[ns]),
                    Some(&json!({ "username": username, "password": password })),
                );
                let s = self.api_step(kind, x, &key, &r, format!("create account {username} in {} with a password", self.u.names[ns]));
                if r.status == 201 {
                    self.accounts.push(super::world::AccountP {
                        id: r.json["id"].as_str().unwrap_or_default().to_owned(),
                        ns,
                        label: username.clone(),
                        password: Some(password.clone()),
                        session_generation: 0,
                        username: Some(username),
                        email: None,
                        email_verified: false,
                        disabled: false,
                        deleted: false,
                    });
                    let a = self.accounts.len() - 1;
                    self.agents[x].learn(Key::Password { account: a, password });
                }
                s
            }
            Op::HandOver { from, key, to } => {
                let n = self.agents.len();
                let from = usize::from(*from) % n;
                let to = (from + 1 + usize::from(*to) % (n - 1)) % n;
                // A session lives in a browser's cookie jar, and a redirect URI names its agent:
                // neither is handed over.
                let keys: Vec<Key> =
                    self.agents[from].keys.iter().filter(|k| !matches!(k, Key::Session { .. } | Key::Redirect { .. })).cloned().collect();
                let Some(k) = (!keys.is_empty()).then(|| keys[usize::from(*key) % keys.len()].clone()) else {
                    return Step::skipped(kind, from, "nothing to hand over");
                };
                let text = format!("{} hands {} to {}", self.agents[from].name, self.describe_key(&k), self.agents[to].name);
                self.agents[to].learn(k);
                Step { kind, agent: from, p0: None, outcome: Outcome::Succeeded, changed: false, text, probe_violation: None }
            }
            Op::SignIn { agent, key } => {
                let Some((x, a, password)) = Self::pick2(&self.usable_passwords(), *agent, *key) else {
                    return Step::skipped(kind, 0, "no usable password");
                };
                let outcome = self.sign_in(x, a, &password);
                Step {
                    kind,
                    agent: x,
                    p0: Some(Principal::Account(a)),
                    outcome: if outcome.is_ok() { Outcome::Succeeded } else { Outcome::Refused },
                    changed: true,
                    text: format!("{} signs {} in on the first-party app -> {}", self.agents[x].name, self.accounts[a].label, outcome.err().unwrap_or_else(|| "signed in".into())),
                    probe_violation: None,
                }
            }
            Op::Lure { agent, client, victim, scope, prompt } => self.lure(*agent, *client, *victim, scope, *prompt),
            Op::Refresh { agent, key, narrower } => {
                // Every (agent, token) where the agent holds a refresh token and can present
                // its client.
                let mut choices: Vec<(usize, usize)> = Vec::new();
                for (x, a) in self.agents.iter().enumerate() {
                    for k in &a.keys {
                        if let Key::Token { token } = k {
                            let c = self.tokens[*token].client;
                            if self.tokens[*token].refresh.is_some() && (self.clients[c].public || self.secret_held(x, c).is_some()) {
                                choices.push((x, *token));
                            }
                        }
                    }
                }
                let Some((x, t)) = Self::pick2(&choices, *agent, *key) else { return Step::skipped(kind, 0, "no refresh token anyone can use") };
                let c = self.tokens[t].client;
                let refresh = self.tokens[t].refresh.clone().unwrap();
                let original: Vec<String> = self.tokens[t].scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                let narrowed: Option<String> = narrower.map(|bits| {
                    original.iter().enumerate().filter(|(i, _)| bits & (1 << (i % 8)) != 0).map(|(_, s)| s.clone()).collect::<Vec<_>>().join(" ")
                });
                let narrowed = narrowed.filter(|s| !s.is_empty());
                let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
                if let Some(s) = &narrowed {
                    form.push(("scope", s));
                }
                let r = self.token_request(x, c, &form);
                let what = format!("refresh {} at client {} scope {:?}", self.tokens[t].label, self.clients[c].label, narrowed.as_deref().unwrap_or("(same)"));
                let mut text = format!("{}: {what} -> {}", self.agents[x].name, status(&r));
                let outcome = if r.status == 200 {
                    self.tokens[t].refresh = None;
                    let account = self.tokens[t].account;
                    let scope = narrowed.unwrap_or_else(|| self.tokens[t].scope.clone());
                    let n = self.record_token(x, c, account, &r, &scope);
                    text.push_str(&format!(" (token {})", self.tokens[n].label));
                    Outcome::Succeeded
                } else {
                    if r.json["error"] == "invalid_grant" {
                        self.tokens[t].refresh = None;
                    }
                    Outcome::Refused
                };
                Step { kind, agent: x, p0: Some(Principal::Client(c)), outcome, changed: true, text, probe_violation: None }
            }
            Op::PasswordGrant { agent, client, key, scope } => {
                // Every (agent, account, password, client) where the agent holds a password it
                // can use and a secret of a client that takes the password grant for that
                // account's namespace (anything else would be a failed sign-in, counted by the
                // throttles).
                let settings: Vec<(usize, Value)> = self.live_clients().into_iter().filter_map(|c| self.client_settings(c).map(|v| (c, v))).collect();
                let mut choices: Vec<(usize, usize, String, usize)> = Vec::new();
                for (x, a, password) in self.usable_passwords() {
                    let ns = self.u.names[self.accounts[a].ns].clone();
                    for (c, v) in &settings {
                        let takes = v["password_grant_enabled"] == Value::Bool(true) && v["user_namespace"] == json!(ns) && v["disabled"] != Value::Bool(true);
                        if takes && self.secret_held(x, *c).is_some() {
                            choices.push((x, a, password.clone(), *c));
                        }
                    }
                }
                let Some((x, a, password, c)) = Self::pick2(&choices, *agent, key.wrapping_add(*client)) else {
                    return Step::skipped(kind, 0, "nobody holds a password and a password-grant client for its namespace");
                };
                let scope = self.scope_text(scope);
                let username = self.accounts[a].username.clone().unwrap();
                let mut form = vec![("grant_type", "password"), ("username", username.as_str()), ("password", password.as_str())];
                if !scope.is_empty() {
                    form.push(("scope", &scope));
                }
                let r = self.token_request(x, c, &form);
                let mut text = format!(
                    "{}: password grant at client {} for {} scope {scope:?} -> {}",
                    self.agents[x].name,
                    self.clients[c].label,
                    self.accounts[a].label,
                    status(&r)
                );
                let outcome = if r.status == 200 {
                    let t = self.record_token(x, c, Some(a), &r, &scope);
                    text.push_str(&format!(" (token {})", self.tokens[t].label));
                    Outcome::Succeeded
                } else {
                    Outcome::Refused
                };
                Step { kind, agent: x, p0: Some(Principal::Client(c)), outcome, changed: true, text, probe_violation: None }
            }
            Op::ClientCredentials { agent, key, grants } => {
                let mut choices: Vec<(usize, usize)> = Vec::new();
                for (x, a) in self.agents.iter().enumerate() {
                    for k in &a.keys {
                        if let Key::Secret { client, .. } = k {
                            choices.push((x, *client));
                        }
                    }
                }
                let Some((x, c)) = Self::pick2(&choices, *agent, *key) else { return Step::skipped(kind, 0, "no client secret") };
                let scope = self.grants(grants).join(" ");
                let mut form = vec![("grant_type", "client_credentials")];
                if !scope.is_empty() {
                    form.push(("scope", &scope));
                }
                let r = self.token_request(x, c, &form);
                let mut text = format!("{}: client_credentials at client {} scope {scope:?} -> {}", self.agents[x].name, self.clients[c].label, status(&r));
                let outcome = if r.status == 200 {
                    let t = self.record_token(x, c, None, &r, &scope);
                    text.push_str(&format!(" (token {})", self.tokens[t].label));
                    Outcome::Succeeded
                } else {
                    Outcome::Refused
                };
                Step { kind, agent: x, p0: Some(Principal::Client(c)), outcome, changed: true, text, probe_violation: None }
            }
            Op::Probe { agent, key, perm } => {
                let holders: Vec<usize> = (0..self.agents.len()).filter(|&a| self.agents[a].keys.iter().any(Key::is_api)).collect();
                let Some(x) = Self::pick(&holders, *agent) else { return Step::skipped(kind, 0, "no API key") };
                self.probe(x, *key, *perm, snap)
            }
        }
    }

    fn show_patch(&self, body: &Value) -> String {
        let mut shown = body.clone();
        if let Some(id) = body["owner_account_id"].as_str() {
            if let Some(a) = self.account_of_id(id) {
                shown["owner_account_id"] = json!(self.accounts[a].label);
            }
        }
        shown.to_string()
    }

    fn lure(&mut self, agent: u8, client: u8, victim: u8, scope: &ScopePick, prompt: u8) -> Step {
        let kind = "lure";
        // Every (agent, client) where the agent controls an OAuth client: it holds a secret of
        // it (or the client is public) and the client sends codes to the agent's own redirect
        // URI; and a victim: another agent whose account lives in the client's user namespace.
        let settings: Vec<(usize, Value)> = self.live_clients().into_iter().filter_map(|c| self.client_settings(c).map(|v| (c, v))).collect();
        let mut choices: Vec<(usize, usize, usize)> = Vec::new();
        for x in 0..self.agents.len() {
            let mine = &self.agents[x].redirect;
            for (c, v) in &settings {
                let holds = self.secret_held(x, *c).is_some() || self.agents[x].keys.contains(&Key::Redirect { client: *c });
                let redirects = v["redirect_uris"].as_array().is_some_and(|a| a.iter().any(|u| u.as_str() == Some(mine.as_str())));
                let code_flow = v["grant_types"].as_array().is_some_and(|a| a.iter().any(|g| g == "authorization_code"));
                let ns = v["user_namespace"].as_str().and_then(|n| self.u.names.iter().position(|x| x == n));
                if let (true, true, true, Some(ns), false) = (holds, redirects, code_flow, ns, v["disabled"] == Value::Bool(true)) {
                    choices.push((x, *c, ns));
                }
            }
        }
        let Some((x, c, ns)) = Self::pick2(&choices, agent, client) else { return Step::skipped(kind, 0, "nobody controls an OAuth client") };
        let mine = self.agents[x].redirect.clone();
        let victims: Vec<usize> = (0..self.agents.len())
            .filter(|&v| v != x)
            .filter(|&v| self.agents[v].account.is_some_and(|a| self.accounts[a].ns == ns && !self.accounts[a].deleted))
            .collect();
        let Some(v) = Self::pick(&victims, victim) else { return Step::skipped(kind, x, "no other agent lives in its user namespace") };
        let va = self.agents[v].account.unwrap();
        let scope = self.scope_text(scope);
        let prompt = [None, Some("none"), Some("login"), Some("consent")][usize::from(prompt) % 4];
        let (verifier, challenge) = pkce();
        let mut url = format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=lure&code_challenge={challenge}&code_challenge_method=S256",
            encode(&self.clients[c].client_id),
            encode(&mine),
            encode(&scope),
        );
        if let Some(p) = prompt {
            url.push_str(&format!("&prompt={p}"));
        }
        let head = format!(
            "{} lures {} (account {}) to client {} scope {scope:?} prompt={}",
            self.agents[x].name,
            self.agents[v].name,
            self.accounts[va].label,
            self.clients[c].label,
            prompt.unwrap_or("(none given)")
        );
        // The victim's browser: compliant (signs in again when asked, if it knows its current
        // password; allows on the consent page).
        let victim_password = self.agents[v].keys.iter().find_map(|k| match k {
            Key::Password { account, password } if *account == va && self.usable_password(va, password) => Some(password.clone()),
            _ => None,
        });
        let mut path = Vec::new();
        let mut page = self.agents[v].browser.get(&url);
        let mut code = None;
        let mut signed = false;
        for _ in 0..5 {
            match page_kind(&page) {
                PageKind::SignIn if !signed => {
                    let (Some(password), Some(login)) = (victim_password.clone(), self.accounts[va].username.clone()) else {
                        path.push("sign-in form (the victim cannot sign in)".to_owned());
                        break;
                    };
                    signed = true;
                    path.push("sign-in form".to_owned());
                    match self.agents[v].browser.submit(&page, "/oauth/login", &[("login", &login), ("password", &password)]) {
                        Some(next) => page = next,
                        None => break,
                    }
                    if page_kind(&page) != PageKind::SignIn {
                        let generation = self.accounts[va].session_generation;
                        self.agents[v].keys.retain(|k| !matches!(k, Key::Session { .. }));
                        self.agents[v].learn(Key::Session { account: va, generation });
                    }
                }
                PageKind::Consent => {
                    path.push("consent (allowed)".to_owned());
                    match self.agents[v].browser.submit(&page, "/oauth/consent", &[("decision", "allow")]) {
                        Some(next) => page = next,
                        None => break,
                    }
                }
                PageKind::Redirect(location) if location.starts_with(&mine) => {
                    match query_param(&location, "code") {
                        Some(c) => {
                            path.push("code".to_owned());
                            code = Some(c);
                        }
                        None => path.push(format!("error {}", query_param(&location, "error").unwrap_or_default())),
                    }
                    break;
                }
                other => {
                    path.push(format!("{other:?}"));
                    break;
                }
            }
        }
        let Some(code) = code else {
            return Step {
                kind,
                agent: x,
                p0: Some(Principal::Client(c)),
                outcome: Outcome::Refused,
                changed: true,
                text: format!("{head}: {}", path.join(" -> ")),
                probe_violation: None,
            };
        };
        let r = self.token_request(
            x,
            c,
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &mine), ("code_verifier", &verifier)],
        );
        let mut text = format!("{head}: {} -> redeemed: {}", path.join(" -> "), status(&r));
        let outcome = if r.status == 200 {
            let t = self.record_token(x, c, Some(va), &r, &scope);
            text.push_str(&format!(" (token {})", self.tokens[t].label));
            Outcome::Succeeded
        } else {
            Outcome::Refused
        };
        Step { kind, agent: x, p0: Some(Principal::Client(c)), outcome, changed: true, text, probe_violation: None }
    }

    fn probe(&mut self, x: usize, key: u8, perm: u8, snap: &Snapshot) -> Step {
        let kind = "probe";
        let keys: Vec<(Key, Power)> = snap.keys[x]
            .iter()
            .filter(|(k, p)| k.is_api() && p.is_some() && self.agents[x].keys.contains(k))
            .map(|(k, p)| (k.clone(), p.unwrap()))
            .collect();
        let Some((k, power)) = (!keys.is_empty()).then(|| keys[usize::from(key) % keys.len()].clone()) else {
            return Step::skipped(kind, x, "no measured API key");
        };
        // The token's own account (reading oneself may be allowed) is not probed.
        let own = match &k {
            Key::Token { token } => self.tokens[*token].account,
            _ => None,
        };
        let nowhere = format!("zz{}-nowhere", self.case);
        let mut probes: Vec<(Perm, String)> = Vec::new();
        for ns in 0..=STAR {
            let slug = self.u.slug(ns).map(str::to_owned).unwrap_or_else(|| nowhere.clone());
            probes.push((Perm { resource: 0, action: 0, namespace: ns }, format!("/api/v1/namespaces/{slug}")));
            probes.push((Perm { resource: 1, action: 0, namespace: ns }, format!("/api/v1/namespaces/{slug}/users")));
            if ns < STAR {
                let target = self.live_accounts().into_iter().find(|&a| self.accounts[a].ns == ns && Some(a) != own && Some(a) != self.agents[x].account);
                if let Some(a) = target {
                    probes.push((Perm { resource: 2, action: 0, namespace: ns }, format!("/api/v1/namespaces/{slug}/users/{}/permissions", self.accounts[a].id)));
                }
            }
        }
        probes.push((Perm { resource: 3, action: 0, namespace: STAR }, "/api/v1/clients".to_owned()));
        probes.push((Perm { resource: 5, action: 0, namespace: STAR }, "/api/v1/keys".to_owned()));
        let outside: Vec<(Perm, String)> = probes.into_iter().filter(|(p, _)| !power.has(*p)).collect();
        let Some((p, path)) = (!outside.is_empty()).then(|| outside[usize::from(perm) % outside.len()].clone()) else {
            return Step::skipped(kind, x, "the key may read everything probed");
        };
        let r = self.api(x, &k, Method::GET, &path, None);
        let name = self.u.perm_name(p);
        let text = format!("{} probes {} with {} (measured without {name}): GET {path} -> {}", self.agents[x].name, self.u.describe(Power::EMPTY.with(p)), self.describe_key(&k), r.status);
        let refused = matches!(r.status, 401 | 403 | 404);
        let probe_violation = (!refused && ok(&r)).then(|| {
            format!("probe: {} is measured without {name}, yet GET {path} answered {}: /me understates what it may do", self.describe_key(&k), r.status)
        });
        Step { kind, agent: x, p0: None, outcome: if refused { Outcome::Succeeded } else { Outcome::Refused }, changed: false, text, probe_violation }
    }
}

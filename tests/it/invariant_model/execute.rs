//! How each operation runs: the requests it sends with the agent's key, what the world learns
//! from the answers (new keys, tokens, secrets, passwords), and the step it reports.

use reqwest::Method;
use serde_json::{json, Value};

use super::measure::Snapshot;
use super::ops::{ok, status, AccountChange, Op, Outcome, Step, GRANT_TYPES};
use super::world::{random_text, Key, Principal, World};

impl World<'_> {
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
                let what =
                    format!("create client {grants:?} owned by {owner_label} {}", super::ops::describe_app(&body));
                let mut s = self.api_step(kind, x, &key, &r, what);
                if r.status == 201 {
                    let c = self.add_client(&r.json, &format!("n{step}"));
                    s.text.push_str(&format!(" (client n{step})"));
                    self.learn_client(x, c, &body);
                }
                s
            }
            Op::PatchClient { caller, client, change } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(c) = Self::pick(&self.live_clients(), *client) else {
                    return Step::skipped(kind, x, "no client");
                };
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
                // The caller's own new key as the client's only key.
                if change.keys {
                    body["jwks"] = json!({ "keys": [self.new_signer()] });
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
                if let Some(v) = change.hybrid {
                    body["hybrid_enabled"] = json!(v);
                }
                if let Some(m) = change.auth_method {
                    let methods = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
                    body["token_endpoint_auth_method"] = json!(methods[usize::from(m) % methods.len()]);
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
                let r =
                    self.api(x, &key, Method::PATCH, &format!("/api/v1/clients/{}", self.clients[c].id), Some(&body));
                let shown = self.show_patch(&body);
                let s = self.api_step(kind, x, &key, &r, format!("PATCH client {} {shown}", self.clients[c].label));
                if ok(&r) && change.redirect && self.clients[c].public {
                    self.agents[x].learn(Key::Redirect { client: c });
                }
                if ok(&r) && change.keys {
                    let kid = body["jwks"]["keys"][0]["kid"].as_str().unwrap_or_default().to_owned();
                    self.agents[x].learn(Key::Signer { client: c, kid });
                }
                s
            }
            Op::RotateSecret { caller, client, overlap } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(c) = Self::pick(&self.live_clients(), *client) else {
                    return Step::skipped(kind, x, "no client");
                };
                let seconds = if *overlap { 2_592_000 } else { 0 };
                let r = self.api(
                    x,
                    &key,
                    Method::POST,
                    &format!("/api/v1/clients/{}/secrets", self.clients[c].id),
                    Some(&json!({ "previous_secret_expires_in": seconds })),
                );
                let s = self.api_step(
                    kind,
                    x,
                    &key,
                    &r,
                    format!("rotate the secret of client {} (old ones kept {seconds} s)", self.clients[c].label),
                );
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
                let Some(c) = Self::pick(&self.live_clients(), *client) else {
                    return Step::skipped(kind, x, "no client");
                };
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
                let Some(a) = Self::pick(&self.live_accounts(), *account) else {
                    return Step::skipped(kind, x, "no account");
                };
                let grants = self.grants(grants);
                let path = format!(
                    "/api/v1/namespaces/{}/users/{}/permissions",
                    self.u.names[self.accounts[a].ns], self.accounts[a].id
                );
                let r = self.api(x, &key, Method::PUT, &path, Some(&json!({ "permissions": grants })));
                self.api_step(kind, x, &key, &r, format!("set the grants of {} to {grants:?}", self.accounts[a].label))
            }
            Op::SetPassword { caller, account } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let Some(a) = Self::pick(&self.live_accounts(), *account) else {
                    return Step::skipped(kind, x, "no account");
                };
                let password = format!("pw set at {step} {}", random_text(10));
                let path = format!(
                    "/api/v1/namespaces/{}/users/{}/password",
                    self.u.names[self.accounts[a].ns], self.accounts[a].id
                );
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
                let Some(a) = Self::pick(&self.live_accounts(), *account) else {
                    return Step::skipped(kind, x, "no account");
                };
                let path =
                    format!("/api/v1/namespaces/{}/users/{}", self.u.names[self.accounts[a].ns], self.accounts[a].id);
                let label = self.accounts[a].label.clone();
                let email = format!("{}.s{step}.m{}@model.test", self.agents[x].name, self.case);
                let (r, what) = match change {
                    AccountChange::Email => (
                        self.api(
                            x,
                            &key,
                            Method::PATCH,
                            &path,
                            Some(&json!({ "email": email, "email_verified": true })),
                        ),
                        format!("set the verified email of {label} to {email} (the caller's)"),
                    ),
                    AccountChange::Username => {
                        let name = format!("m{}r{step}", self.case);
                        (
                            self.api(x, &key, Method::PATCH, &path, Some(&json!({ "username": name }))),
                            format!("rename {label} to {name}"),
                        )
                    }
                    AccountChange::Disable => (
                        self.api(x, &key, Method::PATCH, &path, Some(&json!({ "disabled": true }))),
                        format!("disable {label}"),
                    ),
                    AccountChange::Enable => (
                        self.api(x, &key, Method::PATCH, &path, Some(&json!({ "disabled": false }))),
                        format!("enable {label}"),
                    ),
                    AccountChange::Delete => {
                        (self.api(x, &key, Method::DELETE, &path, None), format!("delete {label}"))
                    }
                };
                let s = self.api_step(kind, x, &key, &r, what);
                if ok(&r) {
                    match change {
                        AccountChange::Email => self.agents[x].learn(Key::Email { account: a, email }),
                        AccountChange::Delete => self.accounts[a].deleted = true,
                        // Disabling ends the account's sign-in sessions.
                        AccountChange::Disable => self.accounts[a].session_generation += 1,
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
                let s = self.api_step(
                    kind,
                    x,
                    &key,
                    &r,
                    format!("create account {username} in {} with a password", self.u.names[ns]),
                );
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
                        mfa: Default::default(),
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
                // A session lives in a browser's cookie jar, and a redirect URI and a stream's
                // receiver name their agent: none is handed over.
                let keys: Vec<Key> = self.agents[from]
                    .keys
                    .iter()
                    .filter(|k| !matches!(k, Key::Session { .. } | Key::Redirect { .. } | Key::Stream { .. }))
                    .cloned()
                    .collect();
                let Some(k) = (!keys.is_empty()).then(|| keys[usize::from(*key) % keys.len()].clone()) else {
                    return Step::skipped(kind, from, "nothing to hand over");
                };
                let text =
                    format!("{} hands {} to {}", self.agents[from].name, self.describe_key(&k), self.agents[to].name);
                self.agents[to].learn(k);
                Step {
                    kind,
                    agent: from,
                    p0: None,
                    outcome: Outcome::Succeeded,
                    changed: false,
                    text,
                    probe_violation: None,
                }
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
                    text: format!(
                        "{} signs {} in on the first-party app -> {}",
                        self.agents[x].name,
                        self.accounts[a].label,
                        outcome.err().unwrap_or_else(|| "signed in".into())
                    ),
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
                            if self.tokens[*token].refresh.is_some()
                                && (self.clients[c].public || self.secret_held(x, c).is_some())
                            {
                                choices.push((x, *token));
                            }
                        }
                    }
                }
                let Some((x, t)) = Self::pick2(&choices, *agent, *key) else {
                    return Step::skipped(kind, 0, "no refresh token anyone can use");
                };
                let c = self.tokens[t].client;
                let refresh = self.tokens[t].refresh.clone().unwrap();
                let original: Vec<String> =
                    self.tokens[t].scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                let narrowed: Option<String> = narrower.map(|bits| {
                    original
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| bits & (1 << (i % 8)) != 0)
                        .map(|(_, s)| s.clone())
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                let narrowed = narrowed.filter(|s| !s.is_empty());
                let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
                if let Some(s) = &narrowed {
                    form.push(("scope", s));
                }
                let r = self.token_request(x, c, &form);
                let what = format!(
                    "refresh {} at client {} scope {:?}",
                    self.tokens[t].label,
                    self.clients[c].label,
                    narrowed.as_deref().unwrap_or("(same)")
                );
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
                Step {
                    kind,
                    agent: x,
                    p0: Some(Principal::Client(c)),
                    outcome,
                    changed: true,
                    text,
                    probe_violation: None,
                }
            }
            Op::PasswordGrant { agent, client, key, scope } => {
                // Every (agent, account, password, client) where the agent holds a password it
                // can use and a secret of a client that takes the password grant for that
                // account's namespace (anything else would be a failed sign-in, counted by the
                // throttles).
                let settings: Vec<(usize, Value)> =
                    self.live_clients().into_iter().filter_map(|c| self.client_settings(c).map(|v| (c, v))).collect();
                let mut choices: Vec<(usize, usize, String, usize)> = Vec::new();
                for (x, a, password) in self.usable_passwords() {
                    let ns = self.u.names[self.accounts[a].ns].clone();
                    for (c, v) in &settings {
                        let takes = v["password_grant_enabled"] == Value::Bool(true)
                            && v["user_namespace"] == json!(ns)
                            && v["disabled"] != Value::Bool(true);
                        if takes && self.secret_held(x, *c).is_some() {
                            choices.push((x, a, password.clone(), *c));
                        }
                    }
                }
                let Some((x, a, password, c)) = Self::pick2(&choices, *agent, key.wrapping_add(*client)) else {
                    return Step::skipped(
                        kind,
                        0,
                        "nobody holds a password and a password-grant client for its namespace",
                    );
                };
                let scope = self.scope_text(scope);
                let username = self.accounts[a].username.clone().unwrap();
                let mut form =
                    vec![("grant_type", "password"), ("username", username.as_str()), ("password", password.as_str())];
                if !scope.is_empty() {
                    form.push(("scope", &scope));
                }
                let r = self.token_request(x, c, &form);
                let text = format!(
                    "{}: password grant at client {} for {} scope {scope:?} -> {}",
                    self.agents[x].name,
                    self.clients[c].label,
                    self.accounts[a].label,
                    status(&r)
                );
                self.token_step(kind, x, c, Some(a), &r, &scope, text)
            }
            Op::ClientCredentials { agent, key, grants } => {
                let mut choices: Vec<(usize, usize)> = Vec::new();
                for (x, a) in self.agents.iter().enumerate() {
                    for k in &a.keys {
                        if let Key::Secret { client, .. } | Key::Signer { client, .. } = k {
                            choices.push((x, *client));
                        }
                    }
                }
                let Some((x, c)) = Self::pick2(&choices, *agent, *key) else {
                    return Step::skipped(kind, 0, "no client secret");
                };
                let scope = self.grants(grants).join(" ");
                let mut form = vec![("grant_type", "client_credentials")];
                if !scope.is_empty() {
                    form.push(("scope", &scope));
                }
                let r = self.token_request(x, c, &form);
                let text = format!(
                    "{}: client_credentials at client {} scope {scope:?} -> {}",
                    self.agents[x].name,
                    self.clients[c].label,
                    status(&r)
                );
                self.token_step(kind, x, c, None, &r, &scope, text)
            }
            Op::CreateStream { .. } | Op::PatchStream { .. } | Op::DeleteStream { .. } => self.execute_stream(op),
            Op::CreateGroup { .. }
            | Op::SetGroupGrants { .. }
            | Op::AddMember { .. }
            | Op::RemoveMember { .. }
            | Op::DeleteGroup { .. } => self.execute_group(op),
            Op::EnrolFactor { .. } | Op::RemoveFactor { .. } => self.execute_factor(op),
            Op::Probe { agent, key, perm } => {
                let holders: Vec<usize> =
                    (0..self.agents.len()).filter(|&a| self.agents[a].keys.iter().any(Key::is_api)).collect();
                let Some(x) = Self::pick(&holders, *agent) else { return Step::skipped(kind, 0, "no API key") };
                self.probe(x, *key, *perm, snap)
            }
        }
    }
}

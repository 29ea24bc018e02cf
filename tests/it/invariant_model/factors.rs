//! Second factors in the model (issue 14). An account with a factor is not controlled by its
//! password alone: a password — or a verified email, which resets it — reaches the account's
//! power only while the account has no factor or the agent also holds one of its live factors
//! (an authenticator app's secret). Agents add an authenticator app to an account with a token
//! of that account carrying the `account` scope (the self-service endpoints, which need a sign-in
//! within 5 minutes), remove an account's factors with the Management API (which needs power
//! over the account: the escalation this module looks for is a weaker caller stripping a factor
//! and so handing the account to whoever holds its password), and answer the hosted pages' code
//! page when they hold a factor.
//!
//! Measured, not assumed: the ids of an account's factors as the bootstrap client lists them, for
//! every account the model ever added a factor to; the model only adds what it knows of each
//! factor's secret.

use reqwest::Method;
use serde_json::json;

use super::ops::{ok, Op, Step};
use super::transport::{encode, page_kind, pkce, Browser, PageKind};
use super::world::{Auth, Body, Key, World};
use crate::support::browser::query_param;
use crate::support::totp::{code_at, unix_now};
use crate::support::Reply;

/// What the model knows of an account's factors.
#[derive(Debug, Clone, Default)]
pub struct AccountFactors {
    /// The factors' ids as measured last (empty for an account nobody enrolled).
    pub ids: Vec<String>,
    /// Whether the model added a factor to the account (then each snapshot lists them).
    pub followed: bool,
    /// The last TOTP time step the server accepted for the account (a code counts once).
    pub last_step: i64,
}

impl World<'_> {
    /// Whether a password (or an email that resets it) of `account` reaches the account for
    /// `agent`: no factor stands in the way, or the agent holds a live one.
    pub(super) fn password_suffices(&self, agent: usize, account: usize) -> bool {
        let ids = &self.accounts[account].mfa.ids;
        ids.is_empty() || self.live_factor(agent, account).is_some()
    }

    /// A live factor secret of `account` that `agent` holds.
    fn live_factor(&self, agent: usize, account: usize) -> Option<String> {
        let ids = &self.accounts[account].mfa.ids;
        self.agents[agent].keys.iter().find_map(|k| match k {
            Key::Factor { account: a, factor, secret } if *a == account && ids.contains(factor) => Some(secret.clone()),
            _ => None,
        })
    }

    /// The next code of `secret` the server has not taken for `account` (this step's or the
    /// next), and its step; `None` when both were used.
    fn next_code(&self, account: usize, secret: &str) -> Option<(String, i64)> {
        let now = unix_now() / 30;
        let step = now.max(self.accounts[account].mfa.last_step + 1);
        (step <= now + 1).then(|| (code_at(secret, step * 30), step))
    }

    /// Answers the hosted code page in `agent`'s browser with a code of `account`'s factor the
    /// agent holds; `None` when it holds none (or used both steps' codes).
    pub(super) fn answer_code_page(&mut self, agent: usize, account: usize, page: &Reply) -> Option<Reply> {
        let secret = self.live_factor(agent, account)?;
        let (code, step) = self.next_code(account, &secret)?;
        let next = self.agents[agent].browser.submit(page, "/oauth/mfa", &[("code", &code)])?;
        if page_kind(&next) != PageKind::SecondFactor {
            self.accounts[account].mfa.last_step = step;
        }
        Some(next)
    }

    /// Lists the factors of each account the model follows (with the bootstrap client).
    pub(super) fn measure_factors(&mut self, a: usize, ns: &str, id: &str) -> bool {
        if !self.accounts[a].mfa.followed {
            return true;
        }
        let r = self.boot(Method::GET, &format!("/api/v1/namespaces/{ns}/users/{id}/factors"), Body::Empty);
        let Some(items) = r.json["items"].as_array().filter(|_| r.status == 200) else { return false };
        self.accounts[a].mfa.ids = items.iter().filter_map(|f| f["id"].as_str().map(str::to_owned)).collect();
        true
    }

    pub(super) fn execute_factor(&mut self, op: &Op) -> Step {
        let kind = op.kind();
        let step_no = self.step_no();
        match op {
            Op::EnrolFactor { agent, key } => {
                // Every (agent, token) where the token is an account's own with the `account` scope.
                let mut choices: Vec<(usize, usize)> = Vec::new();
                for (x, holder) in self.agents.iter().enumerate() {
                    for k in &holder.keys {
                        if let Key::Token { token } = k {
                            let t = &self.tokens[*token];
                            if t.account.is_some() && t.scope.split(' ').any(|s| s == "account") {
                                choices.push((x, *token));
                            }
                        }
                    }
                }
                let Some((x, t)) = Self::pick2(&choices, *agent, *key) else {
                    return Step::skipped(kind, 0, "no account token with the account scope");
                };
                let a = self.tokens[t].account.expect("an account's token");
                let via = Key::Token { token: t };
                let label = self.accounts[a].label.clone();
                let r = self.api(x, &via, Method::POST, "/api/v1/me/totp-enrolments", None);
                if r.status != 201 {
                    return self.api_step(kind, x, &via, &r, format!("start adding an authenticator app to {label}"));
                }
                let secret = r.json["secret"].as_str().unwrap_or_default().to_owned();
                let enrolment = r.json["id"].as_str().unwrap_or_default().to_owned();
                let Some((code, step)) = self.next_code(a, &secret) else {
                    return Step::skipped(kind, x, "both steps' codes used");
                };
                let body = json!({ "enrolment_id": enrolment, "name": format!("app {step_no}"), "code": code });
                let r = self.api(x, &via, Method::POST, "/api/v1/me/totp", Some(&body));
                let s = self.api_step(kind, x, &via, &r, format!("add an authenticator app to {label} (the caller's)"));
                if r.status == 201 {
                    let factor = r.json["id"].as_str().unwrap_or_default().to_owned();
                    let mfa = &mut self.accounts[a].mfa;
                    mfa.followed = true;
                    mfa.last_step = step;
                    mfa.ids.push(factor.clone());
                    self.agents[x].learn(Key::Factor { account: a, factor, secret });
                }
                s
            }
            Op::RemoveFactor { caller, pick } => {
                let (x, key) = self.caller(caller);
                let Some(key) = key else { return Step::skipped(kind, x, "no API key") };
                let factors: Vec<(usize, String)> = self
                    .live_accounts()
                    .into_iter()
                    .flat_map(|a| self.accounts[a].mfa.ids.iter().map(move |f| (a, f.clone())))
                    .collect();
                let Some((a, factor)) = Self::pick2(&factors, 0, *pick) else {
                    return Step::skipped(kind, x, "no factor");
                };
                let path = format!(
                    "/api/v1/namespaces/{}/users/{}/factors/{factor}",
                    self.u.names[self.accounts[a].ns], self.accounts[a].id
                );
                let r = self.api(x, &key, Method::DELETE, &path, None);
                let what = format!("remove a factor of {}", self.accounts[a].label);
                let s = self.api_step(kind, x, &key, &r, what);
                if ok(&r) {
                    // The account is signed out everywhere.
                    self.accounts[a].mfa.ids.retain(|f| *f != factor);
                    self.accounts[a].session_generation += 1;
                }
                s
            }
            _ => unreachable!("not a factor operation"),
        }
    }

    /// Agent `agent` signs `account` in on the first-party app of its namespace, in its
    /// browser, asking for the form (prompt=login), and answers the code page if the account has
    /// a factor the agent holds. The session replaces the browser's last.
    pub fn sign_in(&mut self, agent: usize, account: usize, password: &str) -> Result<(), String> {
        self.sign_in_for_code(agent, account, password, "openid").map(|_| ())
    }

    /// [`Self::sign_in`], asking for `scope`: the first-party app's code and PKCE verifier.
    fn sign_in_for_code(
        &mut self,
        agent: usize,
        account: usize,
        password: &str,
        scope: &str,
    ) -> Result<(String, String), String> {
        let ns = self.accounts[account].ns;
        let portal = self.portals[ns];
        let (verifier, challenge) = pkce();
        let url = format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=s&code_challenge={challenge}&code_challenge_method=S256&prompt=login",
            encode(&self.clients[portal].client_id),
            encode(&self.portal_uri(ns)),
            encode(scope),
        );
        let login = self.accounts[account].username.clone().ok_or("the account has no username")?;
        fn browser<'w>(w: &'w World<'_>, agent: usize) -> &'w Browser {
            &w.agents[agent].browser
        }
        let mut page = browser(self, agent).get(&url);
        let mut signed = false;
        let mut coded = false;
        for _ in 0..5 {
            match page_kind(&page) {
                PageKind::SignIn if !signed => {
                    signed = true;
                    page = browser(self, agent)
                        .submit(&page, "/oauth/login", &[("login", &login), ("password", password)])
                        .ok_or("no form")?;
                }
                PageKind::SecondFactor if signed && !coded => {
                    coded = true;
                    page = self
                        .answer_code_page(agent, account, &page)
                        .ok_or("a code is asked and the agent holds no usable factor of the account")?;
                }
                PageKind::Consent => {
                    page = browser(self, agent)
                        .submit(&page, "/oauth/consent", &[("decision", "allow")])
                        .ok_or("no form")?;
                }
                PageKind::Redirect(location) if signed => {
                    let code = query_param(&location, "code").ok_or_else(|| format!("sign-in ended at {location}"))?;
                    let generation = self.accounts[account].session_generation;
                    self.agents[agent].keys.retain(|k| !matches!(k, Key::Session { .. }));
                    self.agents[agent].learn(Key::Session { account, generation });
                    return Ok((code, verifier));
                }
                other => return Err(format!("sign-in ended on {other:?}")),
            }
        }
        Err("sign-in did not finish".into())
    }

    /// At setup: agent `agent` adds an authenticator app to its own account, the way a person
    /// does (a sign-in with the `account` scope, the self-service endpoints, a first code), and
    /// keeps its secret.
    pub(super) fn setup_factor(&mut self, agent: usize) {
        let account = self.agents[agent].account.expect("an agent with an account");
        let password = self.accounts[account].password.clone().expect("a password");
        let (code, verifier) =
            self.sign_in_for_code(agent, account, &password, "openid account").expect("setup: sign-in for a factor");
        let portal = self.portals[self.accounts[account].ns];
        let redirect = self.portal_uri(self.accounts[account].ns);
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        let secret = self.clients[portal].newest_live_secret().expect("the portal's secret").to_owned();
        let auth = Auth::Basic(self.clients[portal].client_id.clone(), secret);
        let r = self.http.send(Method::POST, "/oauth/token", &auth, &self.oracle_addr, Body::Form(&form));
        assert_eq!(r.status, 200, "setup: the portal's token: {}", r.text);
        let token = Auth::Bearer(r.json["access_token"].as_str().unwrap().to_owned());
        let addr = self.agents[agent].addr.clone();
        let r = self.http.send(Method::POST, "/api/v1/me/totp-enrolments", &token, &addr, Body::Empty);
        assert_eq!(r.status, 201, "setup: an enrolment: {}", r.text);
        let secret = r.json["secret"].as_str().unwrap().to_owned();
        let (code, step) = self.next_code(account, &secret).expect("a fresh account's code");
        let body = json!({ "enrolment_id": r.json["id"], "name": "setup app", "code": code });
        let r = self.http.send(Method::POST, "/api/v1/me/totp", &token, &addr, Body::Json(&body));
        assert_eq!(r.status, 201, "setup: the first code: {}", r.text);
        let factor = r.json["id"].as_str().unwrap().to_owned();
        let mfa = &mut self.accounts[account].mfa;
        mfa.followed = true;
        mfa.last_step = step;
        mfa.ids.push(factor.clone());
        self.agents[agent].learn(Key::Factor { account, factor, secret });
    }
}

/// Whether the hosted pages finished signing in (neither the password form nor the code page
/// is still asking).
pub fn past_sign_in(page: &Reply) -> bool {
    !matches!(page_kind(page), PageKind::SignIn | PageKind::SecondFactor)
}

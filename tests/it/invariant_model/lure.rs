//! Two operations with many requests: luring a signed-in victim through an authorization
//! request of a client the agent controls (the victim signs in and consents to whatever is
//! asked), and probing that a key cannot read what its measured power leaves out.

use reqwest::Method;
use serde_json::Value;

use super::factors::past_sign_in;
use super::measure::Snapshot;
use super::ops::{ok, status, Outcome, ScopePick, Step};
use super::power::{Perm, Power, STAR};
use super::world::{encode, page_kind, pkce, Key, PageKind, Principal, World};
use crate::support::browser::query_param;

impl World<'_> {
    pub(super) fn lure(&mut self, agent: u8, client: u8, victim: u8, scope: &ScopePick, prompt: u8) -> Step {
        let kind = "lure";
        // Every (agent, client) where the agent controls an OAuth client: it holds a secret of
        // it (or the client is public) and the client sends codes to the agent's own redirect
        // URI; and a victim: another agent whose account lives in the client's user namespace.
        let settings: Vec<(usize, Value)> =
            self.live_clients().into_iter().filter_map(|c| self.client_settings(c).map(|v| (c, v))).collect();
        let mut choices: Vec<(usize, usize, usize)> = Vec::new();
        for x in 0..self.agents.len() {
            let mine = &self.agents[x].redirect;
            for (c, v) in &settings {
                let holds =
                    self.secret_held(x, *c).is_some() || self.agents[x].keys.contains(&Key::Redirect { client: *c });
                let redirects =
                    v["redirect_uris"].as_array().is_some_and(|a| a.iter().any(|u| u.as_str() == Some(mine.as_str())));
                let code_flow =
                    v["grant_types"].as_array().is_some_and(|a| a.iter().any(|g| g == "authorization_code"));
                let ns = v["user_namespace"].as_str().and_then(|n| self.u.names.iter().position(|x| x == n));
                if let (true, true, true, Some(ns), false) =
                    (holds, redirects, code_flow, ns, v["disabled"] == Value::Bool(true))
                {
                    choices.push((x, *c, ns));
                }
            }
        }
        let Some((x, c, ns)) = Self::pick2(&choices, agent, client) else {
            return Step::skipped(kind, 0, "nobody controls an OAuth client");
        };
        let mine = self.agents[x].redirect.clone();
        let victims: Vec<usize> = (0..self.agents.len())
            .filter(|&v| v != x)
            .filter(|&v| self.agents[v].account.is_some_and(|a| self.accounts[a].ns == ns && !self.accounts[a].deleted))
            .collect();
        let Some(v) = Self::pick(&victims, victim) else {
            return Step::skipped(kind, x, "no other agent lives in its user namespace");
        };
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
            Key::Password { account, password } if *account == va && self.usable_password(va, password) => {
                Some(password.clone())
            }
            _ => None,
        });
        let mut path = Vec::new();
        let mut page = self.agents[v].browser.get(&url);
        let mut code = None;
        let mut signed = false;
        for _ in 0..5 {
            match page_kind(&page) {
                PageKind::SignIn if !signed => {
                    let (Some(password), Some(login)) = (victim_password.clone(), self.accounts[va].username.clone())
                    else {
                        path.push("sign-in form (the victim cannot sign in)".to_owned());
                        break;
                    };
                    signed = true;
                    path.push("sign-in form".to_owned());
                    match self.agents[v].browser.submit(
                        &page,
                        "/oauth/login",
                        &[("login", &login), ("password", &password)],
                    ) {
                        Some(next) => page = next,
                        None => break,
                    }
                    if page_kind(&page) == PageKind::SecondFactor {
                        path.push("code page".to_owned());
                        match self.answer_code_page(v, va, &page) {
                            Some(next) => page = next,
                            None => break,
                        }
                    }
                    if past_sign_in(&page) {
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
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &mine),
                ("code_verifier", &verifier),
            ],
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

    pub(super) fn probe(&mut self, x: usize, key: u8, perm: u8, snap: &Snapshot) -> Step {
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
                let target = self
                    .live_accounts()
                    .into_iter()
                    .find(|&a| self.accounts[a].ns == ns && Some(a) != own && Some(a) != self.agents[x].account);
                if let Some(a) = target {
                    probes.push((
                        Perm { resource: 2, action: 0, namespace: ns },
                        format!("/api/v1/namespaces/{slug}/users/{}/permissions", self.accounts[a].id),
                    ));
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
        let text = format!(
            "{} probes {} with {} (measured without {name}): GET {path} -> {}",
            self.agents[x].name,
            self.u.describe(Power::EMPTY.with(p)),
            self.describe_key(&k),
            r.status
        );
        let refused = matches!(r.status, 401 | 403 | 404);
        let probe_violation = (!refused && ok(&r)).then(|| {
            format!(
                "probe: {} is measured without {name}, yet GET {path} answered {}: /me understates what it may do",
                self.describe_key(&k),
                r.status
            )
        });
        Step {
            kind,
            agent: x,
            p0: None,
            outcome: if refused { Outcome::Succeeded } else { Outcome::Refused },
            changed: false,
            text,
            probe_violation,
        }
    }
}

//! The world of one case: its namespaces, agents, the principals they may control, and the
//! keys (credentials) each agent holds; set up with the bootstrap client, spoken to over HTTP.

use std::fmt::Write as _;

use reqwest::Method;
use serde_json::{json, Value};

use super::factors::AccountFactors;
use super::power::Universe;
use super::transport::body_again;
pub use super::transport::{
    address, encode, page_kind, pkce, random_text, retry_after, Auth, Body, Browser, Http, PageKind,
};
use crate::support::{Reply, TestApp};
use gatehouse::domain::signing_keys::SigningKey;

/// The grant alphabet agents and clients draw from. `{a}` and `{b}` are the world's namespaces.
pub const GRANTS: [&str; 24] = [
    "*:*@*",
    "*:*@system",
    "*:*@{a}",
    "*:*@{b}",
    "users:*@*",
    "users:*@system",
    "users:write@{a}",
    "users:*@{a}",
    "users:read@{b}",
    "users:read@system",
    "clients:*@*",
    "clients:write@*",
    "clients:read@*",
    "clients:*@system",
    "permissions:write@system",
    "permissions:*@{a}",
    "permissions:*@*",
    "namespaces:read@*",
    "namespaces:*@{b}",
    "audit:read@*",
    "keys:read@*",
    "permissions:read@{b}",
    "audit:write@*",
    "audit:*@*",
];

/// A credential an agent holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A client secret.
    Secret { client: usize, secret: String },
    /// An account's password.
    Password { account: usize, password: String },
    /// An access token and maybe its refresh token.
    Token { token: usize },
    /// A signed-in browser (its generation: a password change ends the sessions before it).
    Session { account: usize, generation: u32 },
    /// A verified email address of the account that reaches the agent (password reset).
    Email { account: usize, email: String },
    /// A public client whose redirect URIs send codes to the agent.
    Redirect { client: usize },
    /// A log stream whose URL is the agent's receiver: the agent reads what the stream delivers.
    Stream { stream: usize },
    /// A private key the agent made and registered on a `private_key_jwt` client (it signs
    /// client assertions while the client's `jwks` holds its `kid`).
    Signer { client: usize, kid: String },
    /// An authenticator app's secret, enrolled as factor `factor` of the account (`factors.rs`).
    Factor { account: usize, factor: String, secret: String },
}

impl Key {
    pub fn is_api(&self) -> bool {
        matches!(self, Key::Secret { .. } | Key::Token { .. })
    }
}

pub struct Agent {
    pub name: String,
    pub addr: String,
    /// The account the agent is (the person), if any.
    pub account: Option<usize>,
    pub redirect: String,
    /// Where a log stream the agent points at itself delivers.
    pub receiver: String,
    pub keys: Vec<Key>,
    pub browser: Browser,
}

impl Agent {
    /// Adds a key unless it holds it already.
    pub fn learn(&mut self, key: Key) {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
    }
}

pub struct AccountP {
    pub id: String,
    /// Index into the universe's namespaces (0 system, 1, 2).
    pub ns: usize,
    pub label: String,
    /// The password set last (the test knows every password it set).
    pub password: Option<String>,
    /// Incremented on every password change: sessions before it have ended.
    pub session_generation: u32,
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub disabled: bool,
    pub deleted: bool,
    pub mfa: AccountFactors,
}

pub struct ClientP {
    pub id: String,
    pub client_id: String,
    pub label: String,
    pub public: bool,
    /// A `private_key_jwt` client: no secret, it signs assertions.
    pub signing: bool,
    /// Every secret issued, and whether the model believes it still works.
    pub secrets: Vec<(String, bool)>,
    pub deleted: bool,
}

impl ClientP {
    pub fn newest_live_secret(&self) -> Option<&str> {
        self.secrets.iter().rev().find(|(_, live)| *live).map(|(s, _)| s.as_str())
    }
    pub fn secret_live(&self, secret: &str) -> bool {
        self.secrets.iter().any(|(s, live)| s == secret && *live)
    }
}

pub struct TokenP {
    pub label: String,
    pub access: String,
    pub refresh: Option<String>,
    pub client: usize,
    pub account: Option<usize>,
    pub scope: String,
}

/// A log stream made during the case.
pub struct StreamP {
    pub id: String,
    pub label: String,
    pub deleted: bool,
}

/// A group made during the case (or at setup), and the accounts the model added to it.
pub struct GroupP {
    pub id: String,
    pub ns: usize,
    pub label: String,
    pub members: Vec<usize>,
    pub deleted: bool,
}

/// A principal whose power the oracle follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Account(usize),
    Client(usize),
    Token(usize),
    Stream(usize),
    Group(usize),
}

/// How one agent of a generated world starts.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// 0 `system`, 1 and 2 the world's namespaces.
    pub ns: u8,
    pub grants: Vec<u8>,
    pub client: Option<ClientSpec>,
    pub signed_in: bool,
}

#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// The client's grants; `None`: the same as its owner's.
    pub grants: Option<Vec<u8>>,
    pub app: AppSpec,
}

/// The OAuth side of a client.
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// 0 an API client (client_credentials), 1 a confidential web app, 2 a public app, 3 an API
    /// client that authenticates with `private_key_jwt` (a key its creator made).
    pub kind: u8,
    pub user_ns: u8,
    pub skip_consent: bool,
    pub registration: bool,
    pub password_grant: bool,
}

impl AppSpec {
    pub fn api() -> AppSpec {
        AppSpec { kind: 0, user_ns: 0, skip_consent: false, registration: false, password_grant: false }
    }
}

/// A group set up with the world: its namespace, grants, and the agents whose accounts are
/// members (indices modulo the agents, the administrator included).
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub ns: u8,
    pub grants: Vec<u8>,
    pub members: Vec<u8>,
}

/// A generated world: the administrator agent (always agent 0), these others, and groups.
#[derive(Debug, Clone)]
pub struct WorldSpec {
    pub agents: Vec<AgentSpec>,
    pub groups: Vec<GroupSpec>,
    /// Agents (indices modulo the agents, the administrator included) whose accounts have an
    /// authenticator app from the start, its secret held by the agent.
    pub factors: Vec<u8>,
}

pub struct World<'a> {
    pub app: &'a TestApp,
    pub http: Http,
    /// The oracle's measurements go to another replica on the same database.
    pub oracle: Http,
    /// Where the replica and the server the agents speak to answered the same credential
    /// differently during a measurement (`measure.rs`).
    pub disagreements: std::cell::RefCell<Vec<String>>,
    pub case: usize,
    pub u: Universe,
    /// The X-Forwarded-For of the oracle's own requests (setup, measurements).
    pub oracle_addr: String,
    pub agents: Vec<Agent>,
    pub accounts: Vec<AccountP>,
    pub clients: Vec<ClientP>,
    pub tokens: Vec<TokenP>,
    pub streams: Vec<StreamP>,
    pub groups: Vec<GroupP>,
    /// The private keys agents made (`Key::Signer`), by kid.
    pub signers: std::cell::RefCell<std::collections::HashMap<String, std::sync::Arc<SigningKey>>>,
    /// The first-party sign-in app of each namespace (index into `clients`).
    pub portals: [usize; 3],
    pub step: Option<usize>,
    /// What was set up, for a report.
    pub setup_log: String,
}

impl<'a> World<'a> {
    /// Sets up a world for case `case` on `app`, with the administrator agent and `spec`'s
    /// agents; nothing here is checked (the bootstrap client does it all).
    pub fn build(app: &'a TestApp, oracle_base: &str, case: usize, spec: &WorldSpec) -> World<'a> {
        let (a, b) = (format!("m{case}a"), format!("m{case}b"));
        let mut w = World {
            app,
            http: Http::new(&app.base),
            oracle: Http::new(oracle_base),
            disagreements: Default::default(),
            case,
            u: Universe::new(&a, &b),
            oracle_addr: address(case, 250),
            agents: Vec::new(),
            accounts: Vec::new(),
            clients: Vec::new(),
            tokens: Vec::new(),
            streams: Vec::new(),
            groups: Vec::new(),
            signers: Default::default(),
            portals: [0; 3],
            step: None,
            setup_log: String::new(),
        };
        for slug in [&a, &b] {
            let r =
                w.boot(Method::POST, "/api/v1/namespaces", Body::Json(&json!({ "slug": slug, "display_name": slug })));
            assert_eq!(r.status, 201, "setup: namespace {slug}: {}", r.text);
        }
        // The administrator: `*:*@*`, a client of its own holding `*:*@*`, signed in.
        let admin_account = w.setup_account(0, &["*:*@*".to_owned()], "admin");
        for ns in 0..3 {
            let body = json!({
                "name": format!("portal {}", w.u.names[ns]),
                "permissions": [],
                "grant_types": ["authorization_code"],
                "redirect_uris": [w.portal_uri(ns)],
                "user_namespace": w.u.names[ns],
                "owner_account_id": w.accounts[admin_account].id,
                "skip_consent": true,
            });
            w.portals[ns] = w.setup_client(&body, &format!("portal-{}", w.u.names[ns]));
        }
        w.add_agent("admin", Some(admin_account));
        let admin_client = w.setup_client(
            &json!({ "name": "admin client", "permissions": ["*:*@*"], "owner_account_id": w.accounts[admin_account].id }),
            "admin-client",
        );
        w.give_secret(0, admin_client);
        w.setup_stream();
        let _ = writeln!(
            w.setup_log,
            "  agent0 admin: account {} in system with [*:*@*]; client {} [*:*@*]; log stream admin-stream to itself",
            w.accounts[admin_account].label, w.clients[admin_client].label
        );
        for (i, agent) in spec.agents.iter().enumerate() {
            let n = i + 1;
            let ns = usize::from(agent.ns) % 3;
            let grants = w.grants(&agent.grants);
            let account = w.setup_account(ns, &grants, &format!("u{n}"));
            w.add_agent(&format!("agent{n}"), Some(account));
            let mut line =
                format!("  agent{n}: account {} in {} with {grants:?}", w.accounts[account].label, w.u.names[ns]);
            if let Some(client) = &agent.client {
                let grants = w.grants(client.grants.as_ref().unwrap_or(&agent.grants));
                let mut body = json!({ "name": format!("client of agent{n}"), "permissions": grants, "owner_account_id": w.accounts[account].id });
                w.app_settings(&mut body, &client.app, n);
                let c = w.setup_client(&body, &format!("c{n}"));
                w.learn_client(n, c, &body);
                let _ = write!(line, "; client {} {grants:?} {}", w.clients[c].label, super::ops::describe_app(&body));
            }
            if agent.signed_in {
                line.push_str("; signed in");
            }
            let _ = writeln!(w.setup_log, "{line}");
        }
        w.setup_groups(spec);
        // Sign-ins last (a sign-in needs the account's username, which is known by now).
        let signed: Vec<usize> = std::iter::once(0)
            .chain(spec.agents.iter().enumerate().filter(|(_, a)| a.signed_in).map(|(i, _)| i + 1))
            .collect();
        for n in signed {
            let account = w.agents[n].account.unwrap();
            let password = w.accounts[account].password.clone().unwrap();
            let outcome = w.sign_in(n, account, &password);
            assert!(outcome.is_ok(), "setup: signing agent{n} in: {outcome:?}");
        }
        let with_factor: std::collections::BTreeSet<usize> =
            spec.factors.iter().map(|&i| usize::from(i) % w.agents.len()).collect();
        for n in with_factor {
            w.setup_factor(n);
            let _ = writeln!(w.setup_log, "  agent{n}: an authenticator app on its account");
        }
        w
    }

    /// The grant strings of alphabet indices.
    pub fn grants(&self, picks: &[u8]) -> Vec<String> {
        let mut out: Vec<String> = picks.iter().map(|&i| self.grant(i)).collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn grant(&self, pick: u8) -> String {
        GRANTS[usize::from(pick) % GRANTS.len()].replace("{a}", &self.u.names[1]).replace("{b}", &self.u.names[2])
    }

    pub fn portal_uri(&self, ns: usize) -> String {
        format!("http://127.0.0.1:9/portal/{}", self.u.names[ns])
    }

    /// Fills in the OAuth settings of a client to create for agent `n`.
    pub fn app_settings(&self, body: &mut Value, app: &AppSpec, n: usize) {
        let kind = app.kind % 4;
        if kind == 0 {
            return;
        }
        if kind == 3 {
            body["token_endpoint_auth_method"] = json!("private_key_jwt");
            body["jwks"] = json!({ "keys": [self.new_signer()] });
            return;
        }
        body["grant_types"] = json!(["authorization_code", "refresh_token"]);
        body["redirect_uris"] = json!([self.agents[n].redirect]);
        // 3 and above: the namespace of the agent's own account.
        let own = self.agents[n].account.map(|a| self.accounts[a].ns);
        let ns = match (app.user_ns, own) {
            (u, Some(own)) if u >= 3 => own,
            (u, _) => usize::from(u) % 3,
        };
        body["user_namespace"] = json!(self.u.names[ns]);
        if kind == 2 {
            body["token_endpoint_auth_method"] = json!("none");
        } else if app.password_grant {
            body["password_grant_enabled"] = json!(true);
        }
        if app.skip_consent {
            body["skip_consent"] = json!(true);
        }
        // Nobody registers into system (the server refuses it).
        if app.registration && ns != 0 {
            body["registration_enabled"] = json!(true);
        }
    }

    fn add_agent(&mut self, name: &str, account: Option<usize>) -> usize {
        let n = self.agents.len();
        let addr = address(self.case, n);
        let mut agent = Agent {
            name: name.to_owned(),
            browser: Browser::new(&self.app.base, &addr),
            addr,
            account,
            redirect: format!("http://127.0.0.1:9/cb/m{}/{n}", self.case),
            receiver: format!("http://127.0.0.1:9/stream/m{}/{n}", self.case),
            keys: Vec::new(),
        };
        if let Some(a) = account {
            agent.learn(Key::Password { account: a, password: self.accounts[a].password.clone().unwrap() });
        }
        self.agents.push(agent);
        n
    }

    /// What the agent that made client `c` (with `body`) holds of it: its secret, its signing
    /// key, or (a public client) its redirect URI.
    pub fn learn_client(&mut self, agent: usize, c: usize, body: &Value) {
        if self.clients[c].public {
            self.agents[agent].learn(Key::Redirect { client: c });
        } else if self.clients[c].signing {
            let kid = body["jwks"]["keys"][0]["kid"].as_str().unwrap_or_default().to_owned();
            self.agents[agent].learn(Key::Signer { client: c, kid });
        } else {
            self.give_secret(agent, c);
        }
    }

    fn give_secret(&mut self, agent: usize, client: usize) {
        let secret = self.clients[client].newest_live_secret().unwrap().to_owned();
        self.agents[agent].learn(Key::Secret { client, secret });
    }

    /// A request of the bootstrap client (setup and measurements).
    pub fn boot(&self, method: Method, path: &str, body: Body<'_>) -> Reply {
        let auth = Auth::Basic(self.app.admin_client.client_id.clone(), self.app.admin_client.secret.clone());
        let mut r = self.http.send(method.clone(), path, &auth, &self.oracle_addr, body_again(&body));
        for _ in 0..3 {
            if r.status != 429 && r.status != 503 {
                break;
            }
            std::thread::sleep(retry_after(&r));
            r = self.http.send(method.clone(), path, &auth, &self.oracle_addr, body_again(&body));
        }
        r
    }

    fn setup_account(&mut self, ns: usize, grants: &[String], label: &str) -> usize {
        let username = format!("m{}{label}", self.case);
        let password = format!("pw {} {}", username, random_text(12));
        let r = self.boot(
            Method::POST,
            &format!("/api/v1/namespaces/{}/users", self.u.names[ns]),
            Body::Json(&json!({ "username": username, "password": password })),
        );
        assert_eq!(r.status, 201, "setup: account {username}: {}", r.text);
        let id = r.json["id"].as_str().unwrap().to_owned();
        if !grants.is_empty() {
            let r = self.boot(
                Method::PUT,
                &format!("/api/v1/namespaces/{}/users/{id}/permissions", self.u.names[ns]),
                Body::Json(&json!({ "permissions": grants })),
            );
            assert_eq!(r.status, 200, "setup: grants of {username}: {}", r.text);
        }
        self.accounts.push(AccountP {
            id,
            ns,
            label: username.clone(),
            password: Some(password),
            session_generation: 0,
            username: Some(username),
            email: None,
            email_verified: false,
            disabled: false,
            deleted: false,
            mfa: AccountFactors::default(),
        });
        self.accounts.len() - 1
    }

    /// Creates a client with the bootstrap client.
    fn setup_client(&mut self, body: &Value, label: &str) -> usize {
        let r = self.boot(Method::POST, "/api/v1/clients", Body::Json(body));
        assert_eq!(r.status, 201, "setup: client {label}: {}", r.text);
        self.add_client(&r.json, label)
    }

    /// Records a created client (the answer of a create).
    pub fn add_client(&mut self, created: &Value, label: &str) -> usize {
        let secret = created["client_secret"].as_str().map(str::to_owned);
        let signing = created["token_endpoint_auth_method"] == json!("private_key_jwt");
        self.clients.push(ClientP {
            id: created["id"].as_str().unwrap_or_default().to_owned(),
            client_id: created["client_id"].as_str().unwrap_or_default().to_owned(),
            label: label.to_owned(),
            public: secret.is_none() && !signing,
            signing,
            secrets: secret.into_iter().map(|s| (s, true)).collect(),
            deleted: false,
        });
        self.clients.len() - 1
    }

    pub fn account_of_id(&self, id: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.id == id)
    }

    /// The credentials a key presents on the Management API.
    pub fn api_auth(&self, key: &Key) -> Option<Auth> {
        match key {
            Key::Secret { client, secret } => {
                Some(Auth::Basic(self.clients[*client].client_id.clone(), secret.clone()))
            }
            Key::Token { token } => Some(Auth::Bearer(self.tokens[*token].access.clone())),
            _ => None,
        }
    }

    /// The principal a key acts as.
    pub fn principal_of(&self, key: &Key) -> Option<Principal> {
        match key {
            Key::Secret { client, .. } | Key::Redirect { client } => Some(Principal::Client(*client)),
            Key::Token { token } => Some(Principal::Token(*token)),
            Key::Stream { stream } => Some(Principal::Stream(*stream)),
            Key::Signer { client, .. } => Some(Principal::Client(*client)),
            Key::Password { account, .. }
            | Key::Session { account, .. }
            | Key::Email { account, .. }
            | Key::Factor { account, .. } => Some(Principal::Account(*account)),
        }
    }

    pub fn describe_key(&self, key: &Key) -> String {
        match key {
            Key::Secret { client, secret } => {
                let c = &self.clients[*client];
                let n = c.secrets.iter().position(|(s, _)| s == secret).map(|i| i + 1).unwrap_or(0);
                format!("secret #{n} of client {}", c.label)
            }
            Key::Password { account, .. } => format!("password of {}", self.accounts[*account].label),
            Key::Token { token } => format!("token {}", self.tokens[*token].label),
            Key::Session { account, .. } => format!("SSO session of {}", self.accounts[*account].label),
            Key::Email { account, email } => format!("verified email {email} of {}", self.accounts[*account].label),
            Key::Redirect { client } => format!("redirect URI of public client {}", self.clients[*client].label),
            Key::Stream { stream } => format!("receiver of log stream {}", self.streams[*stream].label),
            Key::Signer { client, kid } => {
                format!("signing key {} of client {}", &kid[..8.min(kid.len())], self.clients[*client].label)
            }
            Key::Factor { account, factor, .. } => {
                format!("authenticator app {} of {}", &factor[..8.min(factor.len())], self.accounts[*account].label)
            }
        }
    }

    pub fn describe_principal(&self, p: Principal) -> String {
        match p {
            Principal::Account(a) => format!("account {}", self.accounts[a].label),
            Principal::Client(c) => format!("client {}", self.clients[c].label),
            Principal::Token(t) => format!("token {}", self.tokens[t].label),
            Principal::Stream(s) => format!("log stream {}", self.streams[s].label),
            Principal::Group(g) => format!("group {}", self.groups[g].label),
        }
    }
}

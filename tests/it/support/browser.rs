//! A browser, as far as the hosted pages need one: cookies, no automatic redirects, forms.

use reqwest::blocking::Client;

use super::Reply;

pub struct Browser {
    http: Client,
    pub base: String,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let http = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .unwrap();
        Browser { http, base: base.to_owned() }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        }
    }

    fn reply(response: reqwest::blocking::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Reply { status, headers, text, json }
    }

    pub fn get(&self, url: &str) -> Reply {
        Self::reply(self.http.get(self.absolute(url)).send().expect("GET"))
    }

    pub fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Reply {
        Self::reply(self.http.post(self.absolute(url)).form(fields).send().expect("POST"))
    }

    /// Any request, with extra headers and an optional JSON body (cookies are sent as usual).
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        json: Option<&serde_json::Value>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, self.absolute(url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = json {
            request = request.json(body);
        }
        Self::reply(request.send().expect("request"))
    }

    /// Submits the form on `page` (a hosted page) with its hidden fields plus `fields`.
    pub fn submit(&self, page: &Reply, action: &str, fields: &[(&str, &str)]) -> Reply {
        let request = hidden(&page.text, "request").expect("the page has a request field");
        let csrf = hidden(&page.text, "csrf").expect("the page has a csrf field");
        let mut all: Vec<(&str, &str)> = vec![("request", &request), ("csrf", &csrf)];
        all.extend_from_slice(fields);
        self.post_form(action, &all)
    }

    /// Opens an authorization URL and signs in on the hosted form, then through the second
    /// factor when the account has or must enrol one ([`super::totp::second_step`]); returns
    /// the last answer (a 303 back to the application when it worked).
    pub fn sign_in(&self, authorize_url: &str, login: &str, password: &str) -> Reply {
        let answer = self.password_step(authorize_url, login, password);
        super::totp::second_step(self, answer, login)
    }

    /// Opens an authorization URL and submits the password form; returns its answer as it is.
    pub fn password_step(&self, authorize_url: &str, login: &str, password: &str) -> Reply {
        let page = self.get(authorize_url);
        assert_eq!(page.status, 200, "the sign-in page: {}", page.text);
        self.submit(&page, "/oauth/login", &[("login", login), ("password", password)])
    }
}

/// The value of the hidden input `name` in an HTML page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].replace("&amp;", "&"))
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The Location of a redirect.
pub fn location(reply: &Reply) -> String {
    reply.header("location").unwrap_or_else(|| panic!("no Location in {} {}", reply.status, reply.text)).to_owned()
}

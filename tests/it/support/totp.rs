//! Second factors as a person with an authenticator app meets them: codes made by **pyotp**
//! (PyPI, installed by scripts/test.sh), an RFC 6238 implementation independent of the
//! server's. [`second_step`] takes a browser through the hosted second-factor pages (enrolment
//! or a code) the way an account would, remembering each account's secret, the last time step
//! it used (a code is accepted once) and its recovery codes, so the shared sign-in helpers
//! exercise the default path: accounts with write grants enrol at their first console sign-in.

use std::collections::HashMap;
use std::sync::Mutex;

use super::browser::Browser;
use super::Reply;

/// The code of `secret` (base32) at Unix time `unix`, by pyotp.
pub fn code_at(secret: &str, unix: i64) -> String {
    let script = "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))";
    let out = std::process::Command::new("python3")
        .args(["-c", script, secret, &unix.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyotp failed (scripts/test.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The base32 secret shown on an enrolment page.
pub fn secret_on(page: &str) -> Option<String> {
    let marker = "id=\"totp-secret\">";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('<')?;
    Some(page[start..start + end].to_owned())
}

/// The recovery codes shown on the page after enrolment.
pub fn recovery_codes_on(page: &str) -> Vec<String> {
    let Some(list) = page.split("class=\"recovery-codes\"").nth(1) else { return Vec::new() };
    let list = list.split("</ul>").next().unwrap_or_default();
    list.split("<code>").skip(1).filter_map(|c| c.split("</code>").next()).map(str::to_owned).collect()
}

pub fn is_enrolment(reply: &Reply) -> bool {
    reply.status == 200 && reply.text.contains("action=\"/oauth/mfa/enrol\"")
}

pub fn is_code_page(reply: &Reply) -> bool {
    reply.status == 200 && reply.text.contains("action=\"/oauth/mfa\"")
}

/// What the test kit remembers of an enrolled account.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub secret: String,
    pub last_step: i64,
    pub recovery_codes: Vec<String>,
}

static ENROLLED: Mutex<Option<HashMap<String, Enrolled>>> = Mutex::new(None);

fn key(base: &str, login: &str) -> String {
    format!("{base} {login}")
}

pub fn enrolled(base: &str, login: &str) -> Option<Enrolled> {
    ENROLLED.lock().unwrap().as_ref().and_then(|m| m.get(&key(base, login)).cloned())
}

fn remember(base: &str, login: &str, enrolled: Enrolled) {
    ENROLLED.lock().unwrap().get_or_insert_with(HashMap::new).insert(key(base, login), enrolled);
}

/// Enrols on an enrolment page with a code for now; returns the recovery-codes page (and
/// remembers the account's secret and codes).
pub fn enrol(browser: &Browser, page: &Reply, login: &str) -> Reply {
    let secret = secret_on(&page.text).expect("the enrolment page shows the secret");
    let now = unix_now();
    let codes_page = browser.submit(page, "/oauth/mfa/enrol", &[("code", &code_at(&secret, now))]);
    assert_eq!(codes_page.status, 200, "{}", codes_page.text);
    let recovery_codes = recovery_codes_on(&codes_page.text);
    assert_eq!(recovery_codes.len(), 10, "{}", codes_page.text);
    remember(&browser.base, login, Enrolled { secret, last_step: now / 30, recovery_codes });
    codes_page
}

/// A code the server has not accepted yet for the account: this step's or the next one's (the
/// server takes one step of drift), else a recovery code.
pub fn next_code(base: &str, login: &str) -> String {
    let mut entry = enrolled(base, login).unwrap_or_else(|| panic!("{login} has no factor the tests know"));
    let step = (unix_now() / 30).max(entry.last_step + 1);
    let code = if step <= unix_now() / 30 + 1 {
        entry.last_step = step;
        code_at(&entry.secret, step * 30)
    } else {
        entry.recovery_codes.pop().expect("a recovery code left")
    };
    remember(base, login, entry);
    code
}

/// Takes the answer to the password form through the second-factor pages, if it is one of
/// them: enrols (and continues past the recovery codes) or enters a code.
pub fn second_step(browser: &Browser, reply: Reply, login: &str) -> Reply {
    if is_enrolment(&reply) {
        let codes_page = enrol(browser, &reply, login);
        return browser.submit(&codes_page, "/oauth/mfa/continue", &[]);
    }
    if is_code_page(&reply) {
        let code = next_code(&browser.base, login);
        return browser.submit(&reply, "/oauth/mfa", &[("code", &code)]);
    }
    reply
}

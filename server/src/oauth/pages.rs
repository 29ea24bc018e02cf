//! The hosted pages: server-rendered HTML that needs no JavaScript, readable on a phone, with
//! a strict Content-Security-Policy. Every form carries a CSRF token; no page says whether an
//! account exists.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub const STYLESHEET: &str = include_str!("style.css");

/// What a page needs besides its body: where its forms may send the browser next.
pub struct Page {
    pub title: &'static str,
    pub status: StatusCode,
    /// Origins the browser may be redirected to after a form on this page is submitted
    /// (CSP `form-action` also governs those redirects).
    pub redirect_origins: Vec<String>,
    pub retry_after: Option<u64>,
    /// A script of Gatehouse's own the page runs (CSP `script-src 'self'; connect-src 'self'`,
    /// nothing inline): the form_post response's and the passkey pages'; other pages run none.
    pub script: Option<&'static str>,
}

impl Page {
    pub fn new(title: &'static str) -> Page {
        Page { title, status: StatusCode::OK, redirect_origins: Vec::new(), retry_after: None, script: None }
    }

    /// The page loads `/oauth/assets/passkey.js`.
    pub fn with_passkey_script(mut self, on: bool) -> Page {
        if on {
            self.script = Some("/oauth/assets/passkey.js");
        }
        self
    }

    pub fn status(mut self, status: StatusCode) -> Page {
        self.status = status;
        self
    }

    pub fn script(mut self, path: &'static str) -> Page {
        self.script = Some(path);
        self
    }

    pub fn redirecting_to(mut self, origin: Option<String>) -> Page {
        self.redirect_origins.extend(origin);
        self
    }

    /// The page with its body: a plain value (it may cross threads) until it is sent.
    pub fn render(self, body: Markup) -> Rendered {
        Rendered { page: self, body, cookies: Vec::new() }
    }
}

/// A page ready to send.
pub struct Rendered {
    page: Page,
    body: Markup,
    cookies: Vec<actix_web::cookie::Cookie<'static>>,
}

impl Rendered {
    pub fn cookie(mut self, cookie: actix_web::cookie::Cookie<'static>) -> Rendered {
        self.cookies.push(cookie);
        self
    }

    pub fn respond(self) -> HttpResponse {
        let Rendered { page, body, cookies } = self;
        let markup = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (page.title) " · Gatehouse" }
                    link rel="stylesheet" href="/oauth/assets/style.css";
                    @if let Some(src) = page.script { script src=(src) defer {} }
                }
                body {
                    main class="card" {
                        p class="brand" { "Gatehouse" }
                        h1 { (page.title) }
                        (body)
                    }
                }
            }
        };
        let mut form_action = String::from("'self'");
        for origin in &page.redirect_origins {
            form_action.push(' ');
            form_action.push_str(origin);
        }
        let mut response = HttpResponse::build(page.status);
        secure_html_headers(&mut response, &form_action, page.script.is_some());
        if let Some(seconds) = page.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        for cookie in cookies {
            response.cookie(cookie);
        }
        response.content_type("text/html; charset=utf-8").body(markup.into_string())
    }
}

/// The headers of every HTML response of Gatehouse; `scripts` allows the page scripts served by
/// Gatehouse itself (no inline script, ever).
pub fn secure_html_headers(response: &mut actix_web::HttpResponseBuilder, form_action: &str, scripts: bool) {
    let script_src = if scripts { "script-src 'self'; connect-src 'self'; " } else { "" };
    response
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; {script_src}style-src 'self'; img-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    secure_html_headers_except_csp(response);
}

/// The headers of every HTML response besides its Content-Security-Policy and caching.
pub fn secure_html_headers_except_csp(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header(("Cross-Origin-Opener-Policy", "same-origin"));
}

/// The origin (`scheme://host[:port]`) of a URL, for CSP.
pub fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        // A private-use scheme (native apps): allow the scheme.
        url::Origin::Opaque(_) => Some(format!("{}:", url.scheme())),
    }
}

/// Hidden fields that tie a form to an authorization request.
pub fn request_fields(request_id: &str, csrf: &str) -> Markup {
    html! {
        input type="hidden" name="request" value=(request_id);
        input type="hidden" name="csrf" value=(csrf);
    }
}

pub fn error_list(errors: &[String]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error" role="alert" {
                @for e in errors { p { (e) } }
            }
        }
    }
}

pub struct SignInForm<'a> {
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub login: &'a str,
    pub client_name: &'a str,
    pub errors: Vec<String>,
    /// The application offers self-registration.
    pub registration: bool,
    /// Passkeys are on: a button (and conditional UI where the browser offers it).
    pub passkeys: bool,
}

/// The form the passkey script fills in and submits (hidden until the script shows it: without
/// scripts or WebAuthn the page is the same as before).
/// `conditional`: the browser may offer the passkeys in the login field's autofill (not after a
/// refusal, which would otherwise be retried by itself).
fn passkey_form(request_id: &str, csrf: &str, label: &str, conditional: bool) -> Markup {
    html! {
        form id="passkey-form" method="post" action="/oauth/passkey" data-conditional=(conditional) hidden {
            (request_fields(request_id, csrf))
            input type="hidden" name="ceremony" value="";
            input type="hidden" name="credential" value="";
            button type="button" id="passkey-button" class="secondary" { (label) }
            p id="passkey-error" class="error" role="alert" hidden {}
        }
    }
}

/// At enrolment: the form the passkey script fills with a new passkey (`data-mode="enrol"`:
/// it creates a credential rather than using one).
fn passkey_enrol_form(request_id: &str, csrf: &str) -> Markup {
    html! {
        form id="passkey-form" method="post" action="/oauth/passkey/enrol" data-mode="enrol" hidden {
            p { "Or set up a passkey: your device's screen lock, a security key or a password manager." }
            label for="passkey-name" { "Name of this passkey" }
            input id="passkey-name" name="name" type="text" maxlength="100" value="Passkey";
            (request_fields(request_id, csrf))
            input type="hidden" name="ceremony" value="";
            input type="hidden" name="credential" value="";
            button type="button" id="passkey-button" class="secondary" { "Use a passkey instead" }
            p id="passkey-error" class="error" role="alert" hidden {}
        }
    }
}

pub fn sign_in(form: SignInForm<'_>) -> Markup {
    html! {
        p class="lead" { "to continue to " strong { (form.client_name) } }
        (error_list(&form.errors))
        form method="post" action="/oauth/login" {
            (request_fields(form.request_id, form.csrf))
            label for="login" { "Username, email or phone number" }
            input id="login" name="login" type="text" autocomplete=(if form.passkeys { "username webauthn" } else { "username" }) autocapitalize="none" spellcheck="false" required value=(form.login);
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            button type="submit" { "Sign in" }
        }
        @if form.passkeys { (passkey_form(form.request_id, form.csrf, "Sign in with a passkey", form.errors.is_empty())) }
        nav {
            @if form.registration {
                a href={ "/oauth/register?request=" (form.request_id) } { "Create an account" }
                " · "
            }
            a href={ "/oauth/reset?request=" (form.request_id) } { "Forgot your password?" }
        }
    }
}

/// The second step of a sign-in: a passkey, a code from the authenticator app, or a recovery
/// code — what the account has.
pub fn second_factor(request_id: &str, csrf: &str, errors: Vec<String>, totp: bool, passkey: bool) -> Markup {
    html! {
        p class="lead" {
            @if totp && passkey { "Use your passkey, or enter the 6-digit code from your authenticator app." }
            @else if passkey { "Use your passkey." }
            @else { "Enter the 6-digit code from your authenticator app." }
        }
        (error_list(&errors))
        @if passkey { (passkey_form(request_id, csrf, "Use a passkey", false)) }
        form method="post" action="/oauth/mfa" {
            (request_fields(request_id, csrf))
            label for="code" { @if totp { "Code" } @else { "Recovery code" } }
            input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="64" required autofocus[!passkey];
            button type="submit" { "Verify" }
        }
        @if totp { p { "No access to your app? Enter one of your recovery codes instead." } }
        @else { p { "No access to your passkey? Enter one of your recovery codes instead." } }
    }
}

pub struct EnrolForm<'a> {
    pub request_id: &'a str,
    pub csrf: &'a str,
    /// Why the account must set up a factor.
    pub why: Option<&'a str>,
    /// The QR code of the `otpauth://` URI, as an SVG element drawn by the server.
    pub qr_svg: &'a str,
    /// The secret in base32, for typing in.
    pub secret: &'a str,
    pub errors: Vec<String>,
    /// Passkeys are on: a passkey may be set up instead.
    pub passkey: bool,
}

/// Enrolment of a TOTP factor: the QR code and the secret, confirmed by a first code.
pub fn enrol(form: EnrolForm<'_>) -> Markup {
    html! {
        p class="lead" {
            "Your account signs in with a second step. Scan this code with an authenticator app, then enter the code it shows."
        }
        @if let Some(why) = form.why { p { "Why: " (why) "." } }
        (error_list(&form.errors))
        figure class="qr" { (PreEscaped(form.qr_svg)) }
        p { "Or enter this key by hand: " code id="totp-secret" { (form.secret) } }
        form method="post" action="/oauth/mfa/enrol" {
            (request_fields(form.request_id, form.csrf))
            label for="name" { "Name of this authenticator" }
            input id="name" name="name" type="text" maxlength="100" value="Authenticator app";
            label for="code" { "Code" }
            input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required;
            button type="submit" { "Confirm" }
        }
        @if form.passkey { (passkey_enrol_form(form.request_id, form.csrf)) }
    }
}

/// Recovery codes, shown once, then on to the application.
pub fn recovery_codes(request_id: &str, csrf: &str, codes: &[String]) -> Markup {
    html! {
        p class="lead" {
            "Keep these recovery codes somewhere safe. Each signs you in once if you lose your authenticator. They are shown only now."
        }
        ul class="recovery-codes" {
            @for code in codes { li { code { (code) } } }
        }
        form method="post" action="/oauth/mfa/continue" {
            (request_fields(request_id, csrf))
            button type="submit" { "I saved them — continue" }
        }
    }
}

pub struct ConsentForm<'a> {
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub client_name: &'a str,
    pub signed_in_as: &'a str,
    /// What the application asks for, in words.
    pub asks: Vec<String>,
    /// The request came from a device whose code was entered on the device page.
    pub device: bool,
}

pub fn consent(form: ConsentForm<'_>) -> Markup {
    html! {
        @if form.device {
            p { "A device where you entered a code asks to sign in to " strong { (form.client_name) } " as you. Allow it only if you started this on your own device." }
        }
        p class="lead" { strong { (form.client_name) } " asks to:" }
        ul class="asks" {
            @for ask in &form.asks { li { (ask) } }
        }
        p { "You are signed in as " strong { (form.signed_in_as) } ". You can withdraw this later from your account." }
        form method="post" action="/oauth/consent" {
            (request_fields(form.request_id, form.csrf))
            button type="submit" name="decision" value="allow" { "Allow" }
            button type="submit" name="decision" value="deny" class="secondary" { "Deny" }
        }
    }
}

pub struct RegisterForm<'a> {
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub phone_number: &'a str,
    pub name: &'a str,
    pub errors: Vec<String>,
}

pub fn register(form: RegisterForm<'_>) -> Markup {
    html! {
        p class="lead" { "We will send a code to the email address and phone number you give, to check they are yours." }
        (error_list(&form.errors))
        form method="post" action="/oauth/register" {
            (request_fields(form.request_id, form.csrf))
            label for="email" { "Email" }
            input id="email" name="email" type="email" autocomplete="email" value=(form.email);
            label for="phone_number" { "Phone number (international format, e.g. +14155550123)" }
            input id="phone_number" name="phone_number" type="tel" autocomplete="tel" value=(form.phone_number);
            label for="name" { "Name (optional)" }
            input id="name" name="name" type="text" autocomplete="name" value=(form.name);
            label for="password" { "Password (at least 8 characters)" }
            input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required;
            button type="submit" { "Create account" }
        }
        nav { a href={ "/oauth/authorize/resume?request=" (form.request_id) } { "I already have an account" } }
    }
}

pub struct VerifyForm<'a> {
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub email: Option<&'a str>,
    pub phone_number: Option<&'a str>,
    pub errors: Vec<String>,
}

pub fn verify(form: VerifyForm<'_>) -> Markup {
    html! {
        p class="lead" { "Enter the codes we sent. They expire in 10 minutes." }
        (error_list(&form.errors))
        form method="post" action="/oauth/verify" {
            (request_fields(form.request_id, form.csrf))
            @if let Some(email) = form.email {
                label for="email_code" { "Code sent to " (email) }
                input id="email_code" name="email_code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required;
            }
            @if let Some(phone) = form.phone_number {
                label for="phone_code" { "Code sent to " (phone) }
                input id="phone_code" name="phone_code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required;
            }
            button type="submit" { "Verify" }
        }
    }
}

pub struct ResetForm<'a> {
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub login: &'a str,
    /// After a code was requested: ask for it and the new password.
    pub code_sent: bool,
    pub errors: Vec<String>,
}

pub fn reset(form: ResetForm<'_>) -> Markup {
    html! {
        (error_list(&form.errors))
        @if form.code_sent {
            p class="lead" { "If an account signs in with " strong { (form.login) } ", we sent it a code. It expires in 10 minutes." }
            form method="post" action="/oauth/reset/confirm" {
                (request_fields(form.request_id, form.csrf))
                input type="hidden" name="login" value=(form.login);
                label for="code" { "Code" }
                input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required;
                label for="password" { "New password (at least 8 characters)" }
                input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required;
                button type="submit" { "Set new password" }
            }
        } @else {
            p class="lead" { "Enter the verified email address or phone number you sign in with." }
            form method="post" action="/oauth/reset" {
                (request_fields(form.request_id, form.csrf))
                label for="login" { "Email or phone number" }
                input id="login" name="login" type="text" autocomplete="username" required value=(form.login);
                button type="submit" { "Send a code" }
            }
        }
        nav { a href={ "/oauth/authorize/resume?request=" (form.request_id) } { "Back to sign-in" } }
    }
}

/// A page for what cannot be sent back to the application (an unknown client or redirect URI).
pub fn error(message: &str) -> Markup {
    html! {
        div class="error" role="alert" { p { (message) } }
        p { "Go back to the application and try again." }
    }
}

pub fn message(text: &str) -> Markup {
    html! { p class="lead" { (text) } }
}

pub fn logout_confirm(csrf: &str, client_id: Option<&str>) -> Markup {
    html! {
        p class="lead" { "Sign out of Gatehouse on this device?" }
        form method="post" action="/oauth/logout" {
            input type="hidden" name="csrf" value=(csrf);
            @if let Some(client_id) = client_id { input type="hidden" name="client_id" value=(client_id); }
            button type="submit" { "Sign out" }
        }
    }
}

//! Security: the signed-in account's own second factors — passkeys (added through the browser's
//! WebAuthn, by `/oauth/assets/passkey.js`) and authenticator apps (the server's QR code, then a
//! first code), rename and remove, and new recovery codes (shown once). Adding a factor or new
//! codes needs a sign-in within the last 5 minutes (the server says so otherwise).
//!
//! One action runs every change (one instance of Leptos's action machinery keeps the WASM small).

use gatehouse_api_types::{Factor, NewPasskey, NewTotp, PasskeyChallenge, RecoveryCodes, TotpEnrolment};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::api::{self, ApiError};
use crate::components::factors::FactorTable;
use crate::components::ErrorBanner;
use crate::paths;
use crate::tasks::Act;

/// Asks the browser to create a passkey with the server's options (the page's script does the
/// WebAuthn call); the browser's answer as JSON.
async fn create_passkey(options: &serde_json::Value) -> Result<serde_json::Value, ApiError> {
    let failed = |what: &str| ApiError::field("credential", what.to_owned());
    let window = web_sys::window().ok_or_else(|| failed("no window"))?;
    let helper = js_sys::Reflect::get(&window, &JsValue::from_str("gatehousePasskey"))
        .ok()
        .filter(|h| !h.is_undefined())
        .ok_or_else(|| failed("this browser cannot create passkeys here"))?;
    let promise = js_sys::Reflect::get(&helper, &JsValue::from_str("register"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call1(&helper, &JsValue::from_str(&options.to_string())).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
        .ok_or_else(|| failed("the passkey could not be created"))?;
    let answer = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|e| {
        let name = js_sys::Reflect::get(&e, &JsValue::from_str("name")).ok().and_then(|n| n.as_string());
        failed(&format!("the browser did not create the passkey ({})", name.unwrap_or_else(|| "error".into())))
    })?;
    answer
        .as_string()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| failed("the browser's answer is not JSON"))
}

/// What the page asks of the server.
#[derive(Clone)]
enum Op {
    AddPasskey(String),
    BeginTotp,
    ConfirmTotp { id: String, name: String, code: String },
    RecoveryCodes,
}

#[component]
pub fn Security() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let notice = RwSignal::new(None::<String>);
    let codes = RwSignal::new(Vec::<String>::new());
    let enrolment = RwSignal::new(None::<TotpEnrolment>);
    let passkey_name = RwSignal::new("Passkey".to_owned());
    let totp_name = RwSignal::new("Authenticator app".to_owned());
    let totp_code = RwSignal::new(String::new());

    let run_act = Act::new();
    let run = move |op: Op| {
        let op = op.clone();
        run_act.run(async move {
            let done = match op {
                Op::AddPasskey(name) => {
                    let challenge: PasskeyChallenge = api::post_empty(paths::MY_PASSKEY_REGISTRATIONS).await?;
                    let credential = create_passkey(&challenge.options).await?;
                    let body = NewPasskey { registration_id: challenge.id, name: name.trim().to_owned(), credential };
                    api::post::<_, Factor>(paths::MY_PASSKEYS, &body).await?;
                    "Passkey added: it signs you in without a password."
                }
                Op::BeginTotp => {
                    enrolment.set(Some(api::post_empty(paths::MY_TOTP_ENROLMENTS).await?));
                    return Ok(());
                }
                Op::ConfirmTotp { id, name, code } => {
                    let body = NewTotp { enrolment_id: id, name: name.trim().to_owned(), code: code.trim().to_owned() };
                    api::post::<_, Factor>(paths::MY_TOTP, &body).await?;
                    enrolment.set(None);
                    totp_code.set(String::new());
                    "Authenticator app added."
                }
                Op::RecoveryCodes => {
                    let fresh: RecoveryCodes = api::post_empty(paths::MY_RECOVERY_CODES).await?;
                    codes.set(fresh.codes);
                    "New recovery codes: the old ones no longer work. They are shown only now."
                }
            };
            notice.set(Some(done.to_owned()));
            version.update(|v| *v += 1);
            Ok(())
        });
    };
    let error = run_act.error();
    let dispatch = move |op: Op| {
        notice.set(None);
        run(op);
    };

    view! {
        <h1>"Security"</h1>
        {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        <ErrorBanner error=error />
        <section class="card">
            <h2>"Your second factors"</h2>
            <FactorTable path=paths::MY_FACTORS version=version renamable=true consequence="It no longer signs you in." />
        </section>
        <section class="card">
            <h2>"Add a passkey"</h2>
            <p class="hint">"A passkey signs you in without a password, with your device's screen lock or a security key."</p>
            <form id="add-passkey-form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                dispatch(Op::AddPasskey(passkey_name.get_untracked()));
            }>
                <div class="field">
                    <label for="passkey-name">"Name"</label>
                    <input id="passkey-name" maxlength="100" required bind:value=passkey_name />
                </div>
                <button type="submit" id="add-passkey" class="button" disabled=move || run_act.pending()>"Add a passkey"</button>
            </form>
        </section>
        <section class="card">
            <h2>"Add an authenticator app"</h2>
            <button type="button" id="begin-totp" class="button" disabled=move || run_act.pending()
                on:click=move |_| dispatch(Op::BeginTotp)>"Add an authenticator app"</button>
            {move || enrolment.get().map(|e| {
                let id = e.id.clone();
                view! {
                    <figure class="qr" inner_html=e.qr_svg.clone()></figure>
                    <p>"Scan the code with the app, or enter this key: " <code id="totp-secret">{e.secret.clone()}</code></p>
                    <form id="totp-form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        let (name, code) = (totp_name.get_untracked(), totp_code.get_untracked());
                        dispatch(Op::ConfirmTotp { id: id.clone(), name, code });
                    }>
                        <div class="field">
                            <label for="totp-name">"Name"</label>
                            <input id="totp-name" maxlength="100" required bind:value=totp_name />
                        </div>
                        <div class="field">
                            <label for="totp-code">"Code"</label>
                            <input id="totp-code" inputmode="numeric" autocomplete="one-time-code" required bind:value=totp_code />
                        </div>
                        <button type="submit" id="confirm-totp" class="button">"Confirm"</button>
                    </form>
                }
            })}
        </section>
        <section class="card">
            <h2>"Recovery codes"</h2>
            <p class="hint">"Each signs you in once when you cannot use your second factor; new ones replace the old."</p>
            <button type="button" id="regenerate-codes" class="button" disabled=move || run_act.pending()
                on:click=move |_| dispatch(Op::RecoveryCodes)>"New recovery codes"</button>
            <ul class="recovery-codes">{move || codes.get().into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
        </section>
        <p class="hint">"Adding a factor or new recovery codes needs a sign-in within the last 5 minutes."</p>
    }
}

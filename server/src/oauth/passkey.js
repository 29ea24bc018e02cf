// Gatehouse passkeys: the WebAuthn calls of the hosted pages and of the console (ADR 0013).
// Loaded as a file (the pages' CSP allows scripts from this origin and nothing inline).
// Binary members travel as base64url, as the server's JSON has them.
(function () {
  "use strict";

  function encode(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decode(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64), bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: decode(c.id) }); });
  }

  function creationOptions(publicKey) {
    var o = Object.assign({}, publicKey);
    o.challenge = decode(publicKey.challenge);
    o.user = Object.assign({}, publicKey.user, { id: decode(publicKey.user.id) });
    o.excludeCredentials = withIds(publicKey.excludeCredentials);
    return o;
  }

  function requestOptions(publicKey) {
    var o = Object.assign({}, publicKey);
    o.challenge = decode(publicKey.challenge);
    o.allowCredentials = withIds(publicKey.allowCredentials);
    return o;
  }

  function registrationJson(credential) {
    return {
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: encode(credential.response.attestationObject),
        clientDataJSON: encode(credential.response.clientDataJSON)
      },
      extensions: {}
    };
  }

  function assertionJson(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: encode(r.authenticatorData),
        clientDataJSON: encode(r.clientDataJSON),
        signature: encode(r.signature),
        userHandle: r.userHandle ? encode(r.userHandle) : null
      },
      extensions: {}
    };
  }

  // For the console: creates a passkey from the options the server gave (a JSON string) and
  // resolves to the credential as a JSON string; `get` does the same for an assertion.
  window.gatehousePasskey = {
    register: function (optionsJson) {
      var options = JSON.parse(optionsJson);
      return navigator.credentials.create({ publicKey: creationOptions(options.publicKey) })
        .then(function (credential) { return JSON.stringify(registrationJson(credential)); });
    },
    get: function (optionsJson) {
      var options = JSON.parse(optionsJson);
      return navigator.credentials.get({ publicKey: requestOptions(options.publicKey) })
        .then(function (credential) { return JSON.stringify(assertionJson(credential)); });
    }
  };

  // The hosted pages: a form #passkey-form with the request's fields.
  var form, pending = null;

  function showError(message) {
    var p = document.getElementById("passkey-error");
    if (p) { p.textContent = message; p.hidden = false; }
  }

  function run(mediation) {
    if (pending) pending.abort();
    var controller = new AbortController();
    pending = controller;
    var body = new URLSearchParams({ request: form.elements.request.value, csrf: form.elements.csrf.value });
    return fetch("/oauth/passkey/options", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) throw new Error("This sign-in form has expired. Reload the page.");
        return answer.json();
      })
      .then(function (challenge) {
        var request = { publicKey: requestOptions(challenge.options.publicKey), signal: controller.signal };
        if (mediation) request.mediation = mediation;
        return navigator.credentials.get(request).then(function (credential) {
          if (!credential) return;
          form.elements.ceremony.value = challenge.ceremony;
          form.elements.credential.value = JSON.stringify(assertionJson(credential));
          form.submit();
        });
      })
      .catch(function (error) {
        if (controller.signal.aborted || (error && error.name === "AbortError")) return;
        if (!mediation) showError(error && error.name === "NotAllowedError"
          ? "The passkey was not used (cancelled or timed out)." : String(error && error.message || error));
      });
  }

  // At enrolment: creates a passkey for the account being enrolled and submits it.
  function enrol() {
    var body = new URLSearchParams({ request: form.elements.request.value, csrf: form.elements.csrf.value });
    return fetch("/oauth/passkey/registration-options", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) throw new Error("This sign-in form has expired. Reload the page.");
        return answer.json();
      })
      .then(function (challenge) {
        return navigator.credentials.create({ publicKey: creationOptions(challenge.options.publicKey) })
          .then(function (credential) {
            form.elements.ceremony.value = challenge.ceremony;
            form.elements.credential.value = JSON.stringify(registrationJson(credential));
            form.submit();
          });
      })
      .catch(function (error) {
        showError(error && error.name === "NotAllowedError"
          ? "No passkey was made (cancelled or timed out)." : String(error && error.message || error));
      });
  }

  function start() {
    form = document.getElementById("passkey-form");
    if (!form || !window.PublicKeyCredential || !navigator.credentials) return;
    form.hidden = false;
    if (form.dataset.mode === "enrol") {
      document.getElementById("passkey-button").addEventListener("click", enrol);
      return;
    }
    document.getElementById("passkey-button").addEventListener("click", function () { run(null); });
    // Conditional UI: the browser offers passkeys in the sign-in name's autofill.
    if (form.dataset.conditional === "true" && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available && !pending) run("conditional");
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

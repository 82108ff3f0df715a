/* ordergate account pages: passkeys (WebAuthn) and filling in a code from a message's link.
   Everything else on these pages works without this file. */
"use strict";

(function () {
  function toBytes(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return window.btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(options) {
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return options;
  }

  function requestOptions(options) {
    options.challenge = toBytes(options.challenge);
    (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return options;
  }

  function credentialJSON(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    }
    if (r.authenticatorData) {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) response.userHandle = toText(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: response
    };
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (data) {
        if (!answer.ok) throw new Error(data.detail || data.title || "Something went wrong");
        return data;
      });
    });
  }

  function say(button, text) {
    var status = button.parentNode.querySelector("[data-passkey-status]");
    if (status) status.textContent = text;
  }

  function failed(button, error) {
    button.disabled = false;
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "AbortError") {
      say(button, "Cancelled. Nothing was changed.");
    } else {
      say(button, (error && error.message) || "That did not work. Please try again.");
    }
  }

  function register(button) {
    button.disabled = true;
    say(button, "Follow your device's prompt…");
    post(button.getAttribute("data-options-url"))
      .then(function (start) {
        return navigator.credentials.create({ publicKey: creationOptions(start.publicKey) }).then(function (credential) {
          return post(button.getAttribute("data-register-url"), {
            challenge: start.challenge,
            credential: credentialJSON(credential)
          });
        });
      })
      .then(function () { window.location.assign(button.getAttribute("data-done-url")); })
      .catch(function (error) { failed(button, error); });
  }

  function signIn(button) {
    button.disabled = true;
    say(button, "Follow your device's prompt…");
    post(button.getAttribute("data-options-url"))
      .then(function (start) {
        return navigator.credentials.get({ publicKey: requestOptions(start.publicKey) }).then(function (credential) {
          return post(button.getAttribute("data-sign-in-url"), {
            challenge: start.challenge,
            credential: credentialJSON(credential)
          });
        });
      })
      .then(function () { window.location.assign(button.getAttribute("data-done-url")); })
      .catch(function (error) { failed(button, error); });
  }

  function setup() {
    if (window.PublicKeyCredential && navigator.credentials) {
      document.querySelectorAll("[data-passkey-area]").forEach(function (area) { area.hidden = false; });
    }
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-passkey-register], [data-passkey-sign-in]");
      if (!button) return;
      event.preventDefault();
      if (button.hasAttribute("data-passkey-register")) register(button);
      else signIn(button);
    });
    codeFromLink();
    window.addEventListener("hashchange", codeFromLink);
  }

  /* A message's link carries the code after "#", which never reaches the server: fill it in,
     and leave pressing the button (which spends it) to the person. */
  function codeFromLink() {
    var input = document.querySelector("[data-code-from-link]");
    var match = /(?:^#|&)code=(\d{6})(?:&|$)/.exec(window.location.hash || "");
    if (!input || !match) return;
    input.value = match[1];
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();

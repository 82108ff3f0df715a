/* ordergate order page: Stripe's Payment Element for an order payable by card.
 * Loaded only on that page, after Stripe.js (https://js.stripe.com/v3/, loaded async). Written from
 * Stripe's "Accept a payment" guide (docs.stripe.com/payments/accept-a-payment?ui=elements) and the
 * Stripe.js reference (docs.stripe.com/js): Stripe(publishableKey), stripe.elements({clientSecret}),
 * elements.create("payment"), element.mount(), stripe.confirmPayment({elements, confirmParams:
 * {return_url}}). Everything it needs comes from the form's data attributes (no inline script).
 * The order is marked paid by Stripe's payment_intent.succeeded webhook, not by this page. */
"use strict";

(function () {
  var form = document.querySelector("[data-card-form]");
  if (!form) return;
  var status = form.querySelector("[data-card-status]");
  var problem = form.querySelector("[data-card-error]");
  var button = form.querySelector("[data-card-pay]");
  var mount = form.querySelector("[data-card-element]");
  var started = false;

  function say(text) {
    if (status) {
      status.textContent = text;
      status.hidden = !text;
    }
  }
  function fail(text) {
    say("");
    if (problem) {
      problem.textContent = text;
      problem.hidden = false;
    }
    if (button) button.disabled = true;
  }

  function start() {
    if (started) return;
    started = true;
    if (typeof window.Stripe !== "function") {
      fail(
        "The card form could not be loaded: Stripe's script (js.stripe.com) did not arrive. " +
          "Check your connection or any content blocker, then reload this page. Your order is held until the time above."
      );
      return;
    }
    var stripe, elements, element;
    try {
      stripe = window.Stripe(form.getAttribute("data-publishable-key"));
      elements = stripe.elements({ clientSecret: form.getAttribute("data-client-secret") });
      element = elements.create("payment");
      element.mount(mount);
    } catch (e) {
      fail("The card form could not be started. Reload this page to try again.");
      return;
    }
    element.on("ready", function () {
      say("");
      if (button) button.disabled = false;
    });
    element.on("loaderror", function () {
      fail("Stripe could not show the card form. Reload this page to try again.");
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button) button.disabled = true;
      if (problem) problem.hidden = true;
      say("Sending your payment to Stripe…");
      stripe
        .confirmPayment({ elements: elements, confirmParams: { return_url: form.getAttribute("data-return-url") } })
        .then(function (result) {
          /* Reached only when the confirmation failed at once; otherwise Stripe sends the buyer
           * to return_url (this page), which shows the payment as it stands. */
          if (result && result.error) {
            say("");
            problem.textContent = result.error.message || "The payment did not go through. Check the details and try again.";
            problem.hidden = false;
            if (button) button.disabled = false;
          }
        });
    });
  }

  /* Stripe.js is loaded async: the window's load event comes once it has run, or failed to load. */
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
  window.setTimeout(start, 15000); /* a script that never answers must not leave the buyer waiting */
})();

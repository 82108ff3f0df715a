/* ordergate buyer pages: small progressive enhancements. Every page works without this file. */
"use strict";
document.documentElement.classList.add("js");

(function () {
  function announce(text) {
    var box = document.getElementById("announcer");
    if (!box) return;
    box.textContent = "";
    window.setTimeout(function () { box.textContent = text; }, 50);
  }

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  /* Copy buttons: data-copy="#element" copies that input's value or element's text. */
  function setupCopy() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-copy]");
      if (!button) return;
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source) return;
      var text = "value" in source ? source.value : source.textContent.trim();
      var done = function () {
        var label = button.textContent;
        button.textContent = "Copied";
        announce("Copied to the clipboard");
        window.setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(source, text, done); });
      } else {
        fallbackCopy(source, text, done);
      }
    });
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
    /* Print buttons (packing slip, invoice): the browser's own print dialog. */
    document.addEventListener("click", function (event) {
      if (event.target.closest("[data-print]")) window.print();
    });
  }

  function fallbackCopy(source, text, done) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selectable */ }
    area.remove();
    if ("select" in source) source.select();
  }

  /* Storefront: add to cart and change quantities without leaving the page. */
  function setupStorefront() {
    var cart = document.querySelector("[data-cart]");
    if (!cart) return;
    var busy = false;

    function send(form, submitter) {
      if (busy) return;
      busy = true;
      var body = new FormData(form);
      if (submitter && submitter.name) body.append(submitter.name, submitter.value);
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok && response.status !== 422) throw new Error("status " + response.status);
          return response.text().then(function (html) { return { html: html, url: response.url }; });
        })
        .then(function (page) {
          var doc = parse(page.html);
          var fresh = doc.querySelector("[data-cart]");
          if (!fresh) throw new Error("no cart in the answer");
          cart.innerHTML = fresh.innerHTML;
          doc.querySelectorAll("[data-cart-state]").forEach(function (input, n) {
            var mine = document.querySelectorAll("[data-cart-state]")[n];
            if (mine) mine.value = input.value;
          });
          var count = doc.querySelector("[data-cart-count]");
          document.querySelectorAll("[data-cart-count]").forEach(function (el) { el.textContent = count ? count.textContent : "0"; });
          var notice = doc.querySelector("[data-notice]");
          var mineNotice = document.querySelector("[data-notice]");
          if (notice && mineNotice) {
            mineNotice.textContent = notice.textContent;
            mineNotice.hidden = notice.hidden;
          }
          announce(notice && !notice.hidden ? notice.textContent : "Cart updated");
          if (page.url) history.replaceState(null, "", page.url.split("#")[0]);
        })
        .catch(function () {
          form.setAttribute("data-native", "1");
          if (submitter) submitter.click(); else form.submit();
        })
        .finally(function () { busy = false; });
    }

    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form.hasAttribute("data-native")) return;
      var submitter = event.submitter;
      var adding = form.matches("[data-add-form]");
      var updating = form.matches("[data-cart-form]") && submitter && submitter.hasAttribute("data-update-cart");
      if (!adding && !updating) return; /* "Checkout as guest" is an ordinary submit */
      event.preventDefault();
      send(form, submitter);
    });
    document.addEventListener("change", function (event) {
      if (!event.target.matches("[data-qty]")) return;
      var form = event.target.form;
      send(form, form.querySelector("[data-update-cart]"));
    });
  }

  /* Checkout: save each detail as it is typed (the same API the page uses), show its errors beside it. */
  function setupCheckout() {
    var form = document.querySelector("[data-checkout-form]");
    if (!form) return;
    var api = form.getAttribute("data-checkout-api");
    var status = document.querySelector("[data-save-status]");

    function value(name) {
      var el = form.elements.namedItem(name);
      return el ? el.value.trim() : "";
    }
    function errorBox(field) {
      return document.getElementById(field.replace(/[._]/g, "-") + "-error");
    }
    function setError(field, message) {
      var box = errorBox(field);
      var input = document.getElementById(field.replace(/[._]/g, "-"));
      if (box) {
        box.hidden = !message;
        box.textContent = message ? message.charAt(0).toUpperCase() + message.slice(1) : "";
      }
      if (input) {
        if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
      }
    }
    function save(group) {
      var body = {};
      var fields = [];
      if (group === "contact") {
        body.contact = { email: value("contact.email"), phone: value("contact.phone") };
        if (body.contact.phone) body.contact.phone_region = value("contact.phone_region");
        fields = ["contact.email", "contact.phone", "contact.phone_region"];
      } else {
        body.delivery = {};
        form.querySelectorAll('[data-autosave="delivery"]').forEach(function (el) {
          body.delivery[el.name.slice("delivery.".length)] = el.value.trim();
          fields.push(el.name);
        });
      }
      fetch(api, {
        method: "PATCH",
        credentials: "omit",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (problem) {
          if (response.ok) {
            fields.forEach(function (f) { setError(f, ""); });
            if (status) status.textContent = "Saved. You can carry on from the link above on any device.";
            return;
          }
          var errors = (problem && problem.errors) || [];
          var shown = {};
          errors.forEach(function (e) {
            if (fields.indexOf(e.field) >= 0) { setError(e.field, e.message); shown[e.field] = true; }
          });
          fields.forEach(function (f) { if (!shown[f]) setError(f, ""); });
          if (errors.length) announce("Check this: " + errors[0].message);
          if (status) status.textContent = "Not saved yet: check the field marked in red.";
        });
      }).catch(function () {
        if (status) status.textContent = "Could not save just now. Your details are sent when you place the order.";
      });
    }
    form.addEventListener("change", function (event) {
      var group = event.target.getAttribute("data-autosave");
      if (group) save(group);
    });
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitting")) { event.preventDefault(); return; }
      if (event.submitter && event.submitter.hasAttribute("data-place-order")) {
        form.setAttribute("data-submitting", "1");
        event.submitter.setAttribute("aria-disabled", "true");
        event.submitter.textContent = "Placing your order…";
      }
    });
    window.addEventListener("pageshow", function () { form.removeAttribute("data-submitting"); });
  }

  /* Tracking page: live countdown, and the status kept fresh while the order is open. */
  function setupTracking() {
    var root = document.querySelector("[data-tracking]");
    if (!root) return;
    var api = root.getAttribute("data-api");
    var polling = false;
    var etag = null;

    function preparing(order) {
      /* BTCPay or Stripe details still being fetched: the page changes once they are there. */
      var p = order.payment || {};
      return order.status === "awaiting_payment" && p.state === "pending" && p.details && p.details.preparing ? "preparing" : "";
    }
    function signature(order) {
      var p = order.payment || {};
      return [order.status, p.state || "", p.state ? p.confirmations : "", p.received_amount || "", (order.shipments || []).length, preparing(order)].join("|");
    }
    function swapIn(doc) {
      var token = document.querySelector('input[name="csrf"]');
      var mounted = document.querySelector("[data-card-form]");
      if (doc.querySelector("[data-card-form]") && !mounted) {
        /* A card form just became ready: it needs the page's own scripts and policy (card.js). */
        window.location.reload();
        return;
      }
      doc.querySelectorAll("[data-live][id]").forEach(function (fresh) {
        var mine = document.getElementById(fresh.id);
        /* A card form being filled in stays as it is while the fresh page still offers it. */
        if (mine && !(mounted && mine.contains(mounted) && fresh.querySelector("[data-card-form]"))) {
          mine.innerHTML = fresh.innerHTML;
        }
      });
      if (token) {
        document.querySelectorAll('input[name="csrf"]').forEach(function (input) { input.value = token.value; });
      }
      var freshRoot = doc.querySelector("[data-tracking]");
      if (freshRoot) {
        root.setAttribute("data-signature", freshRoot.getAttribute("data-signature"));
        root.setAttribute("data-open", freshRoot.getAttribute("data-open"));
      }
      localTimes();
      var headline = document.querySelector("#order-head h1");
      announce("Order updated: " + (headline ? headline.textContent : ""));
      tick();
    }
    function poll() {
      if (polling || root.getAttribute("data-open") !== "true") return;
      polling = true;
      /* If-None-Match: an unchanged order answers 304 with no body (the order's version is its ETag). */
      var headers = { "Accept": "application/json" };
      if (etag) headers["If-None-Match"] = etag;
      fetch(api, { credentials: "omit", cache: "no-store", headers: headers })
        .then(function (response) {
          if (response.status === 304 || !response.ok) return null;
          etag = response.headers.get("ETag");
          return response.json();
        })
        .then(function (order) {
          if (!order || signature(order) === root.getAttribute("data-signature")) return null;
          return fetch(window.location.pathname, { credentials: "omit", cache: "no-store" })
            .then(function (response) { return response.text(); })
            .then(function (html) { swapIn(parse(html)); });
        })
        .catch(function () { /* try again at the next tick */ })
        .finally(function () { polling = false; });
    }
    function pad(n) { return n < 10 ? "0" + n : String(n); }
    function tick() {
      document.querySelectorAll("[data-countdown]").forEach(function (el) {
        var left = Math.floor((Date.parse(el.getAttribute("data-countdown")) - Date.now()) / 1000);
        if (left <= 0) {
          el.textContent = "time is up";
          if (!el.getAttribute("data-done")) { el.setAttribute("data-done", "1"); poll(); }
          return;
        }
        var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
        el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s) + (h ? " hours" : " minutes");
      });
    }
    function schedule() {
      /* Every few seconds while a payment is awaited; calmer once it is paid. */
      var awaiting = (root.getAttribute("data-signature") || "").indexOf("awaiting_payment|") === 0;
      window.setTimeout(function () { poll(); schedule(); }, awaiting ? 5000 : 30000);
    }
    tick();
    window.setInterval(tick, 1000);
    schedule();
  }

  /* Times in the buyer's own time zone; the UTC time the server wrote stays on hover (title). */
  function localTimes(scope) {
    if (!window.Intl || !Intl.DateTimeFormat) return;
    var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    (scope || document).querySelectorAll("time[data-local]").forEach(function (el) {
      var when = Date.parse(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      if (!el.title) el.title = el.textContent;
      el.textContent = format.format(new Date(when));
    });
  }

  function start() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
    localTimes();
    setupCopy();
    setupStorefront();
    setupCheckout();
    setupTracking();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

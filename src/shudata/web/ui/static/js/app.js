/* shudata: small helpers shared by every page (no build step). */
(function () {
  "use strict";
  window.sd = window.sd || {};
  sd.csrf = function () {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  };
  sd.lang = function () { return document.body.dataset.lang || "zh-CN"; };
  sd.t = function (zh, en) { return sd.lang() === "en" ? en : zh; };
  /* fetch JSON with the CSRF header and the page language; throws Error(message) on 4xx/5xx. */
  sd.fetchJSON = function (url, opts) {
    opts = opts || {};
    opts.headers = Object.assign({"X-CSRF-Token": sd.csrf(), "Accept": "application/json",
                                  "Accept-Language": sd.lang()}, opts.headers || {});
    opts.credentials = "same-origin";
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          var msg = (body && body.error && body.error.message) || (r.status + " " + r.statusText);
          var err = new Error(msg); err.body = body; err.status = r.status; throw err;
        }
        return body;
      });
    });
  };
  /* The code-in-URL scheme of the catalog API: "/" stays, the rest is percent-encoded. */
  sd.codePath = function (code) { return String(code).split("/").map(encodeURIComponent).join("/"); };
})();
/* Copy buttons: <button data-copy="#selector">. */
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest && ev.target.closest("[data-copy]");
  if (!btn) { return; }
  var el = document.querySelector(btn.getAttribute("data-copy"));
  if (!el) { return; }
  el.select && el.select();
  if (navigator.clipboard) { navigator.clipboard.writeText(el.value || el.textContent).catch(function () {}); }
  else { document.execCommand("copy"); }
  btn.classList.add("btn-success");
});
/* htmx does not swap 4xx/5xx answers: show their message in the target instead of a stuck spinner. */
(function () {
  "use strict";
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function messageOf(xhr) {
    var text = xhr.responseText || "";
    try { var body = JSON.parse(text); if (body.error && body.error.message) { return body.error.message; } } catch (e) { /* HTML */ }
    try {
      var doc = new DOMParser().parseFromString(text, "text/html");
      var el = doc.querySelector("main [role=alert]");
      if (el) { return el.textContent.trim(); }
    } catch (e) { /* ignore */ }
    return sd.t("请求失败", "Request failed") + " (" + xhr.status + ")";
  }
  /* A refusal the server rendered for htmx (a fragment with a way forward): swap it in as it is. */
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status >= 400 && e.detail.xhr.getResponseHeader("X-Shudata-Error-Fragment")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  document.addEventListener("htmx:responseError", function (e) {
    var target = e.detail.target;
    if (target) {
      target.innerHTML = "<div class='alert alert-danger m-2 small' role='alert'>" + esc(messageOf(e.detail.xhr)) + "</div>";
    }
  });
  document.addEventListener("htmx:sendError", function (e) {
    var target = e.detail.target;
    if (target) {
      target.innerHTML = "<div class='alert alert-warning m-2 small' role='alert'>" + esc(sd.t("网络错误，请稍后重试", "Network error, try again")) + "</div>";
    }
  });
})();
/* Behaviour that used to sit in inline attributes (the CSP allows no inline script):
   <form data-confirm="question"> asks first; <form data-no-submit> never submits;
   <a data-history-back> goes back when there is somewhere to go back to. */
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (!form || !form.hasAttribute) { return; }
  if (form.hasAttribute("data-no-submit")) { ev.preventDefault(); return; }
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { ev.preventDefault(); }
});
document.addEventListener("click", function (ev) {
  var a = ev.target.closest && ev.target.closest("a[data-history-back]");
  if (a && window.history.length > 1) { ev.preventDefault(); window.history.back(); }
});

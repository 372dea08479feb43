/* The dashboards list: a new empty dashboard, and import of an exported document as a copy. */
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  function problems(err) {
    var p = err.body && err.body.error && err.body.error.details && err.body.error.details.problems;
    return p && p.length ? p : null;
  }
  function show(el, err) {
    var p = problems(err);
    el.className = "small mt-1 text-danger";
    el.textContent = err.message;
    if (p) {
      var ul = document.createElement("ul");
      ul.className = "mb-0 ps-3";
      p.forEach(function (x) { var li = document.createElement("li"); li.textContent = x.where + "：" + x.problem; ul.appendChild(li); });
      el.appendChild(ul);
    }
  }
  var form = $("new-dashboard");
  if (form) {
    form.addEventListener("submit", function () {
      var title = $("new-title").value.trim();
      if (!title) { return; }
      sd.fetchJSON("/api/v1/dashboards", {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({document: {title: title, panels: []}, sharing: "private"})})
        .then(function (d) { window.location.href = "/dashboards/" + d.id + "?edit=1"; })
        .catch(function (err) { show($("new-status"), err); });
    });
  }
  var imp = $("import-dashboard");
  if (imp) {
    imp.addEventListener("submit", function () {
      var file = $("import-file").files[0], status = $("import-status");
      if (!file) { return; }
      file.text().then(function (text) {
        var doc;
        try { doc = JSON.parse(text); } catch (e) {
          status.className = "small mt-1 text-danger";
          status.textContent = sd.t("文件不是合法的 JSON：", "The file is not valid JSON: ") + e.message;
          return null;
        }
        var title = $("import-title").value.trim();
        return sd.fetchJSON("/api/v1/dashboards/import" + (title ? "?title=" + encodeURIComponent(title) : ""),
          {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(doc)})
          .then(function (d) { window.location.href = "/dashboards/" + d.id; });
      }).catch(function (err) { show(status, err); });
    });
  }
})();

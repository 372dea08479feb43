/* 固定到仪表板: the workbench's query (and its chart's columns) becomes a panel of one of the user's
   dashboards or of a new one (POST /api/v1/dashboards/pin); the query is saved for the user. */
(function () {
  "use strict";
  var form = document.getElementById("pin-form");
  if (!form) { return; }
  function $(id) { return document.getElementById(id); }
  function sql() {
    var cm = document.querySelector(".CodeMirror");
    return cm && cm.CodeMirror ? cm.CodeMirror.getValue() : $("sql").value;
  }
  var KIND = {bar: "bar", line: "line", pie: "bar", scatter: "line", map: "map_sichuan"};
  $("pin-open").addEventListener("click", function () {
    var kind = $("chart-kind") && $("chart-kind").value;
    if (kind && KIND[kind]) { $("pin-chart").value = KIND[kind]; }
    sd.fetchJSON("/api/v1/dashboards").then(function (list) {
      var sel = $("pin-dashboard"), keep = sel.value;
      sel.innerHTML = "";
      var opt = document.createElement("option");
      opt.value = ""; opt.textContent = sd.t("新建仪表板…", "New dashboard…");
      sel.appendChild(opt);
      list.filter(function (d) { return d.mine; }).forEach(function (d) {
        var o = document.createElement("option");
        o.value = String(d.id); o.textContent = d.title;
        sel.appendChild(o);
      });
      sel.value = keep;
    }).catch(function () { /* the list is a convenience: a new dashboard still works */ });
  });
  form.addEventListener("submit", function () {
    var status = $("pin-status"), dash = $("pin-dashboard").value;
    var x = $("chart-x") ? $("chart-x").value : null, y = $("chart-y") ? $("chart-y").value : null;
    var body = {sql: sql(), title: $("pin-title").value.trim(), chart: $("pin-chart").value, x: x || null, y: y || null,
                dashboard_id: dash ? Number(dash) : null, new_title: $("pin-new-title").value.trim() || null};
    status.className = "small mt-1 text-muted";
    status.textContent = sd.t("正在固定…", "Pinning…");
    sd.fetchJSON("/api/v1/dashboards/pin", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)}).then(function (res) {
      status.className = "small mt-1 text-success";
      status.innerHTML = "";
      var a = document.createElement("a");
      a.href = res.url; a.id = "pin-link";
      a.textContent = sd.t("已固定到“", "Pinned to “") + res.dashboard.title + sd.t("”，打开仪表板", "”: open the dashboard");
      status.appendChild(a);
    }).catch(function (err) {
      status.className = "small mt-1 text-danger";
      status.textContent = err.message;
    });
  });
})();

/* A dashboard page: every panel's data from its own endpoint (in parallel), drawn with ECharts —
   line, bar, a map of provinces or of Sichuan's cities (window.ShudataGeo), a table, a number —
   forecast values drawn apart and labelled 预测; the filter bar's values passed on to every panel;
   edit mode (title, chart, x/y/w/h, region/period columns, remove, add) saved with PUT. */
(function () {
  "use strict";
  var grid = document.getElementById("dash-grid");
  if (!grid) { return; }
  var cfg = JSON.parse(grid.getAttribute("data-config"));
  var doc = cfg.document;
  var PALETTE = ["#0b5cab", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#1098ad", "#f08c00", "#5c940d"];
  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function num(v) { var n = Number(v); return v === null || v === "" || !isFinite(n) ? null : n; }
  function fmt(v) {
    var n = num(v);
    if (n === null) { return v === null || v === undefined ? "—" : String(v); }
    return Math.abs(n) >= 1000 ? n.toLocaleString("zh-CN", {maximumFractionDigits: 2}) : String(Math.round(n * 100) / 100);
  }
  function message(kind, text) {
    var m = $("dash-message");
    m.className = "alert alert-" + kind;
    m.textContent = text;
  }

  /* -- filters: the page's query string, passed to every panel ------------------------------------ */
  function filterQuery() {
    var p = new URLSearchParams(window.location.search), out = new URLSearchParams();
    (p.get("region") || "").split(/[,，;；\s]+/).forEach(function (r) { if (r) { out.append("region", r); } });
    ["period_from", "period_to"].forEach(function (k) { if (p.get(k)) { out.set(k, p.get(k)); } });
    var s = out.toString();
    return s ? "?" + s : "";
  }

  /* -- drawing -------------------------------------------------------------------------------------- */
  function col(data, name) {
    for (var i = 0; i < data.columns.length; i++) { if (data.columns[i].name === name) { return i; } }
    return -1;
  }
  function table(el, data) {
    var head = data.columns.map(function (c) { return "<th>" + esc(c.name) + "</th>"; }).join("");
    var kind = col(data, "类型");
    var body = data.rows.slice(0, 500).map(function (r) {
      var cls = kind >= 0 && r[kind] === "预测" ? " class='sd-dash-forecast'" : "";
      return "<tr" + cls + ">" + r.map(function (v) { return "<td>" + esc(fmt(v)) + "</td>"; }).join("") + "</tr>";
    }).join("");
    el.innerHTML = "<table class='table table-sm table-striped mb-0 small'><thead><tr>" + head + "</tr></thead><tbody>" +
      body + "</tbody></table>";
    return Promise.resolve(data.rows.length);
  }
  function number(el, data) {
    var yi = col(data, data.y), row = data.rows[0];
    var v = row && yi >= 0 ? row[yi] : null;
    var label = row ? row.filter(function (x, i) { return i !== yi && typeof x === "string"; }).slice(0, 2).join(" · ") : "";
    el.innerHTML = "<div class='p-2'><div class='sd-dash-number'>" + esc(fmt(v)) + " <small class='fs-6 text-muted'>" +
      esc(data.unit || "") + "</small></div><div class='small text-muted'>" + esc(label) + "</div></div>";
    return Promise.resolve(row ? 1 : 0);
  }
  function chart(el, data) {
    var xi = col(data, data.x), yi = col(data, data.y), si = data.series ? col(data, data.series) : -1;
    var ki = col(data, "类型");
    if (xi < 0 || yi < 0) { return table(el, data); }
    var cats = [], seen = {}, groups = {}, order = [];
    data.rows.forEach(function (r) {
      var x = String(r[xi]);
      if (!seen[x]) { seen[x] = true; cats.push(x); }
      var g = si >= 0 ? String(r[si]) : data.y;
      if (ki >= 0 && r[ki] === "预测") { g += "（预测）"; }
      if (!groups[g]) { groups[g] = {}; order.push(g); }
      groups[g][x] = (groups[g][x] || 0) + (num(r[yi]) || 0);
    });
    if (data.chart === "line") { cats.sort(); }
    var type = data.chart === "line" ? "line" : "bar";
    var series = order.slice(0, 12).map(function (g, i) {
      var fc = g.indexOf("（预测）") >= 0;
      return {name: g, type: type, data: cats.map(function (x) { return g in groups && x in groups[g] ? groups[g][x] : null; }),
              connectNulls: false, lineStyle: fc ? {type: "dashed"} : undefined, itemStyle: {color: PALETTE[i % PALETTE.length], opacity: fc ? 0.6 : 1},
              label: fc ? {show: true, formatter: "预测", position: "top", fontSize: 10} : undefined};
    });
    var inst = echarts.init(el);
    inst.setOption({color: PALETTE, tooltip: {trigger: "axis"}, legend: order.length > 1 ? {type: "scroll", top: 0} : undefined,
                    grid: {left: 50, right: 16, top: order.length > 1 ? 28 : 12, bottom: 40},
                    xAxis: {type: "category", data: cats, axisLabel: {hideOverlap: true}},
                    yAxis: {type: "value", name: data.unit || "", scale: type === "line"}, series: series});
    window.addEventListener("resize", function () { inst.resize(); });
    return Promise.resolve(data.rows.length);
  }
  function map(el, data) {
    if (!window.ShudataGeo) { return table(el, data); }
    var names = data.columns.map(function (c) { return c.name; });
    var spec = {kind: "regions", map: data.chart === "map_china" ? "china" : "sichuan", title: "", columns: names,
                rows: data.rows, region: data.region || data.x, measure: data.y};
    return window.ShudataGeo.render(el, spec).then(function () { return data.rows.length; });
  }
  var DRAW = {table: table, number: number, line: chart, bar: chart, map_china: map, map_sichuan: map};

  function load(section) {
    var pid = section.getAttribute("data-panel"), el = section.querySelector(".sd-dash-chart");
    var notes = section.querySelector(".sd-dash-notes");
    var url = "/api/v1/dashboards/" + cfg.id + "/panels/" + encodeURIComponent(pid) + "/data" + filterQuery();
    return sd.fetchJSON(url).then(function (data) {
      el.innerHTML = "";
      return (DRAW[data.chart] || table)(el, data).then(function (n) {
        section.setAttribute("data-loaded", "1");
        section.setAttribute("data-rows", String(n));
        var extra = data.forecast ? [sd.t("含预测值（虚线、标注“预测”）", "includes forecasts (dashed, marked 预测)")] : [];
        notes.textContent = (data.notes || []).concat(extra).join(" · ") + (data.truncated ? sd.t("（已截断）", " (cut)") : "");
      });
    }).catch(function (err) {
      section.setAttribute("data-loaded", "error");
      el.innerHTML = "<div class='alert alert-warning small m-1' role='alert'>" + esc(err.message) + "</div>";
    });
  }
  Array.prototype.forEach.call(grid.querySelectorAll("[data-panel]"), load);

  /* -- actions -------------------------------------------------------------------------------------- */
  function problemsText(err) {
    var p = err.body && err.body.error && err.body.error.details && err.body.error.details.problems;
    return err.message + (p && p.length ? "" : "");
  }
  var copyBtn = $("import-copy");
  if (copyBtn) {
    copyBtn.addEventListener("click", function () {
      sd.fetchJSON("/api/v1/dashboards/" + cfg.id + "/export").then(function (exported) {
        return sd.fetchJSON("/api/v1/dashboards/import?title=" + encodeURIComponent(doc.title + sd.t("（副本）", " (copy)")),
          {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(exported)});
      }).then(function (d) { window.location.href = "/dashboards/" + d.id; })
        .catch(function (err) { message("danger", problemsText(err)); });
    });
  }
  function publish(withdraw) {
    sd.fetchJSON("/api/v1/dashboards/" + cfg.id + "/publish", {method: withdraw ? "DELETE" : "POST"})
      .then(function () { window.location.reload(); })
      .catch(function (err) { message("danger", err.message); });
  }
  if ($("publish")) { $("publish").addEventListener("click", function () { publish(false); }); }
  if ($("withdraw")) { $("withdraw").addEventListener("click", function () { publish(true); }); }

  /* -- edit mode ------------------------------------------------------------------------------------ */
  var pane = $("edit-pane"), toggle = $("edit-toggle");
  if (!pane || !toggle) { return; }
  function openEdit(open) {
    pane.classList.toggle("d-none", !open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  toggle.addEventListener("click", function () { openEdit(pane.classList.contains("d-none")); });
  if (new URLSearchParams(window.location.search).get("edit")) { openEdit(true); }
  function regions(text) { return text.split(/[,，;；\s]+/).filter(Boolean); }
  function edited() {
    var out = JSON.parse(JSON.stringify(doc));
    out.title = $("e-title").value.trim();
    out.description = $("e-desc").value.trim() || null;
    out.filters = {regions: regions($("e-dregions").value), period_from: $("e-dfrom").value.trim() || null,
                   period_to: $("e-dto").value.trim() || null};
    var rows = {};
    Array.prototype.forEach.call(document.querySelectorAll("#edit-panels tr[data-panel]"), function (tr) {
      rows[tr.getAttribute("data-panel")] = tr;
    });
    out.panels = out.panels.filter(function (p) {
      var tr = rows[p.id];
      if (!tr) { return true; }
      if (tr.querySelector("[data-f=remove]").checked) { return false; }
      p.title = tr.querySelector("[data-f=title]").value.trim();
      p.chart = tr.querySelector("[data-f=chart]").value;
      ["x", "y", "w", "h"].forEach(function (f) { p[f] = Number(tr.querySelector("[data-f=" + f + "]").value); });
      if (p.source.kind === "query") {
        p.source.region_column = tr.querySelector("[data-f=region_column]").value.trim() || null;
        p.source.period_column = tr.querySelector("[data-f=period_column]").value.trim() || null;
      }
      return true;
    });
    var title = $("n-title").value.trim();
    if (title) {
      var kind = $("n-kind").value, ids = out.panels.map(function (p) { return p.id; }), n = out.panels.length + 1;
      while (ids.indexOf("p" + n) >= 0) { n += 1; }
      var bottom = out.panels.reduce(function (m, p) { return Math.max(m, p.y + p.h); }, 0);
      var source = kind === "indicator" ? {kind: "indicator", indicator: $("n-indicator").value.trim(), view: $("n-view").value}
        : {kind: "query", saved_query_id: Number($("n-query").value) || null};
      out.panels.push({id: "p" + n, title: title, chart: $("n-chart").value, x: 0, y: bottom, w: 6, h: 4, source: source});
    }
    return out;
  }
  $("edit-form").addEventListener("submit", function () {
    var status = $("edit-status"), body = {document: edited(), revision: cfg.revision};
    var sharing = $("e-sharing");
    if (!sharing.disabled && sharing.value !== "public") { body.sharing = sharing.value; }
    sd.fetchJSON("/api/v1/dashboards/" + cfg.id, {method: "PUT", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)})
      .then(function () { window.location.href = "/dashboards/" + cfg.id; })
      .catch(function (err) {
        status.className = "small mt-1 text-danger";
        status.textContent = err.message;
      });
  });
  $("dash-delete").addEventListener("click", function () {
    if (!window.confirm(sd.t("删除这个仪表板？", "Delete this dashboard?"))) { return; }
    sd.fetchJSON("/api/v1/dashboards/" + cfg.id, {method: "DELETE"}).catch(function (err) {
      if (err.status) { throw err; }
    }).then(function () { window.location.href = "/dashboards"; })
      .catch(function (err) { message("danger", err.message); });
  });
})();

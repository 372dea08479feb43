/* Dataset charts (catalog entry page and portal dataset page): the server chooses the candidates
   (shudata.web.ui.charts.choose — map, time series, category against a measure, histogram; never a
   row number on an axis) and this script draws them; maps go through ShudataGeo (geo.js).

   window.ShudataCharts.render(el, spec): spec.kind "bar" | "line" with labels/values, or a map spec.

   Markup: a box [data-chart-box] holding the chart element [data-chart], an optional <select
   data-chart-choice> (filled with the candidates' titles), an error line [data-chart-error], and
   either data-chart-json="ID" (a <script type="application/json"> with {"charts": [...]}) or
   data-chart-url="…" (fetched; on the entry page after the preview has loaded, again when the
   preview's version changes). */
(function () {
  "use strict";
  var EN = (document.documentElement.lang || "").toLowerCase().indexOf("en") === 0;
  var KINDS = {points: ["点位地图", "Point map"], regions: ["分区地图", "Choropleth"], line: ["时间序列", "Time series"],
               bar: ["柱状图", "Bar chart"]};

  function titleOf(spec) { return (EN && spec.title_en) || spec.title || ""; }

  function render(el, spec) {
    if (EN && spec.title_en) { spec = Object.assign({}, spec, {title: spec.title_en}); }
    if (spec.kind === "points" || spec.kind === "regions") {
      var old = window.echarts && echarts.getInstanceByDom(el);
      if (old && old.getOption() && !old.getOption().geo && !(old.getOption().series || []).some(function (s) { return s.type === "map"; })) { old.clear(); }
      return window.ShudataGeo.render(el, spec);
    }
    var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, {renderer: "canvas"});
    var xs = spec.labels, many = xs.length > 12;
    chart.setOption({
      color: ["#0b5cab"],
      title: {text: spec.title, left: "center", textStyle: {fontSize: 14, fontWeight: 600}},
      tooltip: {trigger: "axis"},
      grid: {left: 60, right: 20, top: 44, bottom: many ? 90 : 50, containLabel: true},
      xAxis: {type: "category", data: xs, name: spec.x, nameLocation: "middle", nameGap: many ? 70 : 30,
              axisLabel: {rotate: many ? 40 : 0, hideOverlap: true, width: 90, overflow: "truncate"}},
      yAxis: {type: "value", scale: spec.kind === "line", name: spec.y || "", minInterval: spec.y ? 0 : 1},
      dataZoom: xs.length > 40 ? [{type: "inside"}, {type: "slider", height: 16, bottom: 4}] : [],
      series: [{name: spec.y || spec.title, type: spec.kind, data: spec.values, smooth: spec.kind === "line",
                barMaxWidth: 36, showSymbol: xs.length <= 60}]
    }, true);
    el.setAttribute("data-kind", spec.kind);
    el.setAttribute("data-points", String(spec.values.length));
    return Promise.resolve(chart);
  }

  function setup(box) {
    var el = box.querySelector("[data-chart]");
    var choice = box.querySelector("[data-chart-choice]");
    var errorBox = box.querySelector("[data-chart-error]");
    var empty = box.querySelector("[data-chart-empty]");
    var specs = [];
    window.addEventListener("resize", function () { var c = echarts.getInstanceByDom(el); if (c) { c.resize(); } });

    function draw() {
      var spec = specs[choice && choice.value ? Number(choice.value) : 0];
      if (errorBox) { errorBox.textContent = ""; }
      if (!spec) { return; }
      render(el, spec).catch(function (err) { if (errorBox) { errorBox.textContent = err.message; } });
    }
    function show(body) {
      specs = body.charts || [];
      el.hidden = specs.length === 0;
      if (empty) { empty.hidden = specs.length !== 0; }
      if (choice) {
        choice.innerHTML = "";
        specs.forEach(function (s, i) {
          var o = document.createElement("option");
          o.value = String(i);
          o.textContent = (KINDS[s.kind] || [s.kind, s.kind])[EN ? 1 : 0] + (EN ? ": " : "：") + titleOf(s);
          choice.appendChild(o);
        });
        choice.closest("[data-chart-choice-wrap]").hidden = specs.length < 2;
      }
      draw();
    }
    if (choice) { choice.addEventListener("change", draw); }

    if (box.dataset.chartJson) {
      show(JSON.parse(document.getElementById(box.dataset.chartJson).textContent));
      return;
    }
    var url = box.dataset.chartUrl, shown = null;
    function currentVersion() { var v = document.getElementById("preview-version"); return v ? v.value : ""; }
    function load() {
      var version = currentVersion();
      if (shown === version) { return; }
      shown = version;
      var u = url + (version ? (url.indexOf("?") >= 0 ? "&" : "?") + "version=" + encodeURIComponent(version) : "");
      var c = echarts.getInstanceByDom(el) || echarts.init(el, null, {renderer: "canvas"});
      c.showLoading();
      sd.fetchJSON(u).then(function (body) { c.hideLoading(); show(body); })
        .catch(function (err) { c.hideLoading(); if (errorBox) { errorBox.textContent = err.message; } });
    }
    /* one data read at a time: after the row preview has loaded, and when it switches version */
    document.body.addEventListener("htmx:afterSettle", function (e) {
      if (e.target && e.target.id === "preview") { load(); }
    });
    if (document.getElementById("preview-table") || !document.getElementById("preview")) { load(); }
    else { setTimeout(load, 8000); }
  }

  window.ShudataCharts = {render: render};
  function init() {
    if (!window.echarts) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart-box]"), setup);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

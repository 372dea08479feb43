/* Portal dataset page: an ECharts chart of a chosen category column and numeric column
   (bar or line) over the first rows of the published file, embedded in the page. */
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("portal-chart");
    var dataEl = document.getElementById("chart-data");
    if (!el || !dataEl || !window.echarts) { return; }
    var d = JSON.parse(dataEl.textContent);
    var chart = echarts.init(el, null, {renderer: "canvas"});
    window.addEventListener("resize", function () { chart.resize(); });
    function draw() {
      var cat = document.getElementById("chart-category").value;
      var val = document.getElementById("chart-value").value;
      var kind = document.getElementById("chart-kind").value;
      var ci = d.columns.indexOf(cat), vi = d.columns.indexOf(val);
      var xs = d.rows.map(function (r, i) { return ci >= 0 ? String(r[ci]) : String(i + 1); });
      var ys = d.rows.map(function (r) { var v = r[vi]; return v === null || v === "" ? null : Number(v); });
      chart.setOption({
        color: ["#0b5cab"],
        title: {text: val, left: "center", textStyle: {fontSize: 14, fontWeight: 600}},
        tooltip: {trigger: "axis"},
        grid: {left: 60, right: 20, top: 40, bottom: 70},
        xAxis: {type: "category", data: xs, axisLabel: {rotate: xs.length > 12 ? 45 : 0, hideOverlap: true}},
        yAxis: {type: "value", scale: true},
        dataZoom: xs.length > 30 ? [{type: "inside"}, {type: "slider", height: 18, bottom: 8}] : [],
        series: [{name: val, type: kind, data: ys, smooth: kind === "line", barMaxWidth: 36}]
      }, true);
      el.setAttribute("data-points", String(ys.length));
      el.setAttribute("data-kind", kind);
    }
    ["chart-category", "chart-value", "chart-kind"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", draw);
    });
    draw();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

/* Portal usage statistics: daily use (line) and use per dataset / department (stacked bars). */
(function () {
  "use strict";
  function init() {
    if (!window.echarts) { return; }
    var d = JSON.parse(document.getElementById("stats-data").textContent);
    var names = JSON.parse(document.getElementById("stats-names").textContent);
    var charts = [];
    var layout = (window.ShudataChart && window.ShudataChart.layout) || function (o) { return o; };
    function bars(id, part) {
      var el = document.getElementById(id);
      var c = echarts.init(el);
      c.setOption(layout({
        tooltip: {trigger: "axis"}, legend: {},
        grid: {left: 40, right: 20, bottom: 60, containLabel: true},
        xAxis: {type: "category", data: part.labels, axisLabel: {rotate: part.labels.length > 4 ? 30 : 0, hideOverlap: true}},
        yAxis: {type: "value", minInterval: 1},
        series: ["views", "downloads", "api_calls"].map(function (k) {
          return {name: names[k], type: "bar", stack: "use", data: part[k], barMaxWidth: 36};
        })
      }));
      el.setAttribute("data-points", String(part.labels.length));
      charts.push(c);
    }
    var daily = echarts.init(document.getElementById("chart-daily"));
    daily.setOption(layout({
      tooltip: {trigger: "axis"}, legend: {},
      grid: {left: 40, right: 20, bottom: 30, containLabel: true},
      xAxis: {type: "category", data: d.days}, yAxis: {type: "value", minInterval: 1},
      series: [["view", "views"], ["download", "downloads"], ["api", "api_calls"]].map(function (k) {
        return {name: names[k[1]], type: "line", smooth: true, data: d.daily[k[0]]};
      })
    }));
    charts.push(daily);
    bars("chart-datasets", d.datasets);
    bars("chart-departments", d.departments);
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

/* Exchange statistics page: requests, approvals and refusals per department (ECharts).
   Data and series names come from the page's JSON blocks (no inline script: the CSP allows none). */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var el = document.getElementById("stats-chart");
  var dataEl = document.getElementById("stats-data");
  if (!el || !dataEl || !window.echarts) { return; }
  var d = JSON.parse(dataEl.textContent);
  var names = JSON.parse(document.getElementById("stats-names").textContent);
  var chart = echarts.init(el);
  var layout = (window.ShudataChart && window.ShudataChart.layout) || function (o) { return o; };
  chart.setOption(layout({
    tooltip: {trigger: "axis"}, legend: {},
    grid: {left: 40, right: 20, bottom: 60, containLabel: true},
    xAxis: {type: "category", data: d.labels, axisLabel: {rotate: 20}},
    yAxis: {type: "value"},
    series: ["requests", "approved", "refused"].map(function (k) {
      return {name: names[k], type: "bar", data: d[k]};
    })
  }));
  window.addEventListener("resize", function () { chart.resize(); });
});

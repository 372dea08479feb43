/* Quality charts: <div data-echart-option='{…ECharts option…}'> (options built on the server). */
(function () {
  "use strict";
  if (!window.echarts) { return; }
  var charts = [];
  var layout = (window.ShudataChart && window.ShudataChart.layout) || function (o) { return o; };
  document.querySelectorAll("[data-echart-option]").forEach(function (el) {
    try {
      var chart = echarts.init(el);
      chart.setOption(layout(JSON.parse(el.dataset.echartOption)));
      charts.push(chart);
    } catch (e) { el.textContent = String(e); }
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
}());

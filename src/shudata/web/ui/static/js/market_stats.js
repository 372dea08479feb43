/* Market operator console: orders by state and turnover by month (ECharts).
   Data from the page's JSON block (no inline script: the CSP allows none). */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var dataEl = document.getElementById("market-stats");
  if (!dataEl || !window.echarts) { return; }
  var d = JSON.parse(dataEl.textContent);
  var en = d.lang === "en";
  var layout = (window.ShudataChart && window.ShudataChart.layout) || function (o) { return o; };
  var charts = [];
  var el = document.getElementById("orders-chart");
  if (el) {
    var pie = echarts.init(el);
    pie.setOption({
      tooltip: {trigger: "item"},
      series: [{type: "pie", radius: ["35%", "65%"], data: Object.keys(d.orders).map(function (k) {
        var l = d.labels[k] || [k, k];
        return {name: en ? l[1] : l[0], value: d.orders[k]};
      })}]
    });
    charts.push(pie);
  }
  el = document.getElementById("turnover-chart");
  if (el) {
    var bar = echarts.init(el);
    bar.setOption(layout({
      tooltip: {trigger: "axis"}, grid: {left: 40, right: 20, bottom: 40, containLabel: true},
      xAxis: {type: "category", data: d.months}, yAxis: {type: "value"},
      series: [{type: "bar", name: en ? "Turnover" : "成交额", data: d.turnover}]
    }));
    charts.push(bar);
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
});

/* Re-identification risk charts of the k-anonymity page: <div data-kanon-chart='{title, x, xname,
   yname, series: [{name, data}]}'> (data built on the server). The title sits at the top, the
   legend on its own line below it and the plot below both, so the legend never covers the title. */
(function () {
  "use strict";
  if (!window.echarts) { return; }
  var charts = [];
  /* narrow (a phone, or a window made narrow): the band labels turn so that none overlaps another */
  function fit(el) {
    var narrow = el.clientWidth < 600;
    return {xAxis: {nameGap: narrow ? 56 : 30, axisLabel: {rotate: narrow ? 45 : 0}},
            grid: {bottom: narrow ? 64 : 44}};
  }
  document.querySelectorAll("[data-kanon-chart]").forEach(function (el) {
    try {
      var d = JSON.parse(el.dataset.kanonChart);
      var chart = echarts.init(el);
      chart.setOption({
        title: {text: d.title, left: "center", top: 0, textStyle: {fontSize: 14}},
        legend: {top: 28, left: "center", data: d.series.map(function (s) { return s.name; })},
        grid: {top: 72, left: 16, right: 16, containLabel: true},
        tooltip: {trigger: "axis"},
        xAxis: {type: "category", data: d.x, name: d.xname, nameLocation: "middle",
                axisLabel: {interval: 0, fontSize: 11}},
        yAxis: {type: "value", name: d.yname},
        series: d.series.map(function (s) { return {name: s.name, type: "bar", data: s.data}; })
      });
      chart.setOption(fit(el));
      charts.push({chart: chart, el: el});
    } catch (e) { el.textContent = String(e); }
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.chart.setOption(fit(c.el)); c.chart.resize(); });
  });
}());

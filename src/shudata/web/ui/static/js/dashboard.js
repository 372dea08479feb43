/* Dashboard charts declared in the markup: <div data-echart="pie|bar|stacked" data-series='…'>. */
(function () {
  "use strict";
  if (!window.echarts) { return; }
  var charts = [];
  var layout = (window.ShudataChart && window.ShudataChart.layout) || function (o) { return o; };
  function json(el, key, dflt) { try { return JSON.parse(el.dataset[key]); } catch (e) { return dflt; } }
  function pie(el) {
    return {color: json(el, "colors", undefined), tooltip: {trigger: "item"},
            legend: {bottom: 0},
            series: [{type: "pie", radius: ["45%", "70%"], center: ["50%", "45%"], avoidLabelOverlap: true,
                      label: {formatter: "{b}\n{c}"}, data: json(el, "series", [])}]};
  }
  function bar(el) {
    var s = json(el, "series", []);
    return {color: json(el, "colors", undefined), tooltip: {trigger: "axis"}, grid: {left: 40, right: 16, top: 16, bottom: 30},
            xAxis: {type: "category", data: s.map(function (x) { return x.name; })},
            yAxis: {type: "value", minInterval: 1},
            series: [{type: "bar", barMaxWidth: 48, data: s.map(function (x) { return x.value; })}]};
  }
  function stacked(el) {
    var cats = json(el, "categories", []);
    return {color: json(el, "colors", undefined), tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
            legend: {top: 0}, grid: {left: 40, right: 16, top: 36, bottom: 80},
            xAxis: {type: "category", data: cats, axisLabel: {rotate: cats.length > 6 ? 30 : 0, interval: 0}},
            yAxis: {type: "value", minInterval: 1},
            series: json(el, "series", []).map(function (s) {
              return {name: s.name, type: "bar", stack: "total", barMaxWidth: 48, data: s.data};
            })};
  }
  var kinds = {pie: pie, bar: bar, stacked: stacked};
  document.querySelectorAll("[data-echart]").forEach(function (el) {
    var make = kinds[el.dataset.echart];
    if (!make) { return; }
    var chart = echarts.init(el);
    chart.setOption(layout(make(el)));
    el.setAttribute("data-rendered", "1");
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();

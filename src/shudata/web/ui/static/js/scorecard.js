/* The scorecard page's trend chart: each unit's total by quarter (GET /api/v1/scorecard/trend). */
(function () {
  "use strict";
  var el = document.getElementById("scorecard-trend");
  if (!el) { return; }
  var url = "/api/v1/scorecard/trend?year=" + encodeURIComponent(el.dataset.year) + "&level=" + encodeURIComponent(el.dataset.level);
  sd.fetchJSON(url).then(function (body) {
    var top = body.units.slice().sort(function (a, b) {
      return (b.totals[b.totals.length - 1] || 0) - (a.totals[a.totals.length - 1] || 0);
    }).slice(0, 10);
    var inst = echarts.init(el);
    inst.setOption({tooltip: {trigger: "axis"}, legend: {type: "scroll", top: 0},
                    grid: {left: 40, right: 16, top: 30, bottom: 30},
                    xAxis: {type: "category", data: body.quarters}, yAxis: {type: "value", min: 0, max: 100},
                    series: top.map(function (u) { return {name: u.name, type: "line", data: u.totals}; })});
    el.setAttribute("data-loaded", "1");
    window.addEventListener("resize", function () { inst.resize(); });
  }).catch(function (err) {
    el.textContent = err.message;
  });
})();

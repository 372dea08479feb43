/* ShudataResultChart: a chart of a query result (ECharts) — bar, line, pie, scatter, and a map
   through window.ShudataGeo (static/js/geo.js) when the result holds coordinates or regions.

   window.ShudataResultChart.kinds(result)            → ["bar", "line", "pie", "scatter", ("map")]
   window.ShudataResultChart.suggest(result, kind)    → {x: column, y: column|null}
   window.ShudataResultChart.render(el, result, opts) → Promise; opts = {kind, x, y, title}

   result is the workbench's answer: {columns: [{name, type}], rows: [[…], …]}. Bar, line and pie
   add up the value per category (rows in the order they came); scatter plots one point a row.
   The element gets data-kind and data-points (what was drawn), for people and for tests. */
(function () {
  "use strict";
  var NUMERIC = /^(u?int\d*|double|float|halffloat|decimal)/i;
  var TIME = /^(date|timestamp|time)/i;
  var LNG = /^(经度|lng|lon|long|longitude|x坐标)$|经度|longitude/i;
  var LAT = /^(纬度|lat|latitude|y坐标)$|纬度|latitude/i;
  var REGION = /(区划|行政区|地区|城市|市州|市县|区县|省份|地市|region|province|city|adcode)/i;
  var MAX_POINTS = 5000;
  var PIE_SLICES = 12;
  var PALETTE = ["#0b5cab", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#1098ad", "#f08c00", "#5c940d"];

  function t(zh, en) { return window.sd && sd.t ? sd.t(zh, en) : zh; }
  function names(result) { return result.columns.map(function (c) { return c.name; }); }
  function isNumeric(col) { return NUMERIC.test(String(col.type || "")); }
  function num(v) {
    if (v === null || v === undefined || v === "") { return null; }
    var n = Number(v);
    return isFinite(n) ? n : null;
  }
  function findCol(result, re, numeric) {
    var hit = null;
    result.columns.forEach(function (c) {
      if (hit === null && re.test(c.name) && (!numeric || isNumeric(c) || /^(string|large_string)/.test(c.type))) { hit = c.name; }
    });
    return hit;
  }
  function geoColumns(result) {
    var lng = findCol(result, LNG, true), lat = findCol(result, LAT, true);
    if (lng && lat && lng !== lat) {
      var datum = /gcj/i.test(lng + lat) ? "GCJ-02" : (/bd|百度/i.test(lng + lat) ? "BD-09" : "WGS-84");
      return {kind: "points", lng: lng, lat: lat, datum: datum};
    }
    var region = findCol(result, REGION, false);
    if (!region) {  /* a column of 6-digit region codes */
      result.columns.forEach(function (c, i) {
        if (region) { return; }
        var sample = result.rows.slice(0, 20).map(function (r) { return r[i]; }).filter(function (v) { return v !== null; });
        if (sample.length && sample.every(function (v) { return /^\d{6}$/.test(String(v)); })) { region = c.name; }
      });
    }
    return region ? {kind: "regions", region: region} : null;
  }
  function kinds(result) {
    var out = ["bar", "line", "pie", "scatter"];
    if (window.ShudataGeo && geoColumns(result)) { out.push("map"); }
    return out;
  }
  function suggest(result, kind) {
    var cols = result.columns, nums = cols.filter(isNumeric).map(function (c) { return c.name; });
    var labels = cols.filter(function (c) { return !isNumeric(c); }).map(function (c) { return c.name; });
    if (kind === "map") {
      var g = geoColumns(result) || {};
      if (g.kind === "points") { return {x: g.lng, y: g.lat}; }
      return {x: g.region || null, y: nums.filter(function (n) { return n !== g.region; })[0] || null};
    }
    if (kind === "scatter") { return {x: nums[0] || null, y: nums[1] || nums[0] || null}; }
    var time = cols.filter(function (c) { return TIME.test(String(c.type)); }).map(function (c) { return c.name; });
    var x = (kind === "line" && time[0]) || labels[0] || cols[0] && cols[0].name || null;
    return {x: x, y: nums.filter(function (n) { return n !== x; })[0] || null};
  }
  function grouped(result, x, y) {
    var xi = names(result).indexOf(x), yi = y ? names(result).indexOf(y) : -1, order = [], sums = {};
    result.rows.forEach(function (r) {
      var key = r[xi] === null || r[xi] === undefined ? t("（空）", "(empty)") : String(r[xi]);
      var v = yi >= 0 ? num(r[yi]) : 1;
      if (!(key in sums)) { order.push(key); sums[key] = null; }
      if (v !== null) { sums[key] = (sums[key] || 0) + v; }
    });
    return {keys: order, values: order.map(function (k) { return sums[k]; }), merged: order.length < result.rows.length};
  }
  function titleOf(opts) {
    return opts.title ? {text: opts.title, left: "center", top: 0, textStyle: {fontSize: 14, fontWeight: 600}} : undefined;
  }
  function axisChart(el, chart, result, opts) {
    var g = grouped(result, opts.x, opts.y), many = g.keys.length > 12;
    var longest = g.keys.reduce(function (m, k) { return Math.max(m, k.length); }, 0);
    chart.setOption({
      color: PALETTE, title: titleOf(opts), tooltip: {trigger: "axis"},
      legend: {show: false},
      grid: {left: 64, right: 24, top: opts.title ? 60 : 40, bottom: many || longest > 6 ? 90 : 48, containLabel: false},
      xAxis: {type: "category", data: g.keys, name: opts.x, nameLocation: "middle", nameGap: many || longest > 6 ? 70 : 28,
              axisLabel: {rotate: many || longest > 6 ? 35 : 0, hideOverlap: true, width: 110, overflow: "truncate"}},
      yAxis: {type: "value", name: opts.y || t("行数", "rows"), scale: opts.kind === "line"},
      dataZoom: g.keys.length > 40 ? [{type: "inside"}, {type: "slider", height: 16, bottom: 6}] : [],
      series: [{name: opts.y || t("行数", "rows"), type: opts.kind, data: g.values, smooth: opts.kind === "line",
                barMaxWidth: 40, connectNulls: true}]
    }, true);
    return {points: g.keys.length, merged: g.merged};
  }
  function pieChart(el, chart, result, opts) {
    var g = grouped(result, opts.x, opts.y);
    var data = g.keys.map(function (k, i) { return {name: k, value: g.values[i] || 0}; })
      .sort(function (a, b) { return b.value - a.value; });
    if (data.length > PIE_SLICES) {
      var rest = data.slice(PIE_SLICES - 1).reduce(function (s, d) { return s + d.value; }, 0);
      data = data.slice(0, PIE_SLICES - 1).concat([{name: t("其他", "other"), value: rest}]);
    }
    chart.setOption({
      color: PALETTE, title: titleOf(opts), tooltip: {trigger: "item", formatter: "{b}：{c}（{d}%）"},
      legend: {type: "scroll", orient: "horizontal", bottom: 0},
      series: [{name: opts.y || t("行数", "rows"), type: "pie", radius: ["30%", "62%"], center: ["50%", "48%"],
                data: data, label: {formatter: "{b}\n{d}%", width: 120, overflow: "truncate"}}]
    }, true);
    return {points: data.length, merged: g.merged};
  }
  function scatterChart(el, chart, result, opts) {
    var xi = names(result).indexOf(opts.x), yi = names(result).indexOf(opts.y), pts = [];
    result.rows.forEach(function (r) {
      var x = num(r[xi]), y = num(r[yi]);
      if (x !== null && y !== null && pts.length < MAX_POINTS) { pts.push([x, y]); }
    });
    chart.setOption({
      color: PALETTE, title: titleOf(opts), tooltip: {trigger: "item"},
      grid: {left: 64, right: 24, top: opts.title ? 60 : 40, bottom: 48},
      xAxis: {type: "value", name: opts.x, nameLocation: "middle", nameGap: 28, scale: true},
      yAxis: {type: "value", name: opts.y, scale: true},
      series: [{type: "scatter", data: pts, symbolSize: pts.length > 500 ? 4 : 8}]
    }, true);
    return {points: pts.length, merged: false};
  }
  function mapChart(el, result, opts) {
    var g = geoColumns(result);
    if (!window.ShudataGeo || !g) { return Promise.reject(new Error(t("结果中没有坐标列或行政区划列", "No coordinate or region column in the result"))); }
    var spec = {columns: names(result), rows: result.rows, title: opts.title};
    if (g.kind === "points") {
      spec.kind = "points"; spec.lng = opts.x || g.lng; spec.lat = opts.y || g.lat; spec.datum = g.datum;
      var label = result.columns.filter(function (c) { return !isNumeric(c); })[0];
      if (label) { spec.label = label.name; }
    } else {
      spec.kind = "regions"; spec.region = opts.x || g.region; spec.measure = opts.y || null;
      var codes = result.rows.map(function (r) { return String(r[names(result).indexOf(spec.region)] || ""); });
      var provinces = codes.filter(function (c) { return /^\d{2}0000$/.test(c) || /省$|自治区$/.test(c); }).length;
      spec.map = provinces * 2 > codes.length ? "china" : "sichuan";
    }
    return window.ShudataGeo.render(el, spec).then(function () {
      return {points: Number(el.getAttribute("data-points") || 0), merged: false, geo: spec.kind};
    });
  }
  function render(el, result, opts) {
    if (!window.echarts) { return Promise.reject(new Error(t("ECharts 未加载", "ECharts did not load"))); }
    var old = echarts.getInstanceByDom(el);
    if (opts.kind === "map") {
      if (old) { old.dispose(); }
      return mapChart(el, result, opts).then(function (info) { el.setAttribute("data-kind", "map"); return info; });
    }
    if (!opts.x || (opts.kind !== "pie" && opts.kind !== "bar" && opts.kind !== "line" && !opts.y)) {
      return Promise.reject(new Error(t("请选择要作图的列", "Choose the columns to chart")));
    }
    var chart = old || echarts.init(el, null, {renderer: "canvas"});
    if (!el.getAttribute("data-resize")) {
      el.setAttribute("data-resize", "1");
      window.addEventListener("resize", function () { var c = echarts.getInstanceByDom(el); if (c) { c.resize(); } });
    }
    var info = opts.kind === "pie" ? pieChart(el, chart, result, opts)
      : opts.kind === "scatter" ? scatterChart(el, chart, result, opts) : axisChart(el, chart, result, opts);
    el.setAttribute("data-kind", opts.kind);
    el.setAttribute("data-points", String(info.points));
    return Promise.resolve(info);
  }
  window.ShudataResultChart = {kinds: kinds, suggest: suggest, render: render, geoColumns: geoColumns,
                               isNumeric: isNumeric};
})();

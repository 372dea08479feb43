/* ShudataGeo: boundary maps (no tiles) with ECharts — a point map or a choropleth.

   window.ShudataGeo.render(el, spec) → Promise<echarts instance>

   spec (plain JSON; the dataset pages get it from the server's chart chooser, the SQL workbench
   may build it from a query result):
     kind      "points" | "regions"
     map       "sichuan" (its 21 prefectures) | "china" (provinces); optional — chosen from the data
     title     optional chart title
   for kind "points":
     points    [[lng, lat, label], …] already in `datum`            — or —
     columns   ["名称", "经度", "纬度", …], rows [[…], …]  with
     lng, lat  the names of the longitude and latitude columns, label an optional name column
     datum     "WGS-84" | "GCJ-02" | "BD-09": the datum of the coordinates (default "WGS-84");
               points are converted to the boundary data's datum (GCJ-02) before drawing
   for kind "regions":
     regions   [{code: "510100", name: "成都市", value: 123}, …]   — or —
     columns, rows with
     region    the column holding GB/T 2260 codes or names (成都/成都市/甘孜州/四川省/510104 …)
     measure   a numeric column to sum per region (omit or null: count rows per region)

   The boundary GeoJSON comes from /geo/boundaries/{china,sichuan}.geojson (shipped in the package,
   cached for a year). The element gets data-kind and data-points (points or regions drawn).
   Data reaches this script only through the same access and masking rules as the preview. */
(function () {
  "use strict";
  var BOUNDARY_DATUM = "GCJ-02";
  /* The boundary files are cached for a year: change this when scripts/geo_boundaries.py rebuilds them. */
  var BOUNDARY_VERSION = "echarts-4.9.0-1";
  var loaded = {};

  function loadMap(name) {
    if (!loaded[name]) {
      loaded[name] = fetch("/geo/boundaries/" + name + ".geojson?v=" + BOUNDARY_VERSION, {credentials: "same-origin"})
        .then(function (r) {
          if (!r.ok) { throw new Error("边界地图加载失败：" + r.status); }
          return r.json();
        })
        .then(function (gj) { echarts.registerMap(name, gj); return gj; });
    }
    return loaded[name];
  }

  /* GCJ-02 / BD-09 / WGS-84 — the same algorithm as shudata.standards.geo (tested against it). */
  var A = 6378245.0, EE = 0.00669342162296594323, X_PI = Math.PI * 3000.0 / 180.0;
  function inChina(x, y) { return x >= 72.004 && x <= 137.8347 && y >= 0.8293 && y <= 55.8271; }
  function dLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
    return r;
  }
  function dLng(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
    return r;
  }
  function wgsToGcj(x, y) {
    if (!inChina(x, y)) { return [x, y]; }
    var la = dLat(x - 105, y - 35), lo = dLng(x - 105, y - 35);
    var rad = y / 180 * Math.PI, magic = 1 - EE * Math.sin(rad) * Math.sin(rad), sq = Math.sqrt(magic);
    la = (la * 180) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    lo = (lo * 180) / (A / sq * Math.cos(rad) * Math.PI);
    return [x + lo, y + la];
  }
  function gcjToBd(x, y) {
    if (!inChina(x, y)) { return [x, y]; }
    var z = Math.sqrt(x * x + y * y) + 0.00002 * Math.sin(y * X_PI);
    var t = Math.atan2(y, x) + 0.000003 * Math.cos(x * X_PI);
    return [z * Math.cos(t) + 0.0065, z * Math.sin(t) + 0.006];
  }
  function invert(f, x, y) {
    if (!inChina(x, y)) { return [x, y]; }
    var px = x, py = y;
    for (var i = 0; i < 30; i++) {
      var q = f(px, py), ex = q[0] - x, ey = q[1] - y;
      if (Math.abs(ex) < 1e-10 && Math.abs(ey) < 1e-10) { break; }
      px -= ex; py -= ey;
    }
    return [px, py];
  }
  function convert(x, y, from, to) {
    if (from === to) { return [x, y]; }
    var p = [x, y];
    if (from === "BD-09") { p = invert(gcjToBd, p[0], p[1]); } else if (from === "WGS-84") { p = wgsToGcj(p[0], p[1]); }
    if (to === "BD-09") { return gcjToBd(p[0], p[1]); }
    if (to === "WGS-84") { return invert(wgsToGcj, p[0], p[1]); }
    return p;
  }

  /* Region values → the map's feature (by GB/T 2260 code, a county code rolls up, or by name). */
  var SUFFIX = /(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市)$/;
  function featureIndex(gj, mapName) {
    var byCode = {}, byName = {};
    gj.features.forEach(function (f) {
      var code = String(f.properties.code || f.id), name = f.properties.name;
      byCode[code] = name;
      [name, name.replace(SUFFIX, "")].forEach(function (n) { byName[n] = name; });
      if (/自治州$/.test(name)) { byName[name.slice(0, 2)] = name; byName[name.slice(0, 2) + "州"] = name; }
    });
    return function (v) {
      if (v === null || v === undefined || v === "") { return null; }
      var s = String(v).replace(/\s+/g, "").replace(/\.0$/, "");
      if (/^\d{12}$/.test(s)) { s = s.slice(0, 6); }
      if (/^\d{6}$/.test(s)) {
        var code = mapName === "china" ? s.slice(0, 2) + "0000" : (/0000$/.test(s) ? s : s.slice(0, 4) + "00");
        return byCode[code] || null;
      }
      return byName[s] || byName[s.replace(SUFFIX, "")] || null;
    };
  }

  function col(spec, name) { return spec.columns ? spec.columns.indexOf(name) : -1; }
  function num(v) { if (v === null || v === undefined || v === "") { return null; } var n = Number(v); return isFinite(n) ? n : null; }

  function pointsOf(spec) {
    if (spec.points) { return {pts: spec.points, datum: spec.datum || BOUNDARY_DATUM}; }
    var xi = col(spec, spec.lng), yi = col(spec, spec.lat), li = spec.label ? col(spec, spec.label) : -1;
    var pts = [];
    (spec.rows || []).forEach(function (r) {
      var x = num(r[xi]), y = num(r[yi]);
      if (x === null || y === null || (x === 0 && y === 0)) { return; }
      pts.push([x, y, li >= 0 ? String(r[li]) : ""]);
    });
    return {pts: pts, datum: spec.datum || "WGS-84"};
  }

  function guessMap(pts) {
    var inside = pts.filter(function (p) { return p[0] >= 97.3 && p[0] <= 108.6 && p[1] >= 26 && p[1] <= 34.4; }).length;
    return inside * 10 >= pts.length * 9 ? "sichuan" : "china";
  }

  function drawPoints(el, chart, spec) {
    var got = pointsOf(spec);
    var pts = got.pts.map(function (p) {
      var q = convert(Number(p[0]), Number(p[1]), got.datum, BOUNDARY_DATUM);
      return [q[0], q[1], p[2]];
    });
    var map = spec.map || guessMap(pts);
    return loadMap(map).then(function () {
      chart.setOption({
        title: spec.title ? {text: spec.title, left: "center", textStyle: {fontSize: 14, fontWeight: 600}} : undefined,
        tooltip: {trigger: "item", formatter: function (p) {
          return (p.value[2] ? p.value[2] + "<br>" : "") + p.value[0].toFixed(5) + ", " + p.value[1].toFixed(5);
        }},
        geo: {map: map, roam: true, top: 40, bottom: 10, itemStyle: {areaColor: "#eef2f7", borderColor: "#8aa0b8"},
              emphasis: {itemStyle: {areaColor: "#dbe6f3"}, label: {show: false}}},
        series: [{name: spec.title || "points", type: "scatter", coordinateSystem: "geo", data: pts,
                  symbolSize: pts.length > 500 ? 4 : 7, itemStyle: {color: "#d9480f", opacity: 0.8}}]
      }, true);
      el.setAttribute("data-kind", "points");
      el.setAttribute("data-map", map);
      el.setAttribute("data-points", String(pts.length));
      return chart;
    });
  }

  function drawRegions(el, chart, spec) {
    var map = spec.map || "sichuan";
    return loadMap(map).then(function (gj) {
      var find = featureIndex(gj, map), sums = {};
      if (spec.regions) {
        spec.regions.forEach(function (r) {
          var n = find(r.code) || find(r.name);
          if (n) { sums[n] = (sums[n] || 0) + Number(r.value); }
        });
      } else {
        var ri = col(spec, spec.region), mi = spec.measure ? col(spec, spec.measure) : -1;
        (spec.rows || []).forEach(function (r) {
          var n = find(r[ri]);
          if (!n) { return; }
          var v = mi >= 0 ? num(r[mi]) : 1;
          if (v !== null) { sums[n] = (sums[n] || 0) + v; }
        });
      }
      var data = Object.keys(sums).map(function (n) { return {name: n, value: sums[n]}; });
      var values = data.map(function (d) { return d.value; });
      chart.setOption({
        title: spec.title ? {text: spec.title, left: "center", textStyle: {fontSize: 14, fontWeight: 600}} : undefined,
        tooltip: {trigger: "item", formatter: function (p) { return p.name + (p.value === p.value ? "：" + p.value : ""); }},
        visualMap: {min: values.length ? Math.min.apply(null, values) : 0, max: values.length ? Math.max.apply(null, values) : 1,
                    left: 10, bottom: 10, calculable: true, itemHeight: 90,
                    inRange: {color: ["#e6f0fa", "#6aa3d9", "#0b5cab"]}},
        series: [{name: spec.title || "regions", type: "map", map: map, roam: true, top: 40, bottom: 10, data: data,
                  itemStyle: {areaColor: "#f4f6f8", borderColor: "#8aa0b8"}, label: {show: false},
                  emphasis: {label: {show: true}}}]
      }, true);
      el.setAttribute("data-kind", "regions");
      el.setAttribute("data-map", map);
      el.setAttribute("data-points", String(data.length));
      return chart;
    });
  }

  function render(el, spec) {
    if (!window.echarts) { return Promise.reject(new Error("ECharts 未加载")); }
    var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, {renderer: "canvas"});
    if (!el.getAttribute("data-geo-resize")) {
      el.setAttribute("data-geo-resize", "1");
      window.addEventListener("resize", function () { chart.resize(); });
    }
    return spec.kind === "points" ? drawPoints(el, chart, spec) : drawRegions(el, chart, spec);
  }

  window.ShudataGeo = {render: render, convert: convert, BOUNDARY_DATUM: BOUNDARY_DATUM};
})();

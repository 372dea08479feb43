/* Entry page chart: one numeric column of a data version, reloaded from the rows API. */
(function () {
  "use strict";
  var form = document.getElementById("chart-form");
  var el = document.getElementById("chart");
  if (!form || !el || !window.echarts) { return; }
  var chart = echarts.init(el, null, {renderer: "canvas"});
  var errorBox = document.getElementById("chart-error");
  var MAX_POINTS = 200;
  window.addEventListener("resize", function () { chart.resize(); });

  function rowsOf(body) {
    var rows = body.rows || body.items || body.data || [];
    var cols = body.columns ? body.columns.map(function (c) { return c.name || c; }) : null;
    if (rows.length && Array.isArray(rows[0]) && cols) {
      return rows.map(function (r) { var o = {}; cols.forEach(function (c, i) { o[c] = r[i]; }); return o; });
    }
    return rows;
  }
  function load() {
    var valueCol = document.getElementById("chart-value").value;
    var labelCol = document.getElementById("chart-label").value;
    var kind = document.getElementById("chart-kind").value;
    var version = document.getElementById("preview-version");
    var url = form.dataset.rowsUrl;
    if (version && version.value) { url = url.replace(/([?&]version=)\d+/, "$1" + version.value); }
    var sep = url.indexOf("?") >= 0 ? "&" : "?";
    errorBox.textContent = "";
    chart.showLoading();
    sd.fetchJSON(url + sep + "offset=0&limit=" + MAX_POINTS).then(function (body) {
      var rows = rowsOf(body);
      var xs = rows.map(function (r, i) { return labelCol ? String(r[labelCol]) : String(i + 1); });
      var ys = rows.map(function (r) { var v = r[valueCol]; return v === null || v === "" ? null : Number(v); });
      chart.hideLoading();
      chart.setOption({
        color: ["#0b5cab"],
        title: {text: valueCol, left: "center", textStyle: {fontSize: 14, fontWeight: 600}},
        tooltip: {trigger: "axis"},
        grid: {left: 60, right: 20, top: 40, bottom: 70},
        xAxis: {type: "category", data: xs, axisLabel: {rotate: xs.length > 12 ? 45 : 0, hideOverlap: true}},
        yAxis: {type: "value", scale: true},
        dataZoom: xs.length > 30 ? [{type: "inside"}, {type: "slider", height: 18, bottom: 8}] : [],
        series: [{name: valueCol, type: kind, data: ys, smooth: kind === "line", barMaxWidth: 36}]
      }, true);
      el.setAttribute("data-points", String(ys.length));
    }).catch(function (err) {
      chart.hideLoading();
      errorBox.textContent = err.message;
    });
  }
  ["chart-value", "chart-label", "chart-kind"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", load);
  });
  /* Load after the row preview has loaded (one data read at a time), and again when the
     preview switches to another version. */
  var shown = null;
  function currentVersion() {
    var v = document.getElementById("preview-version");
    return v ? v.value : "";
  }
  function sync() {
    if (shown !== currentVersion()) { shown = currentVersion(); load(); }
  }
  document.body.addEventListener("htmx:afterSettle", function (e) {
    if (e.target && e.target.id === "preview") { sync(); }
  });
  if (document.getElementById("preview-table") || !document.getElementById("preview")) { sync(); }
  else { setTimeout(sync, 8000); }
})();

/* One layout for every ECharts option of the UI: window.ShudataChart.layout(option) → option.

   The title sits at the top, the legend on its own (scrollable) line below it, and the plot
   below both, so a legend never covers the title or the data; a category axis with many or
   long Chinese labels rotates or thins them instead of overlapping. Call it on an option
   before setOption; options the server builds (quality reports) pass through it too. */
(function () {
  "use strict";
  var TITLE_H = 28, LEGEND_H = 26, GAP = 12;

  function list(x) { return x == null ? [] : (Array.isArray(x) ? x : [x]); }
  function hasText(t) { return list(t).some(function (x) { return x && x.text; }); }

  function layout(option) {
    if (!option || typeof option !== "object") { return option; }
    var o = Object.assign({}, option);
    var titled = hasText(o.title);
    var top = 0;
    if (titled) {
      o.title = list(o.title).map(function (t) {
        return Object.assign({left: "center", top: 0, textStyle: {fontSize: 14, fontWeight: 600}}, t);
      });
      top = TITLE_H;
    }
    var legends = list(o.legend);
    if (legends.length) {
      o.legend = legends.map(function (l) {
        var placed = Object.assign({type: "scroll"}, l);
        if (placed.bottom == null && (placed.top == null || (titled && placed.top < TITLE_H))) { placed.top = top; }
        return placed;
      });
      if (o.legend.some(function (l) { return l.bottom == null; })) { top += LEGEND_H; }
    }
    if (top && (o.xAxis || o.yAxis)) {
      var grids = list(o.grid);
      o.grid = (grids.length ? grids : [{}]).map(function (g) {
        var grid = Object.assign({containLabel: true, left: 16, right: 16, bottom: 16}, g);
        grid.top = Math.max(typeof grid.top === "number" ? grid.top : 0, top + GAP);
        return grid;
      });
      if (o.grid.length === 1) { o.grid = o.grid[0]; }
    }
    var rotated = false;
    o.xAxis = list(o.xAxis).map(function (ax) {
      if (ax.type !== "category" || !Array.isArray(ax.data)) { return ax; }
      var longest = ax.data.reduce(function (m, d) { return Math.max(m, String(d && d.value != null ? d.value : d).length); }, 0);
      var crowded = ax.data.length > 8 || longest * ax.data.length > 48;
      var label = Object.assign({hideOverlap: true}, crowded ? {rotate: 30, width: 96, overflow: "truncate"} : {},
                                ax.axisLabel || {});
      if (label.rotate) { rotated = true; }
      return Object.assign({}, ax, {axisLabel: label});
    });
    if (rotated) {  // a slanted first label reaches left of the plot: leave it room
      o.grid = list(o.grid || {}).map(function (g) {
        return Object.assign({}, g, {containLabel: true, left: Math.max(typeof g.left === "number" ? g.left : 0, 56)});
      });
      if (o.grid.length === 1) { o.grid = o.grid[0]; }
    }
    if (o.xAxis.length === 0) { delete o.xAxis; } else if (!Array.isArray(option.xAxis)) { o.xAxis = o.xAxis[0]; }
    return o;
  }

  window.ShudataChart = Object.assign(window.ShudataChart || {}, {layout: layout});
}());

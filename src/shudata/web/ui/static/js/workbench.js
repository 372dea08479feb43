/* SQL workbench (/query): CodeMirror editor with completion of the readable tables and columns,
   schema browser, runs with a visible time limit and a cancel that stops the query on the server,
   a paged grid, a chart (result_chart.js), whole-result exports, saved queries and the history.
   Everything goes through the public endpoints under /api/v1/query. */
(function () {
  "use strict";
  var root = document.getElementById("workbench");
  if (!root || !window.CodeMirror) { return; }
  var t = sd.t;
  var $ = function (id) { return document.getElementById(id); };
  var TIMEOUT_S = Number(root.dataset.timeoutS) || 30;
  var PAGE_MAX = Number(root.dataset.pageSizeMax) || 1000;
  var TZ = root.dataset.tz || "Asia/Shanghai";
  var KEYWORDS = ("SELECT FROM WHERE GROUP BY ORDER HAVING LIMIT OFFSET JOIN LEFT RIGHT FULL INNER OUTER CROSS ON AS " +
    "AND OR NOT IN IS NULL LIKE ILIKE BETWEEN CASE WHEN THEN ELSE END DISTINCT WITH UNION ALL EXCEPT INTERSECT " +
    "COUNT SUM AVG MIN MAX ROUND CAST QUALIFY OVER PARTITION ASC DESC").split(" ");

  var state = {schema: null, sql: "", offset: 0, limit: 50, result: null, running: null, saved: [], savedId: null,
               chartRows: null, mark: null};

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function typeOf(c) { return (sd.lang() === "en" ? c.data_type_en : c.data_type) || c.type; }
  function quoteIdent(name) { return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : '"' + name.replace(/"/g, '""') + '"'; }
  function runId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return "run-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function fmtTime(iso) {
    try {
      return new Intl.DateTimeFormat("zh-CN", {timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false}).format(new Date(iso));
    } catch (e) { return iso; }
  }

  /* -- editor and completion ------------------------------------------------------------------ */
  var editor = CodeMirror.fromTextArea($("sql"), {
    mode: "text/x-pgsql", lineNumbers: true, matchBrackets: true, indentUnit: 2, lineWrapping: true,
    extraKeys: {"Ctrl-Space": "autocomplete", "Ctrl-Enter": function () { run(0, true); },
                "Cmd-Enter": function () { run(0, true); }},
    hintOptions: {hint: hint, completeSingle: false}
  });
  editor.on("inputRead", function (cm, change) {
    if (change.text.length === 1 && change.text[0] === ".") { cm.showHint({completeSingle: false}); }
  });
  editor.on("change", function () { clearMark(); });

  function tableByName(name) {
    if (!state.schema) { return null; }
    var n = name.replace(/^"|"$/g, "").toLowerCase();
    return state.schema.tables.filter(function (tb) {
      return [tb.alias, tb.code, tb.name].some(function (x) { return x && x.toLowerCase() === n; });
    })[0] || null;
  }
  /* FROM/JOIN <table> [AS] <alias> in the text: the aliases a "x." completion can mean. */
  function aliases(text) {
    var out = {}, re = /\b(?:from|join)\s+("[^"]+"|[\w\u4e00-\u9fff]+)(?:\s+(?:as\s+)?([A-Za-z_][\w]*))?/gi, m;
    while ((m = re.exec(text))) {
      var tb = tableByName(m[1]);
      if (tb) {
        out[m[1].replace(/^"|"$/g, "").toLowerCase()] = tb;
        if (m[2] && !/^(where|join|left|right|inner|full|cross|on|group|order|limit|union|using)$/i.test(m[2])) {
          out[m[2].toLowerCase()] = tb;
        }
      }
    }
    return out;
  }
  function hintItem(text, display, kind) {
    return {text: text, displayText: display, render: function (el) {
      el.appendChild(document.createTextNode(display));
      var k = document.createElement("span"); k.className = "sd-hint-kind"; k.textContent = kind; el.appendChild(k);
    }};
  }
  function hint(cm) {
    var cur = cm.getCursor(), line = cm.getLine(cur.line).slice(0, cur.ch);
    var m = /("[^"]*"|[\w\u4e00-\u9fff]+)\.("?[\w\u4e00-\u9fff]*)$/.exec(line);
    var list = [], from, prefix;
    if (m) {  /* table.column */
      prefix = m[2].replace(/^"/, "").toLowerCase();
      from = CodeMirror.Pos(cur.line, cur.ch - m[2].length);
      var tb = aliases(cm.getValue())[m[1].replace(/^"|"$/g, "").toLowerCase()] || tableByName(m[1]);
      (tb ? tb.columns : []).forEach(function (c) {
        if (!prefix || c.name.toLowerCase().indexOf(prefix) === 0) {
          list.push(hintItem(quoteIdent(c.name), c.name, typeOf(c) + (c.masked ? " · " + t("脱敏", "masked") : "")));
        }
      });
    } else {
      var w = /"?[\w\u4e00-\u9fff]*$/.exec(line)[0];
      prefix = w.replace(/^"/, "").toLowerCase();
      from = CodeMirror.Pos(cur.line, cur.ch - w.length);
      var seen = {};
      (state.schema ? state.schema.tables : []).forEach(function (tb) {
        var hay = [tb.alias || "", tb.code, tb.name].join(" ").toLowerCase();
        if (!prefix || hay.indexOf(prefix) >= 0) {
          list.push(hintItem(tb.sql_name, tb.sql_name + (tb.sql_name !== tb.name ? "  " + tb.name : ""), t("数据表", "table") + (tb.grant ? " · " + t("经授权", "granted") : "")));
        }
      });
      var used = aliases(cm.getValue());
      Object.keys(used).forEach(function (k) {
        used[k].columns.forEach(function (c) {
          if (seen[c.name] || (prefix && c.name.toLowerCase().indexOf(prefix) !== 0)) { return; }
          seen[c.name] = true;
          list.push(hintItem(quoteIdent(c.name), c.name, t("列", "column") + " · " + typeOf(c)));
        });
      });
      if (prefix) {
        KEYWORDS.forEach(function (k) { if (k.toLowerCase().indexOf(prefix) === 0) { list.push(hintItem(k, k, t("关键字", "keyword"))); } });
      }
    }
    return {list: list, from: from, to: cur};
  }
  window.sdWorkbench = {editor: editor, state: state};

  /* -- schema browser ------------------------------------------------------------------------- */
  function renderSchema() {
    var box = $("schema-list"), q = $("schema-filter").value.trim().toLowerCase();
    if (!state.schema.tables.length) {
      box.innerHTML = "<div class='text-muted small p-2'>" + esc(t("您目前没有可以查询的数据表：只能查询本部门有数据版本的资源，以及本部门经共享授权获得的其他部门资源（按授权脱敏）。",
        "No table you may query yet: only resources of your department that hold data, and other departments' resources your department holds a sharing grant on (masked as granted).")) + "</div>";
      return;
    }
    box.innerHTML = state.schema.tables.filter(function (tb) {
      if (!q) { return true; }
      var hay = [tb.alias || "", tb.code, tb.name].concat(tb.columns.map(function (c) { return c.name + " " + (c.description || ""); }));
      return hay.join(" ").toLowerCase().indexOf(q) >= 0;
    }).map(function (tb) {
      var cols = tb.columns.map(function (c) {
        return "<li><span class='sd-wb-cname' role='button' tabindex='0' data-insert='" + esc(quoteIdent(c.name)) + "'>" + esc(c.name) +
          "</span> <span class='sd-wb-ctype'>" + esc(typeOf(c)) + (c.data_type ? " · " + esc(c.type) : "") + "</span>" +
          (c.masked ? " <span class='badge text-bg-warning'>" + esc(t("脱敏", "masked")) + "</span>" : "") +
          (c.description ? "<span class='sd-wb-cdesc'>" + esc(c.description) + "</span>" : "") + "</li>";
      }).join("");
      return "<details class='sd-wb-table' data-table='" + esc(tb.code) + "'><summary><span class='sd-wb-tname'>" + esc(tb.name) +
        "</span>" + (tb.grant ? " <span class='badge text-bg-info sd-wb-granted' title='" +
          esc(t("共享授权 #" + tb.grant + "，提供方：" + (tb.department || "") + "；只含授权的信息项和行，按授权脱敏",
                "Sharing grant #" + tb.grant + ", provider: " + (tb.department || "") + "; granted fields and rows only, masked as granted")) +
          "'>" + esc(t("经授权", "granted")) + "</span>" : "") +
        "<br><span class='sd-wb-code'>" + esc(tb.sql_name) + (tb.sql_name !== '"' + tb.code + '"' ? " · " + esc(tb.code) : "") +
        " · v" + tb.version + (tb.rows === null || tb.rows === undefined ? "" : " · " + Number(tb.rows).toLocaleString() + " " + esc(t("行", "rows"))) +
        (tb.grant ? " · " + esc(tb.department || "") : "") + "</span></summary>" +
        "<div class='mt-1'><button type='button' class='btn btn-link btn-sm p-0' data-insert-select='" + esc(tb.sql_name) + "'>" +
        esc(t("插入 SELECT 语句", "Insert a SELECT")) + "</button></div><ul class='sd-wb-cols'>" + cols + "</ul></details>";
    }).join("") || "<div class='text-muted small p-2'>" + esc(t("没有匹配的数据表", "No matching table")) + "</div>";
  }
  function loadSchema() {
    return sd.fetchJSON("/api/v1/query/schema").then(function (body) {
      state.schema = body;
      renderSchema();
    }).catch(function (err) {
      $("schema-list").innerHTML = "<div class='alert alert-danger small m-1'>" + esc(err.message) + "</div>";
    });
  }
  $("schema-filter").addEventListener("input", function () { if (state.schema) { renderSchema(); } });
  $("schema-list").addEventListener("keydown", function (ev) {  /* column names are buttons for the keyboard too */
    var ins = ev.target.closest("[data-insert]");
    if (ins && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); ins.click(); }
  });
  $("schema-list").addEventListener("click", function (ev) {
    var ins = ev.target.closest("[data-insert]"), sel = ev.target.closest("[data-insert-select]");
    if (ins) { editor.replaceSelection(ins.getAttribute("data-insert")); editor.focus(); }
    if (sel) {
      editor.setValue("SELECT *\nFROM " + sel.getAttribute("data-insert-select") + "\nLIMIT 100");
      editor.focus(); editor.setCursor(editor.lineCount(), 0);
    }
  });

  /* -- errors --------------------------------------------------------------------------------- */
  function clearMark() { if (state.mark) { state.mark.clear(); state.mark = null; } }
  function showError(err) {
    var box = $("error"), mark = err.body && err.body.error && err.body.error.details && err.body.error.details.mark;
    clearMark();
    var html = "<i class='bi bi-exclamation-octagon' aria-hidden='true'></i> " + esc(err.message);
    if (mark && mark.from && mark.to) {
      state.mark = editor.markText(mark.from, mark.to, {className: "sd-sql-error", title: err.message});
      editor.scrollIntoView(mark.from, 60);
      html += "<div class='small mt-1'>" + esc(t("出错位置：", "Where: ")) + esc(t("第 ", "line ")) + (mark.from.line + 1) +
        esc(t(" 行第 ", ", column ")) + (mark.from.ch + 1) + esc(t(" 列", "")) + " <code class='sd-mark-text'>" + esc(mark.text) + "</code></div>";
    }
    box.innerHTML = html;
    box.classList.remove("d-none");
  }
  function hideError() { $("error").classList.add("d-none"); $("error").innerHTML = ""; }

  /* -- runs ----------------------------------------------------------------------------------- */
  var timer = null;
  function startTimer() {
    var started = performance.now();
    $("timer-bar").classList.remove("bg-danger");
    timer = window.setInterval(function () {
      var s = (performance.now() - started) / 1000, pct = Math.min(100, s / TIMEOUT_S * 100);
      $("timer-bar").style.width = pct + "%";
      $("timer-bar").parentNode.setAttribute("aria-valuenow", String(Math.round(pct)));
      if (pct > 80) { $("timer-bar").classList.add("bg-danger"); }
      $("timer-text").textContent = t("运行中 ", "Running ") + s.toFixed(1) + " / " + TIMEOUT_S + t(" 秒", " s");
    }, 100);
  }
  function stopTimer(text) {
    window.clearInterval(timer);
    $("timer-bar").style.width = "0%";
    $("timer-text").textContent = text;
  }
  function setRunning(on) {
    $("run").disabled = on;
    $("cancel").disabled = !on;
    root.setAttribute("data-running", on ? "1" : "0");
  }
  function run(offset, record) {
    if (state.running) { return; }
    var sql = record ? editor.getValue() : state.sql;
    if (!sql.trim()) { showError(new Error(t("请先写一条查询", "Write a query first"))); return; }
    hideError();
    state.sql = sql;
    var id = runId();
    state.running = id;
    setRunning(true);
    startTimer();
    sd.fetchJSON("/api/v1/query/runs", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({sql: sql, offset: offset, limit: state.limit, run_id: id, record: record,
                            saved_id: record ? state.savedId : null})
    }).then(function (body) {
      state.result = body; state.offset = body.offset;
      if (record) { state.chartRows = null; }
      stopTimer(t("完成，用时 ", "Done in ") + (body.elapsed_ms / 1000).toFixed(2) + t(" 秒", " s") + " · " + t("上限 ", "limit ") + TIMEOUT_S + t(" 秒", " s") +
                (body.ran ? " · " + t("执行引擎 ", "engine ") + body.ran.engine + t("（", " (") + body.ran.master + t("）", ")") : ""));
      renderGrid();
      if (record) { setupChart(); loadHistory(); }
      else if ($("pane-chart").classList.contains("active")) { drawChart(); }
    }).catch(function (err) {
      stopTimer(err.status === 409 ? t("已取消", "Cancelled") : err.status === 408 ? t("已超时", "Timed out") : t("未执行", "Not run"));
      showError(err);
      if (record) { loadHistory(); }
    }).then(function () {
      state.running = null;
      setRunning(false);
    });
  }
  $("run").addEventListener("click", function () { run(0, true); });
  $("cancel").addEventListener("click", function () {
    var id = state.running;
    if (!id) { return; }
    $("cancel").disabled = true;
    $("timer-text").textContent = t("正在取消…", "Cancelling…");
    sd.fetchJSON("/api/v1/query/runs/" + encodeURIComponent(id) + "/cancel", {method: "POST"}).catch(function () {
      /* 404: the run ended meanwhile; its own answer says how */
    });
  });

  /* -- grid ----------------------------------------------------------------------------------- */
  function cell(v, numeric) {
    if (v === null || v === undefined) { return "<td class='sd-null'>NULL</td>"; }
    var s = typeof v === "object" ? JSON.stringify(v) : String(v);
    return "<td" + (numeric ? " class='sd-num'" : "") + " title='" + esc(s) + "'>" + esc(s) + "</td>";
  }
  function renderGrid() {
    var r = state.result, numeric = r.columns.map(window.ShudataResultChart.isNumeric);
    $("grid").querySelector("thead").innerHTML = "<tr>" + r.columns.map(function (c) {
      return "<th scope='col' title='" + esc(c.type) + "'>" + esc(c.name) + "</th>";
    }).join("") + "</tr>";
    $("grid").querySelector("tbody").innerHTML = r.rows.map(function (row) {
      return "<tr>" + row.map(function (v, i) { return cell(v, numeric[i]); }).join("") + "</tr>";
    }).join("") || "<tr><td class='text-muted' colspan='" + Math.max(1, r.columns.length) + "'>" + esc(t("没有符合条件的行", "No rows")) + "</td></tr>";
    var first = r.rows.length ? r.offset + 1 : 0, last = r.offset + r.rows.length;
    var meta = t("第 ", "Rows ") + first.toLocaleString() + "–" + last.toLocaleString() + t(" 行", "") +
      (r.total !== null ? t("，共 ", " of ") + r.total.toLocaleString() + t(" 行", "") : "");
    if (r.truncated) { meta += t("（结果超过 ", " (more than ") + r.max_rows.toLocaleString() + t(" 行上限，只显示前这么多行）", "-row cap: only that many are shown)"); }
    if (r.byte_capped) { meta += t("；本页受字节上限截短", "; page cut by the byte limit"); }
    if (r.tables && r.tables.length) {
      meta += " · " + t("读取：", "read: ") + r.tables.map(function (tb) { return tb.name + " v" + tb.version; }).join("、");
    }
    $("result-meta").textContent = meta;
    $("result-meta").setAttribute("data-total", r.total === null ? "" : String(r.total));
    $("page-prev").disabled = r.offset <= 0;
    $("page-next").disabled = !r.has_more;
    document.querySelectorAll("[data-export]").forEach(function (b) { b.disabled = false; });
  }
  $("page-prev").addEventListener("click", function () { run(Math.max(0, state.offset - state.limit), false); });
  $("page-next").addEventListener("click", function () {
    if (state.result && state.result.next_offset !== null) { run(state.result.next_offset, false); }
  });
  $("page-size").addEventListener("change", function () {
    state.limit = Number(this.value);
    if (state.result) { run(0, false); }
  });

  /* -- chart ---------------------------------------------------------------------------------- */
  var KIND_LABELS = {map: ["地图", "Map"]};
  function fillSelect(sel, cols, value, allowNone) {
    sel.innerHTML = (allowNone ? "<option value=''>" + esc(t("（行数）", "(row count)")) + "</option>" : "") +
      cols.map(function (c) { return "<option" + (c.name === value ? " selected" : "") + ">" + esc(c.name) + "</option>"; }).join("");
  }
  function setupChart() {
    var r = state.result, kindSel = $("chart-kind"), kinds = window.ShudataResultChart.kinds(r);
    Array.prototype.slice.call(kindSel.options).forEach(function (o) { if (KIND_LABELS[o.value]) { o.remove(); } });
    kinds.forEach(function (k) {
      if (KIND_LABELS[k]) { var o = document.createElement("option"); o.value = k; o.textContent = t(KIND_LABELS[k][0], KIND_LABELS[k][1]); kindSel.appendChild(o); }
    });
    if (kinds.indexOf(kindSel.value) < 0) { kindSel.value = "bar"; }
    suggestColumns();
  }
  function suggestColumns() {
    var r = state.result, kind = $("chart-kind").value, s = window.ShudataResultChart.suggest(r, kind);
    var nums = r.columns.filter(window.ShudataResultChart.isNumeric);
    fillSelect($("chart-x"), r.columns, s.x, false);
    fillSelect($("chart-y"), kind === "scatter" ? nums : (kind === "map" ? r.columns : nums), s.y, kind !== "scatter" && kind !== "map");
    $("chart-x-label").textContent = kind === "pie" ? t("类别", "Category") : kind === "map" ? t("经度 / 区划列", "Longitude / region") : t("类别 / 横轴", "Category / x");
    $("chart-y-label").textContent = kind === "map" ? t("纬度 / 数值列", "Latitude / value") : t("数值 / 纵轴", "Value / y");
    if ($("pane-chart").classList.contains("active")) { drawChart(); }
  }
  /* The chart uses up to one full page (page_size_max rows) of the result, fetched once per run. */
  function chartData() {
    var r = state.result;
    if (state.chartRows) { return Promise.resolve(state.chartRows); }
    if (r.offset === 0 && !r.has_more) { state.chartRows = r; return Promise.resolve(r); }
    return sd.fetchJSON("/api/v1/query/runs", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({sql: state.sql, offset: 0, limit: PAGE_MAX, record: false})})
      .then(function (body) { state.chartRows = body; return body; });
  }
  function drawChart() {
    if (!state.result) { return; }
    var opts = {kind: $("chart-kind").value, x: $("chart-x").value, y: $("chart-y").value || null};
    $("chart-note").textContent = "";
    chartData().then(function (data) {
      return window.ShudataResultChart.render($("chart"), data, opts).then(function (info) {
        var note = t("图中 ", "") + info.points + t(" 个数据点", " points");
        if (data.has_more) { note += t("；只用了结果的前 ", "; from the first ") + data.rows.length + t(" 行", " rows of the result"); }
        if (info.merged) { note += t("；同一类别的数值已相加", "; values of the same category are added up"); }
        $("chart-note").textContent = note;
      });
    }).catch(function (err) { $("chart-note").textContent = err.message; });
  }
  $("chart-kind").addEventListener("change", suggestColumns);
  $("chart-x").addEventListener("change", drawChart);
  $("chart-y").addEventListener("change", drawChart);
  $("tab-chart").addEventListener("shown.bs.tab", function () {
    drawChart();
    var c = window.echarts && echarts.getInstanceByDom($("chart"));
    if (c) { c.resize(); }
  });

  /* -- export --------------------------------------------------------------------------------- */
  document.querySelectorAll("[data-export]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var fmt = btn.getAttribute("data-export"), name = $("export-name").value.trim() || t("查询结果", "query-result");
      btn.disabled = true;
      hideError();
      fetch("/api/v1/query?format=" + fmt + "&whole=true&filename=" + encodeURIComponent(name), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": sd.csrf(), "Accept-Language": sd.lang()},
        body: JSON.stringify({sql: state.sql})
      }).then(function (r) {
        if (!r.ok) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            var e = new Error((body.error && body.error.message) || r.status + " " + r.statusText); e.body = body; throw e;
          });
        }
        var rows = r.headers.get("X-Shudata-Rows");
        return r.blob().then(function (blob) {
          var a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = name + "." + fmt;
          document.body.appendChild(a); a.click(); a.remove();
          window.setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
          $("timer-text").textContent = t("已导出 ", "Exported ") + Number(rows).toLocaleString() + t(" 行（完整结果）", " rows (the whole result)");
        });
      }).catch(showError).then(function () { btn.disabled = false; });
    });
  });

  /* -- saved queries -------------------------------------------------------------------------- */
  function renderSaved() {
    $("saved-list").innerHTML = state.saved.map(function (q) {
      var vis = q.visibility === "department" ? t("本部门", "department") : t("仅本人", "only me");
      return "<div class='sd-wb-item' data-saved-id='" + q.id + "'><div class='d-flex gap-1 align-items-start'>" +
        "<button type='button' class='btn btn-link btn-sm p-0 text-start fw-semibold flex-grow-1' data-open='" + q.id + "'>" + esc(q.name) + "</button>" +
        "<span class='badge " + (q.visibility === "department" ? "text-bg-info" : "text-bg-light") + "'>" + esc(vis) + "</span>" +
        (q.mine ? "<button type='button' class='btn btn-sm btn-outline-danger py-0 px-1' data-delete='" + q.id + "' title='" + esc(t("删除", "Delete")) + "' aria-label='" + esc(t("删除", "Delete")) + "'><i class='bi bi-trash'></i></button>" : "") +
        "</div>" + (q.description ? "<div class='text-muted small'>" + esc(q.description) + "</div>" : "") +
        (q.mine ? "" : "<div class='text-muted small'>" + esc(t("来自 ", "by ")) + esc(q.owner) + "</div>") +
        "<pre class='sd-mono'>" + esc(q.sql) + "</pre></div>";
    }).join("") || "<div class='text-muted small p-2'>" + esc(t("还没有保存的查询。写好查询后点“保存”。", "No saved query yet: write one and press Save.")) + "</div>";
  }
  function loadSaved() {
    return sd.fetchJSON("/api/v1/query/saved").then(function (list) { state.saved = list; renderSaved(); })
      .catch(function (err) { $("saved-list").innerHTML = "<div class='alert alert-danger small m-1'>" + esc(err.message) + "</div>"; });
  }
  $("saved-list").addEventListener("click", function (ev) {
    var open = ev.target.closest("[data-open]"), del = ev.target.closest("[data-delete]");
    if (open) {
      var q = state.saved.filter(function (x) { return String(x.id) === open.getAttribute("data-open"); })[0];
      if (q) {
        editor.setValue(q.sql); state.savedId = q.id;
        if (q.mine) { $("save-name").value = q.name; $("save-desc").value = q.description; $("save-visibility").value = q.visibility; }
        editor.focus();
      }
    }
    if (del && window.confirm(t("删除这条已保存的查询？", "Delete this saved query?"))) {
      var gone = Number(del.getAttribute("data-delete"));
      sd.fetchJSON("/api/v1/query/saved/" + gone, {method: "DELETE"}).then(function () {
        if (state.savedId === gone) { state.savedId = null; }
        return loadSaved();
      }, showError);
    }
  });
  $("save-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = $("save-name").value.trim(), status = $("save-status");
    var body = {name: name, sql: editor.getValue(), description: $("save-desc").value.trim(), visibility: $("save-visibility").value};
    var mine = state.saved.filter(function (q) { return q.mine && q.name === name; })[0];
    status.className = "small mt-1";
    status.textContent = t("正在保存…", "Saving…");
    sd.fetchJSON(mine ? "/api/v1/query/saved/" + mine.id : "/api/v1/query/saved", {
      method: mine ? "PUT" : "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
    }).then(function (q) {
      state.savedId = q.id;
      status.className = "small mt-1 text-success";
      status.textContent = (mine ? t("已更新：", "Updated: ") : t("已保存：", "Saved: ")) + q.name;
      return loadSaved();
    }).catch(function (err) {
      status.className = "small mt-1 text-danger";
      status.textContent = err.message;
      if (err.body && err.body.error && err.body.error.details && err.body.error.details.mark) { showError(err); }
    });
  });

  /* -- history -------------------------------------------------------------------------------- */
  var STATUS = {success: ["成功", "ok", "text-bg-success"], refused: ["被拒绝", "refused", "text-bg-danger"],
                timeout: ["超时", "timed out", "text-bg-warning"], cancelled: ["已取消", "cancelled", "text-bg-secondary"]};
  function loadHistory() {
    return sd.fetchJSON("/api/v1/query/history?limit=50").then(function (page) {
      $("history-list").innerHTML = page.items.map(function (h) {
        var st = STATUS[h.status] || [h.status, h.status, "text-bg-light"];
        return "<div class='sd-wb-item' data-history-id='" + h.id + "'><div class='d-flex gap-1 align-items-center'>" +
          "<span class='badge " + st[2] + "'>" + esc(t(st[0], st[1])) + "</span><span class='text-muted small flex-grow-1'>" + esc(fmtTime(h.created_at)) + "</span>" +
          (h.rows !== null ? "<span class='small text-muted'>" + h.rows + t(" 行", " rows") + "</span>" : "") +
          "<button type='button' class='btn btn-link btn-sm p-0' data-reuse='" + h.id + "'>" + esc(t("载入", "Load")) + "</button></div>" +
          (h.error_code ? "<div class='small text-danger'>" + esc(sd.lang() === "en" ? h.error_code : (h.message || h.error_code)) + "</div>" : "") +
          "<pre class='sd-mono'>" + esc(h.sql) + "</pre></div>";
      }).join("") || "<div class='text-muted small p-2'>" + esc(t("还没有运行记录", "No runs yet")) + "</div>";
      state.history = page.items;
    }).catch(function (err) { $("history-list").innerHTML = "<div class='alert alert-danger small m-1'>" + esc(err.message) + "</div>"; });
  }
  $("history-list").addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-reuse]");
    if (!b) { return; }
    var h = (state.history || []).filter(function (x) { return String(x.id) === b.getAttribute("data-reuse"); })[0];
    if (h) { editor.setValue(h.sql); state.savedId = h.saved_id; editor.focus(); }
  });

  state.limit = Number($("page-size").value) || 50;
  state.savedId = root.dataset.saved ? Number(root.dataset.saved) : null;
  loadSchema();
  loadSaved();
  loadHistory();
})();

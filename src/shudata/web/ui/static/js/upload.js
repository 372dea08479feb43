/* Upload with a progress bar: XMLHttpRequest to POST /api/v1/resources/{code}/versions. */
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var wrap = document.getElementById("upload-progress-wrap");
  var bar = document.querySelector("#upload-progress .progress-bar");
  var pct = document.getElementById("upload-pct");
  var phase = document.getElementById("upload-phase");
  var result = document.getElementById("upload-result");
  var button = document.getElementById("upload-btn");

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function setProgress(p) {
    bar.style.width = p + "%";
    pct.textContent = p + "%";
    document.getElementById("upload-progress").setAttribute("aria-valuenow", p);
  }
  function list(title, items) {
    if (!items || !items.length) { return ""; }
    return "<div class='mt-1'><b>" + esc(title) + "</b> " + items.map(function (x) {
      if (typeof x === "object") {
        return esc(x.column || x.name || JSON.stringify(x)) +
          (x.expected ? " (" + sd.t("应为 ", "expected ") + esc(x.expected) +
            (x.value != null ? sd.t("，如 ", ", e.g. ") + esc(x.value) : "") + ")" : "");
      }
      return esc(x);
    }).join("、") + "</div>";
  }
  function showError(status, body) {
    var err = (body && body.error) || {};
    var d = err.details || {};
    var html = "<div class='alert alert-danger' role='alert' id='upload-error'><div class='fw-semibold'><i class='bi bi-x-octagon'></i> " +
      esc(err.message || (sd.t("上传失败", "Upload failed") + " (" + status + ")")) + "</div>" +
      list(sd.t("缺少的列：", "Missing columns:"), d.missing) +
      list(sd.t("多出的列：", "Extra columns:"), d.extra) +
      list(sd.t("类型不符的列：", "Mistyped columns:"), d.mistyped) +
      (d.problems ? list(sd.t("问题：", "Problems:"), d.problems.map(function (p) { return (p.field ? p.field + ": " : "") + (p.message || p); })) : "") +
      raggedNote(d) + "</div>";
    result.innerHTML = html;
  }
  function showOk(body) {
    var v = body.version != null ? body.version : (body.data_version || {}).version;
    var cols = (body.columns || []).map(function (c) { return esc(c.name || c); }).join("、");
    result.innerHTML = "<div class='alert alert-success' role='status' id='upload-ok'><div class='fw-semibold'><i class='bi bi-check2-circle'></i> " +
      sd.t("已保存为数据版本 v", "Stored as data version v") + esc(v) + "</div>" +
      "<div class='small mt-1'>" + sd.t("行数：", "Rows: ") + esc(body.rows) +
      (body.encoding ? " · " + sd.t("检测到的编码：", "Detected encoding: ") + "<b id='detected-encoding'>" + esc(body.encoding) + "</b>" : "") +
      (body.header_row != null ? " · " + sd.t("表头行：", "Header row: ") + "<b id='detected-header'>" + esc(body.header_row) + "</b>" : "") +
      (body.skipped_rows ? " · " + sd.t("跳过行：", "Skipped rows: ") + esc(body.skipped_rows) : "") + "</div>" +
      (cols ? "<div class='small text-secondary'>" + sd.t("列：", "Columns: ") + cols + "</div>" : "") +
      missingNote(body.columns || []) +
      "<a class='btn btn-sm btn-success mt-2' id='view-entry' href='" + esc(form.dataset.entryUrl) + "'>" + sd.t("查看预览与图表", "See preview and chart") + "</a></div>";
  }

  function missingNote(columns) {
    var hit = columns.filter(function (c) { return c.missing_values; });
    if (!hit.length) { return ""; }
    return "<div class='small mt-1' id='missing-counts'><i class='bi bi-eraser'></i> " +
      sd.t("读作缺失值的占位符：", "Placeholders read as missing: ") + hit.map(function (c) {
        return esc(c.name) + " <b>" + esc(c.missing_values) + "</b>";
      }).join("、") + "</div>";
  }
  function raggedNote(d) {
    if (!d.rows || !d.rows.length || d.expected == null) { return ""; }
    return "<details class='small mt-1' id='ragged-rows'><summary>" + sd.t("列数不符的行（前 ", "Rows with the wrong field count (first ") +
      esc(d.rows.length) + sd.t(" 行）", ")") + "</summary><ul class='mb-0'>" + d.rows.map(function (r) {
        return "<li>" + (r.line != null ? sd.t("第 ", "line ") + esc(r.line) + sd.t(" 行：", ": ") : "") +
          esc(r.actual) + sd.t(" 列（应为 ", " fields (expected ") + esc(r.expected) + sd.t(" 列）", ")") +
          " <span class='sd-mono text-secondary'>" + esc(r.text) + "</span></li>";
      }).join("") + "</ul></details>";
  }

  /* Before uploading: what the platform understands of the file (POST /api/v1/lake/preview). */
  var check = document.getElementById("file-check");
  function showCheck(p) {
    var c = p.check || {};
    var head = (p.columns || []).map(esc).join("、");
    var html = "<div class='border rounded p-2 small bg-light' id='file-detected'>" +
      "<div><i class='bi bi-info-circle'></i> " + sd.t("格式：", "Format: ") + esc(p.format) +
      (p.encoding ? " · " + sd.t("编码：", "encoding: ") + "<b>" + esc(p.encoding) + "</b>" : "") +
      (p.header_row != null ? " · " + sd.t("表头在第 ", "header on row ") + esc(p.header_row) + sd.t(" 行", "") : "") +
      (p.footer_rows ? " · " + sd.t("表尾注释 ", "footer notes: ") + esc(p.footer_rows) + sd.t(" 行", " rows") : "") + "</div>" +
      "<div class='text-secondary'>" + sd.t("列：", "Columns: ") + head + "</div>" +
      (p.missing_values ? "<div class='text-secondary' id='file-missing-values'>" + sd.t("读作缺失值：", "Read as missing: ") +
        (p.missing_values.length ? p.missing_values.map(esc).join(" ") : sd.t("仅空白单元格", "blank cells only")) + "</div>" : "");
    if (p.check) {
      html += c.ok ? "<div class='text-success mt-1'><i class='bi bi-check2-circle'></i> " + sd.t("列与信息项一致", "Columns match the information items") + "</div>"
        : "<div class='text-danger mt-1'><i class='bi bi-exclamation-triangle'></i> " + esc(sd.lang() === "en" ? c.message_en : c.message) + "</div>";
    }
    check.innerHTML = html + "</div>";
    if (p.header_row != null) { form.elements.header_row.placeholder = sd.t("自动：", "auto: ") + p.header_row; }
    if (p.footer_rows != null) { form.elements.skip_footer.placeholder = sd.t("自动：", "auto: ") + p.footer_rows; }
  }
  form.elements.file.addEventListener("change", function () {
    check.innerHTML = "";
    if (!form.elements.file.files.length || !form.dataset.previewUrl) { return; }
    var data = new FormData();
    data.append("file", form.elements.file.files[0]);
    data.append("resource", form.dataset.resource);
    check.innerHTML = "<div class='small text-secondary'><span class='spinner-border spinner-border-sm'></span> " + sd.t("正在识别文件…", "Reading the file…") + "</div>";
    sd.fetchJSON(form.dataset.previewUrl, {method: "POST", body: data}).then(showCheck).catch(function (err) {
      check.innerHTML = "<div class='small text-danger'>" + esc(err.message) + "</div>";
    });
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = form.elements.file;
    if (!file.files.length) {
      result.innerHTML = "<div class='alert alert-warning' role='alert'>" + sd.t("请先选择文件", "Choose a file first") + "</div>";
      return;
    }
    var data = new FormData();
    data.append("file", file.files[0]);
    ["header_row", "skip_footer", "sheet", "encoding", "comment", "missing_values"].forEach(function (k) {
      if (!form.elements[k]) { return; }
      var val = (form.elements[k].value || "").trim();
      if (val) { data.append(k, val); }
    });
    if (form.elements.save_missing_values && form.elements.save_missing_values.checked) {
      data.append("save_missing_values", "true");
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRF-Token", sd.csrf());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Accept-Language", sd.lang());
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { setProgress(Math.round(100 * e.loaded / e.total)); }
    });
    xhr.upload.addEventListener("load", function () {
      setProgress(100);
      phase.textContent = sd.t("服务器处理中（识别编码、校验列、写入 Parquet）…", "Processing (encoding, column check, Parquet)…");
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      wrap.classList.add("d-none");
      button.disabled = false;
      if (xhr.status >= 200 && xhr.status < 300) { showOk(body); } else { showError(xhr.status, body); }
    });
    xhr.addEventListener("error", function () {
      wrap.classList.add("d-none");
      button.disabled = false;
      showError(0, {error: {message: sd.t("网络错误，上传中断", "Network error, upload interrupted")}});
    });
    result.innerHTML = "";
    setProgress(0);
    phase.textContent = sd.t("上传中", "Uploading");
    wrap.classList.remove("d-none");
    button.disabled = true;
    xhr.send(data);
  });
})();

/* Register/edit form: information-item rows, base-registry templates, items proposed from a file. */
(function () {
  "use strict";
  var body = document.getElementById("items-body");
  var tpl = document.getElementById("item-row-template");
  if (!body || !tpl) { return; }

  function addRow(item) {
    var row = tpl.content.firstElementChild.cloneNode(true);
    item = item || {};
    row.querySelector('[name="item_name"]').value = item.name || "";
    row.querySelector('[name="item_type"]').value = item.data_type || "C";
    row.querySelector('[name="item_length"]').value = item.length || "";
    row.querySelector('[name="item_description"]').value = item.description || "";
    body.appendChild(row);
    return row;
  }
  function setItems(items) {
    body.innerHTML = "";
    (items || []).forEach(addRow);
    if (!items || !items.length) { addRow(); }
  }
  document.getElementById("add-item").addEventListener("click", function () {
    addRow().querySelector("input").focus();
  });
  body.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-remove-item]");
    if (btn) { btn.closest("tr").remove(); }
  });
  if (!body.children.length) { addRow(); }

  /* Base-registry templates: fill name, abstract, category and items. */
  var tjson = document.getElementById("templates-json");
  var templates = tjson ? JSON.parse(tjson.textContent) : [];
  document.querySelectorAll("[data-template]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var tp = templates[+btn.getAttribute("data-template")];
      var form = document.getElementById("entry-form");
      form.elements.name.value = form.elements.name.value || tp.name;
      form.elements.abstract.value = form.elements.abstract.value || tp.abstract;
      if (form.elements.category_code) { form.elements.category_code.value = tp.category_code || ""; }
      form.elements.category_path.value = tp.category_path || "";
      form.elements.classification.value = "基础";
      document.getElementById("base_registry").value = tp.key || "";
      setItems(tp.information_items);
      document.querySelectorAll("[data-template]").forEach(function (b) { b.classList.remove("active"); });
      btn.classList.add("active");
    });
  });

  /* Propose items from a file through the lake preview API. */
  var file = document.getElementById("propose-file");
  var status = document.getElementById("propose-status");
  file.addEventListener("change", function () {
    if (!file.files.length) { return; }
    var data = new FormData();
    data.append("file", file.files[0]);
    status.className = "px-3 pt-2 small text-secondary";
    status.textContent = sd.t("正在识别…", "Reading the file…");
    sd.fetchJSON(file.getAttribute("data-propose-url"), {method: "POST", body: data}).then(function (res) {
      var items = res.proposed_items || res.information_items || res.items || [];
      setItems(items);
      var form = document.getElementById("entry-form");
      if (res.format && !form.elements.format_type.value) { form.elements.format_type.value = res.format; }
      status.className = "px-3 pt-2 small text-success";
      status.textContent = sd.t("已从文件识别 ", "Proposed ") + items.length + sd.t(" 个信息项", " items from the file") +
        (res.encoding ? " · " + res.encoding : "") + sd.t("，请核对后保存。", "; check them before saving.");
    }).catch(function (err) {
      status.className = "px-3 pt-2 small text-danger";
      status.textContent = err.message;
    }).finally(function () { file.value = ""; });
  });
})();

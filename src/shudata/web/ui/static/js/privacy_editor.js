/* Masking-policy editor: show the parameter fields of the operator chosen in each row (the others
   stay disabled, so the form sends only the chosen operator's parameters); the profile selector
   reloads the editor for that profile. No inline script: the CSP allows none. */
(function () {
  "use strict";
  function showParams(select) {
    var row = select.getAttribute("data-row");
    document.querySelectorAll('fieldset.sd-op-params[data-row="' + row + '"]').forEach(function (fs) {
      var on = fs.getAttribute("data-op") === select.value;
      fs.hidden = !on;
      fs.disabled = !on;
    });
  }
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.classList && el.classList.contains("sd-op-select")) { showParams(el); }
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) { el.form.submit(); }
  });
  document.querySelectorAll("select.sd-op-select").forEach(showParams);
}());

// Bulk bars: a "select all on this page" box ticks every row box of its form, and the
// count of ticked rows is shown beside the bar's buttons.
(function () {
  "use strict";
  function rows(form) {
    return Array.prototype.slice.call(
      document.querySelectorAll('input[type="checkbox"][name="ids"][form="' + form + '"]'));
  }
  function update(form) {
    var ticked = rows(form).filter(function (box) { return box.checked; }).length;
    document.querySelectorAll('[data-chosen-count="' + form + '"]').forEach(function (el) {
      el.textContent = ticked.toLocaleString(document.documentElement.lang || undefined);
    });
    document.querySelectorAll('[data-needs-chosen="' + form + '"]').forEach(function (el) {
      el.disabled = ticked === 0;
    });
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    var form = box.getAttribute("data-select-all");
    if (form) {
      rows(form).forEach(function (row) { row.checked = box.checked; });
      update(form);
    } else if (box.name === "ids" && box.getAttribute("form")) {
      update(box.getAttribute("form"));
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-select-all]").forEach(function (box) {
      update(box.getAttribute("data-select-all"));
    });
  });
})();

/* The journey builder: the trigger form shows only the chosen type's fields (all are shown
   without JS; the server reads only the chosen type's), and an opened step form closes the
   other step forms, so one edit is in progress at a time. */
(function () {
  "use strict";

  function syncTrigger(form) {
    var kind = form.querySelector("[name=trigger_type]").value;
    form.querySelectorAll("[data-kinds]").forEach(function (field) {
      var shown = field.dataset.kinds.split(" ").indexOf(kind) >= 0;
      field.hidden = !shown;
      field.querySelectorAll("input, select").forEach(function (input) {
        input.disabled = !shown;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-trigger-form]").forEach(function (form) {
      syncTrigger(form);
      form.querySelector("[name=trigger_type]").addEventListener("change", function () {
        syncTrigger(form);
      });
    });
    document.querySelectorAll("#builder-flow details").forEach(function (details) {
      details.addEventListener("toggle", function () {
        if (!details.open) { return; }
        document.querySelectorAll("#builder-flow details[open]").forEach(function (other) {
          if (other !== details) { other.open = false; }
        });
        var first = details.querySelector("input:not([type=hidden]), select, textarea");
        if (first) { first.focus(); }
      });
    });
  });
})();

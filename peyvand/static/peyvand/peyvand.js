// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Custom-field form: the choices box matters only for choice fields.
  function syncChoices() {
    var type = document.getElementById("id_type");
    var box = document.getElementById("choices-field");
    if (!type || !box) return;
    box.hidden = type.value !== "choice";
  }

  // Contact filters: "is empty" takes no value.
  function syncFilterValue() {
    var op = document.getElementById("id_op");
    var value = document.getElementById("id_value");
    if (!op || !value) return;
    value.disabled = op.value === "empty";
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "id_type") syncChoices();
    if (event.target.id === "id_op") syncFilterValue();
  });
  document.addEventListener("DOMContentLoaded", function () {
    syncChoices();
    syncFilterValue();
  });
})();

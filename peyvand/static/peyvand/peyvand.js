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
  // Main menu: one group's pages open at a time; a click elsewhere or Escape closes them.
  function groups() {
    return document.querySelectorAll(".navgroup > details");
  }
  function closeGroups(except) {
    groups().forEach(function (group) {
      if (group !== except) group.open = false;
    });
  }
  document.addEventListener("toggle", function (event) {
    var target = event.target;
    if (!target.open) return;
    if (target.parentElement && target.parentElement.classList.contains("navgroup")) {
      closeGroups(target);
    } else if (target.id === "navmenu" && window.matchMedia("(max-width: 760px)").matches) {
      // The phone menu opens on the group of the page being shown.
      var current = document.querySelector(".navgroup summary.current");
      if (current) current.parentElement.open = true;
    }
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".navgroup")) closeGroups(null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector(".navgroup > details[open]");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });

  // A browser that cannot style a closed <details>'s content gets the menu opened on a
  // wide screen, where the stylesheet shows it in the bar.
  function openWideMenu() {
    var menu = document.getElementById("navmenu");
    if (menu && !CSS.supports("selector(::details-content)") &&
        window.matchMedia("(min-width: 761px)").matches) {
      menu.open = true;
    }
  }

  // A form (or the button pressed) marked data-confirm asks first (cancelling a campaign,
  // deleting a date, turning on a journey recipe).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.dataset && button.dataset.confirm) ||
      (form.dataset && form.dataset.confirm);
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    syncChoices();
    syncFilterValue();
    openWideMenu();
  });
})();

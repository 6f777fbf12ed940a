// Import progress page: poll the job's small JSON status and redraw the bar and totals;
// once the job has finished, reload so the server renders the result (and its links).
(function () {
  "use strict";
  var FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹";

  function digits(value) {
    var text = String(value);
    if (document.documentElement.lang !== "fa") return text;
    return text.replace(/[0-9]/g, function (d) { return FA_DIGITS[+d]; });
  }

  function draw(box, info) {
    var bar = document.getElementById("import-progress");
    var percent = document.getElementById("import-percent");
    if (bar && info.progress !== null) {
      bar.value = info.progress;
      if (percent) {
        percent.textContent = digits(info.progress) +
          (document.documentElement.lang === "fa" ? "٪" : "%");
      }
    }
    var totals = info.totals || {};
    box.querySelectorAll("[data-total]").forEach(function (cell) {
      var name = cell.getAttribute("data-total");
      cell.textContent = digits(totals[name] || 0);
    });
  }

  function poll(box) {
    fetch(box.getAttribute("data-status-url"), {credentials: "same-origin",
                                                headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (info) {
        draw(box, info);
        if (info.finished) {
          window.location.reload();
        } else {
          window.setTimeout(function () { poll(box); }, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(function () { poll(box); }, 5000);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("import-job");
    if (box && box.getAttribute("data-status-url")) poll(box);
  });
})();

// A month-grid date picker for any <input data-datepicker>, also those added later (the rule
// builder draws its inputs after load). On a Persian page: Jalali months, Persian digits,
// weeks from Saturday, the day written as "1403/05/12"; otherwise Gregorian months, weeks from
// Monday, ISO "2024-08-02" — the forms of date the server and the rule builder read. The
// calendar arithmetic is the browser's own (Intl), stepped a day at a time. Labels come
// translated from the data-* attributes of #datepicker-strings. Without this file the inputs
// still take typed dates.
(function () {
  "use strict";

  var DAY = 86400000;
  var FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹";
  var enhanced = new WeakSet();
  var fa, strings, calendar, jalali, monthTitle, dayLabel, weekdayShort, weekdayLong, weekStart;
  var shown = null;  // the open picker: {field, input, toggle, popup, view, focus, chosen}
  var popups = 0;

  // ---- calendar arithmetic ---------------------------------------------------------------

  function numeric(name) {
    return new Intl.DateTimeFormat((name === "persian" ? "fa-IR" : "en-US") + "-u-ca-" + name +
      "-nu-latn", {year: "numeric", month: "numeric", day: "numeric", timeZone: "UTC"});
  }

  // [year, month, day] of a UTC midnight in the calendar of `format`.
  function partsOf(ms, format) {
    var parts = {};
    (format || calendar).formatToParts(new Date(ms)).forEach(function (p) {
      parts[p.type] = p.value;
    });
    return [parseInt(parts.year, 10), parseInt(parts.month, 10), parseInt(parts.day, 10)];
  }

  function monthStart(ms, format) { return ms - (partsOf(ms, format)[2] - 1) * DAY; }

  function monthLength(start, format) {
    var month = partsOf(start, format)[1];
    var n = 28;
    while (partsOf(start + n * DAY, format)[1] === month) n++;
    return n;
  }

  // The same day of the month `months` away (or its last day, if shorter).
  function addMonths(ms, months) {
    var day = partsOf(ms)[2];
    var start = monthStart(ms);
    for (; months > 0; months--) start += monthLength(start) * DAY;
    for (; months < 0; months++) start = monthStart(start - DAY);
    return start + (Math.min(day, monthLength(start)) - 1) * DAY;
  }

  function today() {
    var now = new Date();
    return Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function ascii(text) {
    return String(text).replace(/[۰-۹]/g, function (d) { return FA_DIGITS.indexOf(d); })
      .replace(/[٠-٩]/g, function (d) { return d.charCodeAt(0) - 0x660; });
  }

  function localDigits(text) {
    return fa ? String(text).replace(/[0-9]/g, function (d) { return FA_DIGITS[+d]; }) : text;
  }

  // What the input holds as a UTC midnight, read as the server reads dates (a year before 1700
  // is Jalali), or null.
  function parse(text) {
    var match = /^\s*(\d{4})\s*[-\/.]\s*(\d{1,2})\s*[-\/.]\s*(\d{1,2})/.exec(ascii(text || ""));
    if (!match) return null;
    var y = +match[1], m = +match[2], d = +match[3];
    if (m < 1 || m > 12 || d < 1) return null;
    if (y >= 1700) {
      var ms = Date.UTC(y, m - 1, d);
      return new Date(ms).getUTCDate() === d ? ms : null;
    }
    // 1 April falls in Farvardin of the Jalali year 621 years before: walk month by month.
    var start = monthStart(Date.UTC(y + 621, 3, 1), jalali);
    for (var i = 1; i < m; i++) start += monthLength(start, jalali) * DAY;
    return d <= monthLength(start, jalali) ? start + (d - 1) * DAY : null;
  }

  function written(ms) {
    if (fa) {
      var j = partsOf(ms);
      return j[0] + "/" + pad(j[1]) + "/" + pad(j[2]);
    }
    var date = new Date(ms);
    return date.getUTCFullYear() + "-" + pad(date.getUTCMonth() + 1) + "-" +
      pad(date.getUTCDate());
  }

  // ---- drawing -----------------------------------------------------------------------------

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function icon() {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", "M2.5 3.5h11v10h-11zM2.5 6.5h11M5 2v3M11 2v3");
    svg.appendChild(path);
    return svg;
  }

  function button(className, label, text) {
    var b = el("button", {type: "button", "class": className, "aria-label": label, title: label},
               text);
    return b;
  }

  function build() {
    var id = "datepicker-" + (++popups);
    var popup = el("div", {"class": "dp-popup", role: "dialog", "aria-label": strings.choose,
                           id: id});
    var head = el("div", {"class": "dp-head"});
    // "‹" and "›" are mirrored by the browser on a right-to-left page.
    head.appendChild(button("dp-prev", strings.previous, "‹"));
    head.appendChild(el("div", {"class": "dp-title", id: id + "-title", "aria-live": "polite"}));
    head.appendChild(button("dp-next", strings.next, "›"));
    popup.appendChild(head);
    var grid = el("table", {"class": "dp-grid", role: "grid", "aria-labelledby": id + "-title"});
    var names = el("tr");
    // Any week will do for the names: 6 January 2024 was a Saturday.
    for (var i = 0; i < 7; i++) {
      var day = Date.UTC(2024, 0, 6 + (weekStart + 1 + i) % 7);
      var th = el("th", {scope: "col", abbr: weekdayLong.format(new Date(day))},
                  weekdayShort.format(new Date(day)));
      names.appendChild(th);
    }
    grid.appendChild(el("thead")).appendChild(names);
    grid.appendChild(el("tbody"));
    popup.appendChild(grid);
    var foot = el("div", {"class": "dp-foot"});
    foot.appendChild(el("button", {type: "button", "class": "btn btn-small dp-today"},
                        strings.today));
    foot.appendChild(el("button", {type: "button", "class": "btn btn-small dp-close"},
                        strings.close));
    popup.appendChild(foot);
    return popup;
  }

  function draw(moveFocus) {
    var popup = shown.popup;
    var start = monthStart(shown.focus);
    var length = monthLength(start);
    var now = today();
    popup.querySelector(".dp-title").textContent = monthTitle.format(new Date(start));
    var body = popup.querySelector("tbody");
    body.textContent = "";
    var blank = (new Date(start).getUTCDay() - weekStart + 7) % 7;
    var row = el("tr");
    for (var b = 0; b < blank; b++) row.appendChild(el("td"));
    for (var d = 1; d <= length; d++) {
      var ms = start + (d - 1) * DAY;
      if (row.children.length === 7) { body.appendChild(row); row = el("tr"); }
      var cell = el("td", {role: "gridcell"});
      var day = el("button", {type: "button", "class": "dp-day", "data-day": written(ms),
                              "data-ms": ms, tabindex: ms === shown.focus ? "0" : "-1",
                              "aria-label": dayLabel.format(new Date(ms))}, localDigits(d));
      if (ms === shown.chosen) {
        day.setAttribute("aria-pressed", "true");
        cell.setAttribute("aria-selected", "true");
      }
      if (ms === now) day.setAttribute("aria-current", "date");
      cell.appendChild(day);
      row.appendChild(cell);
    }
    while (row.children.length < 7) row.appendChild(el("td"));
    body.appendChild(row);
    if (moveFocus) popup.querySelector(".dp-day[tabindex='0']").focus();
  }

  // ---- opening, moving, picking ----------------------------------------------------------

  function openFor(field) {
    if (shown && shown.field === field) return;
    close(false);
    var input = field.querySelector("input");
    var chosen = parse(input.value);
    shown = {field: field, input: input, toggle: field.querySelector(".dp-toggle"),
             popup: build(), chosen: chosen, focus: chosen === null ? today() : chosen};
    shown.toggle.setAttribute("aria-expanded", "true");
    shown.toggle.setAttribute("aria-controls", shown.popup.id);
    field.appendChild(shown.popup);
    draw(true);
    // Kept inside the window: hung from the field's other edge when its own would overflow.
    var box = shown.popup.getBoundingClientRect();
    if (box.left < 0 || box.right > document.documentElement.clientWidth) {
      shown.popup.classList.add("dp-flip");
    }
    shown.popup.scrollIntoView({block: "nearest"});
  }

  function close(refocus) {
    if (!shown) return;
    var toggle = shown.toggle;
    shown.popup.remove();
    toggle.setAttribute("aria-expanded", "false");
    toggle.removeAttribute("aria-controls");
    shown = null;
    if (refocus) toggle.focus();
  }

  function pick(ms) {
    var input = shown.input;
    input.value = written(ms);
    close(true);
    // As if typed: the rule builder and any other listener see the new date.
    input.dispatchEvent(new Event("input", {bubbles: true}));
    input.dispatchEvent(new Event("change", {bubbles: true}));
  }

  function moveTo(ms, moveFocus) {
    shown.focus = ms;
    draw(moveFocus);
  }

  var STEPS = {ArrowUp: -7, ArrowDown: 7};

  function onKey(event) {
    if (!shown) return;
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close(true);
      return;
    }
    if (!event.target.classList.contains("dp-day")) return;
    var forward = fa ? "ArrowLeft" : "ArrowRight";  // the next day sits on the reading side
    var backward = fa ? "ArrowRight" : "ArrowLeft";
    var step = STEPS[event.key] || (event.key === forward ? 1 : event.key === backward ? -1 : 0);
    var offset = (new Date(shown.focus).getUTCDay() - weekStart + 7) % 7;
    if (step) moveTo(shown.focus + step * DAY, true);
    else if (event.key === "PageUp") moveTo(addMonths(shown.focus, -1), true);
    else if (event.key === "PageDown") moveTo(addMonths(shown.focus, 1), true);
    else if (event.key === "Home") moveTo(shown.focus - offset * DAY, true);
    else if (event.key === "End") moveTo(shown.focus + (6 - offset) * DAY, true);
    else if (event.key === "Enter" || event.key === " ") pick(shown.focus);
    else return;
    event.preventDefault();
  }

  function onClick(event) {
    var target = event.target.closest("button");
    if (!target || !shown || !shown.popup.contains(target)) return;
    if (target.classList.contains("dp-day")) pick(+target.getAttribute("data-ms"));
    else if (target.classList.contains("dp-prev")) moveTo(addMonths(shown.focus, -1), false);
    else if (target.classList.contains("dp-next")) moveTo(addMonths(shown.focus, 1), false);
    else if (target.classList.contains("dp-today")) moveTo(today(), true);
    else if (target.classList.contains("dp-close")) close(true);
  }

  // ---- attaching ---------------------------------------------------------------------------

  function attach(input) {
    input.setAttribute("data-datepicker", "");  // found by init if it has not run yet
    if (!strings || enhanced.has(input) || !input.parentNode) return;
    enhanced.add(input);
    var field = el("span", {"class": "dp-field"});
    input.parentNode.insertBefore(field, input);
    field.appendChild(input);
    var toggle = button("btn dp-toggle", strings.choose);
    toggle.setAttribute("aria-haspopup", "dialog");
    toggle.setAttribute("aria-expanded", "false");
    toggle.appendChild(icon());
    field.appendChild(toggle);
    toggle.addEventListener("click", function () {
      if (shown && shown.field === field) close(true); else openFor(field);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && event.altKey) { event.preventDefault(); openFor(field); }
    });
    field.addEventListener("keydown", onKey);
    field.addEventListener("click", onClick);
    field.addEventListener("focusout", function (event) {
      // Tabbing out of the field closes it; a click inside leaves no next focus and keeps it.
      if (shown && shown.field === field && event.relatedTarget &&
          !field.contains(event.relatedTarget)) close(false);
    });
  }

  function attachWithin(node) {
    if (node.nodeType !== 1) return;
    if (node.matches("input[data-datepicker]")) attach(node);
    node.querySelectorAll("input[data-datepicker]").forEach(attach);
  }

  function init() {
    var lang = document.documentElement.lang || "en";
    fa = lang === "fa" || lang.indexOf("fa-") === 0;
    // No translated labels (the page did not include includes/datepicker.html): no picker.
    var source = document.getElementById("datepicker-strings");
    if (!source) return;
    strings = source.dataset;
    var name = fa ? "persian" : "gregory";
    var locale = (fa ? "fa-IR" : lang) + "-u-ca-" + name;
    calendar = numeric(name);
    jalali = numeric("persian");
    weekStart = fa ? 6 : 1;
    monthTitle = new Intl.DateTimeFormat(locale, {year: "numeric", month: "long", timeZone: "UTC"});
    dayLabel = new Intl.DateTimeFormat(locale, {weekday: "long", year: "numeric", month: "long",
                                                day: "numeric", timeZone: "UTC"});
    weekdayShort = new Intl.DateTimeFormat(locale, {weekday: fa ? "narrow" : "short",
                                                    timeZone: "UTC"});
    weekdayLong = new Intl.DateTimeFormat(locale, {weekday: "long", timeZone: "UTC"});
    attachWithin(document.body);
    new MutationObserver(function (records) {
      records.forEach(function (r) { r.addedNodes.forEach(attachWithin); });
    }).observe(document.body, {childList: true, subtree: true});
    document.addEventListener("pointerdown", function (event) {
      if (shown && !shown.field.contains(event.target)) close(false);
    });
  }

  window.PeyvandDatepicker = {attach: attach};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

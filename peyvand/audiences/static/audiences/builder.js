// The segment rule builder: nested all/any groups of conditions drawn from the path catalogue
// (embedded in the page as JSON), written to the rules box as the rule JSON, with a live count
// from the server. Without this file the rules box alone still works.
(function () {
  "use strict";

  var FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹";
  var DAY = 86400000;
  var RELATIVE = ["within_last", "not_within_last", "within_next"];
  var DATE_TYPES = ["date", "datetime", "birthday"];

  var box, textarea, catalogue, S, fields = {}, root, fa, countTimer, countSeq = 0;
  var serverErrors = {};

  // ---- digits and dates ------------------------------------------------------------------

  function digits(value) {
    var text = String(value);
    return fa ? text.replace(/[0-9]/g, function (d) { return FA_DIGITS[+d]; }) : text;
  }

  function ascii(text) {
    return String(text).replace(/[۰-۹]/g, function (d) { return FA_DIGITS.indexOf(d); })
      .replace(/[٠-٩]/g, function (d) { return d.charCodeAt(0) - 0x660; });
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  var persian = new Intl.DateTimeFormat("en-US-u-ca-persian-nu-latn",
    {year: "numeric", month: "numeric", day: "numeric", timeZone: "UTC"});

  function jalaliOf(ms) {
    var parts = {};
    persian.formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return [parseInt(parts.year, 10), parseInt(parts.month, 10), parseInt(parts.day, 10)];
  }

  function dayOfYear(m, d) { return (m <= 6 ? (m - 1) * 31 : 186 + (m - 7) * 30) + d; }

  // A Jalali day to its Gregorian ms: start from a close guess and walk by the difference
  // the browser's Persian calendar reports (a day that does not exist never settles).
  function fromJalali(y, m, d) {
    if (m < 1 || m > 12 || d < 1 || d > 31) return null;
    var guess = Date.UTC(y + 621, 2, 20) + (dayOfYear(m, d) - 1) * DAY;
    for (var i = 0; i < 4; i++) {
      var got = jalaliOf(guess);
      var diff = (y - got[0]) * 365 + dayOfYear(m, d) - dayOfYear(got[1], got[2]);
      if (diff === 0) return guess;
      guess += diff * DAY;
    }
    return null;
  }

  function isoOf(ms) {
    var date = new Date(ms);
    return date.getUTCFullYear() + "-" + pad(date.getUTCMonth() + 1) + "-" + pad(date.getUTCDate());
  }

  // As the server reads dates (base/dates.py): a year before 1700 is Jalali. Returns the ISO
  // day, or null for text that is not a date.
  function toIso(text) {
    var match = /^\s*(\d{4})\s*[-\/.]\s*(\d{1,2})\s*[-\/.]\s*(\d{1,2})\s*$/.exec(ascii(text));
    if (!match) return null;
    var y = +match[1], m = +match[2], d = +match[3];
    if (y < 1700) {
      var ms = fromJalali(y, m, d);
      return ms === null ? null : isoOf(ms);
    }
    var day = Date.UTC(y, m - 1, d);
    return isoOf(day) === y + "-" + pad(m) + "-" + pad(d) ? isoOf(day) : null;
  }

  // How a stored ISO day is shown for editing: Jalali on a Persian page.
  function showDate(value) {
    if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(value)) return value || "";
    if (!fa) return value.slice(0, 10);
    var j = jalaliOf(Date.parse(value.slice(0, 10) + "T00:00:00Z"));
    return j[0] + "/" + pad(j[1]) + "/" + pad(j[2]);
  }

  function toNumber(text) {
    var clean = ascii(text).replace(/[,\u066c\s]/g, "").replace("\u066b", ".");
    if (clean === "" || isNaN(Number(clean))) return null;
    return Number(clean);
  }

  function splitList(text) {
    return String(text).split(/[,،\n]/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s; });
  }

  // ---- the model: groups and conditions ------------------------------------------------

  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

  function parse(rule) {
    if (isObject(rule) && Object.keys(rule).length === 1 && "not" in rule) {
      var inner = parse(rule.not);
      inner.negate = !inner.negate;
      return inner;
    }
    if (isObject(rule) && Object.keys(rule).length === 1 &&
        (Array.isArray(rule.all) || Array.isArray(rule.any))) {
      var mode = Array.isArray(rule.all) ? "all" : "any";
      return {kind: "group", mode: mode, negate: false, children: rule[mode].map(parse)};
    }
    rule = isObject(rule) ? rule : {};
    return {kind: "cond", negate: false, field: rule.field || "", op: rule.op || "",
            value: rule.value, inLast: isObject(rule.in_last) ? rule.in_last.days : null};
  }

  function newCondition() {
    return {kind: "cond", negate: false, field: "", op: "", value: undefined, inLast: null};
  }

  function serialise(node, path) {
    node.path = path;
    var inner = node.negate ? path + ".not" : path;
    var out;
    if (node.kind === "group") {
      out = {};
      out[node.mode] = node.children.map(function (child, i) {
        return serialise(child, inner + "." + node.mode + "[" + i + "]");
      });
    } else {
      out = {field: node.field, op: node.op};
      if (node.value !== undefined) out.value = node.value;
      if (node.inLast !== null && node.inLast !== undefined && node.inLast !== "") {
        out.in_last = {days: node.inLast};
      }
    }
    return node.negate ? {not: out} : out;
  }

  function walk(node, visit) {
    visit(node);
    if (node.kind === "group") node.children.forEach(function (c) { walk(c, visit); });
  }

  // ---- value editors, by the field's type and the op ----------------------------------

  function editorOf(field, op) {
    if (!field || !op || op === "is_set" || op === "is_not_set") return "none";
    var type = field.type;
    if (type === "activity") return op === "has" || op === "has_not" ? "activity" : "days";
    if (RELATIVE.indexOf(op) >= 0) return "days";
    if (type === "segment") return op === "in" ? "segments" : "segment";
    if (type === "boolean") return "boolean";
    if (type === "set") return field.path === "orders.products" ? "products" : "list";
    if (type === "choice") return op === "in" ? "choices" : "choice";
    if (type === "text") return op === "in" ? "list" : "text";
    if (DATE_TYPES.indexOf(type) >= 0) return op === "between" ? "dates" : "date";
    if (type === "money") return op === "between" ? "moneys" : "money";
    return op === "between" ? "numbers" : "number";
  }

  function defaultValue(editor, field) {
    if (editor === "boolean") return true;
    if (editor === "choice" && field.choices.length) return field.choices[0].value;
    if (editor === "activity") return {};
    return undefined;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function option(value, label, selected) {
    var o = el("option", {value: value, text: label});
    if (selected) o.selected = true;
    return o;
  }

  function textInput(value, attrs, onInput) {
    var input = el("input", Object.assign({type: "text"}, attrs));
    input.value = value === undefined || value === null ? "" : value;
    input.addEventListener("input", function () { onInput(input.value, input); });
    return input;
  }

  var scale = function () { return Math.pow(10, catalogue.currency.exponent); };

  function numberInput(value, money, onValue, label) {
    var shown = value === undefined || value === null ? "" :
      (money && typeof value === "number" ? value / scale() : value);
    return textInput(shown, {inputmode: "decimal", dir: "ltr", "aria-label": label,
                             className: "rb-number"}, function (text) {
      var n = toNumber(text);
      onValue(n === null ? (text === "" ? undefined : text) :
        (money ? Math.round(n * scale()) : n));
    });
  }

  function dateInput(value, onValue, label) {
    // data-datepicker: the shared picker (peyvand/datepicker.js) gives it a calendar button.
    return textInput(showDate(value), {dir: "ltr", placeholder: S.datePlaceholder,
                                       "aria-label": label, className: "rb-date",
                                       "data-datepicker": ""},
      function (text) {
        var iso = toIso(text);
        onValue(iso || (text === "" ? undefined : text));  // the server names what is wrong
      });
  }

  function daysInput(days, onValue, placeholder) {
    var input = textInput(days === undefined || days === null ? "" : days,
      {inputmode: "numeric", dir: "ltr", className: "rb-days",
       "aria-label": placeholder ? S.days + " (" + placeholder + ")" : S.days,
       title: placeholder || "", placeholder: placeholder ? "—" : ""}, function (text) {
        var n = toNumber(text);
        onValue(n === null ? (text === "" ? null : text) : n);
      });
    return input;
  }

  function unit(text) { return el("span", {className: "rb-unit", text: text}); }

  function valueEditor(node, field) {
    var editor = editorOf(field, node.op);
    var wrap = el("span", {className: "rb-value", "data-editor": editor});
    var set = function (v) { node.value = v; changed(false); };
    var money = editor === "money" || editor === "moneys";
    if (editor === "none") return wrap;
    if (editor === "text") {
      wrap.appendChild(textInput(node.value, {"aria-label": S.value, dir: "auto"}, set));
    } else if (editor === "list" || editor === "products") {
      var items = Array.isArray(node.value) ? node.value : (node.value ? [node.value] : []);
      var setList = function (text) {
        var list = splitList(text);
        // One value reads as itself; set paths take a list just as well.
        set(list.length === 0 ? undefined :
          (field.type === "set" && list.length === 1 ? list[0] : list));
      };
      var listInput = textInput(items.join(", "), {"aria-label": S.value,
                                                   placeholder: S.commaList, dir: "auto",
                                                   className: "rb-list"}, setList);
      wrap.appendChild(listInput);
      if (editor === "products") wrap.appendChild(productSearch(listInput, setList));
    } else if (editor === "choice" || editor === "choices") {
      var select = el("select", {"aria-label": S.value});
      if (editor === "choices") select.multiple = true;
      else select.appendChild(option("", S.choose, node.value === undefined));
      var chosen = Array.isArray(node.value) ? node.value : [node.value];
      field.choices.forEach(function (c) {
        select.appendChild(option(c.value, c.label, chosen.indexOf(c.value) >= 0));
      });
      select.addEventListener("change", function () {
        if (editor === "choices") {
          set(Array.prototype.filter.call(select.options, function (o) { return o.selected; })
            .map(function (o) { return o.value; }));
        } else {
          set(select.value || undefined);
        }
      });
      wrap.appendChild(select);
    } else if (editor === "segment" || editor === "segments") {
      var seg = el("select", {"aria-label": S.value});
      if (editor === "segments") seg.multiple = true;
      else seg.appendChild(option("", S.choose, node.value === undefined));
      var ids = Array.isArray(node.value) ? node.value : [node.value];
      catalogue.segments.forEach(function (s) {
        seg.appendChild(option(String(s.id), s.name, ids.indexOf(s.id) >= 0));
      });
      seg.addEventListener("change", function () {
        var picked = Array.prototype.filter.call(seg.options, function (o) {
          return o.selected && o.value;
        }).map(function (o) { return +o.value; });
        set(editor === "segments" ? picked : picked[0]);
      });
      wrap.appendChild(seg);
    } else if (editor === "boolean") {
      var yesNo = el("select", {"aria-label": S.value}, [
        option("true", S.yes, node.value !== false), option("false", S.no, node.value === false)]);
      yesNo.addEventListener("change", function () { set(yesNo.value === "true"); });
      wrap.appendChild(yesNo);
    } else if (editor === "number" || editor === "money") {
      wrap.appendChild(numberInput(node.value, money, set, S.value));
      if (money) wrap.appendChild(unit(catalogue.currency.label));
    } else if (editor === "numbers" || editor === "moneys" || editor === "dates") {
      var pair = Array.isArray(node.value) ? node.value.slice(0, 2) : [undefined, undefined];
      var setPart = function (i) {
        return function (v) { pair[i] = v; set([pair[0], pair[1]]); };
      };
      [0, 1].forEach(function (i) {
        if (i === 1) wrap.appendChild(unit(S.and));
        wrap.appendChild(editor === "dates" ? dateInput(pair[i], setPart(i), S.value) :
          numberInput(pair[i], money, setPart(i), S.value));
      });
      if (money) wrap.appendChild(unit(catalogue.currency.label));
    } else if (editor === "date") {
      wrap.appendChild(dateInput(node.value, set, S.value));
    } else if (editor === "days") {
      var days = isObject(node.value) ? node.value.days : undefined;
      wrap.appendChild(daysInput(days, function (n) {
        set(n === null ? undefined : {days: n});
      }));
      wrap.appendChild(unit(S.days));
    } else if (editor === "activity") {
      // "at least once / never", optionally within N days; a broadcast given in the JSON stays.
      var value = isObject(node.value) ? node.value : {};
      wrap.appendChild(unit(S.inLast));
      wrap.appendChild(daysInput(value.days, function (n) {
        var next = Object.assign({}, isObject(node.value) ? node.value : {});
        if (n === null) delete next.days; else next.days = n;
        set(next);
      }, S.inLastHint));
      wrap.appendChild(unit(S.days));
    }
    return wrap;
  }

  var productLists = 0;

  function productSearch(listInput, setList) {
    var id = "rb-products-" + (++productLists);
    var list = el("datalist", {id: id});
    var search = el("input", {type: "search", list: id, placeholder: S.searchProducts,
                              "aria-label": S.searchProducts, className: "rb-search"});
    var timer;
    search.addEventListener("input", function () {
      var picked = Array.prototype.some.call(list.options, function (o) {
        return o.value === search.value;
      });
      if (picked) {
        var items = splitList(listInput.value);
        if (items.indexOf(search.value) < 0) items.push(search.value);
        listInput.value = items.join(", ");
        setList(listInput.value);
        search.value = "";
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = box.getAttribute("data-products-url") + "?q=" + encodeURIComponent(search.value);
        fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (r) { return r.ok ? r.json() : {items: []}; })
          .then(function (found) {
            list.textContent = "";
            found.items.forEach(function (p) {
              list.appendChild(el("option", {value: p.sku, label: p.name + " · " + p.sku}));
            });
          });
      }, 250);
    });
    return el("span", {className: "rb-products"}, [search, list]);
  }

  // ---- drawing ---------------------------------------------------------------------------

  function notToggle(node) {
    var check = el("input", {type: "checkbox", className: "rb-not-check"});
    check.checked = !!node.negate;
    check.addEventListener("change", function () { node.negate = check.checked; changed(true); });
    return el("label", {className: "rb-not", title: S.not}, [check, el("span", {text: S.not})]);
  }

  function removeButton(parent, node, label) {
    var button = el("button", {type: "button", className: "btn btn-small rb-remove",
                               "aria-label": label, title: label, text: "×"});
    button.addEventListener("click", function () {
      parent.children.splice(parent.children.indexOf(node), 1);
      changed(true);
    });
    return button;
  }

  function fieldPicker(node) {
    var select = el("select", {className: "rb-field", "aria-label": S.field});
    select.appendChild(option("", S.chooseField, !node.field));
    var known = false;
    catalogue.groups.forEach(function (group) {
      if (!group.fields.length) return;
      var optgroup = el("optgroup", {label: group.label});
      group.fields.forEach(function (f) {
        optgroup.appendChild(option(f.path, f.label, f.path === node.field));
        known = known || f.path === node.field;
      });
      select.appendChild(optgroup);
    });
    if (node.field && !known) select.appendChild(option(node.field, node.field, true));
    select.addEventListener("change", function () {
      node.field = select.value;
      var field = fields[node.field];
      node.op = field ? field.ops[0] : "";
      node.value = field ? defaultValue(editorOf(field, node.op), field) : undefined;
      node.inLast = null;
      changed(true);
    });
    return select;
  }

  function opPicker(node, field) {
    var select = el("select", {className: "rb-op", "aria-label": S.op});
    var words = catalogue.ops[field.type] || {};
    field.ops.forEach(function (op) { select.appendChild(option(op, words[op] || op, op === node.op)); });
    if (field.ops.indexOf(node.op) < 0) select.appendChild(option(node.op, node.op, true));
    select.addEventListener("change", function () {
      var before = editorOf(field, node.op);
      node.op = select.value;
      var after = editorOf(field, node.op);
      if (before !== after) node.value = defaultValue(after, field);
      changed(true);
    });
    return select;
  }

  function drawCondition(node, parent) {
    var field = fields[node.field];
    var row = el("div", {className: "rb-cond", "data-path": node.path || ""});
    var line = el("div", {className: "rb-line"}, [notToggle(node), fieldPicker(node)]);
    if (field) {
      line.appendChild(opPicker(node, field));
      line.appendChild(valueEditor(node, field));
      if (field.in_last) {
        line.appendChild(el("span", {className: "rb-window"}, [
          unit(S.inLast),
          daysInput(node.inLast, function (n) { node.inLast = n; changed(false); }, S.inLastHint),
          unit(S.days)]));
      }
    }
    line.appendChild(removeButton(parent, node, S.removeCondition));
    row.appendChild(line);
    if (field && field.help) row.appendChild(el("small", {className: "help", text: field.help}));
    row.appendChild(el("p", {className: "field-error rb-error", role: "alert", hidden: ""}));
    return row;
  }

  function drawGroup(node, parent, depth) {
    var group = el("div", {className: "rb-group" + (depth ? " rb-nested" : ""),
                           "data-path": node.path || "", "data-mode": node.mode});
    var mode = el("select", {className: "rb-mode", "aria-label": S.all + " / " + S.any}, [
      option("all", S.all, node.mode === "all"), option("any", S.any, node.mode === "any")]);
    mode.addEventListener("change", function () { node.mode = mode.value; changed(true); });
    var head = el("div", {className: "rb-group-head"}, [notToggle(node), mode]);
    if (parent) head.appendChild(removeButton(parent, node, S.removeGroup));
    group.appendChild(head);
    group.appendChild(el("p", {className: "field-error rb-error", role: "alert", hidden: ""}));
    var list = el("ol", {className: "rb-children"});
    node.children.forEach(function (child) {
      list.appendChild(el("li", {}, [child.kind === "group" ?
        drawGroup(child, node, depth + 1) : drawCondition(child, node)]));
    });
    if (!node.children.length) {
      list.appendChild(el("li", {className: "muted small rb-empty", text: S.empty}));
    }
    group.appendChild(list);
    var addCondition = el("button", {type: "button", className: "btn btn-small rb-add-condition",
                                     text: "+ " + S.addCondition});
    addCondition.addEventListener("click", function () {
      node.children.push(newCondition());
      changed(true, function () {
        var selects = box.querySelectorAll(".rb-field");
        // focus the new condition's field picker: the last one in this group
        var mine = Array.prototype.filter.call(selects, function (s) {
          return s.closest(".rb-group") === box.querySelector(
            '.rb-group[data-path="' + node.path + '"]');
        });
        if (mine.length) mine[mine.length - 1].focus();
      });
    });
    var actions = el("div", {className: "rb-group-actions"}, [addCondition]);
    if (depth < 7) {
      var addGroup = el("button", {type: "button", className: "btn btn-small rb-add-group",
                                   text: "+ " + S.addGroup});
      addGroup.addEventListener("click", function () {
        node.children.push({kind: "group", mode: node.mode === "all" ? "any" : "all",
                            negate: false, children: [newCondition()]});
        changed(true);
      });
      actions.appendChild(addGroup);
    }
    group.appendChild(actions);
    return group;
  }

  function draw() {
    box.textContent = "";
    box.appendChild(drawGroup(root, null, 0));
    showErrors(serverErrors);
  }

  // ---- errors beside their nodes -------------------------------------------------------

  function showErrors(errors) {
    box.querySelectorAll(".rb-error").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    box.querySelectorAll(".has-error").forEach(function (n) { n.classList.remove("has-error"); });
    var nodes = box.querySelectorAll("[data-path]");
    var unplaced = [];
    Object.keys(errors || {}).forEach(function (where) {
      var best = null;
      nodes.forEach(function (n) {
        var path = n.getAttribute("data-path");
        var next = where.charAt(path.length);
        if (path && where.indexOf(path) === 0 && (next === "" || next === "." || next === "[") &&
            (!best || path.length > best.getAttribute("data-path").length)) best = n;
      });
      if (!best) { unplaced.push(errors[where]); return; }
      var slot = best.querySelector(":scope > .rb-error");
      slot.textContent = (slot.textContent ? slot.textContent + " " : "") + errors[where];
      slot.hidden = false;
      best.classList.add("has-error");
    });
    var state = document.getElementById("live-count-state");
    if (unplaced.length && state) state.textContent = unplaced.join(" ");
  }

  // ---- keeping the JSON and the count in step ------------------------------------------

  function currentRule() { return serialise(root, "rules"); }

  function changed(redraw, after) {
    var rule = currentRule();
    if (document.activeElement !== textarea) textarea.value = JSON.stringify(rule, null, 2);
    serverErrors = {};
    if (redraw) draw(); else showErrors({});
    if (after) after();
    scheduleCount();
  }

  function scheduleCount() {
    // The number shown is for an older rule until the answer comes.
    box.closest("form").classList.add("rb-counting");
    document.getElementById("live-count-number").removeAttribute("data-count");
    clearTimeout(countTimer);
    countTimer = setTimeout(count, 400);
  }

  function csrf() {
    var input = document.querySelector("#segment-form [name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function count() {
    var number = document.getElementById("live-count-number");
    var state = document.getElementById("live-count-state");
    var items = document.getElementById("live-count-items");
    var incomplete = false;
    walk(root, function (n) { if (n.kind === "cond" && !n.field) incomplete = true; });
    if (incomplete) {
      box.closest("form").classList.remove("rb-counting");
      countSeq++;  // an answer still on its way is for an older rule
      number.textContent = "—";
      number.removeAttribute("data-count");
      state.textContent = S.noneYet;
      items.textContent = "";
      return;
    }
    var seq = ++countSeq;
    state.textContent = S.counting;
    box.closest("form").classList.add("rb-counting");
    var body = {rules: currentRule()};
    var segment = box.getAttribute("data-segment");
    if (segment) body.segment = +segment;
    fetch(box.getAttribute("data-preview-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRFToken": csrf()},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (answer) {
      if (seq !== countSeq) return;  // a newer rule is being counted
      box.closest("form").classList.remove("rb-counting");
      items.textContent = "";
      if (!answer.ok) {
        number.textContent = "—";
        number.removeAttribute("data-count");
        state.textContent = answer.data.errors ? S.fixRule : S.failed;
        serverErrors = answer.data.errors || {};
        showErrors(serverErrors);
        return;
      }
      serverErrors = {};
      showErrors({});
      number.textContent = digits(answer.data.count.toLocaleString("en-US"))
        .replace(/,/g, fa ? "\u066c" : ",");
      number.setAttribute("data-count", answer.data.count);
      state.textContent = S.match;
      answer.data.items.forEach(function (item) {
        items.appendChild(el("li", {}, [el("a", {href: item.url, text: item.name, dir: "auto"})]));
      });
      if (answer.data.count > answer.data.items.length) {
        items.appendChild(el("li", {className: "muted", text: S.more}));
      }
    }).catch(function () {
      if (seq !== countSeq) return;
      box.closest("form").classList.remove("rb-counting");
      number.textContent = "—";
      state.textContent = S.failed;
    });
  }

  function load(rule) {
    root = parse(rule);
    if (root.kind !== "group") {
      root = {kind: "group", mode: "all", negate: false, children: [root]};
    }
    serialise(root, "rules");  // gives every node its path before it is drawn
  }

  function init() {
    box = document.getElementById("rule-builder");
    textarea = document.getElementById("id_rules");
    var data = document.getElementById("builder-catalogue");
    if (!box || !textarea || !data) return;
    catalogue = JSON.parse(data.textContent);
    S = catalogue.strings;
    fa = catalogue.language === "fa";
    catalogue.groups.forEach(function (g) { g.fields.forEach(function (f) { fields[f.path] = f; }); });
    var errors = document.getElementById("builder-errors");
    serverErrors = errors ? JSON.parse(errors.textContent) || {} : {};
    var rule;
    try { rule = JSON.parse(textarea.value || '{"all": []}'); } catch (e) { rule = {all: []}; }
    load(rule);
    box.hidden = false;
    document.getElementById("live-count").hidden = false;
    document.getElementById("rule-json").open = false;
    box.closest(".rb-layout").classList.add("rb-ready");
    draw();
    // Power users may type the JSON: a rule that parses redraws the builder.
    textarea.addEventListener("input", function () {
      var typed;
      try { typed = JSON.parse(textarea.value); } catch (e) {
        textarea.classList.add("rb-bad-json");
        document.getElementById("live-count-state").textContent = S.badJson;
        return;
      }
      textarea.classList.remove("rb-bad-json");
      load(typed);
      serverErrors = {};
      draw();
      scheduleCount();
    });
    count();
  }

  document.addEventListener("DOMContentLoaded", init);
})();

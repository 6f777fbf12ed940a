// The e-mail block editor: edits the list of blocks kept as JSON in the form's blocks box
// (#id_blocks), block by block: add, edit, move, delete, columns with their own blocks, products
// picked by SKU. The server checks and renders them (messaging/blocks.py). Without this file
// the JSON box alone still works.
(function () {
  "use strict";

  var config, S, box, editor, details, blocks, datalistId = "bk-products";

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

  function save() { box.value = JSON.stringify(blocks, null, 1); }

  function fresh(type) {
    switch (type) {
      case "heading": return {type: type, text: "", level: 2};
      case "text": return {type: type, text: ""};
      case "image": return {type: type, src: "", alt: "", href: ""};
      case "button": return {type: type, label: "", href: ""};
      case "columns": return {type: type, columns: [[], []]};
      case "products": return {type: type, skus: [""], links: {}};
      case "cross_sell": return {type: type, limit: 3, title: ""};
      case "coupon": return {type: type, code: "", text: ""};
      case "footer": return {type: type, text: ""};
      default: return {type: type};
    }
  }

  // One labelled input bound to block[name]; typing saves without redrawing (focus stays).
  function input(block, name, label, opts) {
    opts = opts || {};
    var id = "bk-" + Math.random().toString(36).slice(2);
    var attrs = {id: id, "data-field": name, dir: opts.dir || "auto"};
    var field = opts.multiline ? el("textarea", Object.assign(attrs, {rows: opts.rows || 4}))
      : el("input", Object.assign(attrs, {type: "text"}));
    field.value = block[name] === undefined || block[name] === null ? "" : block[name];
    field.addEventListener("input", function () { block[name] = field.value; save(); });
    return el("div", {className: "bk-field"}, [el("label", {"for": id, text: label}), field,
      opts.help ? el("small", {className: "help", text: opts.help}) : null]);
  }

  function select(block, name, label, options, asNumber, onChange) {
    var id = "bk-" + Math.random().toString(36).slice(2);
    var field = el("select", {id: id, "data-field": name});
    options.forEach(function (o) {
      var option = el("option", {value: String(o[0]), text: o[1]});
      if (String(block[name]) === String(o[0])) option.selected = true;
      field.appendChild(option);
    });
    field.addEventListener("change", function () {
      block[name] = asNumber ? parseInt(field.value, 10) : field.value;
      save();
      if (onChange) onChange();
    });
    return el("div", {className: "bk-field"}, [el("label", {"for": id, text: label}), field]);
  }

  function products(block) {
    if (!Array.isArray(block.skus)) block.skus = [];
    if (!block.links || typeof block.links !== "object") block.links = {};
    var wrap = el("div", {className: "bk-products"});
    block.skus.forEach(function (sku, i) {
      var skuInput = el("input", {type: "text", list: datalistId, dir: "ltr", "data-field": "sku",
                                  "aria-label": S.sku, placeholder: S.sku});
      var linkInput = el("input", {type: "text", inputmode: "url", dir: "ltr", "data-field": "link",
                                   "aria-label": S.link, placeholder: S.link});
      skuInput.value = sku;
      linkInput.value = block.links[sku] || "";
      skuInput.addEventListener("input", function () {
        var old = block.skus[i];
        block.skus[i] = skuInput.value.trim();
        if (block.links[old] !== undefined) {
          block.links[block.skus[i]] = block.links[old];
          delete block.links[old];
        }
        save();
      });
      linkInput.addEventListener("input", function () {
        if (linkInput.value.trim()) block.links[block.skus[i]] = linkInput.value.trim();
        else delete block.links[block.skus[i]];
        save();
      });
      var remove = el("button", {type: "button", className: "btn btn-small", text: "×",
                                 title: S.removeProduct, "aria-label": S.removeProduct});
      remove.addEventListener("click", function () {
        delete block.links[block.skus[i]];
        block.skus.splice(i, 1);
        draw();
      });
      wrap.appendChild(el("div", {className: "bk-product"}, [skuInput, linkInput, remove]));
    });
    var add = el("button", {type: "button", className: "btn btn-small", text: S.addProduct,
                            "data-action": "add-product"});
    add.addEventListener("click", function () { block.skus.push(""); draw(); });
    wrap.appendChild(add);
    return wrap;
  }

  function fields(block) {
    switch (block.type) {
      case "heading":
        return [input(block, "text", S.headingText),
                select(block, "level", S.level, [[1, S.levels[0]], [2, S.levels[1]],
                                                 [3, S.levels[2]]], true)];
      case "text": return [input(block, "text", S.text, {multiline: true, rows: 5})];
      case "image":
        return [input(block, "src", S.src, {dir: "ltr"}), input(block, "alt", S.alt),
                input(block, "href", S.href, {dir: "ltr"})];
      case "button":
        return [input(block, "label", S.label), input(block, "href", S.href, {dir: "ltr"})];
      case "columns": return columns(block);
      case "products": return [products(block)];
      case "cross_sell":
        return [select(block, "limit", S.limit, [1, 2, 3, 4, 5, 6].map(function (n) {
          return [n, String(n)]; }), true), input(block, "title", S.title),
                el("p", {className: "help", text: S.crossSellHelp})];
      case "coupon":
        return [input(block, "code", S.code, {dir: "ltr", help: S.couponHelp}),
                input(block, "text", S.couponText)];
      case "footer":
        return [input(block, "text", S.footerText, {multiline: true, rows: 3,
                                                    help: S.footerHelp})];
      default: return [];
    }
  }

  function columns(block) {
    if (!Array.isArray(block.columns)) block.columns = [[], []];
    var count = {n: block.columns.length};
    var pick = select(count, "n", S.columns, [[2, "2"], [3, "3"]], true, function () {
      while (block.columns.length < count.n) block.columns.push([]);
      if (block.columns.length > count.n) {
        var dropped = block.columns.slice(count.n).some(function (c) { return c.length; });
        if (dropped && !window.confirm(S.confirmRemove)) { draw(); return; }
        block.columns = block.columns.slice(0, count.n);
      }
      draw();
    });
    var grid = el("div", {className: "bk-columns"});
    block.columns.forEach(function (column, n) {
      grid.appendChild(el("div", {className: "bk-column"}, [
        el("h4", {text: S.column.replace("%(n)s", n + 1)}),
        list(column, config.simple, S.addInColumn)]));
    });
    return [pick, grid];
  }

  function button(text, action, onClick, disabled) {
    var b = el("button", {type: "button", className: "btn btn-small", text: text,
                          "data-action": action});
    b.disabled = !!disabled;
    b.addEventListener("click", onClick);
    return b;
  }

  // A list of blocks (the e-mail's, or a column's) with its own "add" picker.
  function list(items, types, addLabel) {
    var ol = el("ol", {className: "bk-list"});
    items.forEach(function (block, i) {
      var head = el("div", {className: "bk-head"}, [
        el("strong", {text: config.types[block.type] || String(block.type)}),
        button("↑", "up", function () { move(items, i, -1); }, i === 0),
        button("↓", "down", function () { move(items, i, 1); }, i === items.length - 1),
        button(S.remove, "delete", function () {
          if (window.confirm(S.confirmRemove)) { items.splice(i, 1); draw(); }
        })]);
      head.querySelector("[data-action=up]").setAttribute("aria-label", S.up);
      head.querySelector("[data-action=down]").setAttribute("aria-label", S.down);
      ol.appendChild(el("li", {className: "bk-block", "data-type": block.type,
                               "data-index": String(i)}, [head].concat(fields(block))));
    });
    if (!items.length && items === blocks) ol.appendChild(el("li", {className: "muted",
                                                                     text: S.empty}));
    var picker = el("select", {"aria-label": addLabel, className: "bk-add-type"});
    types.forEach(function (t) { picker.appendChild(el("option", {value: t, text: config.types[t]})); });
    var add = button(addLabel, "add", function () { items.push(fresh(picker.value)); draw(); });
    return el("div", {className: "bk-group"}, [ol, el("div", {className: "bk-add"}, [picker, add])]);
  }

  function move(items, i, step) {
    var j = i + step;
    if (j < 0 || j >= items.length) return;
    var item = items.splice(i, 1)[0];
    items.splice(j, 0, item);
    draw();
  }

  // Reasons the server gave ("blocks.2.href") mark their top-level block.
  function markErrors() {
    document.querySelectorAll("#block-errors li[data-where]").forEach(function (li) {
      var index = li.getAttribute("data-where").split(".")[1];
      var card = editor.querySelector(":scope > .bk-group > .bk-list > .bk-block[data-index='" +
                                      index + "']");
      if (card) card.classList.add("has-error");
    });
  }

  function draw() {
    save();
    editor.textContent = "";
    editor.appendChild(list(blocks, Object.keys(config.types), S.add));
    markErrors();
  }

  function modes() {
    var channel = document.getElementById("id_channel");
    var email = !channel || channel.value === "email";
    var designed = email && (document.querySelector("input[name=mode]:checked") || {}).value === "blocks";
    document.getElementById("design-mode").hidden = !email;
    document.getElementById("blocks-section").hidden = !designed;
    document.getElementById("html-field").hidden = designed;
    document.getElementById("text-made").hidden = !designed;
    document.getElementById("html-made").hidden = true;  // the box itself is hidden instead
    if (!email) {
      var html = document.querySelector("input[name=mode][value=html]");
      if (html) html.checked = true;
    }
  }

  function start() {
    var data = document.getElementById("block-editor-config");
    editor = document.getElementById("block-editor");
    box = document.getElementById("id_blocks");
    details = document.getElementById("blocks-json");
    if (!data || !editor || !box) return;
    config = JSON.parse(data.textContent);
    S = config.strings;
    var datalist = el("datalist", {id: datalistId});
    config.products.forEach(function (p) {
      datalist.appendChild(el("option", {value: p.sku, label: p.name + " · " + p.sku}));
    });
    document.body.appendChild(datalist);
    document.querySelectorAll("input[name=mode]").forEach(function (r) {
      r.addEventListener("change", modes);
    });
    var channel = document.getElementById("id_channel");
    if (channel) channel.addEventListener("change", modes);
    modes();
    try {
      blocks = JSON.parse(box.value || "[]");
      if (!Array.isArray(blocks)) throw new Error("not a list");
    } catch (e) {
      editor.parentNode.insertBefore(el("p", {className: "field-error", text: S.badJson}), editor);
      return;  // the JSON box stays for the author to fix
    }
    editor.hidden = false;
    details.open = false;
    box.addEventListener("change", function () {
      try { blocks = JSON.parse(box.value); draw(); } catch (e) { /* keep typing */ }
    });
    draw();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

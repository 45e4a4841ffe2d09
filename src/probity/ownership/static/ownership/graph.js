/* The ownership chains as an interactive graph (SVG, no library, no network).
 * Reads the nodes and edges from the JSON block #ownership-graph-data that the page renders; the
 * list of chains under the graph is the same information without script. Owners are drawn above
 * what they own. Select a node (click, or Tab then focus) to highlight every chain through it;
 * Enter or a double click opens its page. Drag to pan, the wheel or the buttons to zoom.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var NODE_W = 170, NODE_H = 34, GAP_X = 30, GAP_Y = 70;

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function levels(nodes, edges) {
    // Level 0 is the subject; an owner sits one level above the highest thing it owns on a chain.
    var level = {}, owners = {};
    nodes.forEach(function (n) { owners[n.id] = []; });
    edges.forEach(function (e) { if (owners[e.to]) { owners[e.to].push(e.from); } });
    var start = nodes.filter(function (n) { return n.subject; });
    var queue = start.map(function (n) { level[n.id] = 0; return n.id; });
    var steps = 0, limit = nodes.length * nodes.length + 10;
    while (queue.length && steps < limit) {
      var id = queue.shift();
      steps += 1;
      owners[id].forEach(function (owner) {
        var wanted = level[id] + 1;
        if ((level[owner] === undefined || level[owner] < wanted) && wanted <= nodes.length) {
          level[owner] = wanted;
          queue.push(owner);
        }
      });
    }
    nodes.forEach(function (n) { if (level[n.id] === undefined) { level[n.id] = 0; } });
    return level;
  }

  function shorten(text) { return text.length > 24 ? text.slice(0, 23) + "…" : text; }

  function draw(container, data) {
    var nodes = data.nodes, edges = data.edges;
    if (!nodes.length) { container.hidden = true; return; }
    var level = levels(nodes, edges);
    var top = Math.max.apply(null, nodes.map(function (n) { return level[n.id]; }));
    var rows = {};
    nodes.forEach(function (n) { (rows[level[n.id]] = rows[level[n.id]] || []).push(n); });
    var widest = Math.max.apply(null, Object.keys(rows).map(function (k) { return rows[k].length; }));
    var width = Math.max(widest * (NODE_W + GAP_X) + GAP_X, 400);
    var height = (top + 1) * (NODE_H + GAP_Y) + GAP_Y / 2;
    var place = {};
    Object.keys(rows).forEach(function (k) {
      var row = rows[k];
      var offset = (width - row.length * (NODE_W + GAP_X) + GAP_X) / 2;
      row.forEach(function (n, i) {
        place[n.id] = { x: offset + i * (NODE_W + GAP_X), y: GAP_Y / 2 + (top - level[n.id]) * (NODE_H + GAP_Y) };
      });
    });

    var controls = document.createElement("div");
    controls.className = "ownership-graph-controls";
    var view = { x: 0, y: 0, w: width, h: height };
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, height: Math.min(height, 600) });
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "ownership-arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
      markerWidth: "8", markerHeight: "8", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#667" }, marker);
    var edgeLayer = el("g", {}, svg), nodeLayer = el("g", {}, svg);

    var edgeViews = edges.map(function (e) {
      var a = place[e.from], b = place[e.to];
      var g = el("g", { "class": "edge" }, edgeLayer);
      if (!a || !b) { return { data: e, g: g }; }
      var x1 = a.x + NODE_W / 2, y1 = a.y + NODE_H, x2 = b.x + NODE_W / 2, y2 = b.y;
      if (y2 <= y1) { // a cycle drawn upwards: bend round the side
        el("path", { d: "M " + (a.x + NODE_W) + " " + (a.y + NODE_H / 2) + " C " + (a.x + NODE_W + 60) + " " + a.y + ", " +
          (b.x + NODE_W + 60) + " " + (b.y + NODE_H) + ", " + (b.x + NODE_W) + " " + (b.y + NODE_H / 2), "marker-end": "url(#ownership-arrow)" }, g);
      } else {
        el("path", { d: "M " + x1 + " " + y1 + " C " + x1 + " " + (y1 + GAP_Y / 2) + ", " + x2 + " " + (y2 - GAP_Y / 2) + ", " + x2 + " " + y2,
          "marker-end": "url(#ownership-arrow)" }, g);
      }
      if (e.label) {
        var label = el("text", { x: (x1 + x2) / 2 + 4, y: (y1 + y2) / 2, "text-anchor": "start" }, g);
        label.textContent = e.label;
      }
      return { data: e, g: g };
    });

    var partyUrl = container.getAttribute("data-party-url");
    var nodeViews = {};
    nodes.forEach(function (n) {
      var p = place[n.id];
      var classes = ["node", n.kind];
      if (n.subject) { classes.push("subject"); }
      if (n.status) { classes.push("status-" + n.status); }
      if (n.pep) { classes.push("pep"); }
      var g = el("g", { "class": classes.join(" "), tabindex: "0", role: "link", "aria-label": n.name,
        transform: "translate(" + p.x + "," + p.y + ")" }, nodeLayer);
      el("rect", { width: NODE_W, height: NODE_H, rx: 4 }, g);
      var title = el("title", {}, g);
      title.textContent = n.name;
      var text = el("text", { x: NODE_W / 2, y: NODE_H / 2 + 4, "text-anchor": "middle" }, g);
      text.textContent = shorten(n.name);
      var open = function () { window.location.href = partyUrl.replace(/\/0\/$/, "/" + n.id + "/"); };
      g.addEventListener("click", function () { select(n.id); });
      g.addEventListener("focus", function () { select(n.id); });
      g.addEventListener("dblclick", open);
      g.addEventListener("keydown", function (event) { if (event.key === "Enter") { open(); } });
      nodeViews[n.id] = g;
    });

    function reach(start, forward) {
      var seen = {}, stack = [start];
      seen[start] = true;
      while (stack.length) {
        var id = stack.pop();
        edges.forEach(function (e) {
          var from = forward ? e.from : e.to, to = forward ? e.to : e.from;
          if (from === id && !seen[to]) { seen[to] = true; stack.push(to); }
        });
      }
      return seen;
    }

    function select(id) {
      var down = reach(id, true), up = reach(id, false);
      Object.keys(nodeViews).forEach(function (key) {
        var on = down[key] || up[key];
        nodeViews[key].classList.toggle("dim", !on);
        nodeViews[key].classList.toggle("selected", String(key) === String(id));
      });
      edgeViews.forEach(function (view) {
        var e = view.data;
        var on = (down[e.from] && down[e.to]) || (up[e.from] && up[e.to]);
        view.g.classList.toggle("highlight", !!on);
        view.g.classList.toggle("dim", !on);
      });
    }

    function setView() { svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" ")); }
    function zoom(factor) {
      var cx = view.x + view.w / 2, cy = view.y + view.h / 2;
      view.w *= factor; view.h *= factor; view.x = cx - view.w / 2; view.y = cy - view.h / 2;
      setView();
    }
    [["zoom-in", function () { zoom(0.8); }], ["zoom-out", function () { zoom(1.25); }],
     ["reset", function () { view = { x: 0, y: 0, w: width, h: height }; setView(); }]].forEach(function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = container.getAttribute("data-" + item[0]);
      button.addEventListener("click", item[1]);
      controls.appendChild(button);
    });
    svg.addEventListener("wheel", function (event) { event.preventDefault(); zoom(event.deltaY < 0 ? 0.9 : 1.1); }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (event) {
      if (event.target.closest && event.target.closest(".node")) { return; }
      drag = { x: event.clientX, y: event.clientY, vx: view.x, vy: view.y };
      svg.setPointerCapture(event.pointerId);
    });
    svg.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      var scale = view.w / svg.getBoundingClientRect().width;
      view.x = drag.vx - (event.clientX - drag.x) * scale;
      view.y = drag.vy - (event.clientY - drag.y) * scale;
      setView();
    });
    svg.addEventListener("pointerup", function () { drag = null; });
    container.appendChild(controls);
    container.appendChild(svg);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("ownership-graph");
    var source = document.getElementById("ownership-graph-data");
    if (!container || !source) { return; }
    draw(container, JSON.parse(source.textContent));
  });
})();

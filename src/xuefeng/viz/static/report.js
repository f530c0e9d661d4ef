/* Xuefeng report: replay of the embedded run (inlined into the page at build time).
 * Reads #report-data, moves .unit symbols with #time-slider, swaps the
 * precomputed front line, zooms the map, shows unit details, moves the chart cursor and
 * marks the timeline. No network access, no libraries. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var svgNS = "http://www.w3.org/2000/svg";
  var slider = document.getElementById("time-slider");
  var label = document.getElementById("time-label");
  var playBtn = document.getElementById("play");
  var details = document.getElementById("unit-details");
  var front = document.getElementById("front-line");
  var chart = document.getElementById("casualty-chart");
  var cursor = document.getElementById("casualty-chart-cursor");
  var byId = {};
  var elems = {};
  data.units.forEach(function (u) { byId[u.id] = u; });
  document.querySelectorAll("#map .unit").forEach(function (el) { elems[el.getAttribute("data-unit-id")] = el; });
  var sideIndex = {};
  data.sides.forEach(function (s, k) { sideIndex[s.id] = k; });
  var current = 0, selected = null, timer = null;

  function fmt(v, nd) {
    if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) return "–";
    if (typeof v !== "number") return String(v);
    return v.toLocaleString("en-US", { maximumFractionDigits: nd || 0, minimumFractionDigits: nd || 0 });
  }

  function valueAt(u, key, k) { var a = u[key]; return a ? a[k] : null; }

  function peakTo(u, k) {
    var p = 0, a = u.strength || [];
    for (var i = 0; i <= k && i < a.length; i++) if (a[i] !== null && a[i] > p) p = a[i];
    return p;
  }

  /* Units in the same place are fanned out a little so each stays clickable
   * (report.py's _fanned does the same for the names' placement). */
  function placeUnits(k) {
    var seen = {};
    data.units.forEach(function (u) {
      var el = elems[u.id];
      if (!el) return;
      var x = u.x[k], y = u.y[k];
      if (x === null || y === null) { el.classList.add("off-map"); return; }
      el.classList.remove("off-map");
      var key = Math.round(x / 12) + ":" + Math.round(y / 12);
      var n = seen[key] || 0;
      seen[key] = n + 1;
      var dx = n * 7, dy = n * 5;
      el.setAttribute("transform", "translate(" + (x + dx).toFixed(1) + "," + (y + dy).toFixed(1) + ")");
      var s = valueAt(u, "strength", k);
      el.classList.toggle("spent", s !== null && s <= 0 && peakTo(u, k) > 0);  /* destroyed, not an HQ */
    });
  }

  /* The front line: the boundary of the ground each side holds, precomputed per step
   * in Python (cartography.front_lines); data.frontIndex[k] names step k's path. */
  function drawFront(k) {
    var idx = data.frontIndex ? data.frontIndex[k] : null;
    front.setAttribute("d", idx === null || idx === undefined ? "" : (data.fronts[idx] || ""));
  }

  /* Zoom: the wheel or the buttons change the map's viewBox; from ZOOM_LABELS on, unit names show. */
  var mapEl = document.getElementById("map");
  var ZOOM_LABELS = 2, ZOOM_MAX = 8;
  var full = mapEl ? mapEl.getAttribute("viewBox").split(/\s+/).map(parseFloat) : null;
  var faceH = mapEl ? parseFloat(mapEl.getAttribute("data-map-height")) || (full ? full[3] : 0) : 0;
  var zoom = { k: 1, cx: full ? full[2] / 2 : 0, cy: faceH / 2 };
  function applyZoom() {
    if (!mapEl || !full) return;
    if (zoom.k <= 1) { zoom.k = 1; mapEl.setAttribute("viewBox", full.join(" ")); mapEl.classList.remove("zoomed"); return; }
    var w = full[2] / zoom.k, h = full[3] / zoom.k;
    var x = Math.max(0, Math.min(full[2] - w, zoom.cx - w / 2)), y = Math.max(0, Math.min(full[3] - h, zoom.cy - h / 2));
    mapEl.setAttribute("viewBox", x.toFixed(1) + " " + y.toFixed(1) + " " + w.toFixed(1) + " " + h.toFixed(1));
    mapEl.classList.toggle("zoomed", zoom.k >= ZOOM_LABELS);
  }
  function zoomBy(f, cx, cy) {
    zoom.k = Math.max(1, Math.min(ZOOM_MAX, zoom.k * f));
    if (cx !== undefined) { zoom.cx = cx; zoom.cy = cy; }
    applyZoom();
  }
  function mapPoint(ev) {
    var r = mapEl.getBoundingClientRect(), vb = mapEl.getAttribute("viewBox").split(/\s+/).map(parseFloat);
    return [vb[0] + (ev.clientX - r.left) / r.width * vb[2], vb[1] + (ev.clientY - r.top) / r.height * vb[3]];
  }
  if (mapEl) {
    mapEl.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var p = mapPoint(ev);
      zoomBy(ev.deltaY < 0 ? 1.25 : 0.8, p[0], p[1]);
    }, { passive: false });
    var zi = document.getElementById("zoom-in"), zo = document.getElementById("zoom-out"), zr = document.getElementById("zoom-reset");
    if (zi) zi.addEventListener("click", function () { zoomBy(1.5); });
    if (zo) zo.addEventListener("click", function () { zoomBy(1 / 1.5); });
    if (zr) zr.addEventListener("click", function () { zoom.k = 1; zoom.cx = full[2] / 2; zoom.cy = faceH / 2; applyZoom(); });
  }

  function row(name, value) {
    var tr = document.createElement("tr");
    var th = document.createElement("th"); th.textContent = name;
    var td = document.createElement("td"); td.textContent = value;
    tr.appendChild(th); tr.appendChild(td);
    return tr;
  }

  function showDetails() {
    if (!selected) return;
    var u = byId[selected], k = current;
    details.textContent = "";
    var h = document.createElement("h3");
    h.textContent = u.name;
    h.style.color = u.color;
    details.appendChild(h);
    var t = document.createElement("table");
    t.className = "unit-table";
    t.setAttribute("data-unit-id", u.id);
    var s = valueAt(u, "strength", k), peak = peakTo(u, k);
    var posture = u.posture ? data.postures[u.posture[k]] : null;
    [["Side", u.sideName], ["Echelon", u.echelon], ["Commander", u.commander || "–"],
     ["Parent", u.parent ? ((data.unitNames || {})[u.parent] || u.parent) : "–"],
     ["Date", data.times[k] || ""],
     ["Strength", s === null ? "not on the map" : fmt(s) + " of " + fmt(u.initial)],
     ["Casualties to date", s === null ? "–" : fmt(Math.max(0, peak - s))],
     ["Posture", posture ? posture.replace(/_/g, " ") : "–"],
     ["Supply", fmt(valueAt(u, "supply", k), 2)],
     ["Morale", fmt(valueAt(u, "morale", k), 2)],
     ["Fatigue", fmt(valueAt(u, "fatigue", k), 2)]
    ].forEach(function (r) { t.appendChild(row(r[0], r[1])); });
    details.appendChild(t);
    var led = u.ledger || {};
    var keys = Object.keys(led);
    if (keys.length) {
      var h4 = document.createElement("h4");
      h4.textContent = "Final ledger (replayed run)";
      details.appendChild(h4);
      var t2 = document.createElement("table");
      t2.className = "ledger-table";
      keys.forEach(function (key) { t2.appendChild(row(key.replace(/_/g, " "), fmt(led[key]))); });
      details.appendChild(t2);
    }
  }

  function select(id) {
    if (!byId[id]) return false;
    if (selected && elems[selected]) elems[selected].classList.remove("selected");
    document.querySelectorAll("#oob .oob-node.selected").forEach(function (n) { n.classList.remove("selected"); });
    selected = id;
    if (elems[id]) elems[id].classList.add("selected");
    document.querySelectorAll('#oob .oob-node[data-unit-id="' + id + '"]').forEach(function (n) { n.classList.add("selected"); });
    showDetails();
    return true;
  }

  function markTimeline(k) {
    document.querySelectorAll("#timeline li.event").forEach(function (li) {
      var s = parseInt(li.getAttribute("data-step"), 10);
      li.classList.toggle("past", s < k);
      li.classList.toggle("current", s === k);
      li.classList.toggle("future", s > k);
    });
  }

  function moveCursor(k) {
    if (!chart || !cursor) return;
    var x0 = parseFloat(chart.getAttribute("data-x0")), x1 = parseFloat(chart.getAttribute("data-x1"));
    var n = parseInt(chart.getAttribute("data-steps"), 10);
    var x = x0 + (n > 1 ? k / (n - 1) : 0) * (x1 - x0);
    cursor.setAttribute("x1", x.toFixed(1));
    cursor.setAttribute("x2", x.toFixed(1));
  }

  function show(k) {
    k = Math.max(0, Math.min(data.times.length - 1, k | 0));
    current = k;
    if (String(slider.value) !== String(k)) slider.value = String(k);
    label.textContent = data.times[k] || "";
    placeUnits(k);
    drawFront(k);
    moveCursor(k);
    markTimeline(k);
    showDetails();
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playBtn.textContent = "Play";
    playBtn.setAttribute("aria-pressed", "false");
  }

  function play() {
    if (current >= data.times.length - 1) show(0);
    playBtn.textContent = "Pause";
    playBtn.setAttribute("aria-pressed", "true");
    timer = setInterval(function () {
      if (current >= data.times.length - 1) { stop(); return; }
      show(current + 1);
    }, 120);
  }

  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  playBtn.addEventListener("click", function () { if (timer === null) play(); else stop(); });
  Object.keys(elems).forEach(function (id) {
    var el = elems[id];
    el.addEventListener("click", function (ev) { ev.stopPropagation(); select(id); });
    el.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(id); } });
  });
  document.querySelectorAll("#oob .oob-node.on-map").forEach(function (n) {
    n.addEventListener("click", function () { select(n.getAttribute("data-unit-id")); });
  });
  document.querySelectorAll("#timeline li.event").forEach(function (li) {
    li.addEventListener("click", function () { stop(); show(parseInt(li.getAttribute("data-step"), 10)); });
  });

  var filter = document.getElementById("timeline-filter");
  var sideFilter = document.getElementById("timeline-side");
  function filterTimeline() {
    var want = filter ? filter.value : "";
    var side = sideFilter ? sideFilter.value : "";
    document.querySelectorAll("#timeline li.event").forEach(function (li) {
      var kindOk = want === "" || (want === "@historical" ? li.classList.contains("historical")
                                                           : li.getAttribute("data-kind") === want);
      var sides = (li.getAttribute("data-sides") || "").split(",");
      var sideOk = side === "" || sides.indexOf(side) >= 0;
      li.hidden = !(kindOk && sideOk);
    });
  }
  if (filter) filter.addEventListener("change", filterTimeline);
  if (sideFilter) sideFilter.addEventListener("change", filterTimeline);

  window.xuefengReport = { show: show, select: select, play: play, stop: stop,
                           step: function () { return current; }, data: data,
                           zoom: function (f, cx, cy) { zoomBy(f, cx, cy); return zoom.k; } };
  show(0);
})();

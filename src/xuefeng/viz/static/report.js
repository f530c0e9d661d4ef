/* Xuefeng report: replay of the embedded run (inlined into the page at build time).
 * Reads #report-data, moves .unit symbols with #time-slider, draws an
 * approximate front line, shows unit details, moves the chart cursor and
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

  /* Units in the same place are fanned out a little so each stays clickable. */
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

  /* Approximate front: the zero contour (marching squares) of
   * distance-to-nearest-unit of side A minus that of side B, kept within
   * frontRadiusKm of the units of both sides. */
  function drawFront(k) {
    var W = data.map.width, H = data.map.height;
    var R = data.map.frontRadiusKm / data.map.kmPerUnit;
    var pts = [[], []], sidesPresent = [];
    data.units.forEach(function (u) {
      var x = u.x[k], y = u.y[k], s = valueAt(u, "strength", k);
      if (x === null || y === null || (s !== null && s <= 0)) return;
      var si = sideIndex[u.side];
      if (sidesPresent.indexOf(si) < 0) sidesPresent.push(si);
      var slot = sidesPresent.indexOf(si);
      if (slot < 2) pts[slot].push([x, y]);
    });
    if (pts[0].length === 0 || pts[1].length === 0) { front.setAttribute("d", ""); return; }
    var NX = 72, NY = Math.max(2, Math.round(NX * H / W)), dxg = W / (NX - 1), dyg = H / (NY - 1);
    function nearest(list, x, y) {
      var best = Infinity;
      for (var i = 0; i < list.length; i++) {
        var ex = list[i][0] - x, ey = list[i][1] - y, d = ex * ex + ey * ey;
        if (d < best) best = d;
      }
      return Math.sqrt(best);
    }
    var f = new Array(NX * NY);
    for (var j = 0; j < NY; j++) for (var i = 0; i < NX; i++) {
      var x = i * dxg, y = j * dyg, a = nearest(pts[0], x, y), b = nearest(pts[1], x, y);
      f[j * NX + i] = (a > R || b > R) ? NaN : a - b;
    }
    var d = [];
    function cross(x0, y0, v0, x1, y1, v1) { var t = v0 / (v0 - v1); return [x0 + t * (x1 - x0), y0 + t * (y1 - y0)]; }
    for (j = 0; j < NY - 1; j++) for (i = 0; i < NX - 1; i++) {
      var v = [f[j * NX + i], f[j * NX + i + 1], f[(j + 1) * NX + i + 1], f[(j + 1) * NX + i]];
      if (v.some(isNaN)) continue;
      var c = [[i * dxg, j * dyg], [(i + 1) * dxg, j * dyg], [(i + 1) * dxg, (j + 1) * dyg], [i * dxg, (j + 1) * dyg]];
      var hits = [];
      for (var e = 0; e < 4; e++) {
        var p = e, q = (e + 1) % 4;
        if ((v[p] < 0) !== (v[q] < 0)) hits.push(cross(c[p][0], c[p][1], v[p], c[q][0], c[q][1], v[q]));
      }
      for (var h = 0; h + 1 < hits.length; h += 2)
        d.push("M" + hits[h][0].toFixed(1) + "," + hits[h][1].toFixed(1) + "L" + hits[h + 1][0].toFixed(1) + "," + hits[h + 1][1].toFixed(1));
    }
    front.setAttribute("d", d.join(""));
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
                           step: function () { return current; }, data: data };
  show(0);
})();

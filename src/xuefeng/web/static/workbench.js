// The Xuefeng workbench: choose a scenario, seed, replications and what-ifs, start a run
// (POST /api/runs), poll its status (GET /api/runs/{id}) and open its report.
// Plain JavaScript, no build step, nothing fetched from outside the server.
// A token, if the server wants one, is asked for once, kept in this tab's sessionStorage
// and sent as a header; it never goes into a URL.
"use strict";

const TOKEN_KEY = "xuefeng-token";
const POLL_MS = 500;  // how often a running run's status is asked for

const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path, options = {}, retried = false) {
  const headers = Object.assign({}, options.headers || {});
  const t = token();
  if (t) headers["Authorization"] = "Bearer " + t;
  const r = await fetch(path, Object.assign({}, options, { headers }));
  if (r.status === 401 && !retried) {
    const typed = window.prompt("This server needs its token:");
    if (typed) {
      sessionStorage.setItem(TOKEN_KEY, typed.trim());
      return api(path, options, true);
    }
  }
  return r;
}

function detailText(body, status) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((e) => (e.loc || []).join(".") + ": " + e.msg).join("; ");
  }
  return "request failed (HTTP " + status + ")";
}

async function getJSON(path) {
  const r = await api(path);
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error(detailText(body, r.status));
  return body;
}

function showMessage(text) {
  const m = $("message");
  m.textContent = text || "";
  m.hidden = !text;
}

function checkbox(container, group, value, label, title) {
  const l = document.createElement("label");
  l.className = "check";
  const box = document.createElement("input");
  box.type = "checkbox";
  box.name = group;
  box.value = value;
  l.appendChild(box);
  l.appendChild(document.createTextNode(" " + label));
  if (title) l.title = title;
  container.appendChild(l);
}

function noteIfEmpty(container, items, text) {
  if (items.length) return;
  const p = document.createElement("p");
  p.className = "note";
  p.textContent = text;
  container.appendChild(p);
}

function fill(containerId, group, items, label) {
  const c = $(containerId);
  c.replaceChildren();
  noteIfEmpty(c, items, "none");
  for (const it of items) checkbox(c, group, it.id, label(it), it.description || "");
}

async function loadScenario(name) {
  showMessage("");
  const [sc, whatifs] = await Promise.all([
    getJSON("/api/scenarios/" + encodeURIComponent(name)),
    getJSON("/api/scenarios/" + encodeURIComponent(name) + "/whatifs"),
  ]);
  $("scenario-info").textContent = sc.description || "";
  $("scenario-info").dataset.start = sc.start;
  $("scenario-info").dataset.end = sc.end;
  $("end").value = "";
  $("end").placeholder = sc.end;
  const w = $("whatifs");
  w.replaceChildren();
  noteIfEmpty(w, whatifs, "This scenario has no named what-ifs (no whatifs.yaml).");
  for (const it of whatifs) checkbox(w, "whatif", it.name, it.title, it.note);
  const sides = Object.fromEntries(sc.sides.map((s) => [s.id, s.name]));
  fill("remove-units", "remove-unit", sc.units, (u) => u.name + " (" + (sides[u.side] || u.side) + ")");
  fill("remove-air-groups", "remove-air-group", sc.air_groups, (g) => g.name + " (" + (sides[g.side] || g.side) + ")");
  fill("remove-events", "remove-event", sc.events, (e) => e.date.slice(0, 10) + " " + e.description);
}

function checked(group) {
  return Array.from(document.querySelectorAll('input[name="' + group + '"]:checked')).map((b) => b.value);
}

function runRequest() {
  const overrides = {};
  const units = checked("remove-unit"), groups = checked("remove-air-group"), events = checked("remove-event");
  if (units.length) overrides.remove_units = units;
  if (groups.length) overrides.remove_air_groups = groups;
  if (events.length) overrides.remove_events = events;
  if ($("end").value) overrides.end = $("end").value;
  return {
    scenario: $("scenario").value,
    seed: Number($("seed").value),
    replications: Number($("replications").value),
    whatifs: checked("whatif"),
    overrides,
  };
}

let polling = null;

function showRun(s) {
  $("run").hidden = false;
  $("run-id").textContent = s.id;
  $("run-status").textContent = s.status;
  $("run-status").dataset.status = s.status;
  const what = [s.scenario, "seed " + s.seed, s.replications + " replication" + (s.replications === 1 ? "" : "s")];
  if (s.whatifs && s.whatifs.length) what.push("what-ifs: " + s.whatifs.join(", "));
  const ov = Object.keys(s.overrides || {});
  if (ov.length) what.push("changes: " + ov.join(", "));
  $("run-what").textContent = "(" + what.join("; ") + ")";
  const p = typeof s.progress === "number" ? s.progress : (s.status === "done" ? 1 : 0);
  $("run-progress").value = p;
  $("run-percent").textContent = Math.round(p * 100) + "%";
  $("run-error").hidden = !s.error;
  $("run-error").textContent = s.error || "";
  const link = $("open-report");
  if (s.report_url) {
    link.href = s.report_url;
    link.hidden = false;
  } else {
    link.hidden = true;
  }
  if (s.summary) {
    $("run-summary").hidden = false;
    $("run-summary").querySelector("pre").textContent = JSON.stringify(s.summary, null, 1);
  }
}

async function poll(id) {
  try {
    const s = await getJSON("/api/runs/" + id);
    showRun(s);
    if (s.status === "done" || s.status === "failed") {
      $("start").disabled = false;
      return;
    }
  } catch (e) {
    showMessage(String(e.message || e));
    $("start").disabled = false;
    return;
  }
  polling = setTimeout(() => poll(id), POLL_MS);
}

async function start(ev) {
  ev.preventDefault();
  showMessage("");
  if (polling) clearTimeout(polling);
  $("start").disabled = true;
  try {
    const r = await api("/api/runs", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(runRequest()),
    });
    const body = await r.json().catch(() => null);
    if (!r.ok) throw new Error(detailText(body, r.status));
    $("run-summary").hidden = true;
    poll(body.id);
  } catch (e) {
    showMessage(String(e.message || e));
    $("start").disabled = false;
  }
}

// With a token the report cannot be a plain link (a link carries no header): fetch it and
// show it from a local blob instead.
async function openReport(ev) {
  if (!token()) return;  // a plain link works
  ev.preventDefault();
  const r = await api(ev.currentTarget.getAttribute("href"));
  if (!r.ok) { showMessage("the report did not load (HTTP " + r.status + ")"); return; }
  const blob = new Blob([await r.text()], { type: "text/html" });
  window.location.assign(URL.createObjectURL(blob));
}

async function init() {
  $("run-form").addEventListener("submit", start);
  $("open-report").addEventListener("click", openReport);
  $("scenario").addEventListener("change", () => loadScenario($("scenario").value).catch((e) => showMessage(e.message)));
  try {
    const list = await getJSON("/api/scenarios");
    const sel = $("scenario");
    for (const s of list) {
      const o = document.createElement("option");
      o.value = s.name;
      o.textContent = s.title + " (" + s.name + ")";
      sel.appendChild(o);
    }
    const preferred = document.body.dataset.defaultScenario;
    if (list.some((s) => s.name === preferred)) sel.value = preferred;
    if (list.length) await loadScenario(sel.value);
    document.body.dataset.ready = "true";
  } catch (e) {
    showMessage(String(e.message || e));
  }
}

init();

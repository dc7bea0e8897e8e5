// live.js - "Live": what the service is doing, updated every 5 seconds
// while the view is open (polling: plain requests, nothing held open):
// counters from GET /metrics, the stories per destination, the recent
// decisions of the archive (GET /v1/stories, filterable), the spool, the
// held stories with their release times and the last reload and errors
// (GET /v1/status and GET /v1/desk).
import { $, el, clear, text, when } from "./dom.js";
import { get } from "./api.js";
import { desk, onDesk, loadDesk } from "./state.js";

let open = false;
let timer = null;
let openStory = null;
let stories = [];

export function init(opts) {
  openStory = opts.openStory;
  $("live-auto").addEventListener("change", schedule);
  $("live-refresh").addEventListener("click", refresh);
  $("live-dest").addEventListener("change", loadStories);
  $("live-filter").addEventListener("input", renderStories);
  document.addEventListener("visibilitychange", schedule);
  onDesk((d) => {
    const sel = $("live-dest");
    if (sel.options.length === d.desk.destinations.length + 1) return;
    const keep = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const x of d.desk.destinations) sel.append(el("option", { value: x.name }, x.name));
    sel.value = keep;
  });
}

export function visible(on) {
  open = on;
  if (on) refresh();
  schedule();
}

function schedule() {
  clearInterval(timer);
  timer = null;
  if (open && $("live-auto").checked && !document.hidden) timer = setInterval(refresh, 5000);
}

// ---- the Prometheus text --------------------------------------------------------

function parseMetrics(t) {
  const out = [];
  for (const line of String(t).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    const re = /(\w+)="((?:[^"\\]|\\.)*)"/g;
    let l;
    while ((l = re.exec(m[3] || "")) !== null) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

const sum = (ms, name, f = () => true) =>
  ms.filter((m) => m.name === name && f(m.labels)).reduce((a, m) => a + m.value, 0);

function counter(label, value, cls) {
  return el("div", { class: "counter " + (cls || "") }, el("span", { class: "value" }, String(value)),
            el("span", { class: "label" }, label));
}

async function refresh() {
  const done = await Promise.allSettled([loadDesk(), counters(), loadStories()]);
  done.push(...(await Promise.allSettled([status()])));   // after the desk: its last reload
  const bad = done.filter((d) => d.status === "rejected").map((d) => d.reason.message);
  text($("live-updated"), "updated " + new Date().toLocaleTimeString() + (bad.length ? " · " + bad.join("; ") : ""));
}

async function counters() {
  const ms = parseMetrics(await get("/metrics"));
  const box = clear($("live-counters"));
  const held = ms.find((m) => m.name === "copydesk_held_stories");
  box.append(
    counter("stories routed", sum(ms, "copydesk_stories_total")),
    counter("to review (fallback)", sum(ms, "copydesk_stories_total", (l) => l.outcome === "fallback")),
    counter("dead letter or failed", sum(ms, "copydesk_deliveries_failed_total"),
            sum(ms, "copydesk_deliveries_failed_total") ? "bad" : ""),
    counter("in the spool", sum(ms, "copydesk_spool_depth")),
    counter("held", held ? held.value : "–"),
    counter("desk version", sum(ms, "copydesk_desk_version")),
    counter("reloads failed", sum(ms, "copydesk_reloads_total", (l) => l.result === "failed"),
            sum(ms, "copydesk_reloads_total", (l) => l.result === "failed") ? "bad" : ""),
    counter("HTTP requests", sum(ms, "copydesk_http_requests_total")));
  const per = {};
  for (const m of ms) if (m.name === "copydesk_stories_total") per[m.labels.destination] = (per[m.labels.destination] || 0) + m.value;
  const tb = clear($("live-dests").tBodies[0]);
  for (const [d, n] of Object.entries(per).sort((a, b) => b[1] - a[1]))
    tb.append(el("tr", {}, el("td", {}, d), el("td", { class: "num" }, String(n))));
  if (!Object.keys(per).length) tb.append(el("tr", {}, el("td", { colspan: 2, class: "muted" }, "no story routed yet")));
}

// Reloads seen while the page is open (the service reports its last one): newest first.
const reloads = new Map();

function noteReload(source, r) {
  if (!r || !r.at) return;
  const key = `${source} ${r.at} ${r.why || ""} ${r.message || ""}`;
  if (!reloads.has(key)) reloads.set(key, { source, ...r });
}

async function status() {
  const s = await get("/v1/status");
  const held = clear($("live-held").tBodies[0]);
  for (const h of s.held || [])
    held.append(el("tr", {}, el("td", {}, h.id || ""), el("td", {}, when(h.until)),
                          el("td", {}, (h.route || []).join(", "))));
  if (!(s.held || []).length) held.append(el("tr", {}, el("td", { colspan: 3, class: "muted" }, "no story held")));
  const sp = clear($("live-spool").tBodies[0]);
  const queues = (s.spool && s.spool.queues) || [];
  for (const q of queues)
    sp.append(el("tr", {}, el("td", {}, q.destination || "",
                                 q.last_error ? el("div", { class: "error small" }, `${q.last_error} (retry in ${q.retry_in ?? "?"} s)`) : ""),
                         el("td", { class: "num" }, String(q.depth ?? ""))));
  if (!queues.length) sp.append(el("tr", {}, el("td", { colspan: 2, class: "muted" }, "nothing waiting")));

  noteReload("desk", desk() && desk().reload);
  noteReload("watch", s.reload);
  const ul = clear($("live-reloads"));
  const seen = [...reloads.values()].sort((a, b) => String(b.at).localeCompare(String(a.at))).slice(0, 10);
  for (const r of seen)
    ul.append(el("li", { class: r.ok === false ? "error" : "" },
      `${when(r.at)} reload${r.why ? " (" + r.why + ")" : ""}: ${r.ok === false ? "FAILED" : "ok"}`,
      r.message ? " — " + r.message : ""));
  if (!seen.length) ul.append(el("li", { class: "muted" }, "no reload since the service started"));
  ul.append(el("li", { class: s.errors ? "error" : "muted" },
    `${s.errors || 0} errors since ${when(s.started)}`, s.last_error ? " — last: " + s.last_error : ""));
  for (const f of s.feeds || [])
    if (f.last_error) ul.append(el("li", { class: "error" }, `feed ${f.name}: ${f.last_error}`));
}

async function loadStories() {
  const dest = $("live-dest").value;
  const q = "/v1/stories?limit=50" + (dest ? "&destination=" + encodeURIComponent(dest) : "");
  try {
    const data = await get(q);
    stories = Array.isArray(data) ? data : data.stories || [];
    text($("live-stories-state"), "");
  } catch (e) {
    stories = [];
    text($("live-stories-state"), "recent decisions unavailable: " + e.message);
  }
  renderStories();
}

function renderStories() {
  const f = $("live-filter").value.trim().toLowerCase();
  const tb = clear($("live-stories").tBodies[0]);
  for (const s of stories) {
    const d = s.decision || s;
    const hay = [s.id, s.title, d.rule, (d.route || []).join(" ")].join(" ").toLowerCase();
    if (f && !hay.includes(f)) continue;
    const b = el("button", { type: "button", class: "linkish" }, s.title || s.id || "(untitled)");
    b.addEventListener("click", () => openStory(s.story || s));
    tb.append(el("tr", {},
      el("td", { class: "small" }, when(s.received || s.at || (s.decision && s.decision.at))),
      el("td", {}, b, el("div", { class: "muted small" }, s.id || "")),
      el("td", {}, (d.route || []).join(", ")),
      el("td", { class: "small" }, d.rule || "(fallback)")));
  }
}

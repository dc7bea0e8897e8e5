// desk.js - "The desk": the running desk's Lua with line numbers, edited
// in place; Check (PUT /v1/desk: load, validate, the expect cases; errors
// marked at their line); Preview (POST /v1/desk/diff: the moves the text
// would make on the archive, each cell opening its stories with the
// evidence on both sides); Apply (PUT /v1/desk?apply=1, possible only once
// Check passed on this very text); the history of applied versions and
// rollback.
import { $, el, clear, show, text, when } from "./dom.js";
import { request, get } from "./api.js";
import { loadDesk, onDesk, desk } from "./state.js";

let original = "";     // the running desk's text
let passedText = null; // the text whose check passed
let loaded = false;
let badLines = new Set();

export function init() {
  const ta = $("desk-source");
  ta.addEventListener("input", () => { edited(); gutter(); });
  ta.addEventListener("scroll", () => { $("desk-gutter").scrollTop = ta.scrollTop; });
  // Tab inserts two spaces (Escape then Tab leaves the editor, for keyboard users)
  let escaped = false;
  ta.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { escaped = true; return; }
    if (e.key === "Tab" && !e.shiftKey && !escaped) {
      e.preventDefault();
      ta.setRangeText("  ", ta.selectionStart, ta.selectionEnd, "end");
      edited(); gutter();
    }
    escaped = false;
  });
  $("desk-check").addEventListener("click", () => check(false));
  $("desk-apply").addEventListener("click", () => check(true));
  $("desk-preview").addEventListener("click", preview);
  $("desk-revert").addEventListener("click", loadSource);
  $("desk-rollback").addEventListener("click", rollback);
  onDesk((d) => text($("desk-file"), `${d.desk.config}, version ${d.version}; ` +
                         "Tab indents; Escape then Tab leaves the editor"));
}

export function shown() {
  if (!loaded) { loaded = true; loadSource(); history(); }
}

async function loadSource() {
  try {
    original = await get("/v1/desk/source");
    $("desk-source").value = original;
    badLines = new Set();
    edited();
    gutter();
  } catch (e) {
    status("the desk's source could not be read: " + e.message, "error");
  }
}

function status(msg, cls) {
  const s = $("desk-state");
  text(s, msg);
  s.className = "small " + (cls || "");
}

function edited() {
  const t = $("desk-source").value;
  $("desk-apply").disabled = passedText === null || passedText !== t;
  $("desk-apply").title = $("desk-apply").disabled ? "Check must pass on this text first" : "";
  if (t !== original && passedText !== t) status("changed: Check, then Apply");
}

function gutter() {
  const n = $("desk-source").value.split("\n").length;
  const g = clear($("desk-gutter"));
  for (let i = 1; i <= n; i++)
    g.append(el("span", { class: badLines.has(i) ? "bad" : null }, i + "\n"));
  g.scrollTop = $("desk-source").scrollTop;
}

// Select line n of the editor and scroll to it.
function goto(n) {
  const ta = $("desk-source");
  const lines = ta.value.split("\n");
  let start = 0;
  for (let i = 0; i < n - 1 && i < lines.length; i++) start += lines[i].length + 1;
  ta.focus();
  ta.setSelectionRange(start, start + (lines[n - 1] || "").length);
  const lh = parseFloat(getComputedStyle(ta).lineHeight) || 18;
  ta.scrollTop = Math.max(0, (n - 5) * lh);
}

// "scripts/newsroom.lua:115: ..." -> 115, for messages about the desk file
function lineOf(msg) {
  const config = desk() ? desk().desk.config : null;
  const re = /([^\s:'"()]+):(\d+)(?::|\b)/g;
  let m;
  while ((m = re.exec(msg)) !== null)
    if (!config || m[1] === config || config.endsWith("/" + m[1]) || m[1].endsWith(config)) return Number(m[2]);
  return null;
}

async function check(apply) {
  const t = $("desk-source").value;
  const btn = apply ? $("desk-apply") : $("desk-check");
  btn.disabled = true;
  status(apply ? "applying…" : "checking…");
  try {
    const r = await request("PUT", "/v1/desk" + (apply ? "?apply=1" : ""),
                            { auth: true, body: t, type: "text/x-lua", accept: [422] });
    showCheck(r);
    passedText = r.passed ? t : null;
    if (apply && r.applied) {
      status(`version ${r.version} applied: it routes the next story`, "ok");
      passedText = null;
      original = t;
      await loadDesk();
    } else if (apply) {
      status("not applied: " + (r.apply_error || r.message), "error");
    } else {
      status(r.passed ? "check passed: Apply installs this text" : "check failed: " + r.message,
             r.passed ? "ok" : "error");
    }
  } catch (e) {
    status((apply ? "not applied: " : "not checked: ") + e.message, "error");
  } finally {
    $("desk-check").disabled = false;
    edited();
  }
}

function showCheck(r) {
  show($("desk-check-empty"), false);
  badLines = new Set();
  const ul = clear($("desk-problems"));
  for (const p of r.problems || []) {
    const n = lineOf(p);
    if (n) badLines.add(n);
    ul.append(el("li", { class: "error" },
      n ? el("button", { type: "button", class: "linkish", onclick: () => goto(n) }, `line ${n}`) : "",
      n ? " " : "", p));
  }
  const tb = clear($("desk-expects").tBodies[0]);
  for (const x of r.expects || []) {
    const n = lineOf(x.name);
    if (!x.passed && n) badLines.add(n);
    tb.append(el("tr", { class: x.passed ? "pass" : "fail" },
      el("td", {}, x.name),
      el("td", {}, el("span", { class: "tag " + (x.passed ? "ok" : "bad") }, x.passed ? "passed" : "failed"),
        x.passed ? "" : el("div", { class: "small" }, x.detail))));
  }
  show($("desk-expects"), (r.expects || []).length > 0);
  if (!(r.problems || []).length && !(r.expects || []).length)
    ul.append(el("li", {}, r.message || ""));
  gutter();
  const first = [...badLines].sort((a, b) => a - b)[0];
  if (first) goto(first);
}

// ---- preview -------------------------------------------------------------------

async function preview() {
  const btn = $("desk-preview");
  btn.disabled = true;
  show($("desk-preview-empty"), false);
  text($("desk-preview-summary"), "deciding the archive's stories under both desks…");
  clear($("desk-moves").tBodies[0]);
  clear($("desk-moved"));
  show($("desk-moves"), false);
  try {
    const r = await request("POST", "/v1/desk/diff",
                            { auth: true, body: $("desk-source").value, type: "text/x-lua", accept: [422] });
    showPreview(r);
  } catch (e) {
    text($("desk-preview-summary"), "no preview: " + e.message);
    const n = lineOf(e.message);   // a desk that does not load: its line marked, as Check does
    if (n) { badLines = new Set([n]); gutter(); }
  } finally {
    btn.disabled = false;
  }
}

const names = (x) => (Array.isArray(x) ? x.join(", ") : String(x ?? ""));

function showPreview(r) {
  if (r.error || r.passed === false) {
    text($("desk-preview-summary"), "the text does not load: " +
         ((r.problems || [])[0] || r.message || (r.error && r.error.message) || "see Check"));
    return;
  }
  const moves = r.moves || [];
  let summary = `${r.stories ?? "?"} stories of the archive; ${r.moved ?? moves.reduce((a, m) => a + (m.count || 0), 0)} would move`;
  if (r.base && r.base.version) summary += ` (against the running version ${r.base.version})`;
  if (r.unreadable) summary += `; ${r.unreadable} could not be read`;
  const re = r.rule_errors || {};
  if (re.base || re.new) summary += `; rules failed on ${re.base || 0} stories before and ${re.new || 0} after`;
  text($("desk-preview-summary"), summary);
  const tb = $("desk-moves").tBodies[0];
  moves.forEach((m, i) => {
    const open = el("button", { type: "button", class: "linkish", "aria-expanded": "false",
                                "aria-controls": "moved-" + i }, String(m.count ?? (m.stories || []).length));
    open.addEventListener("click", () => toggleMoved(m, i, open));
    tb.append(el("tr", {}, el("td", {}, names(m.from)), el("td", {}, "→ " + names(m.to)),
                          el("td", { class: "num" }, open)));
    open.setAttribute("aria-label", `${m.count} stories from ${names(m.from)} to ${names(m.to)}: show them`);
  });
  show($("desk-moves"), moves.length > 0);
  if (!moves.length) $("desk-moved").append(el("p", { class: "muted" }, "no story would move"));
}

function side(label, d) {
  if (!d) return el("div", { class: "side" });
  const ev = (d.evidence || []).slice(0, 5).map((e) => {
    const parts = [];
    for (const l of e.labels || []) parts.push(`${l.label} ${Number(l.p).toFixed(2)}`);
    for (const k of e.keywords || []) parts.push(`“${k.keyword}” ×${k.hits}`);
    return el("li", {}, `${e.topic} ${Number(e.score).toFixed(2)}`, parts.length ? ` (${parts.join(", ")})` : "");
  });
  return el("div", { class: "side" },
    el("h4", {}, `${label}: ${names(d.route)}`),
    d.error ? el("p", { class: "error small" }, String(d.error)) : "",
    el("p", { class: "small" }, d.reason || (d.rule ? `rule ${d.rule}` : "")),
    ev.length ? el("ul", { class: "small" }, ev) : "");
}

function toggleMoved(m, i, button) {
  const id = "moved-" + i;
  const old = document.getElementById(id);
  if (old) { old.remove(); button.setAttribute("aria-expanded", "false"); return; }
  const box = el("div", { id, class: "moved" },
    el("h3", {}, `${names(m.from)} → ${names(m.to)}`));
  for (const s of m.stories || []) {
    const id2 = typeof s === "string" ? s : s.id;
    const title = typeof s === "string" ? "" : s.title || "";
    box.append(el("div", { class: "moved-story" },
      el("p", {}, el("strong", {}, id2), title ? " — " : "", title),
      el("div", { class: "sides" }, side("before", s.base), side("after", s.new))));
  }
  if (!(m.stories || []).length) box.append(el("p", { class: "muted" }, "the answer lists no stories"));
  else if (m.count > (m.stories || []).length)
    box.append(el("p", { class: "muted small" }, `the first ${m.stories.length} of ${m.count}`));
  $("desk-moved").append(box);
  button.setAttribute("aria-expanded", "true");
}

// ---- history and rollback ----------------------------------------------------------

let historySeq = 0;

async function history() {
  const mine = ++historySeq;
  try {
    const h = await get("/v1/desk/versions");
    if (mine !== historySeq) return;
    const tb = clear($("desk-history").tBodies[0]);
    for (const v of h.versions || []) {
      const cur = v.version === h.current;
      const btn = el("button", { type: "button", class: "linkish" }, "open in the editor");
      btn.addEventListener("click", async () => {
        $("desk-source").value = await get("/v1/desk/versions/" + v.version);
        edited(); gutter();
        status(`version ${v.version} in the editor: Check, then Apply to run it again`);
      });
      tb.append(el("tr", { class: cur ? "current" : null },
        el("td", {}, `${v.version}`, cur ? el("span", { class: "tag ok" }, "running") : ""),
        el("td", {}, when(v.saved_at)),
        el("td", { class: "num" }, String(v.lines)),
        el("td", {}, btn)));
    }
  } catch (e) {
    text($("desk-history-state"), "no history: " + e.message);
  }
}

async function rollback() {
  const s = $("desk-history-state");
  try {
    const r = await request("POST", "/v1/desk/rollback", { auth: true });
    text(s, `rolled back from version ${r.rolled_back_from} to ${r.version}: ${r.message}`);
    await loadDesk();
    await loadSource();
  } catch (e) {
    text(s, "no rollback: " + e.message);
  }
}

let historyVersion = null;
onDesk((d) => {
  if (loaded && historyVersion !== null && d.version !== historyVersion) {
    history();
    // the running desk changed (apply, rollback, the file edited on the server): the editor
    // follows unless it holds changes of its own
    if ($("desk-source").value === original) loadSource();
    else status(`the running desk is now version ${d.version}; the editor keeps your text (Discard changes loads the running one)`);
  }
  historyVersion = d.version;
});

// try.js - "Try a story": a headline and a body (pasted, or a recent
// story of the archive) decided by the running desk at once, without
// delivery (POST /v1/route?dry_run=1&explain=1): the route and the rule
// that decided with its file:line, the topics as bars with where each
// score came from, each model's labels, every rule's result, and the
// keyword hits marked in the text.
import { $, el, clear, show, text, num, meter } from "./dom.js";
import { request, get, storyJson } from "./api.js";
import { ruleWhere, onDesk } from "./state.js";
import { highlight } from "./highlight.js";
import * as correct from "./correct.js";

let current = null;   // {story, decision}
let timer = null;
let seq = 0;

export function init() {
  $("try-form").addEventListener("submit", (e) => { e.preventDefault(); run(); });
  for (const id of ["try-title", "try-body"]) {
    $(id).addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { if ($("try-title").value || $("try-body").value) run(); }, 600);
    });
  }
  $("try-recent").addEventListener("change", pickRecent);
  $("try-correct").addEventListener("click", () => current && correct.open(current.story, current.decision));
  correct.init({ decide });
  // a new desk version decides the story on screen again
  let version = null;
  onDesk((d) => {
    if (version !== null && d.version !== version && current) run();
    version = d.version;
  });
}

export function storyFromForm() {
  return { id: $("try-id").value.trim() || "draft", title: $("try-title").value,
           body: $("try-body").value };
}

// Put a story in the form and decide it; a story of the archive's list
// (no body) is read whole first (GET /v1/stories/{id}).
export async function load(story) {
  if (story.body === undefined && story.id) {
    try {
      const full = await get("/v1/stories/" + encodeURIComponent(story.id));
      story = full.story || full;
    } catch (e) {
      text($("try-error"), "the story could not be read from the archive: " + e.message);
      show($("try-error"), true);
    }
  }
  $("try-id").value = story.id || "draft";
  $("try-title").value = story.title || "";
  $("try-body").value = story.body || "";
  run();
}

// The decision of the running desk, with the evidence.
export function decide(story) {
  return request("POST", "/v1/route?dry_run=1&explain=1",
                 { body: storyJson(story), type: "application/json" });
}

export async function run() {
  clearTimeout(timer);   // typed, then submitted: decided once
  const story = storyFromForm();
  const mine = ++seq;
  $("try-run").disabled = true;
  try {
    const dec = await decide(story);
    if (mine !== seq) return;
    show($("try-error"), false);
    current = { story, decision: dec };
    render(story, dec);
  } catch (e) {
    if (mine !== seq) return;
    text($("try-error"), e.message);
    show($("try-error"), true);
  } finally {
    $("try-run").disabled = false;
  }
}

// "scripts/newsroom.lua:105" in "rule 'x' (scripts/newsroom.lua:105); ..."
function whereIn(reason) {
  const m = /\(([^()]+:\d+)\)/.exec(reason || "");
  return m ? m[1] : "";
}

function render(story, d) {
  show($("try-empty"), false);
  show($("try-out"), true);
  const route = d.route && d.route.length ? d.route.join(", ") : "(nowhere)";
  text($("try-route"), route);
  text($("try-outcome"), d.outcome || "");
  $("try-outcome").className = "tag " + (d.outcome === "routed" ? "ok" : "warn");
  const rule = $("try-rule");
  clear(rule);
  if (d.rule) {
    const where = whereIn(d.reason) || ruleWhere(d.rule);
    rule.append("decided by rule ", el("strong", {}, d.rule), where ? " at " : "",
                where ? el("code", {}, where) : "");
  } else {
    rule.append("no rule decided: the fallback");
  }
  if (d.error) rule.append(el("span", { class: "error" }, " — " + d.error));
  text($("try-reason"), d.reason || "");

  const ev = {};
  for (const e of d.evidence || []) ev[e.topic] = e;
  const tb = clear($("try-topics").tBodies[0]);
  for (const t of d.topics || []) {
    const e = ev[t.id] || {};
    const from = [];
    for (const l of e.labels || []) from.push(`${l.label} ${num(l.p)}`);
    for (const k of e.keywords || []) from.push(`“${k.keyword}” ×${k.hits}`);
    if (e.given) from.push(`× given ${e.given.label} ${num(e.given.p)}`);
    if (typeof e.own === "number" && typeof e.score === "number" && e.score > e.own + 1e-6)
      from.push(`from a subtopic (own ${num(e.own)})`);
    tb.append(el("tr", {},
      el("th", { scope: "row" }, t.name || t.id, " ", el("span", { class: "muted small" }, t.id)),
      el("td", {}, meter(t.score, `${t.id} score`)),
      el("td", { class: "num" }, num(t.score)),
      el("td", { class: "small" }, from.join(" · "))));
  }

  const lb = clear($("try-labels"));
  for (const [model, labels] of Object.entries(d.labels || {})) {
    const items = (labels || []).map((l) => el("li", {}, el("strong", {}, l.label), " ", num(l.p, 3)));
    lb.append(el("div", { class: "model" }, el("h4", {}, model),
      items.length ? el("ul", { class: "inline-list" }, items)
                   : el("p", { class: "muted small" }, "no label likely enough")));
  }

  const rules = clear($("try-rules"));
  for (const r of d.rules || []) {
    const where = ruleWhere(r.rule);
    rules.append(el("li", { class: "r-" + String(r.result).replace(/\W+/g, "-") },
      el("span", { class: "rname" }, r.rule), where ? el("code", { class: "small" }, where) : "",
      el("span", { class: "tag" }, r.result)));
  }
  const log = clear($("try-log"));
  for (const l of d.log || []) log.append(el("li", { class: "small" }, l));

  const kw = {};
  for (const e of d.evidence || []) for (const k of e.keywords || []) kw[k.keyword] = e.topic;
  const box = clear($("try-text"));
  const title = el("p", { class: "title" });
  highlight(title, story.title || "", kw);
  const body = el("div", { class: "body" });
  highlight(body, story.body || "", kw);
  box.append(title, body);
}

// ---- recent stories (GET /v1/stories, the archive) ---------------------------

let recent = [];

export async function loadRecent() {
  const sel = $("try-recent");
  if (document.activeElement === sel) return;   // not under the editor's hand
  try {
    const data = await get("/v1/stories?limit=30");
    recent = Array.isArray(data) ? data : data.stories || [];
    while (sel.options.length > 1) sel.remove(1);
    recent.forEach((s, i) => {
      const d = s.decision || s;
      const route = (d.route || []).join(", ");
      sel.append(el("option", { value: String(i) }, `${s.title || s.id} → ${route}`));
    });
    sel.disabled = recent.length === 0;
    sel.options[0].textContent = recent.length ? `(${recent.length} recent stories: pick one, or paste below)`
                                               : "(no story routed yet: paste one below)";
  } catch (e) {
    sel.disabled = true;
    sel.options[0].textContent = "(recent stories unavailable: " + e.message + ")";
  }
}

function pickRecent() {
  const s = recent[Number($("try-recent").value)];
  if (s) load(s.story || s);
}

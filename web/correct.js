// correct.js - an editor's correction: the story's right labels, per
// model, sent to POST /v1/learn (with the token); then the story is
// decided again until the model has the correction, and the new decision
// is shown.
import { $, el, clear, show, text, num } from "./dom.js";
import { request } from "./api.js";
import { desk, knownLabels } from "./state.js";

let ctx = null;        // {story, decision}
let decideFn = null;

export function init({ decide }) {
  decideFn = decide;
  $("correct-form").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("correct-cancel").addEventListener("click", () => show($("correct"), false));
}

const chosen = (dec, model) => ((dec.labels || {})[model] || []).map((l) => l.label);

export function open(story, decision) {
  ctx = { story, decision };
  const box = clear($("correct-models"));
  const known = knownLabels();
  const models = desk() ? desk().desk.models.map((m) => m.name) : Object.keys(decision.labels || {});
  models.forEach((m, mi) => {
    const now = chosen(decision, m);
    const names = [...new Set([...(known[m] || []), ...now])].sort();
    const fs = el("fieldset", { class: "model", "data-model": m },
      el("legend", {}, `model “${m}”: the story's right labels`));
    names.forEach((n, i) => {
      const id = `correct-${mi}-${i}`;
      fs.append(el("label", { class: "check", for: id },
        el("input", { type: "checkbox", id, value: n, checked: now.includes(n) }), " ", n));
    });
    const oid = `correct-${mi}-other`;
    fs.append(el("label", { for: oid }, "other labels of this model (comma-separated)"),
              el("input", { id: oid, class: "other", spellcheck: "false" }));
    box.append(fs);
  });
  text($("correct-status"), "");
  show($("correct-after"), false);
  show($("correct"), true);
  $("correct").scrollIntoView({ block: "nearest" });
  const first = box.querySelector("input");
  if (first) first.focus();
}

function labelsOf(fs) {
  const out = [...fs.querySelectorAll("input[type=checkbox]:checked")].map((c) => c.value);
  for (const o of fs.querySelector("input.other").value.split(","))
    if (o.trim()) out.push(o.trim());
  return [...new Set(out)];
}

async function send() {
  if (!ctx) return;
  const btn = $("correct-send");
  btn.disabled = true;
  const sent = [];
  try {
    for (const fs of $("correct-models").querySelectorAll("fieldset")) {
      const model = fs.dataset.model;
      const labels = labelsOf(fs);
      const before = chosen(ctx.decision, model);
      if (same(labels, before)) continue;   // nothing to correct for this model
      text($("correct-status"), `sending the correction to model “${model}”…`);
      const s = ctx.story;
      const r = await request("POST", "/v1/learn?model=" + encodeURIComponent(model), {
        auth: true, type: "application/json",
        body: JSON.stringify({ id: s.id, title: s.title, body: s.body, labels }),
      });
      sent.push({ model, labels, answer: r });
    }
    if (!sent.length) {
      text($("correct-status"), "the labels are those the models chose already: nothing to send");
      return;
    }
    const last = sent[sent.length - 1].answer || {};
    if (last.reloaded && last.decision) {
      // the service reloaded the desk with the corrected model and decided the story again
      showAfter(last.decision, sent, `the model has the correction (desk version ${last.version}): the new decision is below`);
    } else {
      text($("correct-status"), "correction accepted; waiting for the model to have it…");
      await waitForModel(sent);
    }
  } catch (e) {
    text($("correct-status"), "the correction was not taken: " + e.message);
  } finally {
    btn.disabled = false;
  }
}

const same = (a, b) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");

// Decide the story again until every corrected model chooses differently
// from before (or gives the corrected labels); at most 20 s.
async function waitForModel(sent) {
  const t0 = Date.now();
  let dec = null;
  while (Date.now() - t0 < 20000) {
    dec = await decideFn(ctx.story);
    const done = sent.every(({ model, labels }) =>
      same(chosen(dec, model), labels) || !same(chosen(dec, model), chosen(ctx.decision, model)));
    if (done) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const changed = sent.every(({ model }) => !same(chosen(dec, model), chosen(ctx.decision, model)));
  showAfter(dec, sent, changed ? "the model has the correction: the new decision is below"
                               : "the model answers as before (the correction may need more stories like it)");
}

const labelText = (ls) => (ls && ls.length ? ls.map((l) => `${l.label} ${num(l.p)}`).join(", ") : "(none)");

function showAfter(dec, sent, message) {
  text($("correct-status"), message);
  text($("correct-route"), (dec.route || []).join(", ") || "(nowhere)");
  text($("correct-rule"), dec.rule ? `rule “${dec.rule}”` : "the fallback");
  const lbl = clear($("correct-labels"));
  for (const [m, ls] of Object.entries(dec.labels || {})) {
    const fixed = sent.find((x) => x.model === m);
    lbl.append(el("li", { class: fixed ? "corrected" : null }, el("strong", {}, `${m}: `), labelText(ls),
      fixed ? ` (was ${labelText((ctx.decision.labels || {})[m])}; corrected to ${fixed.labels.join(", ")})` : ""));
  }
  show($("correct-after"), true);
  $("correct-after").scrollIntoView({ block: "nearest" });
  ctx.decision = dec;
}

// state.js - the running desk as GET /v1/desk describes it, shared by the
// views; each view is told when it changes (apply, rollback, reload).
import { get } from "./api.js";

let current = null;
const listeners = [];

export const desk = () => current;

export function onDesk(f) {
  listeners.push(f);
}

export async function loadDesk() {
  current = await get("/v1/desk");
  for (const f of listeners) {
    try { f(current); } catch (e) { console.error(e); }
  }
  return current;
}

// "file:line" of a rule by name, from the description.
export function ruleWhere(name) {
  const r = current && current.desk.rules.find((x) => x.name === name);
  return r ? r.where : "";
}

// Every "model:label" the taxonomy names, per model: what a correction can choose.
export function knownLabels() {
  const out = {};
  if (!current) return out;
  for (const m of current.desk.models) out[m.name] = new Set();
  const walk = (topics) => {
    for (const t of topics || []) {
      for (const l of t.labels || []) {
        const i = l.indexOf(":");
        if (i > 0) (out[l.slice(0, i)] ||= new Set()).add(l.slice(i + 1));
      }
      walk(t.children);
    }
  };
  walk(current.desk.topics);
  return out;
}

// dom.js - building the page's elements.  Every text from a story, a desk
// or an answer goes in as a text node (textContent), never as markup.

export const $ = (id) => document.getElementById(id);

// el("td", {class: "num"}, "text", child, ...): attributes are set one by
// one (no markup), children are elements or strings (text nodes).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) add(e, c);
  return e;
}

function add(parent, c) {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) { for (const x of c) add(parent, x); return; }
  parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
}

export function clear(e) {
  while (e.firstChild) e.removeChild(e.firstChild);
  return e;
}

export function show(e, on = true) {
  e.classList.toggle("hidden", !on);
}

export function text(e, s) {
  e.textContent = s === null || s === undefined ? "" : String(s);
}

// "0.968" for a probability or score
export const num = (x, d = 2) => (typeof x === "number" ? x.toFixed(d) : "");

// A meter (0..1) with its value as text for screen readers.
export function meter(value, label) {
  const v = Math.max(0, Math.min(1, Number(value) || 0));
  return el("meter", { min: 0, max: 1, low: 0.3, high: 0.6, optimum: 1, value: v,
                       "aria-label": label, title: num(v) }, num(v));
}

// Local time of an ISO string, short.
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  return d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit",
                                minute: "2-digit", second: "2-digit" });
}

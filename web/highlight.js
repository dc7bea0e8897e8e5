// highlight.js - the story's text with the desk's keyword hits marked.
// Keywords are words and phrases, "prefix*" a wildcard; the engine
// matches them on folded tokens, and this approximates that on the text
// (case-insensitive, whole words) to show where they are.
import { el } from "./dom.js";

const WORD = "[\\p{L}\\p{N}]";

function pattern(keyword) {
  const words = keyword.trim().split(/\s+/).filter(Boolean).map((w) => {
    const star = w.endsWith("*");
    const base = (star ? w.slice(0, -1) : w).replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
    return base + (star ? WORD + "*" : "");
  });
  if (!words.length) return null;
  return `(?<!${WORD})${words.join("[\\s\\p{P}]+")}(?!${WORD})`;
}

// Fill container with text, each hit of keywords (a {keyword: topic} map)
// in a <mark> titled with its keyword and topic.  Text nodes only.
export function highlight(container, textValue, keywords) {
  const entries = Object.entries(keywords);
  const parts = [];
  for (const [k] of entries) {
    const p = pattern(k);
    if (p) parts.push(`(${p})`);
  }
  if (!parts.length) {
    container.append(document.createTextNode(textValue));
    return 0;
  }
  let re;
  try { re = new RegExp(parts.join("|"), "giu"); } catch { container.append(textValue); return 0; }
  let last = 0, hits = 0, m;
  while ((m = re.exec(textValue)) !== null) {
    if (m[0] === "") { re.lastIndex++; continue; }
    if (m.index > last) container.append(document.createTextNode(textValue.slice(last, m.index)));
    const group = m.slice(1).findIndex((g) => g !== undefined);
    const [kw, topic] = entries[group] || ["", ""];
    container.append(el("mark", { title: `${kw} (${topic})` }, m[0]));
    last = m.index + m[0].length;
    hits++;
  }
  if (last < textValue.length) container.append(document.createTextNode(textValue.slice(last)));
  return hits;
}

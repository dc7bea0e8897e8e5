// app.js - the editor's page of copydesk serve: the views (try a story,
// the desk, live), the token, and the running desk's line at the top.
import { $, text } from "./dom.js";
import { token } from "./api.js";
import { desk, loadDesk, onDesk } from "./state.js";
import * as tryView from "./try.js";
import * as deskView from "./desk.js";
import * as liveView from "./live.js";

const views = ["try", "desk", "live"];

function select(name, focus) {
  for (const v of views) {
    const on = v === name;
    const tab = $("tab-" + v);
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
    $("view-" + v).classList.toggle("hidden", !on);
  }
  if (focus) $("tab-" + name).focus();
  if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
  liveView.visible(name === "live");
  if (name === "desk") deskView.shown();
  if (name === "try") tryView.loadRecent();
}

function setupTabs() {
  views.forEach((v, i) => {
    const tab = $("tab-" + v);
    tab.addEventListener("click", () => select(v));
    // arrow keys move between the tabs, as in every tab list
    tab.addEventListener("keydown", (e) => {
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % views.length;
      else if (e.key === "ArrowLeft") j = (i + views.length - 1) % views.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = views.length - 1;
      if (j !== null) { e.preventDefault(); select(views[j], true); }
    });
  });
  const want = location.hash.slice(1);
  select(views.includes(want) ? want : "try");
}

function setupToken() {
  const state = () => text($("token-state"), token.get() ? "token set for this tab" : "no token: read-only");
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("token-input").value.trim();
    if (t) token.set(t);
    $("token-input").value = "";
    state();
  });
  $("token-forget").addEventListener("click", () => { token.set(""); state(); });
  state();
}

onDesk(() => {
  const d = desk();
  if (!d) return;
  const r = d.reload || {};
  let line = `desk ${d.desk.config} · version ${d.version} · ${d.desk.rules.length} rules · ` +
             `${d.desk.destinations.length} destinations`;
  if (r.at) line += ` · last reload ${r.ok ? "ok" : "FAILED"} (${r.why})`;
  text($("desk-line"), line);
});

setupToken();
tryView.init({ openTab: select });
deskView.init();
liveView.init({ openStory: (s) => { select("try"); tryView.load(s); } });
setupTabs();
loadDesk().catch((e) => text($("desk-line"), "copydesk serve does not answer: " + e.message));

// api.js - the requests of the page to copydesk serve (docs/http-api.md).
// The token is asked once and kept in this tab's sessionStorage only: it
// is gone when the tab closes, and never written anywhere else.

const KEY = "copydesk-token";

export const token = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (t) => (t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY)),
};

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

// request("PUT", "/v1/desk?apply=1", {body, type, auth}) -> parsed JSON
// (or text for text answers); an error answer throws ApiError, except the
// statuses listed in opts.accept, whose JSON is returned.
export async function request(method, path, opts = {}) {
  const headers = {};
  if (opts.type) headers["Content-Type"] = opts.type;
  if (opts.auth) {
    const t = token.get();
    if (!t) throw new ApiError(401, "no_token", "enter the service token first (at the top of the page)");
    headers["Authorization"] = "Bearer " + t;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: opts.body, cache: "no-store",
                              credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, "network", "copydesk serve does not answer (" + e.message + ")");
  }
  const ct = res.headers.get("Content-Type") || "";
  let data;
  if (ct.startsWith("application/json")) {
    try { data = await res.json(); } catch { data = null; }
  } else if (ct.startsWith("application/x-ndjson")) {
    data = (await res.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } else {
    data = await res.text();
  }
  if (res.ok || (opts.accept || []).includes(res.status)) return data;
  const err = data && data.error ? data.error : {};
  let msg = err.message || (typeof data === "string" && data) || res.statusText;
  if (res.status === 401) msg = "the service refused the token: " + msg;
  throw new ApiError(res.status, err.code || "http_" + res.status, msg, data);
}

export const get = (path, opts) => request("GET", path, opts);

// A story as the API reads it (application/json).
export function storyJson(s) {
  const o = { id: s.id || "draft", title: s.title || "", body: s.body || "" };
  if (s.meta && typeof s.meta === "object") o.meta = s.meta;
  return JSON.stringify(o);
}

// The JSON API, and the session. The access token lives in this module's
// variable only: never in a URL, a cookie a script can read, or storage.
// A reload trades the HttpOnly refresh cookie (Path=/api/auth) for a new one.

let token = null;
let account = null;
let refreshing = null;
let onExpired = () => {};

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.title_zh || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export class SessionExpired extends Error {
  constructor() {
    super("登录已过期");
  }
}

export function whenExpired(fn) {
  onExpired = fn;
}

export function me() {
  return account;
}

export function signedIn() {
  return token !== null;
}

async function readBody(res) {
  const type = res.headers.get("Content-Type") || "";
  if (res.status === 204 || res.status === 304) return null;
  if (type.includes("json")) return res.json().catch(() => null);
  return res.text();
}

// POST /api/auth/refresh with the cookie; one at a time however many callers ask.
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await fetch("/api/auth/refresh", {
          method: "POST", credentials: "same-origin", cache: "no-store",
        });
        if (!res.ok) {
          token = null;
          return false;
        }
        const body = await res.json();
        token = body.access_token;
        return true;
      } catch {
        return false;
      } finally {
        setTimeout(() => { refreshing = null; }, 0);
      }
    })();
  }
  return refreshing;
}

export async function loadMe() {
  account = (await api("GET", "/api/me")).data;
  return account;
}

export async function login(username, password) {
  const res = await fetch("/api/auth/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const body = await readBody(res);
  if (!res.ok) throw new ApiError(res.status, body);
  token = body.access_token;
  return loadMe();
}

export async function logout() {
  try {
    await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" });
  } finally {
    token = null;
    account = null;
    photoCache.forEach((u) => URL.revokeObjectURL(u));
    photoCache.clear();
  }
}

// api("PATCH", "/api/cases/3", {json: {...}, etag: "\"4\""}) →
// {status, data, etag}; a problem throws ApiError; an expired session that
// the refresh cookie cannot renew throws SessionExpired (after onExpired()).
export async function api(method, path, opts = {}) {
  const send = () => {
    const headers = { Accept: "application/json", ...(opts.headers || {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (opts.etag) headers["If-Match"] = opts.etag;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    }
    return fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
  };
  let res = await send();
  if (res.status === 401 && !path.startsWith("/api/auth/")) {
    if (await refresh()) res = await send();
    if (res.status === 401) {
      token = null;
      onExpired();
      throw new SessionExpired();
    }
  }
  const data = await readBody(res);
  if (!res.ok) throw new ApiError(res.status, data);
  return { status: res.status, data, etag: res.headers.get("ETag") };
}

// Every page of a paged list (GET /api/cases).
export async function allPages(path) {
  const items = [];
  let after = null;
  for (let i = 0; i < 50; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const { data } = await api("GET", `${path}${sep}limit=200${after ? `&after=${after}` : ""}`);
    items.push(...data.items);
    if (data.next_after === null || data.next_after === undefined) break;
    after = data.next_after;
  }
  return items;
}

// A photo as an object URL: a draft's photo needs the token, which an <img>
// cannot send. Photos are named by their content, so one fetch each.
const photoCache = new Map();
export async function photoURL(url) {
  if (photoCache.has(url)) return photoCache.get(url);
  const send = () => fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  let res = await send();
  if (res.status === 401 && (await refresh())) res = await send();
  if (!res.ok) throw new ApiError(res.status, null);
  const obj = URL.createObjectURL(await res.blob());
  photoCache.set(url, obj);
  return obj;
}

// An export (CSV or JSON) saved as a file: it needs the token, which a link
// cannot send, so the bytes are fetched here and offered from an object URL
// of this page's own origin through <a download>. The token is never in a URL.
export async function download(path, fallbackName) {
  const send = () => fetch(path, {
    headers: token ? { Authorization: `Bearer ${token}` } : {}, credentials: "same-origin", cache: "no-store" });
  let res = await send();
  if (res.status === 401) {
    if (await refresh()) res = await send();
    if (res.status === 401) {
      token = null;
      onExpired();
      throw new SessionExpired();
    }
  }
  if (!res.ok) throw new ApiError(res.status, await readBody(res));
  const blob = await res.blob();
  const cd = res.headers.get("Content-Disposition") || "";
  const m = /filename\*=UTF-8''([^;]+)/i.exec(cd) || /filename="?([^";]+)"?/i.exec(cd);
  let name = fallbackName;
  if (m) {
    try { name = decodeURIComponent(m[1]); } catch { name = m[1]; }
  }
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return name;
}

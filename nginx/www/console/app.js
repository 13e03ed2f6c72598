// The staff console: a hash router over one view module per screen. Views
// render with DOM APIs only (ui.js); the API and the session are in api.js.
import * as API from "./api.js";
import { h, clear, say, navigated, ROLE, errorBox } from "./ui.js";
import * as drafts from "./drafts.js";

const ROUTES = [
  [/^\/?$/, "home"],
  [/^\/signin$/, "signin"],
  [/^\/cases$/, "cases"],
  [/^\/cases\/new$/, "editor"],
  [/^\/cases\/(\d+)$/, "case"],
  [/^\/cases\/(\d+)\/edit$/, "editor"],
  [/^\/cases\/(\d+)\/history$/, "history"],
  [/^\/cases\/(\d+)\/correct$/, "correct"],
  [/^\/queue$/, "queue"],
  [/^\/editions$/, "editions"],
  [/^\/editions\/(\d+)$/, "edition"],
  [/^\/editions\/(\d+)\/results$/, "results"],
  [/^\/standings$/, "standings"],
  [/^\/admin\/streets$/, "streets"],
  [/^\/admin\/communities$/, "communities"],
  [/^\/admin\/users$/, "users"],
  [/^\/admin\/audit$/, "audit"],
];

const NAV = {
  editor: [["#/", "待办"], ["#/cases", "本街道案例"], ["#/cases/new", "新建案例"]],
  reviewer: [["#/", "待办"], ["#/queue", "审核队列"], ["#/editions", "期刊与投票"], ["#/standings", "排名"],
             ["#/cases", "全部案例"]],
  admin: [["#/", "待办"], ["#/admin/streets", "街道"], ["#/admin/communities", "社区"],
          ["#/admin/users", "账号"], ["#/admin/audit", "审计日志"], ["#/cases", "案例"],
          ["#/editions", "期刊"], ["#/standings", "排名"]],
};

let cleanup = null;
let returnTo = null; // where a sign-in goes back to after the session expired
let rendering = 0;

function parse() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
  const [path, qs] = raw.split("?");
  for (const [re, view] of ROUTES) {
    const m = re.exec(path);
    if (m) return { view, params: m.slice(1), path, query: new URLSearchParams(qs || "") };
  }
  return { view: "notfound", params: [], path, query: new URLSearchParams() };
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function shell() {
  const account = API.me();
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  clear(nav);
  clear(who);
  if (!account) {
    nav.hidden = true;
    who.hidden = true;
    return;
  }
  const current = `#${parse().path}`;
  nav.appendChild(h("ul", null, (NAV[account.role] || []).map(([href, label]) =>
    h("li", null, h("a", { href, "aria-current": href === current || (href !== "#/" && current.startsWith(`${href}/`) && !NAV[account.role].some(([o]) => o === current)) ? "page" : null }, label)))));
  nav.hidden = false;
  who.appendChild(h("span.me", { "data-testid": "whoami" },
    h("strong", null, account.display_name || account.username),
    ` · ${ROLE[account.role] || account.role}`,
    account.street_name ? ` · ${account.street_name}` : ""));
  who.appendChild(h("button.link", { type: "button", onclick: signOut }, "退出"));
  who.hidden = false;
}

async function signOut() {
  const account = API.me();
  const kept = account ? drafts.list(account.id) : [];
  if (kept.length && !confirm(`本机还有 ${kept.length} 份未保存的草稿内容,退出后将删除。确定退出?`)) return;
  if (account) drafts.dropAll(account.id);
  await API.logout();
  returnTo = null;
  say("已退出登录。");
  go("#/signin");
}

async function route() {
  const r = parse();
  const mine = ++rendering;
  if (cleanup) {
    try { cleanup(); } catch { /* a view's timer */ }
    cleanup = null;
  }
  if (!API.signedIn() && r.view !== "signin") {
    returnTo = location.hash || "#/";
    go("#/signin");
    return;
  }
  if (API.signedIn() && r.view === "signin") {
    go("#/");
    return;
  }
  shell();
  navigated();
  const main = document.getElementById("main");
  main.setAttribute("aria-busy", "true");
  try {
    const mod = r.view === "notfound" ? null : await import(`./views/${r.view}.js`);
    if (mine !== rendering) return;
    clear(main);
    if (!mod) {
      main.appendChild(h("h1", { tabindex: "-1" }, "找不到这个页面"));
      main.appendChild(h("p", null, h("a", { href: "#/" }, "回到待办")));
    } else {
      const ctx = {
        params: r.params, query: r.query, me: API.me(), go,
        signedIn: () => {
          const back = returnTo;
          returnTo = null;
          go(back && back !== "#/signin" ? back : "#/");
        },
        isCurrent: () => mine === rendering,
      };
      // each render writes into a box of its own: a slower render that a
      // newer route overtook writes into a box no longer on the page
      const box = h("div.view");
      main.appendChild(box);
      const done = (await mod.render(box, ctx)) || null;
      if (mine === rendering) cleanup = done;
      else if (done) done();
    }
  } catch (err) {
    if (err instanceof API.SessionExpired) return;
    if (mine !== rendering) return;
    clear(main);
    main.appendChild(h("h1", { tabindex: "-1" }, err.status === 404 ? "找不到" : "出错了"));
    main.appendChild(errorBox(err));
  }
  if (mine !== rendering) return;
  main.setAttribute("aria-busy", "false");
  const h1 = main.querySelector("h1");
  document.title = `${h1 ? h1.textContent : "工作台"} · 履新第一事工作台`;
  if (h1 && document.activeElement !== h1 && !main.contains(document.activeElement)) h1.focus({ preventScroll: true });
}

API.whenExpired(() => {
  if (parse().view === "signin") return;
  returnTo = location.hash || "#/";
  say("登录已过期,请重新登录。未保存的内容已保留在本机,登录后回到原处。", "warn");
  location.hash = "#/signin";
});

async function boot() {
  if (await API.refresh()) {
    try {
      await API.loadMe();
    } catch {
      /* the sign-in screen then */
    }
  }
  window.addEventListener("hashchange", route);
  route();
}

boot();

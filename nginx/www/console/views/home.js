// What needs the person who just signed in: an editor, the cases that came
// back with a reason; a reviewer, the queue; an admin, the district's setup.
import * as API from "../api.js";
import { h, heading, timeEl, stateBadge, empty } from "../ui.js";
import * as drafts from "../drafts.js";

export async function render(main, ctx) {
  const me = ctx.me;
  main.appendChild(heading(`您好,${me.display_name || me.username}`));
  if (me.role === "editor") await editor(main, me);
  else if (me.role === "reviewer") await reviewer(main);
  else await admin(main);
}

async function editor(main, me) {
  const cases = await API.allPages("/api/cases");
  const mineDrafts = cases.filter((c) => c.state === "draft");
  // a draft that came back carries its reject (returned): no request per draft
  const back = mineDrafts.filter((c) => c.returned).map((c) => [c, c.returned]);
  const open = mineDrafts.filter((c) => !c.returned);
  const review = cases.filter((c) => c.state === "review");

  main.appendChild(h("p.muted", null, `${me.street_name || ""}:草稿 ${mineDrafts.length} 件,待审核 ${review.length} 件。`));

  const sec = h("section.card", { "aria-labelledby": "h-back" },
    h("h2", { id: "h-back" }, `审核退回,待修改(${back.length})`));
  if (!back.length) sec.appendChild(empty("没有被退回的案例。"));
  else {
    sec.appendChild(h("ul.list", { "data-testid": "returned" }, back.map(([c, ev]) =>
      h("li.returned", null,
        h("a.title", { href: `#/cases/${c.id}` }, c.title || "(无标题)"),
        h("span.muted", null, ` · ${c.community_name}`),
        h("blockquote.reason", null,
          h("p", null, h("strong", null, "退回理由:"), ev.note || ""),
          h("p.muted", null, `${ev.actor} · `, timeEl(ev.at)))))));
  }
  main.appendChild(sec);

  const local = drafts.list(me.id);
  if (local.length) {
    main.appendChild(h("section.card", { "aria-labelledby": "h-local" },
      h("h2", { id: "h-local" }, "本机有未保存的内容"),
      h("ul.list", null, local.map((k) => h("li", null,
        h("a", { href: k === "new" ? "#/cases/new" : `#/cases/${k}/edit` },
          k === "new" ? "新建的草稿" : `案例 #${k}`))))));
  }
  main.appendChild(listSection("h-drafts", `草稿(${open.length})`, open, "没有其他草稿。"));
  main.appendChild(listSection("h-review", `待审核(${review.length})`, review, "没有待审核的案例。"));
  main.appendChild(h("p", null, h("a.button.primary", { href: "#/cases/new" }, "新建案例")));
}

function listSection(id, title, cases, none) {
  return h("section.card", { "aria-labelledby": id },
    h("h2", { id }, title),
    cases.length ? h("ul.list", null, cases.map((c) => h("li", null,
      h("a.title", { href: `#/cases/${c.id}` }, c.title || "(无标题)"), " ", stateBadge(c.state),
      h("span.muted", null, ` · ${c.community_name}${c.street_name ? ` · ${c.street_name}` : ""} · 更新于 `),
      timeEl(c.updated_at)))) : empty(none));
}

async function reviewer(main) {
  const [queue, { data: editions }] = await Promise.all([
    API.allPages("/api/cases?state=review"), API.api("GET", "/api/editions")]);
  main.appendChild(listSection("h-queue", `待审核(${queue.length})`, queue, "审核队列是空的。"));
  main.appendChild(h("p", null, h("a", { href: "#/queue" }, "打开审核队列")));
  const live = editions.filter((e) => e.state === "voting" || e.state === "published");
  main.appendChild(h("section.card", { "aria-labelledby": "h-ed" },
    h("h2", { id: "h-ed" }, "进行中的期刊"),
    live.length ? h("ul.list", null, live.map((e) => h("li", null,
      h("a.title", { href: `#/editions/${e.id}` }, `第${e.number}期 ${e.title}`), " ",
      stateBadge(e.state), h("span.muted", null, " · 截止 "), timeEl(e.closes_at)))) : empty("没有进行中的期刊。")));
}

async function admin(main) {
  const [{ data: streets }, { data: users }] = await Promise.all([
    API.api("GET", "/api/streets"), API.api("GET", "/api/users")]);
  main.appendChild(h("section.card", { "aria-labelledby": "h-adm" },
    h("h2", { id: "h-adm" }, "区管理"),
    h("ul.list", null,
      h("li", null, h("a", { href: "#/admin/streets" }, `街道(${streets.length})`)),
      h("li", null, h("a", { href: "#/admin/communities" }, "社区与两委班子")),
      h("li", null, h("a", { href: "#/admin/users" },
        `账号(${users.length},其中停用 ${users.filter((u) => u.disabled).length})`)),
      h("li", null, h("a", { href: "#/admin/audit" }, "审计日志")))));
}

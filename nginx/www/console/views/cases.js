// Cases by state and community (an editor: its street's; the district: all
// past draft). Filters are the API's own (?state=&community_id=).
import * as API from "../api.js";
import { h, heading, field, timeEl, stateBadge, table, empty, STATE } from "../ui.js";

export async function render(main, ctx) {
  const state = ctx.query.get("state") || "";
  const community = ctx.query.get("community") || "";
  const { data: communities } = await API.api("GET", "/api/communities");
  const qs = new URLSearchParams();
  if (state) qs.set("state", state);
  if (community) qs.set("community_id", community);
  const cases = await API.allPages(`/api/cases${qs.toString() ? `?${qs}` : ""}`);

  const stateSel = h("select", { name: "state" },
    h("option", { value: "" }, "全部状态"),
    Object.entries(STATE).filter(([k]) => ctx.me.role === "editor" || k !== "draft")
      .map(([k, v]) => h("option", { value: k, selected: k === state }, v)));
  const commSel = h("select", { name: "community" },
    h("option", { value: "" }, "全部社区"),
    communities.map((c) => h("option", { value: String(c.id), selected: String(c.id) === community },
      ctx.me.role === "editor" ? c.name : `${c.street_name} · ${c.name}`)));
  const form = h("form.filters", { role: "search", "aria-label": "筛选案例" },
    field("状态", stateSel), field("社区", commSel), h("button", { type: "submit" }, "筛选"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (stateSel.value) q.set("state", stateSel.value);
    if (commSel.value) q.set("community", commSel.value);
    ctx.go(`#/cases${q.toString() ? `?${q}` : ""}`);
  });

  main.append(heading(ctx.me.role === "editor" ? `${ctx.me.street_name || ""}的案例` : "案例"), form);
  if (ctx.me.role === "editor") main.appendChild(h("p", null, h("a.button.primary", { href: "#/cases/new" }, "新建案例")));

  // grouped by state, in the workflow's order
  const groups = Object.keys(STATE).map((s) => [s, cases.filter((c) => c.state === s)]).filter(([, l]) => l.length);
  if (!groups.length) main.appendChild(empty("没有符合条件的案例。"));
  for (const [s, list] of groups) {
    main.appendChild(h("section", { "aria-label": STATE[s] },
      table(`${STATE[s]}(${list.length})`, ["事项名称", "社区", "状态", "期数", "更新时间"],
        list.map((c) => h("tr", null,
          h("td", null, h("a", { href: `#/cases/${c.id}` }, c.title || "(无标题)")),
          h("td", null, ctx.me.role === "editor" ? c.community_name : `${c.street_name} · ${c.community_name}`),
          h("td", null, stateBadge(c.state)),
          h("td", null, c.edition_number ? `第${c.edition_number}期` : "—"),
          h("td", null, timeEl(c.updated_at)))))));
  }
}

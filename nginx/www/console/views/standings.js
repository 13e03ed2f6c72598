// The column's standings across editions (reviewer, admin): each case's rank
// by the share of its edition's first choice, as a table and bars, with the
// same exports as an edition's results.
import * as API from "../api.js";
import { h, heading, stateBadge, empty } from "../ui.js";
import { pct, exportButtons, bars, staffOnly } from "./results.js";

export async function render(main, ctx) {
  if (staffOnly(main, ctx, "排名")) return;
  const { data } = await API.api("GET", "/api/standings");
  main.append(heading("排名"),
    h("p.muted", null, "投票中和已结束各期的案例,按各期第一个投票选项的占比排列。"));
  const out = h("div", { "aria-live": "polite" });
  main.append(exportButtons([
    ["导出 CSV", "/api/standings.csv", "standings.csv"],
    ["导出 JSON", "/api/standings", "standings.json"],
  ], out), out);
  if (!data.length) {
    main.appendChild(empty("还没有投票中或已结束的期刊。"));
    return;
  }
  main.appendChild(h("div.table-wrap", { tabindex: "0", role: "region", "aria-label": "排名" },
    h("table.wide", null, h("caption", null, "各期案例排名"),
      h("thead", null, h("tr", null, ["名次", "期", "案例", "合计", "占比"].map((x, i) =>
        h(i === 0 || i >= 3 ? "th.num" : "th", { scope: "col" }, x)))),
      h("tbody", null, data.map((s) => h("tr", { dataset: { case: String(s.case_id) } },
        h("td.num", null, String(s.rank)),
        h("td", null, `第${s.edition_number}期 `, stateBadge(s.edition_state)),
        h("th", { scope: "row" }, h("a", { href: `#/cases/${s.case_id}` }, s.title),
          h("span.muted.block", null, `${s.street_name} · ${s.community_name}`)),
        h("td.num", null, String(s.total)),
        h("td.num", null, `“${s.first_choice}” ${pct(s.first_choice_share)}`)))))));
  main.appendChild(bars("占比(图中数字同上表)", data.map((s) => ({
    label: `${s.rank}. ${s.title}`, value: Number(s.first_choice_share) || 0,
    text: `${pct(s.first_choice_share)}(${s.total} 票)` }))));
}

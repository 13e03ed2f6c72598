// An edition's results (reviewer, admin): per case the count of each choice,
// the total and the share of the first choice, as a table and as bars drawn
// with plain DOM and CSS; exports as CSV and JSON. A closed edition shows its
// tally's digest and the public ballot list that anyone can check it with.
import * as API from "../api.js";
import { h, heading, timeEl, stateBadge, errorBox, empty } from "../ui.js";

export const pct = (x) => `${(Math.round((Number(x) || 0) * 1000) / 10).toFixed(1)}%`;

// Export buttons: each fetches with the token and saves the bytes as a file.
export function exportButtons(items, out) {
  return h("p.form-buttons", null, items.map(([label, path, name]) => {
    const b = h("button", { type: "button", dataset: { export: name } }, label);
    b.addEventListener("click", async () => {
      out.replaceChildren();
      b.disabled = true;
      try {
        const saved = await API.download(path, name);
        out.appendChild(h("p.msg.ok", null, `已导出:${saved}`));
      } catch (err) {
        if (!(err instanceof API.SessionExpired)) out.appendChild(errorBox(err));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }));
}

// One horizontal bar per row: its width the row's share of the largest.
export function bars(label, rows) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return h("figure.chart", null,
    h("figcaption", null, label),
    h("ul.chart-rows", { "aria-hidden": "true" }, rows.map((r) => h("li.chart-row", null,
      h("span.chart-label", null, r.label),
      h("span.chart-track", null, (() => {
        const fill = h("span.chart-fill");
        fill.style.width = `${(r.value / max) * 100}%`;
        return fill;
      })()),
      h("span.chart-value", null, r.text)))));
}

export function staffOnly(main, ctx, title) {
  if (ctx.me.role !== "editor") return false;
  main.append(heading(title), h("p", null, "只有区审核员和区管理员可以查看投票结果和排名。"));
  return true;
}

export async function render(main, ctx) {
  const id = ctx.params[0];
  if (staffOnly(main, ctx, "投票结果")) return;
  const { data } = await API.api("GET", `/api/editions/${id}/results`);
  const ed = data.edition;
  const first = data.choices[0];
  main.append(
    h("p.breadcrumb", null, h("a", { href: "#/editions" }, "期刊"), " › ",
      h("a", { href: `#/editions/${ed.id}` }, `第${ed.number}期`), " › 结果"),
    heading(`第${ed.number}期结果:${ed.title}`),
    h("p.meta", null, stateBadge(ed.state), " · 投票截止 ", timeEl(ed.closes_at),
      ed.closed_at ? " · 结束于 " : "", ed.closed_at ? timeEl(ed.closed_at) : "",
      ` · 共 ${data.total} 票`));

  const out = h("div", { "aria-live": "polite" });
  main.append(exportButtons([
    ["导出 CSV", `/api/editions/${ed.id}/results.csv`, `edition-${ed.number}-results.csv`],
    ["导出 JSON", `/api/editions/${ed.id}/results`, `edition-${ed.number}-results.json`],
  ], out), out);

  if (!data.cases.length) main.appendChild(empty("本期没有案例。"));
  else {
    main.appendChild(h("div.table-wrap", { tabindex: "0", role: "region", "aria-label": "各案例票数" },
      h("table.wide.results", null,
        h("caption", null, `各案例票数与“${first}”占比`),
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "案例"),
          data.choices.map((c) => h("th.num", { scope: "col" }, c)),
          h("th.num", { scope: "col" }, "合计"), h("th.num", { scope: "col" }, `“${first}”占比`))),
        h("tbody", null, data.cases.map((c) => h("tr", { dataset: { case: String(c.id) } },
          h("th", { scope: "row" }, h("a", { href: `#/cases/${c.id}` }, c.title),
            h("span.muted.block", null, `${c.street_name} · ${c.community_name}`)),
          data.choices.map((ch) => h("td.num", { dataset: { choice: ch } }, String((c.votes || {})[ch] ?? 0))),
          h("td.num", null, String(c.total)),
          h("td.num", null, pct(c.first_choice_share))))))));
    main.appendChild(bars(`“${first}”占比(图中数字同上表)`, data.cases.map((c) => ({
      label: c.title, value: Number(c.first_choice_share) || 0,
      text: `${pct(c.first_choice_share)}(${c.total} 票)` }))));
  }

  if (ed.state === "closed") main.appendChild(tallyBox(ed, data.tally));
}

function tallyBox(ed, tally) {
  const sec = h("section.card", { "aria-labelledby": "h-tally", "data-testid": "tally" },
    h("h2", { id: "h-tally" }, "计票核验"));
  if (!tally) {
    sec.appendChild(h("p.muted", null, "本期结束时还没有保存计票摘要。"));
    return sec;
  }
  const file = `/api/public/editions/${ed.number}/ballots.csv`;
  sec.append(
    h("p", null, `结束时共 ${tally.votes} 票,于 `, timeEl(tally.closed_at), " 固定。"),
    h("p", null, "选票清单的摘要:"),
    h("p.pre.digest", null, h("code", null, tally.digest)),
    h("p", null, h("a", { href: file, download: `edition-${ed.number}-ballots.csv` }, "下载公开的选票清单(ballots.csv)")),
    h("p.muted", null, "任何人都可以下载这份清单,用 sha256sum ballots.csv 计算,结果应与上面 sha256: 之后的数字相同。"));
  return sec;
}

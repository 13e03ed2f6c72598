// A case's history: every transition (who, when, from, to, the reason) and
// every saved version, each readable whole or as the changes from the one before.
import * as API from "../api.js";
import { h, heading, timeEl, table, STATE, ACTION, empty, errorBox } from "../ui.js";
import { renderContent } from "./content.js";

export async function render(main, ctx) {
  const id = ctx.params[0];
  const [{ data: c }, { data: events }, { data: revs }] = await Promise.all([
    API.api("GET", `/api/cases/${id}`), API.api("GET", `/api/cases/${id}/events`),
    API.api("GET", `/api/cases/${id}/revisions`)]);
  main.append(
    h("p.breadcrumb", null, h("a", { href: "#/cases" }, "案例"), " › ",
      h("a", { href: `#/cases/${id}` }, `#${id}`), " › 历史"),
    heading(`历史记录:${c.title || "(无标题)"}`));

  main.appendChild(events.length
    ? table("流转记录(从早到晚)", ["时间", "操作人", "操作", "状态", "说明"], events.map((e) => h("tr", null,
      h("td", null, timeEl(e.at)), h("td", null, e.actor),
      h("td", null, ACTION[e.action] || e.action),
      h("td", null, `${STATE[e.from] || e.from} → ${STATE[e.to] || e.to}`),
      h("td", null, e.note || "—"))))
    : empty("还没有流转记录。"));

  const view = h("div", { "aria-live": "polite" });
  const show = async (label, fn) => {
    view.replaceChildren(h("p.muted", null, "正在加载…"));
    try {
      const part = await fn();
      view.replaceChildren(h("h2", { tabindex: "-1" }, label), part);
      view.firstChild.focus();
    } catch (err) {
      view.replaceChildren(errorBox(err));
    }
  };
  main.appendChild(h("h2", null, "保存过的版本"));
  main.appendChild(revs.length
    ? table("各版本(从早到晚)", ["版本", "保存时间", "保存人", ""], revs.map((r, i) => h("tr", null,
      h("td", null, `第${r.version}版`), h("td", null, timeEl(r.saved_at)), h("td", null, r.saved_by_name),
      h("td", null,
        h("button.small", { type: "button", onclick: () => show(`第${r.version}版全文`, async () => {
          const { data } = await API.api("GET", `/api/cases/${id}/revisions/${r.version}`);
          return renderContent({ ...data.content, photos: (data.content.photos || []).map((p, j) => ({
            id: j, url: `/api/photos/${p.sha256}`, caption: p.caption })) });
        }) }, "查看全文"),
        i > 0 ? " " : null,
        i > 0 ? h("button.small", { type: "button", onclick: () => show(`第${revs[i - 1].version}版 → 第${r.version}版的改动`, async () => {
          const [{ data: d }, { data: whole }] = await Promise.all([
            API.api("GET", `/api/cases/${id}/diff?from=${revs[i - 1].version}&to=${r.version}`),
            API.api("GET", `/api/cases/${id}/revisions/${r.version}`)]);
          return renderContent({ ...whole.content, photos: (whole.content.photos || []).map((p, j) => ({
            id: j, url: `/api/photos/${p.sha256}`, caption: p.caption })) }, d);
        }) }, "与上一版比较") : null))))
    : empty("还没有保存过的版本。"));
  main.appendChild(view);
}

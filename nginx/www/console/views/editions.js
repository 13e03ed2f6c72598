// Editions (reviewer): the list, newest first, and a new one (number,
// title, date, deadline, vote choices).
import * as API from "../api.js";
import { h, heading, field, timeEl, stateBadge, table, empty, errorBox, say, fromLocalInput } from "../ui.js";

export const DEFAULT_CHOICES = ["满意", "基本满意", "不满意"];

export async function render(main, ctx) {
  const { data: editions } = await API.api("GET", "/api/editions");
  main.appendChild(heading("期刊与投票"));
  if (ctx.me.role === "reviewer") main.appendChild(createForm(ctx, editions));
  main.appendChild(editions.length
    ? table("全部期刊(最新在前)", ["期号", "标题", "状态", "案例", "投票截止"], editions.map((e) => h("tr", null,
      h("td", null, `第${e.number}期`),
      h("td", null, h("a", { href: `#/editions/${e.id}` }, e.title)),
      h("td", null, stateBadge(e.state)),
      h("td", null, String(e.cases.length)),
      h("td", null, timeEl(e.closes_at)))))
    : empty("还没有期刊。"));
}

function createForm(ctx, editions) {
  const next = editions.reduce((m, e) => Math.max(m, e.number), 0) + 1;
  const number = h("input", { name: "number", type: "number", min: 1, max: 100000, value: String(next), required: true, inputmode: "numeric" });
  const title = h("input", { name: "title", maxlength: 200, required: true });
  const published = h("input", { name: "published_on", type: "date" });
  const closes = h("input", { name: "closes_at", type: "datetime-local" });
  const choices = h("textarea", { name: "choices", rows: 3 });
  choices.value = DEFAULT_CHOICES.join("\n");
  const out = h("div", { "aria-live": "polite" });
  const button = h("button.primary", { type: "submit" }, "新建期刊");
  const form = h("form.card", { novalidate: true, "aria-labelledby": "h-new-ed" },
    h("h2", { id: "h-new-ed" }, "新建期刊"),
    h("div.grid2", null, field("期号", number), field("标题", title),
      field("发布日期", published), field("投票截止(北京时间)", closes, "可以稍后再设")),
    field("投票选项(每行一个,2 到 6 个)", choices), out, button);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    out.replaceChildren();
    button.disabled = true;
    try {
      const body = { number: Number(number.value), title: title.value.trim(),
                     choices: choices.value.split("\n").map((s) => s.trim()).filter(Boolean) };
      if (published.value) body.published_on = published.value;
      if (closes.value) body.closes_at = fromLocalInput(closes.value);
      const { data } = await API.api("POST", "/api/editions", { json: body });
      say(`已新建第${data.number}期。`, "ok");
      ctx.go(`#/editions/${data.id}`);
    } catch (err) {
      if (!(err instanceof API.SessionExpired)) out.appendChild(errorBox(err));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// One edition (reviewer): its cases and their counts, updated live while
// voting is open; change it (title, choices, deadline); add cases from the
// review queue (approve into it); open and close the vote.
import * as API from "../api.js";
import { h, heading, field, timeEl, stateBadge, errorBox, say, toLocalInput, fromLocalInput, fmtDate, empty } from "../ui.js";

const POLL_MS = 5000;

export async function render(main, ctx) {
  const id = ctx.params[0];
  let { data: ed, etag } = await API.api("GET", `/api/editions/${id}`);
  const reviewer = ctx.me.role === "reviewer";
  const out = h("div", { "aria-live": "polite" });
  const run = async (button, fn) => {
    out.replaceChildren();
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof API.SessionExpired)) out.appendChild(errorBox(err));
    } finally {
      button.disabled = false;
    }
  };

  main.append(
    h("p.breadcrumb", null, h("a", { href: "#/editions" }, "期刊"), " › ", `第${ed.number}期`),
    heading(`第${ed.number}期 ${ed.title}`),
    h("p.meta", null, stateBadge(ed.state), ` · 发布日期 ${fmtDate(ed.published_on)} · 投票截止 `,
      timeEl(ed.closes_at),
      ed.opened_at ? " · 开始于 " : "", ed.opened_at ? timeEl(ed.opened_at) : "",
      ed.closed_at ? " · 结束于 " : "", ed.closed_at ? timeEl(ed.closed_at) : ""),
    h("p", null, h("a", { href: `/editions/${ed.number}` }, "查看公众页面"),
      ed.state !== "published" && ctx.me.role !== "editor" ? " · " : "",
      ed.state !== "published" && ctx.me.role !== "editor" ? h("a", { href: `#/editions/${ed.id}/results` }, "结果与导出") : "",
      " · 投票选项:", ed.choices.join(" / ")));

  // live counts
  const counts = h("section.card", { "aria-labelledby": "h-counts" });
  const updated = h("p.muted.updated");
  function drawCounts() {
    counts.replaceChildren(h("h2", { id: "h-counts" }, ed.state === "published" ? "本期案例" : "投票情况"));
    if (!ed.cases.length) {
      counts.appendChild(empty("本期还没有案例。"));
      return;
    }
    const rows = ed.cases.map((c) => {
      const total = Object.values(c.votes || {}).reduce((a, b) => a + b, 0);
      return h("tr", { dataset: { case: String(c.id) } },
        h("th", { scope: "row" }, h("a", { href: `#/cases/${c.id}` }, c.title),
          h("span.muted.block", null, `${c.street_name} · ${c.community_name}`)),
        ed.choices.map((ch) => h("td.num", { dataset: { choice: ch } }, String((c.votes || {})[ch] ?? 0))),
        h("td.num", null, String(total)));
    });
    counts.appendChild(h("div.table-wrap", { tabindex: "0", role: "region", "aria-label": "各选项票数" }, h("table.counts", null,
      h("caption", null, ed.state === "voting" ? "各选项票数(投票中,每 5 秒更新)" : "各选项票数"),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "案例"),
        ed.choices.map((c) => h("th.num", { scope: "col" }, c)), h("th.num", { scope: "col" }, "合计"))),
      h("tbody", null, rows))));
    counts.appendChild(updated);
  }
  drawCounts();
  updated.textContent = `更新于 ${new Date().toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hourCycle: "h23" })}`;
  main.appendChild(counts);

  let timer = null;
  if (ed.state === "voting") {
    timer = setInterval(async () => {
      if (!ctx.isCurrent()) return;
      try {
        const r = await API.api("GET", `/api/editions/${id}`);
        const changed = r.data.state !== ed.state;
        ed = r.data;
        etag = r.etag;
        if (changed) ctx.go(`#/editions/${id}`);
        else {
          drawCounts();
          updated.textContent = `更新于 ${new Date().toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hourCycle: "h23" })}`;
        }
      } catch {
        /* the next tick tries again */
      }
    }, POLL_MS);
  }

  if (reviewer) {
    const panel = h("section.card", { "aria-labelledby": "h-vote" }, h("h2", { id: "h-vote" }, "投票"));
    if (ed.state === "published") {
      const closes = h("input", { type: "datetime-local", name: "open-closes-at", value: toLocalInput(ed.closes_at), required: true });
      const open = h("button.primary", { type: "button", disabled: !ed.cases.length }, "开始投票");
      open.addEventListener("click", () => run(open, async () => {
        if (!closes.value) {
          closes.focus();
          throw { problem: { title_zh: "请先设定投票截止时间。" } };
        }
        await API.api("POST", `/api/editions/${id}/transitions`,
          { json: { action: "open", closes_at: fromLocalInput(closes.value) } });
        say(`第${ed.number}期已开始投票。`, "ok");
        ctx.go(`#/editions/${id}`);
      }));
      panel.append(field("投票截止(北京时间)", closes), h("p.muted", null,
        ed.cases.length ? "到截止时间投票自动结束,也可以提前手动结束。" : "先加入案例,再开始投票。"), open);
    } else if (ed.state === "voting") {
      const close = h("button.danger", { type: "button" }, "结束投票");
      close.addEventListener("click", () => run(close, async () => {
        if (!confirm(`结束第${ed.number}期的投票?结束后不能再投票。`)) return;
        await API.api("POST", `/api/editions/${id}/transitions`, { json: { action: "close" } });
        say(`第${ed.number}期投票已结束。`, "ok");
        ctx.go(`#/editions/${id}`);
      }));
      const closes = h("input", { type: "datetime-local", name: "closes-at", value: toLocalInput(ed.closes_at) });
      const move = h("button", { type: "button" }, "修改截止时间");
      move.addEventListener("click", () => run(move, async () => {
        const r = await API.api("PATCH", `/api/editions/${id}`, { json: { closes_at: fromLocalInput(closes.value) }, etag });
        etag = r.etag;
        say("截止时间已修改。", "ok");
        ctx.go(`#/editions/${id}`);
      }));
      panel.append(h("p", null, "投票进行中,截止 ", timeEl(ed.closes_at), ",到时自动结束。"),
        field("新的截止时间(只能延后)", closes), move, " ", close);
    } else {
      panel.append(h("p", null, "投票已结束。"), h("p", null,
        h("a", { href: `/editions/${ed.number}` }, "公众页面上的结果")));
    }
    panel.appendChild(out);
    main.appendChild(panel);

    if (ed.state === "published") {
      main.appendChild(await addCases(ctx, ed, run));
      main.appendChild(editForm(ctx, ed, () => etag, run));
    }
  } else {
    main.appendChild(out);
  }
  return () => clearInterval(timer);
}

// Cases waiting in the review queue, each approvable into this edition.
async function addCases(ctx, ed, run) {
  const queue = await API.allPages("/api/cases?state=review");
  const sec = h("section.card", { "aria-labelledby": "h-add" }, h("h2", { id: "h-add" }, "加入审核通过的案例"),
    h("p.muted", null, "批准审核队列中的案例并加入本期。需要先看改动的,请从案例页面审核。"));
  if (!queue.length) sec.appendChild(empty("审核队列是空的。"));
  else {
    sec.appendChild(h("ul.list", null, queue.map((c) => {
      const b = h("button.small", { type: "button", "aria-label": `批准并加入本期:${c.title}` }, "批准并加入本期");
      b.addEventListener("click", () => run(b, async () => {
        await API.api("POST", `/api/cases/${c.id}/transitions`, { json: { action: "approve", edition_id: ed.id } });
        say(`已加入第${ed.number}期。`, "ok");
        ctx.go(`#/editions/${ed.id}`);
      }));
      return h("li", null, h("a", { href: `#/cases/${c.id}` }, c.title || "(无标题)"),
        h("span.muted", null, ` · ${c.street_name} · ${c.community_name} `), b);
    })));
  }
  return sec;
}

function editForm(ctx, ed, etag, run) {
  const title = h("input", { maxlength: 200, value: ed.title, name: "edit-title" });
  const closes = h("input", { type: "datetime-local", value: toLocalInput(ed.closes_at), name: "edit-closes-at" });
  const choices = h("textarea", { rows: 3, name: "edit-choices" });
  choices.value = ed.choices.join("\n");
  const save = h("button", { type: "submit" }, "保存修改");
  const form = h("form.card", { novalidate: true, "aria-labelledby": "h-edit-ed" },
    h("h2", { id: "h-edit-ed" }, "修改本期"),
    field("标题", title), field("投票截止(北京时间)", closes),
    field("投票选项(每行一个;开始投票后不能再改)", choices), save);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run(save, async () => {
      const body = { title: title.value.trim(),
                     choices: choices.value.split("\n").map((s) => s.trim()).filter(Boolean),
                     closes_at: closes.value ? fromLocalInput(closes.value) : null };
      await API.api("PATCH", `/api/editions/${ed.id}`, { json: body, etag: etag() });
      say("已保存。", "ok");
      ctx.go(`#/editions/${ed.id}`);
    });
  });
  return form;
}

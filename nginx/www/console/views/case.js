// One case: its text, what came back from review, and what the signed-in
// person may do with it now (submit, withdraw; approve into an edition or
// reject with a reason, with the changes since the last submission marked).
import * as API from "../api.js";
import { h, heading, field, stateBadge, timeEl, say, errorBox, STATE } from "../ui.js";
import { renderContent } from "./content.js";

// The diff a reviewer needs: from the content a reviewer last sent back (the
// submission before the latest reject) to now (GET /diff?from=); a case never
// rejected has nothing to compare with. A withdraw and resubmit in between
// changes nothing of that.
export async function changesSinceLastSubmission(id, events) {
  let r = events.length - 1;
  while (r >= 0 && events[r].action !== "reject") r -= 1;
  const seen = events.slice(0, Math.max(r, 0)).filter((e) => e.action === "submit").pop();
  if (r < 0 || !seen) return null;
  const before = seen.version;
  const { data: revs } = await API.api("GET", `/api/cases/${id}/revisions`);
  const from = revs.filter((r) => r.version <= before).map((r) => r.version).pop();
  if (from === undefined) return null;
  const { data } = await API.api("GET", `/api/cases/${id}/diff?from=${from}`);
  return data;
}

export async function render(main, ctx) {
  const id = ctx.params[0];
  const me = ctx.me;
  const [{ data: c }, { data: events }] = await Promise.all([
    API.api("GET", `/api/cases/${id}`), API.api("GET", `/api/cases/${id}/events`)]);
  const last = events[events.length - 1];
  const diff = me.role !== "editor" && c.state === "review"
    ? await changesSinceLastSubmission(id, events) : null;

  main.append(
    h("p.breadcrumb", null, h("a", { href: me.role === "reviewer" && c.state === "review" ? "#/queue" : "#/cases" },
      me.role === "reviewer" && c.state === "review" ? "审核队列" : "案例"), " › ", `#${c.id}`),
    heading(c.title || "(无标题)"),
    h("p.meta", null, stateBadge(c.state), ` ${c.street_name} · ${c.community_name}`,
      c.edition_number ? ` · 第${c.edition_number}期` : "", ` · 第${c.version}版 · 更新于 `, timeEl(c.updated_at)));

  if (c.state === "draft" && last && last.action === "reject") {
    main.appendChild(h("div.alert.warn", { role: "note", "data-testid": "reason" },
      h("h2", null, "审核退回"),
      h("p", null, h("strong", null, "理由:"), last.note || ""),
      h("p.muted", null, `${last.actor} · `, timeEl(last.at))));
  }

  const panel = h("section.card.actions-panel", { "aria-labelledby": "h-do" }, h("h2", { id: "h-do" }, "操作"));
  const out = h("div", { "aria-live": "polite" });
  const after = async (what) => {
    say(what, "ok");
    ctx.go(`#/cases/${id}`);
  };
  const run = async (button, fn) => {
    out.replaceChildren();
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      if (err instanceof API.SessionExpired) return;
      out.appendChild(errorBox(err));
    } finally {
      button.disabled = false;
    }
  };
  const move = (action, extra) => API.api("POST", `/api/cases/${id}/transitions`,
    { json: { action, ...extra } });
  let any = false;

  if (me.role === "editor" && c.state === "draft") {
    any = true;
    panel.appendChild(h("p", null, h("a.button", { href: `#/cases/${id}/edit` }, "编辑"), " "));
    const submit = h("button.primary", { type: "button" }, "提交审核");
    submit.addEventListener("click", () => run(submit, async () => {
      await move("submit");
      await after("已提交审核。");
    }));
    panel.lastChild.appendChild(submit);
  }
  if (me.role === "editor" && c.state === "review") {
    any = true;
    const w = h("button", { type: "button" }, "撤回修改");
    w.addEventListener("click", () => run(w, async () => {
      await move("withdraw");
      await after("已撤回为草稿。");
    }));
    panel.append(h("p.muted", null, "案例正在审核。撤回后可以继续修改,再重新提交。"), w);
  }
  if (me.role === "reviewer" && c.state === "review") {
    any = true;
    await reviewPanel(panel, ctx, c, move, run, after);
  }
  if (me.role === "reviewer" && ["published", "voting", "closed"].includes(c.state)) {
    any = true;
    panel.append(h("p.muted", null, "发布后的文字只能通过更正修改:要写明理由,公众页面会显示。"),
      h("p", null, h("a.button", { href: `#/cases/${id}/correct` }, "更正")));
  }
  if (!any) panel.appendChild(h("p.muted", null, `此案例${STATE[c.state] || c.state},您现在无需操作。`));
  panel.appendChild(out);

  if (me.role !== "editor" && c.state === "review") {
    main.appendChild(h("p.diff-note", { "data-testid": "diff-note" }, diff
      ? (Object.keys(diff.changes).length
        ? `与上次退回前提交的第${diff.from}版相比,标出了 ${Object.keys(diff.changes).length} 处改动。`
        : `与上次退回前提交的第${diff.from}版相比没有改动。`)
      : "首次审核,没有可比较的旧版本。"));
  }
  main.appendChild(renderContent(c, diff));
  main.appendChild(panel); // read first, then decide
  main.appendChild(h("p", null, h("a", { href: `#/cases/${id}/history` }, "查看历史记录与各版本")));
}

async function reviewPanel(panel, ctx, c, move, run, after) {
  const { data: editions } = await API.api("GET", "/api/editions");
  const open = editions.filter((e) => e.state === "published");
  const sel = h("select", { name: "edition" },
    open.map((e) => h("option", { value: String(e.id) }, `第${e.number}期 ${e.title}`)));
  const approve = h("button.primary", { type: "button", disabled: !open.length }, "批准并加入该期");
  approve.addEventListener("click", () => run(approve, async () => {
    await move("approve", { edition_id: Number(sel.value) });
    await after("已批准,案例已加入该期。");
  }));
  panel.appendChild(h("div.group", null, h("h3", null, "批准发布"),
    open.length ? field("加入期刊", sel) : h("p.muted", null, "还没有可加入的期刊。"),
    h("p", null, approve, " ", h("a", { href: "#/editions" }, "新建期刊"))));

  const note = h("textarea", { name: "note", rows: 3, maxlength: 2000, required: true });
  const reject = h("button.danger", { type: "button" }, "退回修改");
  reject.addEventListener("click", () => run(reject, async () => {
    if (!note.value.trim()) {
      note.setAttribute("aria-invalid", "true");
      note.focus();
      throw { problem: { title_zh: "退回需要填写理由。" } };
    }
    await move("reject", { note: note.value.trim() });
    // a draft again: the district no longer sees it
    say(`已退回给${c.street_name}的编辑。`, "ok");
    ctx.go("#/queue");
  }));
  panel.appendChild(h("div.group", null, h("h3", null, "退回"),
    field("退回理由(必填,编辑会看到)", note), reject));
}

// The audit trail (admin), newest first: filter by kind and id, page back.
import * as API from "../api.js";
import { h, heading, field, table, timeEl, empty } from "../ui.js";

const ENTITIES = { streets: "街道", communities: "社区", staff_users: "账号", editions: "期刊" };
const ACTIONS = { create: "新建", update: "修改", delete: "删除" };

export async function render(main, ctx) {
  const entity = ctx.query.get("entity") || "";
  const entityId = ctx.query.get("id") || "";
  const before = ctx.query.get("before") || "";
  const qs = new URLSearchParams({ limit: "50" });
  if (entity) qs.set("entity", entity);
  if (entityId) qs.set("entity_id", entityId);
  if (before) qs.set("before", before);
  const { data: rows } = await API.api("GET", `/api/audit?${qs}`);

  const kind = h("select", { name: "entity" }, h("option", { value: "" }, "全部"),
    Object.entries(ENTITIES).map(([k, v]) => h("option", { value: k, selected: k === entity }, v)));
  const idIn = h("input", { name: "entity_id", type: "number", min: 1, inputmode: "numeric", value: entityId });
  const f = h("form.filters", { role: "search", "aria-label": "筛选审计日志" },
    field("对象", kind), field("编号", idIn), h("button", { type: "submit" }, "筛选"));
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (kind.value) q.set("entity", kind.value);
    if (idIn.value) q.set("id", idIn.value);
    ctx.go(`#/admin/audit${q.toString() ? `?${q}` : ""}`);
  });
  main.append(heading("审计日志"), f);
  if (!rows.length) {
    main.appendChild(empty("没有符合条件的记录。"));
    return;
  }
  main.appendChild(table("记录(最新在前)", ["时间", "操作人", "对象", "操作", "改动"], rows.map((r) => h("tr", null,
    h("td", null, timeEl(r.at)), h("td", null, r.actor || "系统"),
    h("td", null, `${ENTITIES[r.entity] || r.entity} #${r.entity_id}`),
    h("td", null, ACTIONS[r.action] || r.action),
    h("td", null, h("ul.changes", null, Object.entries(r.changes || {}).map(([k, v]) => h("li", null,
      h("code", null, k), ":",
      Array.isArray(v) && r.action === "update" ? `${show(v[0])} → ${show(v[1])}` : show(v)))))))));
  if (rows.length === 50) {
    const q = new URLSearchParams(ctx.query);
    q.set("before", String(rows[rows.length - 1].id));
    main.appendChild(h("p", null, h("a", { href: `#/admin/audit?${q}` }, "更早的记录")));
  }
}

function show(v) {
  if (v === null || v === undefined) return "(空)";
  return typeof v === "string" ? v : JSON.stringify(v);
}

// Communities (admin): each belongs to one street, with its committee
// (两委班子): election date, size, secretary and post. Add and change.
import * as API from "../api.js";
import { h, heading, field, table, errorBox, say, fmtDate } from "../ui.js";

export async function render(main, ctx) {
  const street = ctx.query.get("street") || "";
  const [{ data: streets }, { data: list }] = await Promise.all([
    API.api("GET", "/api/streets"),
    API.api("GET", `/api/communities${street ? `?street_id=${encodeURIComponent(street)}` : ""}`)]);
  const out = h("div", { "aria-live": "polite" });
  const streetSel = (value, name) => h("select", { name }, streets.map((s) =>
    h("option", { value: String(s.id), selected: String(s.id) === String(value) }, s.name)));

  const filter = h("select", { name: "street" }, h("option", { value: "" }, "全部街道"),
    streets.map((s) => h("option", { value: String(s.id), selected: String(s.id) === street }, s.name)));
  const ff = h("form.filters", { role: "search", "aria-label": "按街道筛选" }, field("街道", filter),
    h("button", { type: "submit" }, "筛选"));
  ff.addEventListener("submit", (e) => {
    e.preventDefault();
    ctx.go(`#/admin/communities${filter.value ? `?street=${filter.value}` : ""}`);
  });

  const editor = h("div");
  function edit(c) {
    const name = h("input", { name: "name", maxlength: 100, value: c?.name || "", required: true });
    const st = streetSel(c?.street_id || street || streets[0]?.id, "street_id");
    const elected = h("input", { name: "committee_elected_on", type: "date", value: c?.committee_elected_on || "" });
    const size = h("input", { name: "committee_size", type: "number", min: 1, max: 99, inputmode: "numeric",
                              value: c?.committee_size ?? "" });
    const sec = h("input", { name: "secretary_name", maxlength: 50, value: c?.secretary_name || "" });
    const post = h("input", { name: "secretary_post", maxlength: 100, value: c?.secretary_post || "" });
    const save = h("button.primary", { type: "submit" }, c ? "保存" : "新增社区");
    const errs = h("div", { "aria-live": "polite" });
    const form = h("form.card", { novalidate: true, "aria-labelledby": "h-comm-edit" },
      h("h2", { id: "h-comm-edit", tabindex: "-1" }, c ? `修改:${c.name}` : "新增社区"),
      h("div.grid2", null, field("名称", name), field("所属街道", st),
        field("两委选举日期", elected), field("班子人数", size),
        field("书记姓名", sec), field("书记职务", post, "如:社区党委书记、居委会主任")),
      errs, save, " ", h("button", { type: "button", onclick: () => editor.replaceChildren() }, "取消"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      errs.replaceChildren();
      save.disabled = true;
      const body = { name: name.value.trim(), street_id: Number(st.value),
                     committee_elected_on: elected.value || null,
                     committee_size: size.value ? Number(size.value) : null,
                     secretary_name: sec.value.trim() || null, secretary_post: post.value.trim() || null };
      try {
        if (c) await API.api("PATCH", `/api/communities/${c.id}`, { json: body });
        else await API.api("POST", "/api/communities", { json: body });
        say(c ? "已保存。" : "已新增社区。", "ok");
        ctx.go(location.hash.slice(1) ? location.hash : "#/admin/communities");
      } catch (err) {
        if (!(err instanceof API.SessionExpired)) errs.appendChild(errorBox(err));
      } finally {
        save.disabled = false;
      }
    });
    editor.replaceChildren(form);
    form.querySelector("h2").focus();
  }

  main.append(heading("社区与两委班子"), ff, out,
    h("p", null, h("button.primary", { type: "button", onclick: () => edit(null) }, "新增社区")), editor,
    table(`社区(${list.length})`, ["社区", "街道", "两委选举", "人数", "书记", ""], list.map((c) => h("tr", null,
      h("td", null, c.name), h("td", null, c.street_name), h("td", null, fmtDate(c.committee_elected_on)),
      h("td", null, c.committee_size ?? "—"),
      h("td", null, c.secretary_name ? `${c.secretary_name}${c.secretary_post ? `(${c.secretary_post})` : ""}` : "—"),
      h("td", null, h("button.small", { type: "button", "aria-label": `修改${c.name}`, onclick: () => edit(c) }, "修改"))))));
}

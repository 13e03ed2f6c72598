// Staff accounts (admin): create; change name, role and street; disable
// and re-enable; set a new password. Changes sign the account out.
import * as API from "../api.js";
import { h, heading, field, table, errorBox, say, ROLE, timeEl } from "../ui.js";

export async function render(main, ctx) {
  const [{ data: users }, { data: streets }] = await Promise.all([
    API.api("GET", "/api/users"), API.api("GET", "/api/streets")]);
  const editor = h("div");
  const roleSel = (v) => h("select", { name: "role" }, Object.entries(ROLE).map(([k, l]) =>
    h("option", { value: k, selected: k === v }, l)));
  const streetSel = (v) => h("select", { name: "street_id" }, h("option", { value: "" }, "(区级,无街道)"),
    streets.map((s) => h("option", { value: String(s.id), selected: String(s.id) === String(v ?? "") }, s.name)));

  function form(u) {
    const username = u ? null : h("input", { name: "username", minlength: 2, maxlength: 32, autocomplete: "off", required: true });
    const display = h("input", { name: "display_name", maxlength: 100, value: u?.display_name || "", required: true });
    const role = roleSel(u?.role || "editor");
    const street = streetSel(u?.street_id);
    const password = h("input", { name: "password", type: "password", autocomplete: "new-password" });
    const errs = h("div", { "aria-live": "polite" });
    const save = h("button.primary", { type: "submit" }, u ? "保存" : "新建账号");
    const f = h("form.card", { novalidate: true, "aria-labelledby": "h-user" },
      h("h2", { id: "h-user", tabindex: "-1" }, u ? `账号:${u.username}` : "新建账号"),
      h("div.grid2", null, username ? field("用户名", username) : null, field("姓名", display),
        field("角色", role), field("街道(街道编辑必填)", street),
        field(u ? "重设密码(留空则不改)" : "初始密码", password)),
      errs, save, " ", h("button", { type: "button", onclick: () => editor.replaceChildren() }, "取消"));
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      errs.replaceChildren();
      save.disabled = true;
      try {
        const body = { display_name: display.value.trim(), role: role.value,
                       street_id: role.value === "editor" && street.value ? Number(street.value) : null };
        if (password.value) body.password = password.value;
        if (u) {
          if (role.value !== "editor" && u.street_id === null) delete body.street_id;
          await API.api("PATCH", `/api/users/${u.id}`, { json: body });
        } else {
          body.username = username.value.trim();
          if (body.street_id === null) delete body.street_id;
          await API.api("POST", "/api/users", { json: body });
        }
        say(u ? (password.value ? "已保存,密码已重设,该账号需要重新登录。" : "已保存。") : "账号已新建。", "ok");
        ctx.go("#/admin/users");
      } catch (err) {
        if (!(err instanceof API.SessionExpired)) errs.appendChild(errorBox(err));
      } finally {
        save.disabled = false;
      }
    });
    editor.replaceChildren(f);
    f.querySelector("h2").focus();
  }

  async function toggle(u, button) {
    if (!confirm(u.disabled ? `重新启用 ${u.username}?` : `停用 ${u.username}?该账号会立即退出登录。`)) return;
    button.disabled = true;
    try {
      await API.api("PATCH", `/api/users/${u.id}`, { json: { disabled: !u.disabled } });
      say(u.disabled ? "账号已启用。" : "账号已停用。", "ok");
      ctx.go("#/admin/users");
    } catch (err) {
      if (!(err instanceof API.SessionExpired)) editor.replaceChildren(errorBox(err));
    } finally {
      button.disabled = false;
    }
  }

  main.append(heading("员工账号"),
    h("p", null, h("button.primary", { type: "button", onclick: () => form(null) }, "新建账号")), editor,
    table(`账号(${users.length})`, ["用户名", "姓名", "角色", "街道", "状态", "更新", ""], users.map((u) => {
      const t = h("button.small", { type: "button", "aria-label": `${u.disabled ? "启用" : "停用"} ${u.username}` },
        u.disabled ? "启用" : "停用");
      t.addEventListener("click", () => toggle(u, t));
      return h("tr", { class: u.disabled ? "is-disabled" : null },
        h("td", null, u.username), h("td", null, u.display_name), h("td", null, ROLE[u.role] || u.role),
        h("td", null, u.street_name || "—"), h("td", null, u.disabled ? "已停用" : "正常"),
        h("td", null, timeEl(u.updated_at)),
        h("td", null, h("button.small", { type: "button", "aria-label": `修改 ${u.username}(含重设密码)`,
          onclick: () => form(u) }, "修改 / 重设密码"), " ", t));
    })));
}

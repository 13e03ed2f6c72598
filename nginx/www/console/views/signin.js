// Sign-in: user name and password; a session that expired comes back here
// and returns to where it was.
import * as API from "../api.js";
import { h, field, heading, errorBox, say } from "../ui.js";

export async function render(main, ctx) {
  const user = h("input", { name: "username", autocomplete: "username", required: true,
                            autocapitalize: "none", spellcheck: "false" });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password",
                            required: true });
  const errors = h("div", { "aria-live": "assertive" });
  const button = h("button.primary", { type: "submit" }, "登录");
  const form = h("form.card.narrow", { novalidate: true },
    field("用户名", user), field("密码", pass), errors, button);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    errors.replaceChildren();
    if (!user.value.trim() || !pass.value) {
      errors.appendChild(h("p.alert.error", { role: "alert" }, "请输入用户名和密码。"));
      (user.value.trim() ? pass : user).focus();
      return;
    }
    button.disabled = true;
    try {
      await API.login(user.value.trim(), pass.value);
      say("");
      ctx.signedIn();
    } catch (err) {
      const p = err.problem || {};
      const text = err.status === 401 ? "用户名或密码不正确,或账号已停用。"
        : err.status === 429 ? `尝试次数过多,请 ${p.retry_after || 1} 秒后再试。` : null;
      errors.appendChild(text ? h("p.alert.error", { role: "alert" }, text) : errorBox(err));
      pass.select();
      pass.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.append(heading("登录工作台"),
    h("p.muted", null, "街道编辑、区审核员和区管理员在这里工作。公众请访问 ", h("a", { href: "/" }, "栏目首页"), "。"),
    form);
  user.focus();
}

// Streets (admin): the district's street offices, the tenants; add and rename.
import * as API from "../api.js";
import { h, heading, field, table, errorBox, say } from "../ui.js";

export async function render(main, ctx) {
  const { data: streets } = await API.api("GET", "/api/streets");
  const out = h("div", { "aria-live": "polite" });
  const run = async (button, fn) => {
    out.replaceChildren();
    button.disabled = true;
    try { await fn(); } catch (err) {
      if (!(err instanceof API.SessionExpired)) out.appendChild(errorBox(err));
    } finally { button.disabled = false; }
  };
  main.append(heading("街道"), out);
  main.appendChild(table(`${streets[0]?.district_name || ""}的街道(${streets.length})`, ["名称", "改名"],
    streets.map((s) => {
      const name = h("input", { value: s.name, maxlength: 100, "aria-label": `${s.name}的新名称` });
      const b = h("button.small", { type: "button" }, "改名");
      b.addEventListener("click", () => run(b, async () => {
        await API.api("PATCH", `/api/streets/${s.id}`, { json: { name: name.value.trim() } });
        say("已改名。", "ok");
        ctx.go("#/admin/streets");
      }));
      return h("tr", null, h("td", null, s.name), h("td", null, name, " ", b));
    })));
  const name = h("input", { name: "name", maxlength: 100, required: true });
  const add = h("button.primary", { type: "submit" }, "新增街道");
  const form = h("form.card", { novalidate: true, "aria-labelledby": "h-add-street" },
    h("h2", { id: "h-add-street" }, "新增街道"), field("名称", name), add);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run(add, async () => {
      await API.api("POST", "/api/streets", { json: { name: name.value.trim() } });
      say("已新增街道。", "ok");
      ctx.go("#/admin/streets");
    });
  });
  main.appendChild(form);
}

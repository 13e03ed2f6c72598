// The review queue across streets, oldest first (the API lists in id order).
import * as API from "../api.js";
import { h, heading, timeEl, table, empty } from "../ui.js";

export async function render(main) {
  const queue = await API.allPages("/api/cases?state=review");
  main.append(heading(`审核队列(${queue.length})`),
    h("p.muted", null, "各街道提交的案例,最早提交的在最前。"));
  if (!queue.length) {
    main.appendChild(empty("没有待审核的案例。"));
    return;
  }
  main.appendChild(table("待审核的案例", ["#", "事项名称", "街道 · 社区", "更新时间"],
    queue.map((c, i) => h("tr", null,
      h("td", null, String(i + 1)),
      h("td", null, h("a", { href: `#/cases/${c.id}` }, c.title || "(无标题)")),
      h("td", null, `${c.street_name} · ${c.community_name}`),
      h("td", null, timeEl(c.updated_at))))));
}

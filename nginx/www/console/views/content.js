// A case's content as the column prints it, with the changes of a diff
// (GET /api/cases/{id}/diff) marked: what was there before shown struck
// through beside what is there now. Text only, through the DOM.
import * as API from "../api.js";
import { h, ordinal, fmtDate } from "../ui.js";

export function photoFigure(p, extra) {
  const img = h("img", { alt: p.caption || "照片", width: p.width || null, height: p.height || null,
                         loading: "lazy", decoding: "async" });
  API.photoURL(p.url).then((u) => { img.src = u; }).catch(() => { img.alt = `${p.caption || "照片"}(无法加载)`; });
  return h("figure.photo", null, img, h("figcaption", null, p.caption || ""), extra || null);
}

// before/after of a changed text
function changed(before, after, tag = "p") {
  return h("div.change", null,
    h("p.change-label", null, "本次修改"),
    before !== null && before !== undefined && before !== ""
      ? h(`${tag}.before`, null, h("span.sr-only", null, "修改前:"), h("del", null, String(before))) : null,
    after !== null && after !== undefined && after !== ""
      ? h(`${tag}.after`, null, h("span.sr-only", null, "修改后:"), h("ins", null, String(after)))
      : h(`${tag}.after.muted`, null, "(已删除)"));
}

export function renderContent(c, diff) {
  const ch = (diff && diff.changes) || {};
  const actionChanges = new Map((ch.actions || []).map((x) => [x.index, x]));
  const photoChanges = new Map((ch.photos || []).map((x) => [x.index, x]));
  const out = h("article.case", { "aria-label": "案例内容" });

  out.append(h("h2", null, "事项名称"),
    ch.title ? changed(ch.title.from, ch.title.to) : h("p.case-title", null, c.title || "(未填写)"));
  out.append(h("h2", null, "问题困难"),
    ch.problem ? changed(ch.problem.from, ch.problem.to) : h("p.pre", null, c.problem || "(未填写)"));

  out.append(h("h2", null, "干事情况"));
  const actions = c.actions || [];
  const n = Math.max(actions.length, ...[...actionChanges.keys()].map((i) => i + 1));
  const ol = h("ol.actions");
  for (let i = 0; i < n; i++) {
    const a = actions[i];
    const d = actionChanges.get(i);
    const li = h("li", { class: d ? "is-changed" : null });
    if (d) {
      li.append(h("p.change-label", null, d.from ? (d.to ? "本项已修改" : "本项已删除") : "新增的一项"));
      if (d.from) li.append(h("p.before", null, h("span.sr-only", null, "修改前:"),
        h("del", null, `${ordinal(i + 1)}${d.from.headline}。${d.from.body}`)));
      if (d.to) li.append(h("p.after", null, h("span.sr-only", null, "修改后:"),
        h("ins", null, h("strong", null, `${ordinal(i + 1)}${d.to.headline}。`), d.to.body)));
    } else if (a) {
      li.append(h("p", null, h("strong", null, `${ordinal(i + 1)}${a.headline}。`), a.body));
    }
    ol.appendChild(li);
  }
  if (!n) out.appendChild(h("p.muted", null, "(未填写)"));
  else out.appendChild(ol);

  const photos = c.photos || [];
  if (photos.length || photoChanges.size) {
    out.appendChild(h("h2", null, "照片"));
    if (photoChanges.size) {
      out.appendChild(h("div.change", null, h("p.change-label", null, "照片有改动"),
        h("ul", null, [...photoChanges.values()].map((x) => h("li", null,
          `第${x.index + 1}张:`,
          x.from ? h("del", null, x.from.caption || "(无说明)") : "(新增)", " → ",
          x.to ? h("ins", null, x.to.caption || "(无说明)") : "(已删除)")))));
    }
    out.appendChild(h("div.photos", null, photos.map((p) => photoFigure(p))));
  }

  out.appendChild(h("h2", null, "履新感言"));
  const t = c.testimonial || {};
  if (ch.testimonial) {
    const f = ch.testimonial.from || {};
    const to = ch.testimonial.to || {};
    out.appendChild(changed(`${f.text || ""}——${f.speaker || ""} ${f.post || ""}`,
      `${to.text || ""}——${to.speaker || ""} ${to.post || ""}`));
  } else {
    out.appendChild(h("blockquote.testimonial", null, h("p.pre", null, t.text || "(未填写)"),
      h("footer", null, `——${t.post || ""} ${t.speaker || ""}`)));
  }
  if (c.committee) {
    const m = c.committee;
    out.appendChild(h("p.muted.committee", null,
      `两委班子:${fmtDate(m.elected_on)}选举产生,共 ${m.size ?? "—"} 人;${m.secretary_post || "书记"} ${m.secretary_name || "—"}`));
  }
  return out;
}

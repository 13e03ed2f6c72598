// A correction after publication (reviewer; published, voting or closed
// case): the text as the editor's fields hold it, the photos to keep
// (removed, reordered, recaptioned), and a required reason. Sent as the
// transition `correct` with If-Match naming the version corrected; only the
// fields that changed go in `content`. A new picture is a correction of its
// own, recorded at once with the same reason (POST .../photos?reason=):
// added at the end, or put in an old one's place (&replaces=), which the
// public then see as one change.
import * as API from "../api.js";
import { h, heading, field, stateBadge, say, errorBox, clear, nextId } from "../ui.js";
import { photoFigure } from "./content.js";
import { caseFields, contentOf as textOf } from "./casefields.js";

const CORRECTABLE = ["published", "voting", "closed"];
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function contentOf(c) {
  return { ...textOf(c), photos: (c.photos || []).map((p) => ({ id: p.id, caption: p.caption || "" })) };
}

export async function render(main, ctx) {
  const id = ctx.params[0];
  const { data: c, etag: first } = await API.api("GET", `/api/cases/${id}`);
  let etag = first;
  main.append(
    h("p.breadcrumb", null, h("a", { href: "#/cases" }, "案例"), " › ",
      h("a", { href: `#/cases/${id}` }, `#${id}`), " › 更正"),
    heading(`更正:${c.title || "(无标题)"}`),
    h("p.meta", null, stateBadge(c.state), ` ${c.street_name} · ${c.community_name} · 更正第${c.version}版`));
  if (ctx.me.role !== "reviewer" || !CORRECTABLE.includes(c.state)) {
    main.appendChild(h("p", null, ctx.me.role !== "reviewer"
      ? "只有区审核员可以更正已发布的案例。" : "只有已发布、投票中或已结束的案例可以更正。"));
    return;
  }
  const server = contentOf(c);
  const model = structuredClone(server);
  const byId = new Map((c.photos || []).map((p) => [p.id, p]));

  const fields = caseFields(model);
  const note = h("textarea", { name: "note", rows: 3, maxlength: 2000, required: true, "aria-required": "true" });
  const photosBox = h("ol.photo-editor", { "aria-label": "保留的照片" });
  const errors = h("div", { "aria-live": "polite" });

  function read() {
    fields.read();
    model.photos = [...photosBox.querySelectorAll(":scope > li")].map((li) => ({
      id: Number(li.dataset.photo), caption: li.querySelector("input").value }));
    return model;
  }
  const moveIn = (list, i, what) => {
    if (what === "up") [list[i - 1], list[i]] = [list[i], list[i - 1]];
    if (what === "down") [list[i + 1], list[i]] = [list[i], list[i + 1]];
    if (what === "remove") list.splice(i, 1);
    return what === "up" ? i - 1 : what === "down" ? i + 1 : Math.min(i, list.length - 1);
  };
  const focusIn = (box, index, what, fallback) => {
    const li = box.children[index];
    const el = li && li.querySelector(`button[data-what="${what}"]`);
    (el && !el.disabled ? el : li ? li.querySelector("input") : fallback).focus();
  };

  function drawPhotos(focus) {
    clear(photosBox);
    model.photos.forEach((p, i) => {
      const orig = byId.get(p.id);
      const cap = h("input", { maxlength: 200, value: p.caption });
      const btn = (label, what, disabled) => h(`button.small${what === "remove" ? ".danger" : ""}`, {
        type: "button", disabled, "aria-label": `${label}:第${i + 1}张照片`, dataset: { what }, onclick: () => {
          read();
          const to = moveIn(model.photos, i, what);
          drawPhotos({ index: to, what });
        } }, label);
      photosBox.appendChild(h("li", { dataset: { photo: String(p.id) } }, photoFigure(orig),
        field(`第${i + 1}张照片的说明`, cap),
        h("div.row-buttons", null, btn("上移", "up", i === 0),
          btn("下移", "down", i === model.photos.length - 1), btn("不再显示", "remove", false))));
    });
    photosNote.textContent = model.photos.length < server.photos.length
      ? `将撤下 ${server.photos.length - model.photos.length} 张照片。` : "";
    if (focus) focusIn(photosBox, focus.index, focus.what, photosHeading);
    drawReplaces();
  }
  const photosHeading = h("legend", { tabindex: "-1" }, "照片");
  const photosNote = h("p.hint", { "aria-live": "polite" });

  // a new picture: recorded as a correction of its own as soon as it is sent
  const file = h("input", { type: "file", name: "photo", accept: "image/jpeg,image/png,image/webp" });
  const newCaption = h("input", { name: "new-caption", maxlength: 200 });
  const replaces = h("select", { name: "replaces" });
  const addPhoto = h("button", { type: "button" }, "添加照片(作为更正)");
  const captionHint = h("p.hint", { id: nextId("hint") });
  newCaption.setAttribute("aria-describedby", captionHint.id);
  // the pictures one may replace: those shown above, numbered as they are there
  function drawReplaces() {
    const chosen = replaces.value;
    replaces.replaceChildren(h("option", { value: "" }, "不替换,加在最后"),
      ...model.photos.map((p, i) => h("option", { value: String(p.id) },
        `替换第${i + 1}张:${p.caption || "(无说明)"}`)));
    replaces.value = model.photos.some((p) => String(p.id) === chosen) ? chosen : "";
    // the picture chosen to be replaced was taken down here: say so
    if (chosen && !replaces.value) say("要替换的照片已撤下,新照片将加在最后。", "info");
    addPhoto.textContent = replaces.value ? "替换照片(作为更正)" : "添加照片(作为更正)";
    captionHint.textContent = replaces.value ? "留空则沿用被替换照片的说明。" : "";
  }
  replaces.addEventListener("change", () => {
    read();
    drawReplaces();
  });
  const addOut = h("div"); // its alerts announce themselves
  let uploading = false; // the correction waits for a picture on its way
  newCaption.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault(); // Enter here adds the picture, not the whole correction
    addPhoto.click();
  });
  // a 412 or 428: the case changed since this screen loaded; into box goes
  // the refusal, with a reload that takes the focus
  const refuseStale = (box) => {
    const reload = h("button", { type: "button", onclick: () => ctx.go(`#/cases/${id}/correct`) }, "重新载入最新内容");
    box.replaceChildren(h("div.alert.error", { role: "alert", "data-testid": "conflict" },
      h("p", null, "没有更正:这个案例在您打开本页之后已被修改(别人可能刚更正过)。请重新载入,核对最新内容后再更正。"),
      h("p", null, reload)));
    reload.focus();
  };
  addPhoto.addEventListener("click", async () => {
    addOut.replaceChildren();
    const f = file.files[0];
    if (!f) {
      addOut.replaceChildren(h("p.alert.error", { role: "alert" }, "请先选择一张照片。"));
      file.focus();
      return;
    }
    const reason = note.value.trim();
    if (!reason || reason.length > 500) {
      addOut.replaceChildren(h("p.alert.error", { role: "alert" }, reason
        ? "添加照片时,更正理由请不超过 500 字。"
        : "请先填写下面的更正理由:添加照片会立即作为一次更正记录。"));
      note.setAttribute("aria-invalid", "true");
      note.focus();
      return;
    }
    if (uploading) return;
    uploading = true;
    addPhoto.disabled = send.disabled = true;
    const old = Number(replaces.value) || null; // the picture this one takes the place of
    // replacing, an empty caption keeps the old picture's
    const query = [newCaption.value || !old ? `caption=${encodeURIComponent(newCaption.value)}` : "",
      `reason=${encodeURIComponent(reason)}`, old ? `replaces=${old}` : ""].filter(Boolean).join("&");
    try {
      const r = await API.api("POST", `/api/cases/${id}/photos?${query}`,
        { body: f, headers: { "Content-Type": f.type || "application/octet-stream" }, etag });
      read();
      etag = r.etag;
      const known = new Set(server.photos.map((p) => p.id));
      (r.data.photos || []).forEach((p) => byId.set(p.id, p));
      server.photos = contentOf(r.data).photos;
      const fresh = server.photos.filter((p) => !known.has(p.id));
      const at = model.photos.findIndex((p) => p.id === old);
      if (old && at >= 0) model.photos.splice(at, 1, ...fresh);
      else model.photos = model.photos.filter((p) => p.id !== old).concat(fresh);
      file.value = "";
      newCaption.value = "";
      note.removeAttribute("aria-invalid");
      replaces.value = ""; // done: the next picture is added unless another is chosen
      drawPhotos();
      addOut.replaceChildren(h("p", null, old
        ? "照片已替换,并已记录为一次更正:公众页面上旧照片已换成新照片。"
        : "照片已添加,并已记录为一次更正。"));
      say(old ? "照片已作为更正替换。" : "照片已作为更正添加。", "ok");
      // the button that had the focus is gone from view: the new picture's caption takes it
      const li = fresh.length && photosBox.querySelector(`li[data-photo="${fresh[0].id}"]`);
      (li || photosBox.lastElementChild)?.querySelector("input")?.focus();
    } catch (err) {
      if (err instanceof API.SessionExpired) return;
      if (err.status === 412 || err.status === 428) return refuseStale(addOut);
      addOut.replaceChildren(errorBox(err));
    } finally {
      uploading = false;
      addPhoto.disabled = send.disabled = false;
    }
  });

  const send = h("button.primary", { type: "submit" }, "提交更正");
  const form = h("form.editor", { novalidate: true },
    h("p.hint", null, "更正会成为新的一版,原来的文字仍保留在历史记录中;公众页面会显示“更正”及理由。投票不受影响。"),
    fields.title, fields.problem, fields.actions, fields.testimonial,
    h("fieldset", null, photosHeading,
      h("p.hint", null, "可以撤下、调整顺序或修改说明。新照片一经发送即作为一次更正记录(用下面的理由):加在最后,或替换选中的那一张。"),
      photosBox, photosNote,
      h("div.upload", null, h("h3", null, "添加或替换照片"),
        field("选择照片(JPEG、PNG 或 WebP)", file), field("替换", replaces),
        field("新照片的说明", newCaption), captionHint, addPhoto, addOut)),
    field("更正理由(必填,公众页面会显示)", note),
    errors,
    h("div.form-buttons", null, send, " ", h("a", { href: `#/cases/${id}`, onclick: (e) => {
      // what the form holds unsent is lost by leaving (a sent picture is not)
      if (Object.keys(changes()).length && !confirm("更正还没有提交,离开会丢掉这些改动。仍要离开吗?")) e.preventDefault();
    } }, "取消")));

  function changes() {
    read();
    const content = {};
    if (model.title !== server.title) content.title = model.title;
    if (model.problem !== server.problem) content.problem = model.problem;
    const actions = model.actions.filter((a) => a.headline.trim() || a.body.trim());
    if (!same(actions, server.actions)) content.actions = actions;
    if (!same(model.testimonial, server.testimonial)) content.testimonial = { ...model.testimonial };
    if (!same(model.photos, server.photos)) {
      content.photos = model.photos.map((p) => ({ id: p.id, caption: p.caption }));
    }
    return content;
  }
  function markField(f) {
    const key = (f || "").replace(/^content\./, "");
    if (key === "note") {
      note.setAttribute("aria-invalid", "true");
      note.focus();
    } else if (!fields.markField(key === "content" ? "title" : key)) {
      errors.querySelector("[role=alert]")?.setAttribute("tabindex", "-1");
      errors.querySelector("[role=alert]")?.focus();
    }
  }
  const refuse = (text, f) => {
    errors.replaceChildren(h("div.alert.error", { role: "alert" }, h("p", null, text)));
    markField(f);
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    form.querySelectorAll("[aria-invalid]").forEach((x) => x.removeAttribute("aria-invalid"));
    errors.replaceChildren();
    if (uploading) return refuse("照片还在上传:请等它完成再提交更正。");
    const content = changes();
    if (!Object.keys(content).length) return refuse("没有改动:更正至少要改一处。", "title");
    if (!note.value.trim()) return refuse("请填写更正理由。", "note");
    send.disabled = true;
    try {
      await API.api("POST", `/api/cases/${id}/transitions`,
        { json: { action: "correct", note: note.value.trim(), content }, etag });
      say("已更正。历史记录中有这次更正和新的一版。", "ok");
      ctx.go(`#/cases/${id}/history`);
    } catch (err) {
      if (err instanceof API.SessionExpired) return;
      if (err.status === 412 || err.status === 428) return refuseStale(errors);
      if (err.status === 422 && err.problem?.errors) err.problem.title_zh = "没有更正:请修改以下内容";
      errors.replaceChildren(errorBox(err));
      const first = err.problem?.errors?.[0]?.field;
      if (first) markField(first);
    } finally {
      send.disabled = false;
    }
  });

  drawPhotos();
  main.appendChild(form);
}



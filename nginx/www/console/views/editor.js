// The case editor (street editor, drafts only): title, problem, numbered
// actions (add, remove, reorder), photos with captions (upload, reorder,
// remove), the testimonial. Every keystroke is kept in this browser until the
// server has it; a save with a stale version shows both texts and
// overwrites nothing unless the editor chooses to.
import * as API from "../api.js";
import { h, heading, field, ordinal, say, errorBox, timeEl, clear } from "../ui.js";
import * as drafts from "../drafts.js";
import { photoFigure } from "./content.js";
import { caseFields, contentOf } from "./casefields.js";

const EMPTY = { title: "", problem: "", actions: [{ headline: "", body: "" }], testimonial: { text: "", speaker: "", post: "" } };

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export async function render(main, ctx) {
  const me = ctx.me;
  let id = ctx.params[0] ? Number(ctx.params[0]) : null;
  const key = () => (id ? String(id) : "new");

  if (me.role !== "editor") {
    main.append(heading("编辑案例"), h("p", null, "只有街道编辑可以编写案例。"));
    return;
  }
  let server = null;
  let etag = null;
  let communities = [];
  if (id) {
    const r = await API.api("GET", `/api/cases/${id}`);
    server = r.data;
    etag = r.etag;
    if (server.state !== "draft") {
      main.append(heading(server.title || "编辑案例"),
        h("p", null, "只有草稿可以修改。此案例现在不是草稿:"),
        h("p", null, h("a", { href: `#/cases/${id}` }, "查看案例")));
      return;
    }
  } else {
    communities = (await API.api("GET", "/api/communities")).data;
  }

  let model = server ? contentOf(server) : structuredClone(EMPTY);
  const kept = drafts.take(me.id, key());
  const restored = kept && !same(kept.content, model);
  // text kept from an older version is saved against that version, so the
  // server answers with a conflict rather than losing what came since
  const behind = restored && server && kept.base && kept.base !== server.version;
  if (restored) model = kept.content;
  if (behind) etag = `"${kept.base}"`;
  // the version the text in the form was written against
  let baseVersion = behind ? kept.base : server ? server.version : null;
  const community = id ? null : h("select", { name: "community", required: true },
    h("option", { value: "" }, "请选择社区"),
    communities.map((c) => h("option", { value: String(c.id) }, c.name)));

  // ---- the form --------------------------------------------------------
  const notice = h("div", { "aria-live": "polite" });
  const errors = h("div");
  const conflictBox = h("div");
  const fields = caseFields(model, () => keep());
  const read = () => fields.read();
  const fill = (m) => fields.fill(m);

  function keep() {
    read();
    const dirty = !server || !same(model, contentOf(server));
    if (dirty || !server) {
      drafts.keep(me.id, key(), baseVersion, model);
      if (community && community.value) {
        try { localStorage.setItem(`portal.console.community.${me.id}`, community.value); } catch { /* off */ }
      }
    } else {
      drafts.drop(me.id, key());
    }
    state.textContent = dirty ? "有未保存的修改(已暂存在本机)" : "已保存";
  }

  const state = h("p.save-state", { "aria-live": "polite" });
  const saveBtn = h("button.primary", { type: "submit" }, "保存草稿");
  const submitBtn = h("button", { type: "button" }, "保存并提交审核");
  const form = h("form.editor", { novalidate: true },
    community ? field("社区", community, "只能为本街道的社区编写案例。") : null,
    fields.title, fields.problem, fields.actions, fields.testimonial,
    errors, conflictBox,
    h("div.form-buttons", null, saveBtn, " ", submitBtn, state));
  form.addEventListener("input", keep);
  form.addEventListener("change", keep);

  // ---- saving ------------------------------------------------------------
  async function save(force) {
    read();
    errors.replaceChildren();
    if (!id) {
      if (!community.value) {
        errors.appendChild(h("p.alert.error", { role: "alert" }, "请选择社区。"));
        community.focus();
        return false;
      }
      const body = { community_id: Number(community.value), ...clean(model) };
      const r = await API.api("POST", "/api/cases", { json: body });
      drafts.drop(me.id, "new");
      id = r.data.id;
      server = r.data;
      etag = r.etag;
      baseVersion = server.version;
      say("草稿已保存。", "ok");
      history.replaceState(null, "", `#/cases/${id}/edit`);
      ctx.go(`#/cases/${id}/edit`);
      return true;
    }
    if (!force && same(model, contentOf(server))) {
      state.textContent = "没有需要保存的修改";
      return true;
    }
    try {
      const r = await API.api("PATCH", `/api/cases/${id}`, { json: clean(model), etag });
      server = r.data;
      etag = r.etag;
      baseVersion = server.version;
      drafts.drop(me.id, key());
      conflictBox.replaceChildren();
      if (!same(model, contentOf(server))) {
        fill(contentOf(server)); // the empty rows of a half-added action are not kept
      }
      state.textContent = `已保存(第${server.version}版)`;
      say("已保存。", "ok");
      return true;
    } catch (err) {
      if (err.status === 412) {
        await conflict();
        return false;
      }
      throw err;
    }
  }

  async function conflict() {
    const r = await API.api("GET", `/api/cases/${id}`);
    const theirs = r.data;
    const mine = structuredClone(read());
    conflictBox.replaceChildren();
    if (theirs.state !== "draft") {
      conflictBox.appendChild(h("div.alert.error", { role: "alert" },
        h("p", null, `此案例已被${theirs.state === "review" ? "提交审核" : "移出草稿"},您的内容没有保存,仍保留在本页和本机。`)));
      return;
    }
    const t = contentOf(theirs);
    // what the text was written against: the parts this page did not change
    // take the other save's text when merging
    const base = await baseContent();
    const pick = (a, b, o) => (base && same(a, o) ? b : a);
    const merged = {
      title: pick(mine.title, t.title, base?.title),
      problem: pick(mine.problem, t.problem, base?.problem),
      actions: pick(mine.actions, t.actions, base?.actions),
      testimonial: {
        text: pick(mine.testimonial.text, t.testimonial.text, base?.testimonial.text),
        speaker: pick(mine.testimonial.speaker, t.testimonial.speaker, base?.testimonial.speaker),
        post: pick(mine.testimonial.post, t.testimonial.post, base?.testimonial.post),
      },
    };
    const rows = [];
    const add = (label, a, b, m) => {
      if (a !== b) rows.push(h("div.conflict-row", null, h("h4", null, label),
        h("div.cols", null,
          h("div.col", null, h("p.col-label", null, "您的内容"), h("p.pre.mine", null, a || "(空)")),
          h("div.col", null, h("p.col-label", null, `已保存的内容(第${theirs.version}版)`),
            h("p.pre.theirs", null, b || "(空)"))),
        h("p.hint", null, m === a ? "合并保存时用您的内容" : "合并保存时用已保存的内容(您没有改这一项)")));
    };
    const fmt = (a) => (a ? `${a.headline}\n${a.body}` : "");
    add("事项名称", mine.title, t.title, merged.title);
    add("问题困难", mine.problem, t.problem, merged.problem);
    const n = Math.max(mine.actions.length, t.actions.length);
    for (let i = 0; i < n; i++) {
      add(`干事情况 ${ordinal(i + 1)}`, fmt(mine.actions[i]), fmt(t.actions[i]), fmt(merged.actions[i]));
    }
    add("履新感言", mine.testimonial.text, t.testimonial.text, merged.testimonial.text);
    add("发言人", mine.testimonial.speaker, t.testimonial.speaker, merged.testimonial.speaker);
    add("职务", mine.testimonial.post, t.testimonial.post, merged.testimonial.post);
    const keepMine = h("button.primary", { type: "button" }, "合并保存(保留双方的修改,同一处以您的为准)");
    const takeTheirs = h("button", { type: "button" }, "放弃我的修改,改用已保存的内容");
    keepMine.addEventListener("click", () => guarded(keepMine, async () => {
      server = theirs;
      etag = r.etag;
      fill(merged);
      await save(true);
    }));
    takeTheirs.addEventListener("click", () => {
      if (!confirm("放弃您在本页的修改?")) return;
      server = theirs;
      etag = r.etag;
      baseVersion = theirs.version;
      fill(contentOf(theirs));
      drafts.drop(me.id, key());
      conflictBox.replaceChildren();
      state.textContent = `已载入第${theirs.version}版`;
    });
    const box = h("section.alert.conflict", { role: "alert", "aria-labelledby": "h-conflict",
                                                "data-testid": "conflict" },
      h("h3", { id: "h-conflict" }, "保存冲突:这份草稿已在别处被修改"),
      h("p", null, `${theirs.updated_at ? "对方保存于 " : ""}`, theirs.updated_at ? timeEl(theirs.updated_at) : "",
        "。您的内容没有覆盖对方的内容,仍保留在本页和本机。请对照后选择:"),
      rows.length ? rows : h("p", null, "文字相同,只有照片或版本不同。"),
      h("div.form-buttons", null, keepMine, " ", takeTheirs));
    conflictBox.appendChild(box);
    box.querySelector("h3").setAttribute("tabindex", "-1");
    box.querySelector("h3").focus();
    drafts.keep(me.id, key(), baseVersion, mine);
    state.textContent = "未保存:有冲突";
  }

  // The content as saved in the version the form's text was written against
  // (the newest revision at or before it), or null when there is none.
  async function baseContent() {
    if (!baseVersion) return null;
    try {
      const { data: revs } = await API.api("GET", `/api/cases/${id}/revisions`);
      const v = revs.map((x) => x.version).filter((x) => x <= baseVersion).pop();
      if (v === undefined) return null;
      const { data } = await API.api("GET", `/api/cases/${id}/revisions/${v}`);
      return contentOf(data.content);
    } catch (err) {
      if (err instanceof API.SessionExpired) throw err;
      return null;
    }
  }

  async function guarded(button, fn) {
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      if (err instanceof API.SessionExpired) return;
      errors.replaceChildren(errorBox(err));
      const first = err.problem?.errors?.[0]?.field;
      if (first) fields.markField(first);
    } finally {
      button.disabled = false;
    }
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    guarded(saveBtn, () => save(false));
  });
  submitBtn.addEventListener("click", () => guarded(submitBtn, async () => {
    if (!(await save(false)) || !id) return;
    if (!etag) return;
    try {
      await API.api("POST", `/api/cases/${id}/transitions`, { json: { action: "submit" } });
    } catch (err) {
      if (err.status === 422 && err.problem?.errors) {
        err.problem.title_zh = "还不能提交:请补全以下内容";
      }
      throw err;
    }
    say("已提交审核。", "ok");
    ctx.go(`#/cases/${id}`);
  }));

  // ---- photos ------------------------------------------------------------
  const photosBox = h("section.card", { "aria-labelledby": "h-photos" });
  function drawPhotos() {
    clear(photosBox);
    photosBox.appendChild(h("h2", { id: "h-photos", tabindex: "-1" }, "照片"));
    if (!id) {
      photosBox.appendChild(h("p.muted", null, "先保存草稿,再上传照片。"));
      return;
    }
    const out = h("div", { "aria-live": "polite" });
    const photoOp = async (button, fn, done) => {
      out.replaceChildren();
      button.disabled = true;
      try {
        const r = await fn();
        etag = r.etag;
        server = r.data;
        baseVersion = server.version;
        drawPhotos();
        photosBox.querySelector("h2").focus(); // the buttons were redrawn: keep the keyboard here
        say(done, "ok");
      } catch (err) {
        if (err instanceof API.SessionExpired) return;
        if (err.status === 412) {
          out.appendChild(h("p.alert.error", { role: "alert" },
            "照片没有改动:这份草稿已在别处被修改。请先保存文字(会显示对比),或重新打开本页。"));
        } else out.appendChild(errorBox(err));
      } finally {
        button.disabled = false;
      }
    };
    const list = h("ol.photo-editor", { "aria-label": "已上传的照片" });
    server.photos.forEach((p, i) => {
      const cap = h("input", { maxlength: 200, value: p.caption });
      const saveCap = h("button.small", { type: "button" }, "保存说明");
      saveCap.addEventListener("click", () => photoOp(saveCap, () => API.api("PATCH",
        `/api/cases/${id}/photos/${p.id}`, { json: { caption: cap.value }, etag }), "照片说明已保存。"));
      const moveBtn = (label, to, disabled) => {
        const b = h("button.small", { type: "button", disabled, "aria-label": `${label}:第${i + 1}张照片` }, label);
        b.addEventListener("click", () => photoOp(b, () => API.api("PATCH",
          `/api/cases/${id}/photos/${p.id}`, { json: { position: to }, etag }), "照片顺序已调整。"));
        return b;
      };
      const del = h("button.small.danger", { type: "button", "aria-label": `删除第${i + 1}张照片` }, "删除");
      del.addEventListener("click", () => {
        if (!confirm("删除这张照片?")) return;
        photoOp(del, () => API.api("DELETE", `/api/cases/${id}/photos/${p.id}`, { etag }), "照片已删除。");
      });
      list.appendChild(h("li", null, photoFigure(p),
        field(`第${i + 1}张照片的说明`, cap),
        h("div.row-buttons", null, saveCap, moveBtn("上移", i + 1 - 1, i === 0),
          moveBtn("下移", i + 2, i === server.photos.length - 1), del)));
    });
    if (server.photos.length) photosBox.appendChild(list);
    else photosBox.appendChild(h("p.muted", null, "还没有照片。"));

    const file = h("input", { type: "file", name: "photo", accept: "image/jpeg,image/png,image/webp" });
    const caption = h("input", { name: "caption", maxlength: 200 });
    const upload = h("button", { type: "button" }, "上传照片");
    upload.addEventListener("click", () => {
      const f = file.files[0];
      if (!f) {
        out.replaceChildren(h("p.alert.error", { role: "alert" }, "请先选择一张照片。"));
        file.focus();
        return;
      }
      photoOp(upload, () => API.api("POST",
        `/api/cases/${id}/photos?caption=${encodeURIComponent(caption.value)}`,
        { body: f, headers: { "Content-Type": f.type || "application/octet-stream" }, etag }),
        "照片已上传。");
    });
    photosBox.appendChild(h("div.upload", null, h("h3", null, "添加照片"),
      field("选择照片(JPEG、PNG 或 WebP)", file), field("照片说明", caption), upload));
    photosBox.appendChild(out);
  }

  main.append(...[
    h("p.breadcrumb", null, h("a", { href: "#/cases" }, "案例"), " › ",
      id ? h("a", { href: `#/cases/${id}` }, `#${id}`) : "新建"),
    heading(id ? `编辑:${server.title || "(无标题)"}` : "新建案例"),
    id ? h("p.meta", null, `${server.street_name} · ${server.community_name} · 第${server.version}版`) : null,
    notice, form, photosBox].filter(Boolean));
  if (restored) {
    const discard = h("button.small", { type: "button" }, "放弃本机内容");
    discard.addEventListener("click", () => {
      drafts.drop(me.id, key());
      fill(server ? contentOf(server) : structuredClone(EMPTY));
      notice.replaceChildren();
      state.textContent = "";
    });
    notice.appendChild(h("div.alert.info", { role: "status", "data-testid": "restored" },
      h("p", null, "已恢复本机暂存的未保存内容", kept.kept_at ? "(暂存于 " : "",
        kept.kept_at ? timeEl(kept.kept_at) : "", kept.kept_at ? ")" : "", "。保存后才会提交到服务器。",
        behind ? `它基于第${kept.base}版,服务器上已是第${server.version}版:保存时会先显示两边的内容供您对照。` : ""),
      discard));
  }
  drawPhotos();
  state.textContent = restored ? "有未保存的修改(已暂存在本机)" : "";
  if (community && !community.value) {
    const last = localStorage.getItem(`portal.console.community.${me.id}`);
    if (last) community.value = last;
  }
}

// What the API takes: empty actions rows dropped (a half-added item), the rest as written.
function clean(m) {
  return {
    title: m.title,
    problem: m.problem,
    actions: m.actions.filter((a) => a.headline.trim() || a.body.trim()),
    testimonial: { ...m.testimonial },
  };
}

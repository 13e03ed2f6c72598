// A case's text as a form: title, problem, the numbered actions (added,
// removed and moved), the testimonial with its speaker and post. The case
// editor (drafts) and the correction (published text) both use it.
import { h, field, ordinal, clear } from "../ui.js";

export function contentOf(c) {
  return {
    title: c.title || "",
    problem: c.problem || "",
    actions: (c.actions || []).map((a) => ({ headline: a.headline, body: a.body })),
    testimonial: { text: c.testimonial?.text || "", speaker: c.testimonial?.speaker || "",
                   post: c.testimonial?.post || "" },
  };
}

// caseFields(model, onChange) → {title, problem, actionsFieldset, testimonialFieldset,
// read(), fill(model), markField(field)}; model is kept up to date by read().
export function caseFields(model, onChange = () => {}) {
  const title = h("input", { name: "title", maxlength: 200, value: model.title });
  const problem = h("textarea", { name: "problem", rows: 5, maxlength: 5000 });
  problem.value = model.problem;
  const tText = h("textarea", { name: "testimonial-text", rows: 4, maxlength: 2000 });
  tText.value = model.testimonial.text;
  const tSpeaker = h("input", { name: "testimonial-speaker", maxlength: 50, value: model.testimonial.speaker });
  const tPost = h("input", { name: "testimonial-post", maxlength: 100, value: model.testimonial.post });
  const actionsBox = h("ol.action-editor", { "aria-label": "干事情况各项" });

  function read() {
    model.title = title.value;
    model.problem = problem.value;
    model.testimonial = { text: tText.value, speaker: tSpeaker.value, post: tPost.value };
    model.actions = [...actionsBox.querySelectorAll(":scope > li")].map((li) => ({
      headline: li.querySelector(".a-headline").value, body: li.querySelector(".a-body").value }));
    return model;
  }

  function drawActions(focus) {
    clear(actionsBox);
    model.actions.forEach((a, i) => {
      const head = h("input.a-headline", { maxlength: 200, value: a.headline });
      const body = h("textarea.a-body", { rows: 3, maxlength: 5000 });
      body.value = a.body;
      const btn = (label, what, disabled) => h("button.small", { type: "button", disabled,
        "aria-label": `${label}:${ordinal(i + 1)}`, dataset: { what }, onclick: () => {
          read();
          const list = model.actions;
          if (what === "up") [list[i - 1], list[i]] = [list[i], list[i - 1]];
          if (what === "down") [list[i + 1], list[i]] = [list[i], list[i + 1]];
          if (what === "remove") list.splice(i, 1);
          const to = what === "up" ? i - 1 : what === "down" ? i + 1 : Math.min(i, list.length - 1);
          drawActions({ index: to, what: what === "remove" ? "headline" : what });
          onChange();
        } }, label);
      actionsBox.appendChild(h("li.action-item", null,
        h("fieldset", null, h("legend", null, `${ordinal(i + 1)}`),
          field("小标题", head), field("具体做法", body),
          h("div.row-buttons", null, btn("上移", "up", i === 0),
            btn("下移", "down", i === model.actions.length - 1), btn("删除", "remove", false)))));
    });
    if (focus && focus.index >= 0) {
      const li = actionsBox.children[focus.index];
      if (li) {
        const el = focus.what === "headline" ? li.querySelector(".a-headline")
          : li.querySelector(`button[data-what="${focus.what}"]`);
        (el && !el.disabled ? el : li.querySelector(".a-headline")).focus();
      }
    } else if (focus) addAction.focus();
  }
  const addAction = h("button", { type: "button", onclick: () => {
    read();
    model.actions.push({ headline: "", body: "" });
    drawActions({ index: model.actions.length - 1, what: "headline" });
    onChange();
  } }, "添加一项");

  function fill(m) {
    Object.assign(model, m);
    title.value = model.title;
    problem.value = model.problem;
    tText.value = model.testimonial.text;
    tSpeaker.value = model.testimonial.speaker;
    tPost.value = model.testimonial.post;
    drawActions();
  }

  // a field named by the API (title, actions[2].body, testimonial.post …)
  function markField(f) {
    const m = /^actions\[(\d+)\]\.(headline|body)$/.exec(f || "");
    const el = m ? actionsBox.children[Number(m[1])]?.querySelector(m[2] === "headline" ? ".a-headline" : ".a-body")
      : { title, problem, "testimonial.text": tText, "testimonial.speaker": tSpeaker,
          "testimonial.post": tPost, testimonial: tText, actions: addAction }[f];
    if (el) {
      if (el !== addAction) el.setAttribute("aria-invalid", "true");
      el.focus();
      return true;
    }
    return false;
  }

  drawActions();
  return {
    title: field("事项名称", title),
    problem: field("问题困难", problem),
    actions: h("fieldset.actions-fieldset", null, h("legend", null, "干事情况"),
      h("p.hint", null, "按“一是、二是……”逐条写,可以调整顺序。"), actionsBox, addAction),
    testimonial: h("fieldset", null, h("legend", null, "履新感言"),
      field("感言", tText), field("发言人", tSpeaker), field("职务", tPost)),
    read, fill, markField,
  };
}

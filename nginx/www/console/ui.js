// DOM helpers: every piece of data reaches the page as a text node
// (textContent, createTextNode), never as markup.

// h("p.note", {id: "x", onclick: fn}, "text", child, [children])
export function h(tag, props, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = String(v);
      else if (k === "value") el.value = v;
      else if (k === "checked" || k === "disabled" || k === "hidden" || k === "required" ||
               k === "selected" || k === "multiple" || k === "readOnly")
        el[k] = Boolean(v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let uid = 0;
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled form field: label + control (+ hint), wired by id.
export function field(labelText, control, hint) {
  const id = control.id || nextId();
  control.id = id;
  const parts = [h("label", { for: id }, labelText), control];
  if (hint) {
    const hid = nextId("hint");
    control.setAttribute("aria-describedby", hid);
    parts.push(h("p.hint", { id: hid }, hint));
  }
  return h("div.field", null, parts);
}

const TZ = "Asia/Shanghai";
const dateTime = new Intl.DateTimeFormat("zh-CN", {
  timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});
const dateOnly = new Intl.DateTimeFormat("zh-CN", {
  timeZone: TZ, year: "numeric", month: "long", day: "numeric",
});

// 2027-04-16T00:00:00+08:00 → 2027/04/16 00:00 (Asia/Shanghai)
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dateTime.format(d);
}

export function timeEl(iso) {
  return h("time", { datetime: iso || "" }, fmtTime(iso));
}

// 2021-01-24 → 2021年1月24日
export function fmtDate(ymd) {
  if (!ymd) return "—";
  const d = new Date(`${ymd}T00:00:00+08:00`);
  return Number.isNaN(d.getTime()) ? String(ymd) : dateOnly.format(d);
}

// An instant → the value of an <input type="datetime-local"> in Asia/Shanghai.
export function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(d).map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

// An <input type="datetime-local"> value (Asia/Shanghai wall time) → what the API takes.
export function fromLocalInput(v) {
  return v ? `${v.length === 16 ? `${v}:00` : v}+08:00` : null;
}

export const STATE = {
  draft: "草稿", review: "待审核", published: "已发布", voting: "投票中", closed: "已结束",
};
export const ACTION = {
  submit: "提交审核", withdraw: "撤回", reject: "退回", approve: "批准发布",
  open: "开始投票", close: "结束投票", correct: "更正",
};
export const ROLE = { editor: "街道编辑", reviewer: "区审核员", admin: "区管理员" };

export function stateBadge(state) {
  return h(`span.badge.s-${state}`, null, STATE[state] || state);
}

const NUMERALS = "一二三四五六七八九十";
// 1 → 一是, 12 → 十二是 (the column's way of numbering actions)
export function ordinal(n) {
  if (n <= 10) return `${NUMERALS[n - 1]}是`;
  if (n < 20) return `十${NUMERALS[n - 11]}是`;
  return `第${n}项`;
}

// The page's polite status line (read out by screen readers). A message
// outlives the one navigation that follows it (an action, then its page).
let sticky = 0;
export function say(text, kind = "info") {
  const s = document.getElementById("status");
  clear(s);
  if (text) s.appendChild(h(`p.msg.${kind}`, null, text));
  sticky = text ? 1 : 0;
}
export function navigated() {
  if (sticky > 0) sticky -= 1;
  else clear(document.getElementById("status"));
}

// A problem (RFC 9457) as a short Chinese sentence, with field errors.
export function problemText(err) {
  if (!err) return "出错了";
  const p = err.problem || {};
  let text = p.title_zh || p.title || err.message || "出错了";
  if (p.detail && p.status !== 422) text += `:${p.detail}`;
  return text;
}

export function errorBox(err) {
  const p = (err && err.problem) || {};
  const box = h("div.alert.error", { role: "alert" }, h("p", null, problemText(err)));
  if (Array.isArray(p.errors) && p.errors.length) {
    box.appendChild(h("ul", null, p.errors.map((e) => h("li", null, `${fieldName(e.field)}:${e.message}`))));
  }
  return box;
}

const FIELDS = {
  title: "事项名称", problem: "问题困难", actions: "干事情况", testimonial: "履新感言",
  "testimonial.text": "履新感言", "testimonial.speaker": "发言人", "testimonial.post": "职务",
  community_id: "社区", note: "理由", edition_id: "期数", number: "期号", closes_at: "投票截止",
  choices: "投票选项", username: "用户名", display_name: "姓名", password: "密码",
  role: "角色", street_id: "街道", name: "名称", content: "更正内容", photos: "照片",
};
export function fieldName(f) {
  if (!f) return "";
  const m = /^actions\[(\d+)\]\.(headline|body)$/.exec(f);
  if (m) return `干事情况第${Number(m[1]) + 1}项${m[2] === "headline" ? "标题" : "内容"}`;
  return FIELDS[f] || f;
}

export function heading(text) {
  return h("h1", { tabindex: "-1" }, text);
}

// A table with a caption (for screen readers) and header cells.
// Wide ones scroll sideways on a phone, in a region the keyboard can reach.
export function table(caption, headers, rows) {
  return h("div.table-wrap", { tabindex: "0", role: "region", "aria-label": caption },
    h(headers.length >= 5 ? "table.wide" : "table", null,
      h("caption", null, caption),
      h("thead", null, h("tr", null, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", null, rows)));
}

export function empty(text) {
  return h("p.empty", null, text);
}

// The staff console in a real browser: the whole story of a case, as the
// people who work on it see it.
//
//   node tests/browser/console.mjs BASE_URL OUTPUT_DIR
//
// Debian's chromium (/usr/bin/chromium, or CHROMIUM), driven by playwright-core
// (pinned in package.json). Each step's screenshot goes to OUTPUT_DIR; the
// editor works on a laptop (1280 px), the reviewer on a phone (390 px).
//   1. the story: 沙井街道's editor drafts a case (two actions, reordered and
//      one removed on the way, a photo with its caption) and submits it; the
//      reviewer rejects it with a reason; the editor sees the reason on
//      sign-in, fixes it and resubmits; the reviewer sees the changes marked,
//      makes an edition with a deadline, approves the case into it and opens
//      voting; the public edition page shows it; a vote counts (the
//      reviewer's live counts show it); the reviewer closes voting; the
//      results show. The case's text holds <img src=x onerror=alert(1)>: it
//      must show as text in every view, and no dialog may ever open;
//   2. 燕罗街道's editor sees none of 沙井街道's drafts anywhere;
//   3. a stale edit: one draft open in two tabs, both saved: the second shows
//      the conflict with both texts, the server keeps the first, and the
//      second's text survives a reload;
//   4. a session that expires (an admin resets the editor's password in the
//      console) sends the editor to sign-in mid-sentence; signing in again
//      brings back the editor with the text;
//   5. the first screen's bytes, and the security headers of the console;
//   6. axe-core on the sign-in page, the case editor and the review queue:
//      every violation printed, a serious or critical one fails;
//   7. after publication (the story's closed edition): the reviewer corrects
//      the case's title and a photo's caption with a reason (a second tab
//      still on the old version is refused with 412 and offered a reload);
//      the history shows the correction and the new version, the public case
//      page shows 更正 with the reason; the reviewer opens the edition's
//      results (table, bars, the tally's digest matching the sha256 of the
//      public ballots.csv) and downloads the CSV (UTF-8 BOM, the new title)
//      and the JSON, and the standings; the street editor sees no 更正 and
//      no results or standings; axe-core on the correction, the results and
//      the standings screens (on a phone, none wider than it).
// Exits 0 when everything held, 1 with the failures listed otherwise. Any
// console error, uncaught exception, CSP violation or unexpected 4xx/5xx fails.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error("usage: node tests/browser/console.mjs BASE_URL OUTPUT_DIR");
  process.exit(2);
}
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const AXE = path.join(ROOT, "node_modules", "axe-core", "axe.min.js");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const PASSWORD = "portal-demo";
const XSS = "<img src=x onerror=alert(1)>";
const RUN = Date.now().toString(36).slice(-5); // names unique to this run
const FIRST_SCREEN_LIMIT = 200 * 1024;

const LAPTOP = { viewport: { width: 1280, height: 800 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" };
const PHONE = {
  viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  locale: "zh-CN", timezoneId: "Asia/Shanghai",
};

fs.mkdirSync(outDir, { recursive: true });
const failures = [];
let shot = 0;
const started = Date.now();
const log = (...a) => console.log(...a);

function check(ok, what) {
  log(`  ${ok ? "ok  " : "FAIL"}  ${what}`);
  if (!ok) failures.push(what);
  return ok;
}
async function screenshot(page, name) {
  shot += 1;
  const file = path.join(outDir, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`  shot  ${file}`);
}

// Console errors, uncaught exceptions, dialogs and unexpected answers of a
// page. expected(status, url) names the refusals a step provokes on purpose.
const problems = [];
function watch(page, label, expected = () => false) {
  page.on("console", (m) => {
    // a refused request is logged by chromium too: judged by its response below
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource") &&
        !(label === "first screen" && m.text().includes("requires 'TrustedHTML'"))) // provoked
      problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${label}: uncaught: ${e.message}`));
  page.on("dialog", async (d) => {
    if (d.type() === "confirm") await d.accept();
    else {
      problems.push(`${label}: a ${d.type()} dialog opened: ${d.message()}`);
      await d.dismiss();
    }
  });
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400 && !expected(r.status(), u.pathname, r.request().method()))
      problems.push(`${label}: ${r.status()} for ${r.request().method()} ${u.pathname}`);
  });
}
// Signed out, the first load asks for a refresh and is told no.
const signedOutRefresh = (status, p) => status === 401 && p === "/api/auth/refresh";

// No markup made from case text: no <img src=x>, and the text is there as text.
async function inert(page, where, mustShow = true) {
  const found = await page.evaluate(() => document.querySelectorAll('img[src="x"], img[onerror]').length);
  check(found === 0, `${where}: the hostile text made no element`);
  if (mustShow) {
    const text = await page.locator("main").innerText();
    check(text.includes(XSS), `${where}: the hostile text shows as text`);
  }
}

async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

async function signIn(page, username, password = PASSWORD) {
  await page.getByLabel("用户名").fill(username);
  await page.getByLabel("密码").fill(password);
  await page.getByRole("button", { name: "登录" }).click();
  await page.getByTestId("whoami").waitFor();
}

async function open(context, label, expected) {
  const page = await context.newPage();
  watch(page, label, expected);
  return page;
}

// A small PNG made here (a coloured square), so the test needs no image file.
function png(w, h, rgb) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3).map((_, i) => rgb[i % 3])]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

// The JSON API from node, to check what the server holds (never the browser's token).
async function apiAs(username) {
  const r = await fetch(`${base}/api/auth/login`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const { access_token: token } = await r.json();
  return async (p, init = {}) => {
    const res = await fetch(`${base}${p}`, {
      ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers || {}) } });
    return { status: res.status, body: await res.json().catch(() => null), etag: res.headers.get("ETag") };
  };
}

// Tomorrow 20:00 in Asia/Shanghai, as a datetime-local value.
function tomorrowEvening() {
  const d = new Date(Date.now() + 8 * 3600e3 + 24 * 3600e3);
  return `${d.toISOString().slice(0, 10)}T20:00`;
}

const TITLE = `整治乱贴广告现象,打造整洁有序社区 ${XSS}`;
const PROBLEM = `城中村出租屋多,招租广告乱贴乱画。${XSS}`;
const ACTIONS = [
  ["积极回应群众诉求", `多次走访城中村,听取居民意见。${XSS}`],
  ["规范张贴焕新颜", "设置便民张贴栏。"],
  ["建立长效机制", "组建志愿者队伍定期巡查。"],
];
const REASON = "第二项请写清设置了几个便民张贴栏。";
const FIXED_BODY = "在主要路口设置4个便民张贴栏,清理乱贴广告2000余处。";

async function story(browser) {
  log("== 1. the story of a case");
  const editorCtx = await browser.newContext({ ...LAPTOP, baseURL: base });
  let ed = await open(editorCtx, "editor", signedOutRefresh);
  await ed.goto("/console/");
  await ed.getByRole("heading", { name: "登录工作台" }).waitFor();
  await screenshot(ed, "sign-in-laptop");
  await signIn(ed, "shajing");
  check((await ed.getByTestId("whoami").innerText()).includes("沙井街道"), "the editor sees who they are, for 沙井街道");

  // a new draft: two actions in the end, after adding three, moving and removing
  await ed.getByRole("link", { name: "新建案例" }).first().click();
  await ed.getByRole("heading", { name: "新建案例" }).waitFor();
  await ed.getByLabel("社区").selectOption({ label: "大王山社区" });
  await ed.getByLabel("事项名称").fill(TITLE);
  await ed.getByLabel("问题困难").fill(PROBLEM);
  const items = ed.locator(".action-item");
  for (let i = 0; i < ACTIONS.length; i++) {
    if (i > 0) await ed.getByRole("button", { name: "添加一项" }).click();
    await items.nth(i).getByLabel("小标题").fill(ACTIONS[i][0]);
    await items.nth(i).getByLabel("具体做法").fill(ACTIONS[i][1]);
  }
  await ed.getByRole("button", { name: "上移:三是" }).click(); // 建立长效机制 becomes 二是
  check(await ed.getByRole("button", { name: "上移:二是" }).evaluate((b) => b === document.activeElement),
        "moving an action keeps the focus on it");
  await ed.getByRole("button", { name: "删除:二是" }).click();
  const heads = await items.evaluateAll((l) => l.map((li) => li.querySelector(".a-headline").value));
  check(JSON.stringify(heads) === JSON.stringify([ACTIONS[0][0], ACTIONS[1][0]]),
        `the actions after moving and removing: ${heads.join(" / ")}`);
  check((await items.locator("legend").allInnerTexts()).join() === "一是,二是", "the actions are numbered 一是, 二是");
  await ed.getByLabel("感言").fill(`民生无小事,枝叶总关情。${XSS}`);
  await ed.getByLabel("发言人").fill("陈洪发");
  await ed.getByLabel("职务").fill("大王山社区党委书记");
  await ed.getByRole("button", { name: "保存草稿" }).click();
  await ed.waitForURL(/#\/cases\/\d+\/edit$/);
  const caseId = Number(/cases\/(\d+)\/edit/.exec(ed.url())[1]);
  check(caseId > 0, `the draft is saved as case ${caseId}`);
  await ed.getByRole("heading", { name: /^编辑:/ }).waitFor();
  await inert(ed, "the editor", false);
  check((await ed.getByLabel("事项名称").inputValue()) === TITLE, "the editor holds the title as typed");

  // a photo with its caption
  await ed.getByLabel(/选择照片/).setInputFiles({ name: "board.png", mimeType: "image/png",
                                                 buffer: png(64, 48, [200, 40, 30]) });
  await ed.getByLabel("照片说明", { exact: true }).fill("设立便民张贴栏");
  await ed.getByRole("button", { name: "上传照片" }).click();
  await ed.getByLabel("第1张照片的说明").waitFor();
  await ed.waitForFunction(() => [...document.querySelectorAll(".photo-editor img")].every((i) => i.complete && i.naturalWidth > 0));
  check((await ed.locator(".photo-editor img").getAttribute("alt")) === "设立便民张贴栏", "the photo shows with its caption");
  // a second photo, moved first, its caption changed, then removed
  await ed.getByLabel(/选择照片/).setInputFiles({ name: "before.png", mimeType: "image/png",
                                                 buffer: png(48, 64, [30, 90, 200]) });
  await ed.getByLabel("照片说明", { exact: true }).fill("清理前");
  await ed.getByRole("button", { name: "上传照片" }).click();
  await ed.getByLabel("第2张照片的说明").waitFor();
  await ed.getByRole("button", { name: "上移:第2张照片" }).click();
  await ed.locator(".photo-editor img").first().and(ed.locator('[alt="清理前"]')).waitFor();
  check((await ed.locator(".photo-editor img").evaluateAll((l) => l.map((i) => i.alt))).join() === "清理前,设立便民张贴栏",
        "the second photo moved first");
  await ed.getByLabel("第1张照片的说明").fill("清理乱张贴广告");
  await ed.getByRole("button", { name: "保存说明" }).first().click();
  await ed.locator('.photo-editor img[alt="清理乱张贴广告"]').waitFor();
  check(true, "a photo's caption changed");
  await ed.getByRole("button", { name: "删除第1张照片" }).click();
  await ed.getByLabel("第2张照片的说明").waitFor({ state: "detached" });
  check((await ed.locator(".photo-editor img").evaluateAll((l) => l.map((i) => i.alt))).join() === "设立便民张贴栏",
        "the photo removed; the case keeps one");
  await screenshot(ed, "editor-draft-with-photo");
  await ed.getByRole("button", { name: "保存并提交审核" }).click();
  await ed.waitForURL(new RegExp(`#/cases/${caseId}$`));
  await ed.locator(".badge.s-review").first().waitFor();
  check(true, "the case is submitted (待审核)");
  await inert(ed, "the case after submitting");
  await screenshot(ed, "submitted");

  // the reviewer, on a phone
  const revCtx = await browser.newContext({ ...PHONE, baseURL: base });
  const rv = await open(revCtx, "reviewer", signedOutRefresh);
  await rv.goto("/console/");
  await signIn(rv, "reviewer");
  await rv.getByRole("heading", { name: /^待审核/ }).waitFor();
  const home = await rv.locator("main").innerText();
  check(home.includes("待审核") && home.includes(TITLE), "the reviewer's first screen lists the queue with the case");
  await inert(rv, "the reviewer's first screen");
  await rv.getByRole("link", { name: "审核队列", exact: true }).click();
  await rv.getByRole("heading", { name: /^审核队列/ }).waitFor();
  const queue = await rv.locator("tbody tr").allInnerTexts();
  const ids = await rv.locator("tbody a").evaluateAll((l) => l.map((a) => Number(a.hash.split("/").pop())));
  check(ids.length > 0 && ids.every((v, i) => i === 0 || ids[i - 1] < v), `the queue is oldest first (${ids.join(", ")})`);
  check(queue.some((r) => r.includes("沙井街道")), "the queue names the street");
  await inert(rv, "the review queue");
  check((await overflow(rv)) <= 0, "the queue fits a 390 px phone");
  await screenshot(rv, "queue-phone");
  await rv.locator(`main a[href="#/cases/${caseId}"]`).click();
  await rv.getByTestId("diff-note").waitFor();
  check((await rv.getByTestId("diff-note").innerText()).includes("首次审核"), "a first submission has nothing to compare");
  await inert(rv, "the case under review");
  check(await rv.locator(".photos img").evaluate((i) => i.complete && i.naturalWidth > 0).catch(() => false) ||
        (await rv.waitForFunction(() => { const i = document.querySelector(".photos img"); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 5000 }).then(() => true).catch(() => false)),
        "the reviewer sees the draft's photo (fetched with the token)");
  await rv.getByRole("button", { name: "退回修改" }).click();
  check(await rv.getByRole("alert").filter({ hasText: "理由" }).isVisible(), "a reject without a reason is refused in the console");
  await rv.getByLabel(/退回理由/).fill(REASON);
  await rv.getByRole("button", { name: "退回修改" }).click();
  await rv.getByRole("heading", { name: /^审核队列/ }).waitFor();
  check((await rv.locator("#status").innerText()).includes("已退回"), "the reviewer rejected the case with a reason");
  check(!(await rv.locator(`main a[href="#/cases/${caseId}"]`).count()), "the rejected case has left the queue");
  await screenshot(rv, "rejected-phone");

  // the editor signs in again and sees the reason first
  await editorCtx.close();
  const editorCtx2 = await browser.newContext({ ...LAPTOP, baseURL: base });
  ed = await open(editorCtx2, "editor-again", signedOutRefresh);
  const historiesAsked = [];
  const noteHistory = (r) => { if (/\/api\/cases\/\d+\/events/.test(r.url())) historiesAsked.push(r.url()); };
  ed.on("request", noteHistory);
  await ed.goto("/console/");
  await signIn(ed, "shajing");
  const back = ed.getByTestId("returned");
  await back.waitFor();
  const backText = await back.innerText();
  check(backText.includes(TITLE) && backText.includes(REASON), "on sign-in the editor sees the case that came back, with the reason");
  ed.off("request", noteHistory);
  check(historiesAsked.length === 0, `the first screen asks no draft's history (the list carries returned): ${historiesAsked.length}`);
  await inert(ed, "the editor's first screen");
  await screenshot(ed, "editor-sees-reason");
  await back.locator(`a[href="#/cases/${caseId}"]`).click();
  check((await ed.getByTestId("reason").innerText()).includes(REASON), "the case shows the reviewer's reason");
  await ed.getByRole("link", { name: "编辑" }).click();
  await ed.locator(".action-item").nth(1).getByLabel("具体做法").fill(FIXED_BODY);
  await ed.getByRole("button", { name: "保存并提交审核" }).click();
  await ed.waitForURL(new RegExp(`#/cases/${caseId}$`));
  await ed.locator(".badge.s-review").first().waitFor();
  check(true, "the editor fixed the case and resubmitted it");
  // withdrawn and submitted again: the reviewer still sees the change since the reject
  await ed.getByRole("button", { name: "撤回修改" }).click();
  await ed.locator(".badge.s-draft").first().waitFor();
  await ed.getByRole("button", { name: "提交审核" }).click();
  await ed.locator(".badge.s-review").first().waitFor();
  check(true, "the editor withdrew the case and submitted it again");
  await ed.getByRole("link", { name: "查看历史记录与各版本" }).click();
  await ed.getByRole("heading", { name: /^历史记录/ }).waitFor();
  const hist = await ed.locator("main").innerText();
  check(["提交审核", "退回", REASON, "撤回"].every((t) => hist.includes(t)), "the history shows submit, reject with its reason, submit, withdraw, submit");
  await inert(ed, "the history", false);
  await screenshot(ed, "history");

  // the reviewer sees what changed, makes an edition, approves into it, opens voting
  await rv.goto(`/console/#/cases/${caseId}`);
  await rv.getByTestId("diff-note").waitFor();
  check((await rv.getByTestId("diff-note").innerText()).includes("1 处改动"), "the reviewer is told of the one change");
  const changed = rv.locator("li.is-changed");
  check((await changed.count()) === 1 && (await changed.locator("ins").innerText()).includes(FIXED_BODY) &&
        (await changed.locator("del").innerText()).includes(ACTIONS[1][1]),
        "the changed action is marked, the old text struck through beside the new");
  await screenshot(rv, "changes-highlighted-phone");
  await rv.goto("/console/#/editions");
  await rv.getByRole("heading", { name: "新建期刊" }).waitFor();
  const number = Number(await rv.getByLabel("期号").inputValue());
  const deadline = tomorrowEvening();
  await rv.getByLabel("标题").fill("社区“两委”履新第一事展评");
  await rv.getByLabel("投票截止(北京时间)").fill(deadline);
  await rv.getByRole("button", { name: "新建期刊" }).click();
  await rv.waitForURL(/#\/editions\/\d+$/);
  const editionId = Number(rv.url().split("/").pop());
  await rv.getByRole("heading", { name: new RegExp(`^第${number}期`) }).waitFor();
  check(true, `edition ${number} made, closing ${deadline}`);
  await rv.goto(`/console/#/cases/${caseId}`);
  await rv.getByLabel("加入期刊").selectOption(String(editionId));
  await rv.getByRole("button", { name: "批准并加入该期" }).click();
  await rv.locator(".badge.s-published").first().waitFor();
  check(true, "the case is approved into the edition");
  await rv.goto(`/console/#/editions/${editionId}`);
  check((await rv.locator('input[name="open-closes-at"]').inputValue()) === deadline, "the deadline is offered when opening the vote");
  await rv.getByRole("button", { name: "开始投票" }).click();
  await rv.locator(".badge.s-voting").first().waitFor();
  check(true, "voting is open");
  await inert(rv, "the edition");
  await screenshot(rv, "voting-open-phone");

  // the public page shows the case; a vote counts
  const pubCtx = await browser.newContext({ ...PHONE, baseURL: base });
  const pub = await open(pubCtx, "public");
  await pub.goto(`/editions/${number}`);
  const pubText = await pub.locator("main").innerText();
  check(pubText.includes(TITLE), `the public page /editions/${number} shows the case, its text as text`);
  await inert(pub, "the public edition page");
  const ballot = pub.locator(`.ballot[data-case="${caseId}"]`);
  const button = ballot.locator("button.choice").first();
  const choice = await button.getAttribute("data-choice");
  await pub.waitForFunction((id) => !document.querySelector(`.ballot[data-case="${id}"] button.choice`).disabled, caseId);
  await button.click();
  await pub.waitForFunction(([id, c]) => Number(document.querySelector(`.ballot[data-case="${id}"] .count[data-choice="${c}"]`).textContent) === 1,
                            [caseId, choice], { timeout: 10000 });
  check(true, `a vote for 「${choice}」 counts on the public page`);
  await screenshot(pub, "public-voted");
  const live = rv.locator(`tr[data-case="${caseId}"] td[data-choice="${choice}"]`);
  const seen = await rv.waitForFunction(([id, c]) => {
    const td = document.querySelector(`tr[data-case="${id}"] td[data-choice="${c}"]`);
    return td && td.textContent === "1";
  }, [caseId, choice], { timeout: 15000 }).then(() => true).catch(() => false);
  check(seen, `the reviewer's live count shows the vote (${await live.innerText().catch(() => "?")})`);

  // closing, and the results
  await rv.getByRole("button", { name: "结束投票" }).click();
  await rv.locator(".badge.s-closed").first().waitFor();
  check(true, "the reviewer closed voting");
  await screenshot(rv, "closed-phone");
  // the public answers are kept 2 s, then refreshed behind a stale copy
  let closedShown = false;
  for (let i = 0; i < 20 && !closedShown; i++) {
    await pub.waitForTimeout(500);
    await pub.reload();
    closedShown = await pub.locator(`.ballot[data-case="${caseId}"][data-voting="0"]`).count() > 0;
  }
  check(closedShown, "the public page shows voting closed");
  const results = await (await fetch(`${base}/api/public/editions/${number}/results`)).json();
  const row = JSON.stringify(results);
  check(row.includes(`"${choice}":1`) || row.includes(`"${choice}": 1`), `the results count the vote (${row.slice(0, 200)})`);
  const count = await pub.locator(`.ballot[data-case="${caseId}"] .count[data-choice="${choice}"]`).innerText();
  check(count.trim() === "1", `the public page shows the result: 「${choice}」 ${count}`);
  await screenshot(pub, "public-results");
  await pubCtx.close();
  await revCtx.close();
  await editorCtx2.close();
  return { caseId, number };
}

async function isolation(browser, secretTitle, secretId) {
  log("== 2. 燕罗街道's editor sees none of 沙井街道's drafts");
  const ctx = await browser.newContext({ ...LAPTOP, baseURL: base });
  const page = await open(ctx, "yanluo", (s, p) => signedOutRefresh(s, p) || (s === 404 && p.startsWith(`/api/cases/${secretId}`)));
  await page.goto("/console/");
  await signIn(page, "yanluo");
  check((await page.getByTestId("whoami").innerText()).includes("燕罗街道"), "signed in for 燕罗街道");
  const views = ["#/", "#/cases", "#/cases?state=draft", "#/cases/new", `#/cases/${secretId}`,
                 `#/cases/${secretId}/edit`, `#/cases/${secretId}/history`];
  for (const v of views) {
    await page.goto(`/console/${v}`);
    await page.locator('main[aria-busy="false"] h1').waitFor();
    const text = await page.locator("body").innerText();
    check(!text.includes(secretTitle) && !text.includes("大王山社区"), `${v}: nothing of 沙井街道's`);
  }
  check((await page.locator("main h1").innerText()).includes("找不到"), "a 沙井街道 draft's address answers 找不到, as a missing one");
  await screenshot(page, "yanluo-not-found");
  await ctx.close();
}

async function staleEdit(browser) {
  log("== 3. the same draft open in two tabs");
  const ctx = await browser.newContext({ ...LAPTOP, baseURL: base });
  const stale = (s, p, m) => signedOutRefresh(s, p) || (s === 412 && m === "PATCH");
  const one = await open(ctx, "tab 1", stale);
  await one.goto("/console/");
  await signIn(one, "shajing");
  await one.goto("/console/#/cases/new");
  await one.getByLabel("社区").selectOption({ label: "大王山社区" });
  const secret = `沙井草稿${RUN} 仅本街道可见`;
  await one.getByLabel("事项名称").fill(secret);
  await one.getByLabel("问题困难").fill("原来的问题描述。");
  await one.getByRole("button", { name: "保存草稿" }).click();
  await one.waitForURL(/#\/cases\/\d+\/edit$/);
  const id = Number(/cases\/(\d+)\/edit/.exec(one.url())[1]);
  await one.getByRole("heading", { name: /^编辑:/ }).waitFor();
  const two = await open(ctx, "tab 2", stale);
  await two.goto(`/console/#/cases/${id}/edit`);
  await two.getByRole("heading", { name: /^编辑:/ }).waitFor();

  const MINE = "第二个标签页写的问题描述,不能丢。";
  const THEIRS = `${secret}(第一个标签页改过)`;
  await one.getByLabel("事项名称").fill(THEIRS);
  await one.getByRole("button", { name: "保存草稿" }).click();
  await one.locator(".save-state", { hasText: /^已保存\(第\d+版\)$/ }).waitFor();
  await two.getByLabel("问题困难").fill(MINE);
  await two.getByRole("button", { name: "保存草稿" }).click();
  const conflict = two.getByTestId("conflict");
  await conflict.waitFor();
  const text = await conflict.innerText();
  check(text.includes(MINE) && text.includes("原来的问题描述") && text.includes(THEIRS),
        "the conflict shows both texts (this tab's and the one saved)");
  check((await two.getByLabel("问题困难").inputValue()) === MINE, "this tab's text is still in the editor");
  const api = await apiAs("shajing");
  let server = (await api(`/api/cases/${id}`)).body;
  check(server.title === THEIRS && server.problem === "原来的问题描述。", "the server kept the first tab's save: nothing overwritten");
  await screenshot(two, "conflict");
  await two.reload();
  await two.getByTestId("restored").waitFor();
  check((await two.getByLabel("问题困难").inputValue()) === MINE, "after a reload the unsaved text is restored from this browser");
  await two.getByRole("button", { name: "保存草稿" }).click();
  await two.getByTestId("conflict").waitFor();
  check((await two.getByTestId("conflict").innerText()).includes("合并保存时用已保存的内容"),
        "the conflict says the title (changed only by the other tab) will be theirs");
  await two.getByRole("button", { name: /^合并保存/ }).click();
  await two.locator(".save-state", { hasText: /^已保存\(第\d+版\)$/ }).waitFor();
  server = (await api(`/api/cases/${id}`)).body;
  check(server.problem === MINE && server.title === THEIRS,
        "merging keeps both: this tab's problem and the other tab's title");
  check((await two.getByLabel("事项名称").inputValue()) === THEIRS, "the editor shows the merged text");
  check(await two.evaluate((k) => Object.keys(localStorage).filter((x) => x.endsWith(`.${k}`)).length === 0, String(id)),
        "once saved, the local copy is gone");
  const stored = await two.evaluate(() => JSON.stringify(Object.entries(localStorage)));
  check(!/eyJ[\w-]+\.[\w-]+\./.test(stored) && !stored.includes("access_token"), "localStorage holds no token");
  await ctx.close();
  return { secret: server.title, id };
}

async function expiry(browser) {
  log("== 4. a session that expires keeps what was typed");
  const admCtx = await browser.newContext({ ...LAPTOP, baseURL: base });
  const adm = await open(admCtx, "admin", signedOutRefresh);
  await adm.goto("/console/");
  await signIn(adm, "admin");
  const username = `sj${RUN}`;
  await adm.getByRole("link", { name: "账号", exact: true }).click();
  await adm.getByRole("button", { name: "新建账号" }).click();
  await adm.getByLabel("用户名").fill(username);
  await adm.getByLabel("姓名").fill("沙井街道测试编辑");
  await adm.getByLabel("角色").selectOption("editor");
  await adm.getByLabel(/^街道/).selectOption({ label: "沙井街道" });
  await adm.getByLabel("初始密码").fill(PASSWORD);
  await adm.locator("form").getByRole("button", { name: "新建账号" }).click();
  await adm.getByRole("cell", { name: username, exact: true }).waitFor();
  check(true, `the admin made the account ${username} in the console`);
  await screenshot(adm, "admin-users");

  const ctx = await browser.newContext({ ...LAPTOP, baseURL: base });
  const page = await open(ctx, "expiring editor", (s, p) => s === 401 && (p === "/api/auth/refresh" || p.startsWith("/api/")));
  await page.goto("/console/");
  await signIn(page, username);
  await page.goto("/console/#/cases/new");
  await page.getByLabel("社区").selectOption({ label: "大王山社区" });
  const TYPED = "写到一半的事项名称";
  await page.getByLabel("事项名称").fill(TYPED);

  // the admin resets the password: the editor's session ends at its next request
  await adm.getByRole("button", { name: `修改 ${username}(含重设密码)` }).click();
  await adm.getByRole("textbox", { name: /重设密码/ }).fill("new-password-1");
  await adm.locator("form").getByRole("button", { name: "保存" }).click();
  await adm.getByText("密码已重设").waitFor();
  check(true, "the admin reset the editor's password");
  await adm.goto("/console/#/admin/audit?entity=staff_users");
  await adm.getByRole("heading", { name: "审计日志" }).waitFor();
  check((await adm.locator("tbody").innerText()).includes("password") ||
        (await adm.locator("tbody").innerText()).includes("token_version"), "the audit trail, filtered to accounts, shows the change");
  await screenshot(adm, "admin-audit");

  await page.getByLabel("问题困难").fill("接着写的内容");
  await page.getByRole("button", { name: "保存草稿" }).click();
  await page.getByRole("heading", { name: "登录工作台" }).waitFor();
  check((await page.locator("#status").innerText()).includes("登录已过期"), "the expired session sends the editor to sign-in, saying so");
  await screenshot(page, "session-expired");
  await signIn(page, username, "new-password-1");
  await page.getByTestId("restored").waitFor();
  check((await page.getByLabel("事项名称").inputValue()) === TYPED &&
        (await page.getByLabel("问题困难").inputValue()) === "接着写的内容",
        "signed in again, the editor is back with everything typed");
  await ctx.close();
  await admCtx.close();
}

async function firstScreen(browser) {
  log("== 5. the first screen and the console's headers");
  const ctx = await browser.newContext({ ...PHONE, baseURL: base });
  const page = await open(ctx, "first screen", signedOutRefresh);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  let bytes = 0;
  cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; });
  const r = await page.goto("/console/");
  await page.getByRole("heading", { name: "登录工作台" }).waitFor();
  await page.waitForTimeout(500);
  check(bytes > 0 && bytes < FIRST_SCREEN_LIMIT, `the first screen transfers ${(bytes / 1024).toFixed(1)} KB (< 200 KB)`);
  const hd = r.headers();
  check(hd["content-security-policy"].includes("default-src 'self'") && !/unsafe-inline|unsafe-eval/.test(hd["content-security-policy"]),
        "index.html's CSP: default-src 'self', no unsafe-inline or unsafe-eval");
  check(hd["content-security-policy"].includes("require-trusted-types-for 'script'"), "index.html's CSP requires Trusted Types");
  check(hd["x-frame-options"] === "DENY" && hd["x-content-type-options"] === "nosniff", "the other security headers");
  check(hd["cache-control"] === "no-cache", "index.html is revalidated on every load");
  check(await page.evaluate(() => {
    try { document.createElement("div").innerHTML = "<b>x</b>"; return false; } catch { return true; }
  }), "the browser refuses markup assigned as a string (Trusted Types)");
  check((await overflow(page)) <= 0, "the sign-in page fits a 390 px phone");
  await screenshot(page, "sign-in-phone");
  await ctx.close();
}

async function audits(browser) {
  log("== 6. axe-core");
  const ctx = await browser.newContext({ ...LAPTOP, baseURL: base, bypassCSP: true });
  const page = await open(ctx, "axe", signedOutRefresh);
  let serious = 0;
  async function audit(label) {
    await page.addScriptTag({ path: AXE });
    const res = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
    });
    for (const v of res) log(`  axe   ${label}: ${v.impact} ${v.id} (${v.nodes}): ${v.help}`);
    const bad = res.filter((v) => v.impact === "serious" || v.impact === "critical");
    serious += bad.length;
    check(bad.length === 0, `${label}: no serious or critical violations (${res.length} in all)`);
  }
  await page.goto("/console/");
  await page.getByRole("heading", { name: "登录工作台" }).waitFor();
  await audit("sign-in");
  await signIn(page, "shajing");
  await page.goto("/console/#/cases/new");
  await page.getByRole("heading", { name: "新建案例" }).waitFor();
  await page.getByRole("button", { name: "添加一项" }).click();
  await audit("the case editor");
  await page.getByRole("button", { name: "退出" }).click();
  await page.getByRole("heading", { name: "登录工作台" }).waitFor();
  await signIn(page, "reviewer");
  await page.goto("/console/#/queue");
  await page.getByRole("heading", { name: /^审核队列/ }).waitFor();
  await audit("the review queue");
  await ctx.close();
  return serious;
}

async function axeRun(page, label) {
  await page.addScriptTag({ path: AXE });
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  for (const v of res) log(`  axe   ${label}: ${v.impact} ${v.id} (${v.nodes}): ${v.help}`);
  const bad = res.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `${label}: no serious or critical violations (${res.length} in all)`);
}

async function afterPublication(browser, caseId, number) {
  log("== 7. a correction after publication, the results and the standings");
  const api = await apiAs("reviewer");
  const editionId = (await api("/api/editions")).body.find((e) => e.number === number).id;
  const before = (await api(`/api/cases/${caseId}`)).body;
  const NEW_TITLE = `整治乱贴广告现象,打造整洁有序社区(更正${RUN}) ${XSS}`;
  const WHY = `标题中的错字已更正${RUN}。`;

  const ctx = await browser.newContext({ ...LAPTOP, baseURL: base });
  const stale = (s, p, m) => signedOutRefresh(s, p) ||
    (s === 412 && m === "POST" && p === `/api/cases/${caseId}/transitions`);
  const rv = await open(ctx, "corrector", stale);
  await rv.goto("/console/");
  await signIn(rv, "reviewer");
  // a second tab on the same version, to be overtaken
  const old = await open(ctx, "stale corrector", stale);
  await old.goto(`/console/#/cases/${caseId}/correct`);
  await old.getByRole("heading", { name: /^更正:/ }).waitFor();

  await rv.goto(`/console/#/cases/${caseId}`);
  await rv.getByRole("link", { name: "更正", exact: true }).click();
  await rv.getByRole("heading", { name: /^更正:/ }).waitFor();
  await inert(rv, "the correction screen", false);
  check((await rv.getByLabel("事项名称").inputValue()) === before.title, "the correction starts from the published text");
  await rv.getByLabel("事项名称").fill(NEW_TITLE);
  await rv.getByLabel("第1张照片的说明").fill("设立便民张贴栏(更正)");
  await rv.getByRole("button", { name: "提交更正" }).click();
  check(await rv.getByRole("alert").filter({ hasText: "理由" }).isVisible(), "a correction without a reason is refused in the console");
  check(await rv.getByLabel(/更正理由/).evaluate((e) => e === document.activeElement), "the reason field has the focus");
  await rv.getByLabel(/更正理由/).fill(WHY);
  await screenshot(rv, "correction");
  await rv.getByRole("button", { name: "提交更正" }).click();
  await rv.getByRole("heading", { name: /^历史记录/ }).waitFor();
  const hist = await rv.locator("main").innerText();
  const after = (await api(`/api/cases/${caseId}`)).body;
  check(after.title === NEW_TITLE && after.version > before.version && after.state === before.state,
        `the server holds the corrected title, version ${before.version} → ${after.version}, state ${after.state}`);
  check(after.photos.length === 1 && after.photos[0].caption === "设立便民张贴栏(更正)", "the photo's caption is corrected");
  check(hist.includes("更正") && hist.includes(WHY), "the history shows the correction with its reason");
  check(hist.includes(`第${after.version}版`), `the history lists the new version (第${after.version}版)`);
  check((await rv.locator("#status").innerText()).includes("已更正"), "the console says it is corrected");
  await inert(rv, "the history after the correction", false);
  await screenshot(rv, "corrected-history");

  // the tab still on the old version is refused, and offered a reload
  await old.getByLabel("问题困难").fill(`${before.problem}(补充)`);
  await old.getByLabel(/更正理由/).fill("补充问题描述。");
  await old.getByRole("button", { name: "提交更正" }).click();
  await old.getByTestId("conflict").waitFor();
  check((await old.getByTestId("conflict").innerText()).includes("已被修改"), "a stale correction is refused (412) and says so");
  check((await api(`/api/cases/${caseId}`)).body.version === after.version, "the stale correction changed nothing");
  await screenshot(old, "correction-conflict");
  await old.getByRole("button", { name: "重新载入最新内容" }).click();
  await old.locator('main[aria-busy="false"]').waitFor();
  await old.waitForFunction((t) => document.querySelector('input[name="title"]')?.value === t, NEW_TITLE);
  check(true, "the reload brings the corrected text");

  // a picture replaced in place: one correction of its own (it needs the
  // reason first), the old picture's place and caption kept
  const SWAP = `照片换成清理后的实景${RUN}。`;
  await rv.goto(`/console/#/cases/${caseId}/correct`);
  await rv.getByRole("heading", { name: /^更正:/ }).waitFor();
  await rv.getByLabel(/选择照片/).setInputFiles({ name: "after.png", mimeType: "image/png",
                                                buffer: png(56, 40, [40, 160, 60]) });
  await rv.getByLabel("替换").selectOption({ label: "替换第1张:设立便民张贴栏(更正)" });
  await rv.getByRole("button", { name: "替换照片(作为更正)" }).click();
  check(await rv.getByRole("alert").filter({ hasText: "理由" }).isVisible(),
        "a new picture without a reason is refused in the console");
  check((await api(`/api/cases/${caseId}`)).body.version === after.version, "the refused picture was not sent");
  await rv.getByLabel(/更正理由/).fill(SWAP);
  await rv.getByLabel("新照片的说明").press("Enter"); // replaces the picture, sends no other correction
  await rv.getByText("照片已替换").waitFor();
  check(await rv.getByLabel("第1张照片的说明").evaluate((e) => e === document.activeElement),
        "the new picture's caption has the focus");
  const swapped = (await api(`/api/cases/${caseId}`)).body;
  check(swapped.photos.length === 1 && swapped.photos[0].caption === "设立便民张贴栏(更正)" &&
        swapped.photos[0].id !== after.photos[0].id && swapped.version === after.version + 1 &&
        swapped.title === NEW_TITLE,
        "the picture is replaced in place, under its caption, as one new version");
  check((await rv.getByLabel("替换").inputValue()) === "", "the replacement is not offered twice");
  await inert(rv, "the correction screen after a replacement", false);
  await rv.goto(`/console/#/cases/${caseId}/history`);
  await rv.getByRole("heading", { name: /^历史记录/ }).waitFor();
  const swapHist = await rv.locator("main").innerText();
  check(swapHist.split(SWAP).length - 1 === 1, "the history shows the replacement as one step");

  // the public case page shows 更正 with the reason
  const pubCtx = await browser.newContext({ ...PHONE, baseURL: base });
  const pub = await open(pubCtx, "public case");
  let shown = "";
  for (let i = 0; i < 20; i++) {
    await pub.goto(`/cases/${caseId}`);
    shown = await pub.locator("main").innerText();
    if (shown.includes(WHY)) break;
    await pub.waitForTimeout(500);
  }
  check(shown.includes("更正") && shown.includes(WHY) && shown.includes(NEW_TITLE),
        "the public case page shows the new title and 更正 with the reason");
  await inert(pub, "the public case page");
  await screenshot(pub, "public-corrected");
  await pubCtx.close();

  // the edition's results, the tally and the exports
  await rv.goto(`/console/#/editions/${editionId}`);
  await rv.getByRole("link", { name: "结果与导出" }).click();
  await rv.getByRole("heading", { name: new RegExp(`^第${number}期结果`) }).waitFor();
  const row = await rv.locator(`table.results tr[data-case="${caseId}"]`).innerText();
  check(row.includes(NEW_TITLE) && /100\.0%|0\.0%/.test(row), `the results table has the case, its counts and share (${row.replace(/\s+/g, " ")})`);
  check((await rv.locator(".chart-row").count()) >= 1, "the results are drawn as bars");
  await inert(rv, "the results");
  const digest = (await rv.getByTestId("tally").locator("code").innerText()).trim();
  const href = await rv.getByRole("link", { name: /选票清单/ }).getAttribute("href");
  check(href === `/api/public/editions/${number}/ballots.csv`, `the tally links the public ballot list (${href})`);
  const ballots = Buffer.from(await (await fetch(`${base}${href}`)).arrayBuffer());
  const { createHash } = await import("node:crypto");
  check(digest === `sha256:${createHash("sha256").update(ballots).digest("hex")}`,
        `the digest shown is the sha256 of ballots.csv (${digest.slice(0, 20)}…)`);
  check((await rv.getByTestId("tally").innerText()).includes("sha256sum"), "the tally says how to check it with sha256sum");
  await screenshot(rv, "results");

  let [dl] = await Promise.all([rv.waitForEvent("download"), rv.getByRole("button", { name: "导出 CSV" }).click()]);
  let bytes = fs.readFileSync(await dl.path());
  check(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf, "the CSV download starts with the UTF-8 BOM");
  check(bytes.toString("utf8").includes(NEW_TITLE.slice(0, 20)), "the CSV download holds the case's title");
  check(/\.csv$/.test(dl.suggestedFilename()), `the CSV is saved as ${dl.suggestedFilename()}`);
  [dl] = await Promise.all([rv.waitForEvent("download"), rv.getByRole("button", { name: "导出 JSON" }).click()]);
  bytes = fs.readFileSync(await dl.path());
  let json = null;
  try { json = JSON.parse(bytes.toString("utf8")); } catch { /* checked below */ }
  check(json && json.cases && json.cases.some((c) => c.id === caseId), `the JSON download holds the results (${dl.suggestedFilename()})`);

  await rv.getByRole("link", { name: "排名", exact: true }).click();
  await rv.getByRole("heading", { name: "排名" }).waitFor();
  check((await rv.locator(`tr[data-case="${caseId}"]`).innerText()).includes(NEW_TITLE), "the standings list the case");
  [dl] = await Promise.all([rv.waitForEvent("download"), rv.getByRole("button", { name: "导出 CSV" }).click()]);
  bytes = fs.readFileSync(await dl.path());
  check(bytes[0] === 0xef && bytes.toString("utf8").includes(NEW_TITLE.slice(0, 20)), "the standings CSV: the BOM and the title");
  await inert(rv, "the standings");
  await screenshot(rv, "standings");
  const tokenInUrl = await rv.evaluate(() => performance.getEntriesByType("resource").some((e) => /token=|eyJ/.test(e.name)));
  check(!tokenInUrl, "no request carried the token in its URL");
  await ctx.close();

  // the street editor: no 更正, no results, no standings
  const edCtx = await browser.newContext({ ...LAPTOP, baseURL: base });
  const ed = await open(edCtx, "editor after publication", signedOutRefresh);
  await ed.goto("/console/");
  await signIn(ed, "shajing");
  check(!(await ed.locator("#nav").innerText()).includes("排名"), "the editor's menu has no 排名");
  await ed.goto(`/console/#/cases/${caseId}`);
  await ed.locator('main[aria-busy="false"] h1').waitFor();
  check((await ed.getByRole("link", { name: "更正", exact: true }).count()) === 0 &&
        (await ed.getByRole("button", { name: /更正/ }).count()) === 0, "the editor sees no 更正 on the published case");
  for (const v of [`#/cases/${caseId}/correct`, `#/editions/${editionId}/results`, "#/standings"]) {
    await ed.goto(`/console/${v}`);
    await ed.locator('main[aria-busy="false"] h1').waitFor();
    const t = await ed.locator("main").innerText();
    check(t.includes("只有区审核员") && (await ed.locator("main form, main table, main button[data-export]").count()) === 0,
          `${v}: the editor is told it is not theirs, and gets no form, table or export`);
  }
  await screenshot(ed, "editor-no-standings");
  await edCtx.close();

  // the admin sees the results and the standings too
  const admCtx = await browser.newContext({ ...LAPTOP, baseURL: base });
  const adm = await open(admCtx, "admin results", signedOutRefresh);
  await adm.goto("/console/");
  await signIn(adm, "admin");
  await adm.getByRole("link", { name: "排名", exact: true }).click();
  await adm.locator(`tr[data-case="${caseId}"]`).waitFor();
  await adm.goto(`/console/#/editions/${editionId}/results`);
  await adm.locator(`table.results tr[data-case="${caseId}"]`).waitFor();
  check((await adm.getByRole("button", { name: "导出 CSV" }).count()) === 1, "the admin sees the standings and the results, with the exports");
  await admCtx.close();

  // axe on the new screens, on a phone
  const axCtx = await browser.newContext({ ...PHONE, baseURL: base, bypassCSP: true });
  const ax = await open(axCtx, "axe after publication", signedOutRefresh);
  await ax.goto("/console/");
  await signIn(ax, "reviewer");
  for (const [v, label] of [[`#/cases/${caseId}/correct`, "the correction screen"],
    [`#/editions/${editionId}/results`, "the results"], ["#/standings", "the standings"]]) {
    await ax.goto(`/console/${v}`);
    await ax.locator('main[aria-busy="false"] h1').waitFor();
    await axeRun(ax, label);
    check((await overflow(ax)) <= 0, `${label} fits a 390 px phone`);
  }
  await screenshot(ax, "standings-phone");
  await axCtx.close();
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
let published = null;
try {
  const parts = [
    ["first screen", () => firstScreen(browser)],
    ["story", async () => { published = await story(browser); }],
    ["stale edit", async () => { const s = await staleEdit(browser); await isolation(browser, s.secret, s.id); }],
    ["expiry", () => expiry(browser)],
    ["audits", () => audits(browser)],
    ["after publication", async () => {
      if (!published) {
        // run alone (PARTS=after publication): the story first
        published = await story(browser);
      }
      await afterPublication(browser, published.caseId, published.number);
    }],
  ];
  const only = process.env.PARTS ? process.env.PARTS.split(",") : null;
  for (const [name, fn] of parts) {
    if (only && !only.includes(name)) continue;
    try {
      await fn();
    } catch (e) {
      check(false, `${name}: ${e.message.split("\n")[0]}`);
      log(e.stack);
    }
  }
} finally {
  await browser.close();
}
for (const p of problems) check(false, p);
log(`\n${failures.length ? `${failures.length} FAILED` : "all held"} in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${outDir}`);
process.exit(failures.length ? 1 : 0);

// The public pages in a real browser, as a reader on a phone sees them.
//
//   node tests/browser/public.mjs BASE_URL OUTPUT_DIR
//
// Debian's chromium (/usr/bin/chromium, or CHROMIUM), driven by playwright-core
// (pinned in package.json; never a browser of its own), at a phone's viewport.
// Three parts, each step's screenshot saved in OUTPUT_DIR:
//   1. the reader's path: / → a past edition (往期回顾) and back → edition 13:
//      both cases' text and photos, a vote on case 1 (its count goes up by one),
//      a reload that keeps the vote, what a refused vote says (answers made by
//      the test); then the same edition without JavaScript
//      (the text and the <title>/Open Graph tags are in the page as sent),
//      and nothing wider than a 320 px screen;
//   2. axe-core (pinned) on /, /editions/13, /cases/1 and a past edition:
//      every violation is printed, a serious or critical one fails;
//   3. /editions/13 loaded on a throttled phone (slow 4G, CPU 4x slower):
//      load time, LCP and bytes transferred, printed; only a generous bound
//      on the bytes of HTML, CSS and JS is asserted.
// Exits 0 when everything held, 1 with the failures listed otherwise. Also
// fails on any console error or CSP violation the pages cause.
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error("usage: node tests/browser/public.mjs BASE_URL OUTPUT_DIR");
  process.exit(2);
}
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const AXE = path.join(ROOT, "node_modules", "axe-core", "axe.min.js");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const CASE_TITLES = ["整治乱贴广告现象,打造整洁有序社区", "深化内涝点治理工作,防辖区安全隐患于未然"];
const HEADINGS = ["事项名称", "问题困难", "干事情况", "履新感言"];
// from the seed: the first words of each case's testimonial (履新感言)
const TESTIMONIAL = "履新感言";
const PHONE = {
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  locale: "zh-CN",
  timezoneId: "Asia/Shanghai",
  userAgent:
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) " +
    "Chrome/120.0 Mobile Safari/537.36",
};
// about "Slow 4G" as DevTools and Lighthouse's mobile run have it
const SLOW_4G = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1024 * 1024) / 8,
  uploadThroughput: (750 * 1024) / 8,
};
const TEXT_BYTES_LIMIT = 200 * 1024;

fs.mkdirSync(outDir, { recursive: true });
const failures = [];
let shot = 0;
const started = Date.now();

function log(...args) {
  console.log(...args);
}
function check(ok, what) {
  if (ok) {
    log(`  ok    ${what}`);
  } else {
    log(`  FAIL  ${what}`);
    failures.push(what);
  }
  return ok;
}
async function screenshot(page, name) {
  shot += 1;
  const file = path.join(outDir, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`  shot  ${file}`);
}

// Console errors, uncaught exceptions and CSP reports of a page: a page that
// works only because the test tolerated an error is not working.
function watch(page, label, problems) {
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${label}: uncaught: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${label}: ${r.status()} for ${r.url()}`);
  });
  // a request cut off by leaving the page (ERR_ABORTED: a favicon still
  // loading, a body no script read) is no failure; one that got no answer is
  page.on("requestfailed", async (r) => {
    if (r.failure().errorText !== "net::ERR_ABORTED" && !(await r.response().catch(() => null)))
      problems.push(`${label}: failed: ${r.url()} ${r.failure().errorText}`);
  });
}

// Every <img> scrolled into view (the lazy ones load then) and loaded.
async function imagesLoaded(page) {
  const imgs = page.locator("main img");
  const n = await imgs.count();
  for (let i = 0; i < n; i++) await imgs.nth(i).scrollIntoViewIfNeeded();
  await page
    .waitForFunction(
      () => [...document.querySelectorAll("main img")].every((i) => i.complete),
      null,
      { timeout: 10000 },
    )
    .catch(() => {});
  await page.evaluate(() => window.scrollTo(0, 0));
  return page.$$eval("main img", (list) =>
    list.map((i) => ({ alt: i.alt, src: i.getAttribute("src"), w: i.naturalWidth })),
  );
}

// The page's scrollable width beyond the viewport: something too wide for a phone.
async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

async function readerPath(browser) {
  log("== 1. a reader on a phone");
  const problems = [];
  const context = await browser.newContext({ ...PHONE, baseURL: base });
  const page = await context.newPage();
  watch(page, "phone", problems);

  let r = await page.goto("/");
  check(r && r.status() === 200, "/ answers 200");
  check((await page.title()).includes("履新第一事"), "/ has the column's title");
  check((await overflow(page)) <= 0, "/ fits 360 px (no sideways scrolling)");
  await screenshot(page, "index");

  const past = page.locator('section[aria-labelledby="past"] a[href^="/editions/"]').last();
  const pastHref = await past.getAttribute("href");
  check(Boolean(pastHref), `往期回顾 lists a past edition (${pastHref})`);
  await Promise.all([page.waitForURL(`**${pastHref}`), past.click()]);
  check((await page.locator("h1").textContent()).includes("展评"), `${pastHref} has its heading`);
  await screenshot(page, "past-edition");
  await page.goBack();
  check(new URL(page.url()).pathname === "/", "back to / from the past edition");

  r = await page.goto("/editions/13");
  check(r && r.status() === 200, "/editions/13 answers 200");
  await page.keyboard.press("Tab");
  const skip = await page.evaluate(() => {
    const a = document.activeElement;
    const box = a.getBoundingClientRect();
    return { text: a.textContent, href: a.getAttribute("href"), shown: box.left >= 0 && box.width > 0 };
  });
  check(skip.text === "跳到正文" && skip.href === "#main" && skip.shown,
        "the first Tab shows the skip link to the text");
  const main = await page.locator("main").innerText();
  for (const t of CASE_TITLES) check(main.includes(t), `edition 13 shows 「${t}」`);
  const imgs = await imagesLoaded(page);
  check(imgs.length >= 2, `edition 13 has photos (${imgs.length})`);
  for (const i of imgs) check(i.w > 0, `photo 「${i.alt}」 loaded (naturalWidth ${i.w})`);
  check((await overflow(page)) <= 0, "/editions/13 fits 360 px");
  await screenshot(page, "edition-13");

  // the vote on case 1
  const ballot = page.locator('.ballot[data-case="1"]');
  await ballot.scrollIntoViewIfNeeded();
  const button = ballot.locator("button.choice").first();
  const choice = await button.getAttribute("data-choice");
  await button.waitFor({ state: "visible" });
  await page.waitForFunction(
    () => !document.querySelector('.ballot[data-case="1"] button.choice').disabled,
    null,
    { timeout: 5000 },
  );
  const count = ballot.locator(`.count[data-choice="${choice}"]`);
  const before = Number(await count.textContent());
  await button.tap();
  const voted = await page
    .waitForFunction(
      ([c, n]) => {
        const el = document.querySelector(`.ballot[data-case="1"] .count[data-choice="${c}"]`);
        return Number(el.textContent) === n + 1;
      },
      [choice, before],
      { timeout: 10000 },
    )
    .then(() => true)
    .catch(() => false);
  check(voted, `the vote on case 1 for 「${choice}」: count ${before} → ${await count.textContent()}`);
  const status = await ballot.locator(".vote-status").innerText();
  check(status.includes("您已投票"), `the ballot says so: 「${status}」`);
  check((await button.getAttribute("aria-pressed")) === "true", "the chosen button is pressed");
  await ballot.screenshot({ path: path.join(outDir, `${String(++shot).padStart(2, "0")}-voted.png`) });
  log(`  shot  ${path.join(outDir, `${String(shot).padStart(2, "0")}-voted.png`)}`);

  await page.reload();
  await page
    .waitForSelector(`.ballot[data-case="1"] button.choice[aria-pressed="true"]`, { timeout: 5000 })
    .catch(() => {});
  const pressed = await page
    .locator('.ballot[data-case="1"] button.choice[aria-pressed="true"]')
    .getAttribute("data-choice", { timeout: 1000 })
    .catch(() => null);
  check(pressed === choice, `after a reload the vote is kept (pressed: ${pressed})`);
  const kept = await page.locator('.ballot[data-case="1"] .vote-status').innerText();
  check(kept.includes("您已投票"), `after a reload: 「${kept}」`);
  // the page may come from nginx's brief cache, older than the vote: the count
  // shown must not go back (portal.js keeps the counts the vote answered with)
  const after = Number(await page.locator(`.ballot[data-case="1"] .count[data-choice="${choice}"]`).textContent());
  check(after >= before + 1, `after a reload the vote is still counted (${choice}: ${after})`);
  const others = await page.locator('.ballot[data-case="2"] button.choice:not([disabled])').count();
  check(others > 0, "case 2 still takes a vote");
  await page.locator('.ballot[data-case="1"]').scrollIntoViewIfNeeded();
  await screenshot(page, "edition-13-reloaded");

  r = await page.goto("/cases/1");
  check(r && r.status() === 200, "/cases/1 answers 200");
  check((await page.locator("h1").innerText()).includes("大王山社区"), "/cases/1 has its heading");
  await page
    .waitForSelector(`.ballot[data-case="1"] .vote-status:has-text("您已投票")`, { timeout: 5000 })
    .catch(() => {});
  check(
    (await page.locator('.ballot[data-case="1"] .vote-status').innerText()).includes("您已投票"),
    "/cases/1 shows the vote too",
  );
  check((await overflow(page)) <= 0, "/cases/1 fits 360 px");
  await screenshot(page, "case-1");

  for (const p of problems) check(false, p);
  if (!problems.length) check(true, "no console error, uncaught exception or CSP report");
  await context.close();
  return pastHref;
}

// What a reader sees when the vote is refused: the answers come from the test
// (page.route), so nothing of the shared stack changes.
async function refusals(browser) {
  log("== 1b. refused votes");
  const context = await browser.newContext({ ...PHONE, baseURL: base });
  const page = await context.newPage();
  const problem = (status, slug, title, titleZh) => ({
    status,
    contentType: "application/problem+json",
    body: JSON.stringify({ type: `/problems/${slug}`, title, title_zh: titleZh, status,
                           detail: "an English detail no reader should see" }),
  });
  const answers = [
    problem(429, "too-many-requests", "Too many requests", "请求过于频繁"),
    problem(409, "voting-closed", "This case is not open for votes", "该案例不在投票期内"),
  ];
  await page.route("**/api/public/cases/2/votes", (route) => route.fulfill(answers.shift()));
  await page.goto("/editions/13");
  const ballot = page.locator('.ballot[data-case="2"]');
  const status = ballot.locator(".vote-status");
  const first = ballot.locator("button.choice").first();
  await page.waitForFunction(
    () => !document.querySelector('.ballot[data-case="2"] button.choice').disabled, null, { timeout: 5000 });
  await first.tap();
  await page.waitForFunction(
    () => /请求过于频繁/.test(document.querySelector('.ballot[data-case="2"] .vote-status').textContent),
    null, { timeout: 5000 }).catch(() => {});
  let said = await status.innerText();
  check(said.includes("请求过于频繁") && !said.includes("English"), `a 429 says 「${said}」`);
  check(!(await first.isDisabled()), "after a 429 the reader may try again");
  await first.tap();
  await page.waitForFunction(
    () => /截止/.test(document.querySelector('.ballot[data-case="2"] .vote-status').textContent),
    null, { timeout: 5000 }).catch(() => {});
  said = await status.innerText();
  check(said.includes("投票已截止"), `a 409 (closed) says 「${said}」`);
  check(await first.isDisabled(), "after a 409 the buttons stay off");
  await ballot.scrollIntoViewIfNeeded();
  await ballot.screenshot({ path: path.join(outDir, `${String(++shot).padStart(2, "0")}-vote-closed.png`) });
  await context.close();
}

async function withoutScripts(browser) {
  log("== 1c. the same edition without JavaScript");
  const context = await browser.newContext({ ...PHONE, baseURL: base, javaScriptEnabled: false });
  const page = await context.newPage();
  const r = await page.goto("/editions/13");
  const html = await r.text();
  check(r.status() === 200, "/editions/13 answers 200");
  for (const t of CASE_TITLES) check(html.includes(t), `the page as sent holds 「${t}」`);
  for (const h of HEADINGS) check(html.includes(`>${h}</h`), `the page as sent has the heading ${h}`);
  check(/<blockquote class="testimonial"><p>[^<]{20,}/.test(html), "the page as sent has the testimonial");
  const meta = (attr, name) => {
    const m = html.match(new RegExp(`<meta ${attr}="${name}" content="([^"]*)"`));
    return m ? m[1] : null;
  };
  const title = (html.match(/<title>([^<]*)<\/title>/) || [])[1];
  check(title && title.includes("⑬"), `<title> ${title}`);
  check(meta("property", "og:title") === title, `og:title ${meta("property", "og:title")}`);
  const desc = meta("property", "og:description");
  check(desc && desc.includes(CASE_TITLES[0]), `og:description ${desc}`);
  check(meta("name", "description") === desc, "description as og:description");
  check(/href="\/static\/portal\.css\?v=[0-9a-f]{12}"/.test(html) &&
        /src="\/static\/portal\.js\?v=[0-9a-f]{12}"/.test(html),
        "the style sheet and script are named with their version (cached for a year)");
  const image = meta("property", "og:image");
  check(image && image.startsWith("/api/photos/"), `og:image ${image}`);
  if (image) {
    const img = await page.request.get(image);
    check(img.status() === 200 && img.headers()["content-type"].startsWith("image/"), "og:image answers an image");
  }
  // what the browser shows (no script ran: the buttons stay disabled)
  const shown = await page.locator("main").innerText();
  for (const t of CASE_TITLES) check(shown.includes(t), `shown without scripts: 「${t}」`);
  check(shown.includes(TESTIMONIAL), "shown without scripts: 履新感言");
  check(shown.includes("投票需要启用浏览器脚本"), "says the vote needs scripts");
  check(
    (await page.locator("button.choice:not([disabled])").count()) === 0,
    "no vote button that could not work",
  );
  await screenshot(page, "edition-13-no-js");
  await context.close();
}

// README: usable from 320 px; nothing may be wider than the smallest phone
async function narrowest(browser) {
  log("== 1d. the narrowest phone (320 px)");
  const context = await browser.newContext({ ...PHONE, viewport: { width: 320, height: 640 }, baseURL: base });
  const page = await context.newPage();
  for (const p of ["/", "/editions/13", "/cases/1"]) {
    await page.goto(p);
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")),
    );
    check((await overflow(page)) <= 0 && wide.length === 0,
          `${p} fits 320 px${wide.length ? ": too wide: " + wide.slice(0, 5).join(", ") : ""}`);
  }
  await context.close();
}

const DESKTOP = { viewport: { width: 1280, height: 800 }, locale: "zh-CN" };

async function audit(browser, pastHref) {
  log("== 2. accessibility (axe-core)");
  // the pages' CSP (default-src 'self') would refuse the injected axe script
  const phone = await browser.newContext({ ...PHONE, baseURL: base, bypassCSP: true });
  const desktop = await browser.newContext({ ...DESKTOP, baseURL: base, bypassCSP: true });
  const phonePage = await phone.newPage();
  const desktopPage = await desktop.newPage();
  const runs = [
    ["/", phonePage], ["/editions/13", phonePage], ["/cases/1", phonePage], [pastHref, phonePage],
    ["/editions/13", desktopPage],
  ];
  let serious = 0;
  for (const [p, page] of runs) {
    const where = `${p} (${page === phonePage ? "phone" : "desktop"})`;
    await page.goto(p);
    await page.waitForLoadState("load");
    await page.addScriptTag({ path: AXE });
    const res = await page.evaluate(async () => {
      const r = await window.axe.run(document);
      return {
        version: window.axe.version,
        passes: r.passes.length,
        incomplete: r.incomplete.map((v) => `${v.id} (${v.nodes.length})`),
        violations: r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
        })),
      };
    });
    log(`  axe ${res.version} on ${where}: ${res.violations.length} violation(s), ` +
        `${res.passes} rules passed, to check by hand: ${res.incomplete.join(", ") || "none"}`);
    for (const v of res.violations) {
      log(`    [${v.impact}] ${v.id}: ${v.help}`);
      for (const n of v.nodes.slice(0, 5)) log(`        ${n.target}: ${(n.summary || "").replace(/\n\s*/g, " / ")}`);
      if (v.impact === "serious" || v.impact === "critical") serious += 1;
    }
    check(
      !res.violations.some((v) => v.impact === "serious" || v.impact === "critical"),
      `${where}: no serious or critical violation`,
    );
  }
  await phone.close();
  await desktop.close();
  return serious;
}

async function throttledLoad(browser) {
  log("== 3. /editions/13 on a throttled phone (slow 4G, CPU 4x)");
  const context = await browser.newContext({ ...PHONE, baseURL: base });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__lcp = 0;
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__lcp = e.startTime;
    }).observe({ type: "largest-contentful-paint", buffered: true });
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", SLOW_4G);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  const types = new Map();
  const bytes = {};
  cdp.on("Network.responseReceived", (e) => types.set(e.requestId, { type: e.type, url: e.response.url }));
  cdp.on("Network.loadingFinished", (e) => {
    const t = (types.get(e.requestId) || { type: "Other" }).type;
    bytes[t] = (bytes[t] || 0) + e.encodedDataLength;
  });
  const t0 = Date.now();
  await page.goto("/editions/13", { waitUntil: "load", timeout: 30000 });
  const wall = Date.now() - t0;
  await page.waitForTimeout(500);
  const timing = await page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    return {
      html: n.responseEnd,
      dcl: n.domContentLoadedEventEnd,
      load: n.loadEventEnd,
      fcp: fcp ? fcp.startTime : null,
      lcp: window.__lcp,
    };
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  const text = (bytes.Document || 0) + (bytes.Stylesheet || 0) + (bytes.Script || 0);
  const ms = (x) => (x == null ? "n/a" : `${Math.round(x)} ms`);
  // (the emulated latency shows in responseEnd: Chromium adds it to the body)
  log(`  HTML received ${ms(timing.html)}, first contentful paint ${ms(timing.fcp)}, ` +
      `LCP ${ms(timing.lcp)}, DOMContentLoaded ${ms(timing.dcl)}, load ${ms(timing.load)} ` +
      `(wall ${wall} ms)`);
  log(`  transferred: ${Object.entries(bytes).map(([k, v]) => `${k} ${v} B`).join(", ")}`);
  log(`  HTML+CSS+JS ${text} B (bound ${TEXT_BYTES_LIMIT} B)`);
  check(text > 0 && text < TEXT_BYTES_LIMIT, `HTML+CSS+JS under ${TEXT_BYTES_LIMIT / 1024} KB`);
  check(timing.load > 0 && timing.load < 20000, "the throttled page loads (under a generous 20 s)");
  await context.close();
  return { timing, bytes, text };
}

// playwright gives the browser a fresh profile of its own (a temp folder it
// removes; it refuses --user-data-dir here): its TMPDIR is one of ours, removed too
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "portal-chromium-"));
process.env.TMPDIR = profile;
let browser;
let code = 1;
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  log(`chromium ${browser.version()} at ${CHROMIUM}, ${base}`);
  log(`screenshots in ${path.resolve(outDir)}`);
  const pastHref = await readerPath(browser);
  await refusals(browser);
  await withoutScripts(browser);
  await narrowest(browser);
  await audit(browser, pastHref || "/editions/12");
  await throttledLoad(browser);
  code = failures.length ? 1 : 0;
} catch (e) {
  log(`  FAIL  ${e.stack || e}`);
  failures.push(String(e));
} finally {
  if (browser) await browser.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
}
log(`${failures.length ? "browser test failed" : "browser test passed"} ` +
    `in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${path.resolve(outDir)}`);
for (const f of failures) log(`  failed: ${f}`);
process.exit(code);

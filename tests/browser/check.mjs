// Opens pages served by `wirefeed serve` in the system Chromium
// (puppeteer-core) and reports, as JSON on stdout, what a reader's
// browser saw: axe-core violations, console messages, script errors,
// failed and foreign requests, dialogs, what the DOM holds, text
// direction, dark mode and print styles; takes screenshots.
//
// Usage: node check.mjs JOB.json, where JOB is
//   { chromium, base, pages: [{ path, axe, rtl, bypassCsp, darkCheck, printCheck }],
//     screenshots: [{ path, width, height, out, mobile }] }
// Run by tests/external_pages.rs; the assertions live there.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const origin = new URL(job.base).origin;

const browser = await puppeteer.launch({
  executablePath: job.chromium,
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic', '--font-render-hinting=none',
  ],
});

async function open(spec, viewport) {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const seen = { console: [], pageErrors: [], failed: [], foreign: [], dialogs: [], requests: 0 };
  if (spec.bypassCsp) await page.setBypassCSP(true);
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith('data:')) return req.continue();
    seen.requests++;
    if (new URL(url).origin !== origin) {
      // Nothing leaves the machine: record it and refuse it.
      seen.foreign.push({ url, type: req.resourceType() });
      return req.abort('blockedbyclient');
    }
    return req.continue();
  });
  page.on('console', (m) => seen.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  page.on('requestfailed', (r) => {
    if (new URL(r.url()).origin === origin) seen.failed.push(`${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) seen.failed.push(`${r.url()}: ${r.status()}`);
  });
  page.on('dialog', async (d) => {
    seen.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  const response = await page.goto(job.base + spec.path, { waitUntil: 'load' });
  seen.status = response.status();
  seen.csp = response.headers()['content-security-policy'] ?? null;
  return { page, seen };
}

function dom() {
  const all = [...document.querySelectorAll('*')];
  return {
    scripts: document.querySelectorAll('script:not([type="application/ld+json"])').length,
    handlers: all.flatMap((el) => [...el.attributes].filter((a) => a.name.startsWith('on')).map((a) => `${el.tagName}.${a.name}`)),
    badUrls: all.flatMap((el) => ['href', 'src', 'poster', 'action', 'formaction']
      .map((n) => el.getAttribute(n))
      .filter((v) => v !== null && /^\s*(javascript|vbscript|data):/i.test(v) && !(el.tagName === 'LINK' && v === 'data:,'))),
    frames: document.querySelectorAll('iframe, frame, object, embed').length,
    stylesheets: [...document.styleSheets].map((s) => s.href),
    lang: document.documentElement.lang,
    landmarks: ['header', 'nav', 'main', 'footer'].filter((t) => document.querySelector(t)),
    docWidth: document.documentElement.scrollWidth,
    viewportWidth: window.innerWidth,
  };
}

function rtl() {
  const dir = (el) => el && getComputedStyle(el).direction;
  const rtlBlocks = [...document.querySelectorAll('[dir="auto"]')].filter((el) => /[\u0600-\u06FF]/.test(el.textContent));
  return {
    page: dir(document.documentElement),
    body: dir(document.body),
    nav: dir(document.querySelector('nav')),
    blocks: rtlBlocks.map((el) => ({ tag: el.tagName, direction: dir(el), text: el.textContent.slice(0, 40) })),
  };
}

const results = { pages: [], screenshots: [] };
for (const spec of job.pages) {
  const { page, seen } = await open(spec, { width: 1280, height: 900 });
  const out = { path: spec.path, bypassCsp: !!spec.bypassCsp, ...seen, dom: await page.evaluate(dom) };
  if (spec.axe) {
    await page.evaluate(axeSource);
    const axe = await page.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
    out.violations = axe.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.html) }));
  }
  if (spec.rtl) out.rtl = await page.evaluate(rtl);
  if (spec.darkCheck) {
    const bg = () => getComputedStyle(document.body).backgroundColor;
    out.lightBackground = await page.evaluate(bg);
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    out.darkBackground = await page.evaluate(bg);
    await page.emulateMediaFeatures([]);
  }
  if (spec.printCheck) {
    await page.emulateMediaType('print');
    out.printNav = await page.evaluate(() => getComputedStyle(document.querySelector('header.site nav')).display);
    await page.emulateMediaType(null);
  }
  // A phone: nothing wider than the screen.
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  out.phone = await page.evaluate(() => ({ docWidth: document.documentElement.scrollWidth, viewportWidth: window.innerWidth }));
  await page.close();
  results.pages.push(out);
}
for (const shot of job.screenshots ?? []) {
  const { page, seen } = await open({ path: shot.path }, { width: shot.width, height: shot.height, isMobile: !!shot.mobile });
  if (shot.dark) await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
  await page.screenshot({ path: shot.out });
  results.screenshots.push({ out: shot.out, failed: seen.failed, console: seen.console });
  await page.close();
}
await browser.close();
process.stdout.write(JSON.stringify(results));

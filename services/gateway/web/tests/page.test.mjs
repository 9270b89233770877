// Browser test of the gateway's web page, against a RUNNING platform
// (./infra/dev/up.sh). Run it with ../test.sh, which installs what it needs.
//
// Environment:
//   GATEWAY_URL                the gateway (default http://127.0.0.1:8080)
//   GATEWAY_JWT_HS256_SECRET   the gateway's HS256 secret; the test mints its token
//   SAGAFLOW_BIN               the sagaflow binary (default: the newest of
//                              target/release/sagaflow and target/debug/sagaflow),
//                              used to give the test's SKU its stock
//   CHROMIUM                   the browser (default /usr/bin/chromium)
//   SAGAFLOW_DATA_DIR          screenshots of failures go to $SAGAFLOW_DATA_DIR/browser
//                              (default .data/browser at the repository root)
//
// Every run is its own user (random `sub`). It buys the first active product of
// the catalogue (the demo's, seeded by the catalogue service), after setting its
// stock to 3 units, so it does not depend on what the demo or the load runs left.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const GATEWAY = (process.env.GATEWAY_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const SECRET = process.env.GATEWAY_JWT_HS256_SECRET || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = join(process.env.SAGAFLOW_DATA_DIR || join(ROOT, '.data'), 'browser');
const RUN = randomUUID().slice(0, 8);
const USER = `web-test-${RUN}`;
const TENANT = 'web-test';
let SKU;
const STOCK = 3;
const SAGA_TIMEOUT_MS = 90_000;
const UI_TIMEOUT_MS = 15_000;

const run = promisify(execFile);

function base64url(value) {
  return Buffer.from(value).toString('base64url');
}

/** An HS256 JWT the gateway accepts (claims as the gateway expects them). */
function mintJwt(claims, secret) {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

const now = Math.floor(Date.now() / 1000);
const TOKEN = mintJwt(
  { sub: USER, tenant_id: TENANT, iss: 'sagaflow', aud: 'sagaflow-api', iat: now, exp: now + 30 * 60 },
  SECRET,
);

function sagaflowBin() {
  if (process.env.SAGAFLOW_BIN) return process.env.SAGAFLOW_BIN;
  const candidates = ['release', 'debug']
    .map((profile) => join(ROOT, 'target', profile, 'sagaflow'))
    .filter((path) => existsSync(path))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!candidates.length) throw new Error('no sagaflow binary: build it (./infra/dev/up.sh does) or set SAGAFLOW_BIN');
  return candidates[0];
}

async function sagaflow(...args) {
  const { stdout } = await run(sagaflowBin(), args, { timeout: 60_000, env: { ...process.env, LOG_FORMAT: 'json' } });
  return stdout.trim();
}

async function until(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function api(path, init = {}) {
  return fetch(`${GATEWAY}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(init.headers || {}) },
    signal: AbortSignal.timeout(10_000),
  });
}

let context;
let page;
let userDataDir;
const pageErrors = [];
const cspViolations = [];

/** Runs `body`; on failure saves a screenshot of the page to .data/browser/. */
async function withScreenshot(name, body) {
  try {
    await body();
  } catch (err) {
    if (page) {
      mkdirSync(SHOTS, { recursive: true });
      const file = join(SHOTS, `${name}-${RUN}-${Date.now()}.png`);
      try {
        await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
        err.message += `\n(screenshot: ${file})`;
      } catch (shotErr) {
        err.message += `\n(no screenshot: ${shotErr.message})`;
      }
    }
    throw err;
  }
}

before(async () => {
  assert.ok(SECRET, 'GATEWAY_JWT_HS256_SECRET must be set (infra/dev/env.sh sets the development one)');
  await until(`the page at ${GATEWAY}/`, 30_000, async () => {
    const response = await fetch(`${GATEWAY}/`, { signal: AbortSignal.timeout(5_000) });
    return response.ok && (response.headers.get('content-type') || '').includes('text/html');
  });
  const catalogue = await until('a product in the catalogue', 60_000, async () => {
    const response = await fetch(`${GATEWAY}/v1/products?limit=1`, { signal: AbortSignal.timeout(5_000) });
    const page = response.ok ? await response.json() : null;
    return page && page.items && page.items.length ? page : null;
  });
  SKU = catalogue.items[0].sku;
  const set = await sagaflow('stock', 'set', SKU, String(STOCK));
  assert.match(set, new RegExp(`${SKU}: ${STOCK}`));
  userDataDir = mkdtempSync(join(tmpdir(), 'sagaflow-web-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

test('the token in the URL fragment signs in and is removed from the URL', () =>
  withScreenshot('sign-in', async () => {
    await page.goto(`${GATEWAY}/#token=${TOKEN}`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.ok(!page.url().includes('token='), `the token stayed in the URL: ${page.url()}`);
    const status = await page.textContent('#token-status');
    assert.match(status, new RegExp(`Signed in as ${USER} of tenant ${TENANT}`));
    const stored = await page.evaluate(() => sessionStorage.getItem('sagaflow.token'));
    assert.equal(stored, TOKEN);
  }));

test('the page parses text/event-stream split anywhere, CRLF included', () =>
  withScreenshot('sse-parser', async () => {
    const events = await page.evaluate(() => {
      const seen = [];
      const parser = new window.sagaflow.SseParser((e) => seen.push(e));
      const text = ': keep-alive\r\nevent: step_completed\r\nid: 7\r\ndata: {"a":\r\ndata: 1}\r\n\r\n'
        + 'data:plain\n\nevent: end\ndata: {"status":"completed"}\n\n';
      for (let i = 0; i < text.length; i += 3) parser.push(text.slice(i, i + 3));
      return seen;
    });
    assert.deepEqual(events, [
      { type: 'step_completed', data: '{"a":\n1}', id: '7' },
      { type: 'message', data: 'plain', id: '7' },
      { type: 'end', data: '{"status":"completed"}', id: '7' },
    ]);
  }));

test('the catalogue is listed and searched without a token, with its prices', () =>
  withScreenshot('catalogue', async () => {
    const anonymous = await fetch(`${GATEWAY}/v1/products/${encodeURIComponent(SKU)}`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(anonymous.status, 200, 'the catalogue is public');
    const etag = anonymous.headers.get('etag');
    assert.ok(etag, 'a product has an ETag');
    const product = await anonymous.json();
    const again = await fetch(`${GATEWAY}/v1/products/${encodeURIComponent(SKU)}`, { headers: { 'If-None-Match': etag }, signal: AbortSignal.timeout(10_000) });
    assert.equal(again.status, 304);

    await page.waitForSelector('#products[data-loaded="true"]');
    await page.fill('#catalogue-q', SKU);
    await page.click('#catalogue-form button[type="submit"]');
    const card = await page.waitForSelector(`#products li[data-sku="${SKU}"]`);
    const eur = (product.prices || []).find((p) => p.currency === 'EUR');
    if (eur) assert.match(await card.textContent(), new RegExp((eur.amount_minor / 100).toFixed(2).replace('.', '\\.')));
    assert.equal(await page.$('#co-price'), null, 'the page asks for no price');
    assert.equal(await page.$('[name="unit_price_minor"]'), null, 'the page asks for no price');
  }));

test('a checkout started from the form is followed live until it completes', () =>
  withScreenshot('checkout', async () => {
    await page.click(`#products li[data-sku="${SKU}"] button`);
    assert.equal(await page.inputValue('#co-sku'), SKU);
    await page.fill('#co-quantity', '2');
    await page.fill('#co-currency', 'EUR');
    await page.fill('#co-country', 'DE');
    await page.selectOption('#co-payment', 'card');
    await page.fill('#co-email', 'web-test@example.com');
    await page.waitForSelector('#co-price-note[data-amount]');
    const posted = page.waitForRequest((r) => r.url().endsWith('/v1/checkouts') && r.method() === 'POST');
    await page.click('#checkout-submit');
    const request = await posted;
    const headers = await request.allHeaders();
    assert.equal(headers.authorization, `Bearer ${TOKEN}`);
    assert.match(headers['idempotency-key'] || '', /^[0-9a-f-]{36}$/);
    const sent = request.postDataJSON();
    assert.deepEqual(sent.items, [{ sku: SKU, quantity: 2 }], 'lines carry no price');
    assert.equal(sent.shipping_country, 'DE');

    await page.waitForSelector('#checkout-result:has-text("accepted")');
    const checkoutId = await page.inputValue('#saga-id');
    assert.match(checkoutId, /^[0-9a-f-]{36}$/);

    await page.waitForSelector('#timeline[data-status="completed"]', { timeout: SAGA_TIMEOUT_MS });
    await page.waitForSelector('#timeline-final:has-text("Order ")');
    const transport = await page.getAttribute('#timeline', 'data-transport');
    assert.equal(transport, 'stream', 'the timeline must come from the SSE stream, not polling');

    const rows = await page.$$eval('#timeline-events li', (items) =>
      items.map((li) => ({ seq: Number(li.dataset.seq), kind: li.dataset.kind, text: li.textContent })));
    const seqs = rows.map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'events are in seq order');
    assert.equal(new Set(seqs).size, seqs.length, 'no event twice');
    const completedSteps = rows.filter((r) => r.kind === 'step_completed').map((r) => r.text);
    for (const step of ['reserve_inventory', 'take_payment', 'create_order']) {
      assert.ok(completedSteps.some((t) => t.includes(`${step} completed`)), `${step} completed is shown: ${completedSteps}`);
    }
    assert.equal(rows.at(-1).kind, 'completed', 'the last event is the saga completing');
    assert.equal(await page.textContent('#timeline-status'), 'completed');

    const left = await sagaflow('stock', 'get', SKU);
    assert.equal(left, `${SKU}: ${STOCK - 2}`);

    await page.click('#history-refresh');
    await page.waitForSelector(`#history-body tr[data-id="${checkoutId}"] .badge[data-status="completed"]`);
  }));

test('the order it bought is refunded in part, then cancelled, from the orders panel', () =>
  withScreenshot('orders', async () => {
    await page.click('#orders-refresh');
    const card = await page.waitForSelector('#orders li.order[data-status="created"]');
    const orderId = await card.getAttribute('data-order-id');
    const line = `#orders li[data-order-id="${orderId}"] li.line[data-sku="${SKU}"]`;

    /** Clicks `selector`, returns the change the gateway started, waits for its saga to complete. */
    async function change(selector, suffix) {
      const answered = page.waitForResponse((r) => r.url().endsWith(`/v1/orders/${orderId}/${suffix}`) && r.request().method() === 'POST');
      await page.click(selector);
      const response = await answered;
      assert.equal(response.status(), 202);
      const headers = await response.request().allHeaders();
      assert.match(headers['idempotency-key'] || '', /^[0-9a-f-]{36}$/);
      const accepted = await response.json();
      await page.waitForSelector(`#timeline-saga:has-text("${accepted.saga_id}")`);
      await page.waitForSelector('#timeline[data-status="completed"]', { timeout: SAGA_TIMEOUT_MS });
      return { accepted, sent: response.request().postDataJSON() };
    }

    await page.fill(`${line} input`, '1');
    const refund = await change(`${line} button`, 'refunds');
    assert.deepEqual(refund.sent, { lines: [{ sku: SKU, quantity: 1 }] }, 'a refund names lines, never a price');
    await page.waitForSelector('#timeline-final:has-text("Refund ")');
    await page.waitForSelector(`#orders li[data-order-id="${orderId}"] p:has-text("refunded")`);

    await change(`#orders li[data-order-id="${orderId}"] button.cancel-order`, 'cancel');
    await page.waitForSelector(`#orders li[data-order-id="${orderId}"][data-status="cancelled"]`);
    const left = await sagaflow('stock', 'get', SKU);
    assert.equal(left, `${SKU}: ${STOCK}`, 'the cancelled order went back to stock');
  }));

test('an API error is shown with its code, and the form works again after', () =>
  withScreenshot('api-error', async () => {
    await page.fill('#token', 'not-a-valid-token');
    await page.click('#auth-form button[type="submit"]');
    await page.click('#checkout-submit');
    const error = await page.waitForSelector('#checkout-error:not([hidden])');
    const text = await error.textContent();
    assert.match(text, /HTTP 401/);
    // The code comes from the gateway's problem body (a fallback would say http_401).
    assert.match(text, /unauthenticated/);
    await page.fill('#token', TOKEN);
    await page.click('#auth-form button[type="submit"]');
    await page.waitForSelector(`#token-status:has-text("${USER}")`);
  }));

test('the tracker panel creates an application when its backend answers', (t) =>
  withScreenshot('tracker', async () => {
    const probe = await api('/v1/applications');
    await probe.body?.cancel();
    if (!probe.ok) {
      // No tracker behind this gateway: the page must say so clearly.
      assert.ok([404, 501, 502, 503, 504].includes(probe.status), `GET /v1/applications answered ${probe.status}`);
      await page.click('#tracker-refresh');
      await page.waitForSelector('#tracker-unavailable:not([hidden]):has-text("not available")');
      t.diagnostic(`tracker backend absent (HTTP ${probe.status}); checked the notice only`);
      return;
    }
    const company = `Acme ${RUN}`;
    await page.click('#tracker-refresh');
    await page.waitForSelector('#tracker-section[data-available="true"]');
    await page.click('#tracker-new > summary');
    await page.fill('#app-company', company);
    await page.fill('#app-role', 'Rust Engineer');
    await page.selectOption('#app-status', 'applied');
    await page.click('#application-form button[type="submit"]');
    const card = await page.waitForSelector(`#applications li.card:has-text("${company}")`);
    assert.match(await card.textContent(), /applied/);
    const listed = await (await api('/v1/applications')).json();
    const items = Array.isArray(listed) ? listed : listed.items || listed.applications || [];
    assert.ok(items.some((a) => a.company === company), 'the application is stored');
  }));

test('the page ran without script errors or CSP violations', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
});

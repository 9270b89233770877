// The user flows against the gateway's REST API. Every request carries
// `Authorization: Bearer <JWT>` for the VU's own user and the tags
// kind=read|write (for the SLO thresholds) and name=<METHOD route> (grouping).
// No request names a price: checkouts send {sku, quantity} lines or only a
// cart_id, and the catalogue (GET /v1/products...) is browsed with If-None-Match.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Rate, Trend } from 'k6/metrics';
import { uuidv4 } from './uuid.js';

/** Saga statuses after which nothing more happens on its own. */
export const TERMINAL = ['completed', 'compensated', 'failed', 'compensation_failed'];

export const checkoutCompleted = new Rate('checkout_completed');
export const checkoutSeconds = new Trend('checkout_end_to_end_seconds');
export const generationCompleted = new Rate('generation_completed');
export const generationSeconds = new Trend('generation_end_to_end_seconds');

const BASE = (__ENV.GATEWAY_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
/** Shipping countries checkouts go to (each selects a tax rate). */
const COUNTRIES = ['DE', 'FR'];

/**
 * @typedef {{ auth: string, cart: boolean, skus: string[] }} Ctx
 *   auth: the Authorization header; cart: whether the /v1/carts routes exist.
 */

/**
 * @param {Ctx} ctx
 * @param {'read'|'write'} kind
 * @param {string} name
 * @param {object} [extraHeaders]
 * @returns {import('k6/http').RefinedParams<'text'>}
 */
function params(ctx, kind, name, extraHeaders = {}) {
  return {
    headers: { Authorization: ctx.auth, 'Content-Type': 'application/json', ...extraHeaders },
    tags: { kind, name },
  };
}

/**
 * A JSON field of a response as a string ('' when absent or not JSON).
 * @param {import('k6/http').RefinedResponse<any>} res
 * @param {string} path
 */
function field(res, path) {
  try {
    const value = res.json(path);
    return value === null || value === undefined ? '' : String(value);
  } catch (_) {
    return '';
  }
}

/**
 * GET `path` every `intervalSecs` until the saga's status is terminal or
 * `deadlineSecs` pass. Returns the last status ('timeout' or 'http <code>' when it
 * did not end).
 * @param {Ctx} ctx
 * @param {string} path
 * @param {string} name
 * @param {number} deadlineSecs
 * @param {number} intervalSecs
 */
function pollUntilTerminal(ctx, path, name, deadlineSecs, intervalSecs) {
  const deadline = Date.now() + deadlineSecs * 1000;
  for (;;) {
    const res = http.get(`${BASE}${path}`, params(ctx, 'read', name));
    check(res, { [`${name} 200`]: (r) => r.status === 200 });
    if (res.status !== 200) return `http ${res.status}`;
    const status = field(res, 'status');
    if (TERMINAL.includes(status)) return status;
    if (Date.now() > deadline) return 'timeout';
    sleep(intervalSecs);
  }
}

/**
 * PUT one line into cart `cartId`.
 * @param {Ctx} ctx
 * @param {string} cartId
 * @param {string} sku
 * @param {number} quantity
 */
export function putCartItem(ctx, cartId, sku, quantity) {
  const res = http.put(
    `${BASE}/v1/carts/${cartId}/items/${encodeURIComponent(sku)}`,
    JSON.stringify({ quantity }),
    params(ctx, 'write', 'PUT /v1/carts/{id}/items/{sku}'),
  );
  check(res, { 'PUT cart item 200': (r) => r.status === 200 });
  return res;
}

/**
 * @param {Ctx} ctx
 * @param {string} cartId
 */
export function getCart(ctx, cartId) {
  const res = http.get(`${BASE}/v1/carts/${cartId}`, params(ctx, 'read', 'GET /v1/carts/{id}'));
  check(res, { 'GET cart 200': (r) => r.status === 200 });
  return res;
}

/**
 * POST /v1/checkouts; returns the checkout id or '' on failure. `lines` null:
 * check out the lines of cart `cartId` (the body has no items).
 * @param {Ctx} ctx
 * @param {string} cartId
 * @param {Array<{sku: string, quantity: number}> | null} lines
 */
export function startCheckout(ctx, cartId, lines) {
  /** @type {Record<string, unknown>} */
  const body = {
    cart_id: cartId,
    currency: 'EUR',
    shipping_country: COUNTRIES[Math.floor(Math.random() * COUNTRIES.length)],
    payment_method: 'card',
    customer_email: 'loadtest@example.com',
  };
  if (lines) body.items = lines.map((l) => ({ sku: l.sku, quantity: l.quantity }));
  const res = http.post(`${BASE}/v1/checkouts`, JSON.stringify(body),
    params(ctx, 'write', 'POST /v1/checkouts', { 'Idempotency-Key': uuidv4() }));
  check(res, {
    'POST checkout 202': (r) => r.status === 202,
    'POST checkout not rate limited': (r) => r.status !== 429,
  });
  return res.status === 202 ? field(res, 'checkout_id') : '';
}

/**
 * A whole checkout: fill a new cart (when the cart routes exist), read it and
 * check it out by cart_id alone, or (every other time, or without cart routes)
 * check out by items; then poll the checkout until its saga ends. Records
 * checkout_completed and checkout_end_to_end_seconds.
 * @param {Ctx} ctx
 * @param {number} deadlineSecs
 */
export function checkoutFlow(ctx, deadlineSecs) {
  const cartId = uuidv4();
  const n = 1 + Math.floor(Math.random() * 2);
  /** @type {Array<{sku: string, quantity: number}>} */
  const lines = [];
  for (let i = 0; i < n; i++) {
    lines.push({ sku: ctx.skus[Math.floor(Math.random() * ctx.skus.length)], quantity: 1 });
  }
  const unique = lines.filter((l, i) => lines.findIndex((m) => m.sku === l.sku) === i);
  const byCart = ctx.cart && Math.random() < 0.5;
  if (byCart) {
    for (const line of unique) putCartItem(ctx, cartId, line.sku, line.quantity);
    getCart(ctx, cartId);
  }
  const started = Date.now();
  const id = startCheckout(ctx, cartId, byCart ? null : unique);
  if (!id) {
    checkoutCompleted.add(false);
    return;
  }
  const status = pollUntilTerminal(ctx, `/v1/checkouts/${id}`, 'GET /v1/checkouts/{id}', deadlineSecs, 0.25);
  const completed = status === 'completed';
  checkoutCompleted.add(completed);
  check(status, { 'checkout completed': () => completed });
  if (completed) checkoutSeconds.add((Date.now() - started) / 1000);
  else console.warn(`checkout ${id} ended ${status}`);
}

/**
 * Browsing the catalogue as a shop's visitor does: a page of products (now and
 * then filtered, or the next page), then one product, revalidated with the ETag
 * this VU got for it before (200 the first time, 304 after, unless it changed).
 * @param {Ctx} ctx
 * @param {Record<string, string>} etags  SKU -> ETag, kept per VU
 */
export function catalogueFlow(ctx, etags) {
  const roll = Math.random();
  let query = 'limit=20';
  if (roll < 0.3 && ctx.skus.length) query += `&q=${encodeURIComponent(ctx.skus[0].slice(0, 3))}`;
  const list = http.get(`${BASE}/v1/products?${query}`, params(ctx, 'read', 'GET /v1/products'));
  check(list, {
    'GET products 200': (r) => r.status === 200,
    'GET products lists items': (r) => r.status === 200 && Array.isArray(r.json('items')),
  });
  const next = list.status === 200 ? field(list, 'next_cursor') : '';
  if (next && roll > 0.7) {
    const more = http.get(`${BASE}/v1/products?limit=20&cursor=${encodeURIComponent(next)}`,
      params(ctx, 'read', 'GET /v1/products'));
    check(more, { 'GET products next page 200': (r) => r.status === 200 });
  }
  const sku = ctx.skus[Math.floor(Math.random() * ctx.skus.length)];
  if (!sku) return;
  const known = etags[sku];
  const one = http.get(`${BASE}/v1/products/${encodeURIComponent(sku)}`,
    params(ctx, 'read', 'GET /v1/products/{sku}', known ? { 'If-None-Match': known } : {}));
  check(one, {
    'GET product 200 or 304': (r) => r.status === 200 || r.status === 304,
    'GET product has an ETag': (r) => Boolean(r.headers.Etag || r.headers.ETag),
  });
  const etag = one.headers.Etag || one.headers.ETag;
  if (etag) etags[sku] = etag;
}

/**
 * What a browsing user reads: their history, one of their checkouts, their cart.
 * @param {Ctx} ctx
 * @param {{ cartId: string, checkoutId: string }} mine
 */
export function browseFlow(ctx, mine) {
  const history = http.get(`${BASE}/v1/history`, params(ctx, 'read', 'GET /v1/history'));
  check(history, {
    'GET history 200': (r) => r.status === 200,
    'GET history lists items': (r) => r.status === 200 && Array.isArray(r.json('items')),
  });
  if (mine.checkoutId) {
    const res = http.get(`${BASE}/v1/checkouts/${mine.checkoutId}`,
      params(ctx, 'read', 'GET /v1/checkouts/{id}'));
    check(res, { 'GET checkout 200': (r) => r.status === 200 });
  }
  if (ctx.cart && mine.cartId) getCart(ctx, mine.cartId);
}

const CV = 'Ada Lovelace\nada@example.com\n' +
  'Senior software engineer, 2019-2025 at Analytical Engines Ltd.\n' +
  'Built event-driven services in Rust with Kafka and PostgreSQL.\n' +
  'Led a team of five; introduced Docker and Kubernetes deployments.';

/**
 * A cover letter: POST /v1/generations with a job ad unique to this call (so the
 * response cache does not answer it), then poll until the saga ends. Records
 * generation_completed and generation_end_to_end_seconds.
 * @param {Ctx} ctx
 * @param {number} deadlineSecs
 */
export function generationFlow(ctx, deadlineSecs) {
  const job = `Senior Rust Engineer at Acme (ref ${uuidv4()}). We build payment systems ` +
    'with Rust, Kafka and PostgreSQL. You will design event-driven services, mentor ' +
    'engineers and own Kubernetes deployments.';
  const started = Date.now();
  const res = http.post(`${BASE}/v1/generations`,
    JSON.stringify({ kind: 'cover_letter', cv_text: CV, job_description: job }),
    params(ctx, 'write', 'POST /v1/generations', { 'Idempotency-Key': uuidv4() }));
  check(res, {
    'POST generation 202': (r) => r.status === 202,
    'POST generation not rate limited': (r) => r.status !== 429,
  });
  const id = res.status === 202 ? field(res, 'generation_id') : '';
  if (!id) {
    generationCompleted.add(false);
    return;
  }
  const status = pollUntilTerminal(ctx, `/v1/generations/${id}`, 'GET /v1/generations/{id}', deadlineSecs, 0.5);
  const completed = status === 'completed';
  generationCompleted.add(completed);
  check(status, { 'generation completed': () => completed });
  if (completed) generationSeconds.add((Date.now() - started) / 1000);
  else console.warn(`generation ${id} ended ${status}`);
}

/**
 * Whether the gateway serves the cart routes: PUT a line into a fresh cart.
 * @param {Ctx} ctx
 * @param {string} sku
 */
export function cartRoutesExist(ctx, sku) {
  const res = http.put(`${BASE}/v1/carts/${uuidv4()}/items/${encodeURIComponent(sku)}`,
    JSON.stringify({ quantity: 1 }),
    { headers: { Authorization: ctx.auth, 'Content-Type': 'application/json' },
      tags: { kind: 'probe', name: 'probe cart routes' },
      responseCallback: http.expectedStatuses(200, 404, 405) });
  return res.status === 200;
}

/** The gateway's base URL. */
export const baseUrl = BASE;

/**
 * The SKUs to buy: the active products of the catalogue priced in EUR (up to 100).
 * @returns {string[]}
 */
export function catalogueSkus() {
  const res = http.get(`${BASE}/v1/products?limit=100`, { tags: { kind: 'probe', name: 'probe catalogue' } });
  if (res.status !== 200) return [];
  /** @type {any} */
  const page = res.json();
  const items = Array.isArray(page && page.items) ? page.items : [];
  return items
    .filter((/** @type {any} */ p) => Array.isArray(p.prices) && p.prices.some((/** @type {any} */ x) => x.currency === 'EUR'))
    .map((/** @type {any} */ p) => String(p.sku));
}

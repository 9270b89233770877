// The user flows against the gateway's REST API. Every request carries
// `Authorization: Bearer <JWT>` for the VU's own user and the tags
// kind=read|write (for the SLO thresholds) and name=<METHOD route> (grouping).
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
const PRICE_MINOR = 1250;

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
    JSON.stringify({ quantity, unit_price_minor: PRICE_MINOR }),
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
 * POST /v1/checkouts; returns the checkout id or '' on failure.
 * @param {Ctx} ctx
 * @param {string} cartId
 * @param {Array<{sku: string, quantity: number}>} lines
 */
export function startCheckout(ctx, cartId, lines) {
  const body = {
    cart_id: cartId,
    items: lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price_minor: PRICE_MINOR })),
    currency: 'EUR',
    payment_method: 'card',
    customer_email: 'loadtest@example.com',
  };
  const res = http.post(`${BASE}/v1/checkouts`, JSON.stringify(body),
    params(ctx, 'write', 'POST /v1/checkouts', { 'Idempotency-Key': uuidv4() }));
  check(res, {
    'POST checkout 202': (r) => r.status === 202,
    'POST checkout not rate limited': (r) => r.status !== 429,
  });
  return res.status === 202 ? field(res, 'checkout_id') : '';
}

/**
 * A whole checkout: fill a new cart (when the cart routes exist), read it, check
 * out, and poll the checkout until its saga ends. Records checkout_completed and
 * checkout_end_to_end_seconds.
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
  if (ctx.cart) {
    for (const line of unique) putCartItem(ctx, cartId, line.sku, line.quantity);
    getCart(ctx, cartId);
  }
  const started = Date.now();
  const id = startCheckout(ctx, cartId, unique);
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
    JSON.stringify({ quantity: 1, unit_price_minor: PRICE_MINOR }),
    { headers: { Authorization: ctx.auth, 'Content-Type': 'application/json' },
      tags: { kind: 'probe', name: 'probe cart routes' },
      responseCallback: http.expectedStatuses(200, 404, 405) });
  return res.status === 200;
}

/** The gateway's base URL. */
export const baseUrl = BASE;

// Sagaflow's REST flows under load: browse (reads: the catalogue with ETags, and
// the user's own history, checkout and cart), checkout end to end (a cart checked
// out by cart_id, or items; polling until the saga ends; never a price) and
// cover-letter generation, with the SLOs
// as thresholds (p99 reads < 150 ms, writes < 300 ms, checks > 99%; see
// lib/profiles.js). Each VU is its own user with its own JWT, minted here with
// GATEWAY_JWT_HS256_SECRET.
//
//   LOADTEST_PROFILE=smoke|short|reads|full   (default smoke; see lib/profiles.js)
//   GATEWAY_URL                   (default http://127.0.0.1:8080)
//   GATEWAY_JWT_HS256_SECRET      required (infra/dev/env.sh exports the dev one)
//   LOADTEST_SKUS                 SKUs to buy, with stock (default: the catalogue's
//                                 active products priced in EUR, from GET /v1/products;
//                                 smoke.sh seeds their stock with `sagaflow stock set`)
//   LOADTEST_TENANT (loadtest), LOADTEST_RUN_ID (unique per run: user ids are <run>-vu<n>),
//   LOADTEST_THINK_SECS (1), LOADTEST_CHECKOUT_DEADLINE_SECS (30), LOADTEST_GENERATION_DEADLINE_SECS (60),
//   LOADTEST_GENERATIONS_PER_USER (10: the gateway's default per-user hourly limit),
//   LOADTEST_CART=0 to leave out the /v1/carts routes (detected by default).
//
// (Not K6_*: k6 reads K6_DURATION, K6_VUS, ... as its own options, which replace
// the scenarios.)
//
// Run: loadtest/k6/smoke.sh, or k6 run -e LOADTEST_PROFILE=short loadtest/k6/sagaflow.js
import http from 'k6/http';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Tokens } from './lib/jwt.js';
import { uuidv4 } from './lib/uuid.js';
import { scenarios, thresholds } from './lib/profiles.js';
import {
  baseUrl, browseFlow, cartRoutesExist, catalogueFlow, catalogueSkus, checkoutFlow, generationFlow,
  putCartItem, startCheckout,
} from './lib/flows.js';

const PROFILE = __ENV.LOADTEST_PROFILE || 'smoke';
const THINK_SECS = Number(__ENV.LOADTEST_THINK_SECS || 1);
const CHECKOUT_DEADLINE_SECS = Number(__ENV.LOADTEST_CHECKOUT_DEADLINE_SECS || 30);
const GENERATION_DEADLINE_SECS = Number(__ENV.LOADTEST_GENERATION_DEADLINE_SECS || 60);
const GENERATIONS_PER_USER = Number(__ENV.LOADTEST_GENERATIONS_PER_USER || 10);
const SKUS = (__ENV.LOADTEST_SKUS || '').split(',').map((s) => s.trim()).filter(Boolean);

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: scenarios(PROFILE),
  thresholds: thresholds(PROFILE),
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
  setupTimeout: '60s',
};

const tokens = new Tokens(__ENV.GATEWAY_JWT_HS256_SECRET || '', __ENV.LOADTEST_TENANT || 'loadtest');

/**
 * @typedef {{ runId: string, cart: boolean, skus: string[], readers: string[] }} Data
 */

/** Users of the `reads` profile, each with a checkout of their own to read. */
const READERS = Number(__ENV.LOADTEST_READERS || 100);

/** @returns {Data} */
export function setup() {
  const ready = http.get(`${baseUrl}/readyz`, { tags: { kind: 'probe', name: 'GET /readyz' } });
  if (ready.status !== 200) {
    exec.test.abort(`the gateway at ${baseUrl} is not ready (${ready.status})`);
  }
  const runId = __ENV.LOADTEST_RUN_ID || `k6-${Date.now().toString(36)}`;
  const skus = SKUS.length ? SKUS : catalogueSkus();
  if (!skus.length) {
    exec.test.abort('no SKUs to buy: the catalogue (GET /v1/products) has no product priced in EUR ' +
      'and LOADTEST_SKUS is not set');
  }
  const probe = { auth: tokens.bearer(`${runId}-probe`), cart: true, skus };
  const authorized = http.get(`${baseUrl}/v1/history`, {
    headers: { Authorization: probe.auth },
    tags: { kind: 'probe', name: 'probe token' },
    responseCallback: http.expectedStatuses(200, 401),
  });
  if (authorized.status !== 200) {
    exec.test.abort(`the gateway refused a minted token (${authorized.status} ${authorized.body}); ` +
      'is GATEWAY_JWT_HS256_SECRET the platform\'s?');
  }
  const cart = __ENV.LOADTEST_CART === '0' ? false : cartRoutesExist(probe, skus[0]);
  if (!cart) console.warn('no /v1/carts routes at the gateway (or LOADTEST_CART=0): checkouts skip the cart');
  /** @type {string[]} */
  const readers = [];
  if (PROFILE === 'reads') {
    for (let i = 0; i < READERS; i++) {
      const ctx = { auth: tokens.bearer(`${runId}-reader${i}`), cart: false, skus };
      readers.push(startCheckout(ctx, uuidv4(), [{ sku: skus[0], quantity: 1 }]));
    }
  }
  return { runId, cart, skus, readers };
}

/** @param {number} secs */
function think(secs) {
  sleep(secs * (0.5 + Math.random()));
}

/** This VU's own user id. @param {Data} data */
function user(data) {
  return `${data.runId}-vu${exec.vu.idInTest}`;
}

/** What this VU made on its first browse iteration. */
const mine = { cartId: '', checkoutId: '' };
/** The ETags this VU holds, by SKU. @type {Record<string, string>} */
const etags = {};

/**
 * Scenario `browse`: a visitor browsing the catalogue, and a user reading their
 * history, a checkout and their cart.
 * @param {Data} data
 */
export function browse(data) {
  const ctx = { auth: tokens.bearer(user(data)), cart: data.cart, skus: data.skus };
  if (exec.vu.iterationInScenario === 0) {
    // Something of their own to read: a cart line and a checkout.
    const cartId = uuidv4();
    if (ctx.cart) putCartItem(ctx, cartId, data.skus[0], 1);
    mine.cartId = cartId;
    mine.checkoutId = startCheckout(ctx, cartId, [{ sku: data.skus[0], quantity: 1 }]);
  }
  catalogueFlow(ctx, etags);
  browseFlow(ctx, mine);
  think(THINK_SECS);
}

/** Scenario `checkout`: fill a cart, check out, follow the saga to its end. @param {Data} data */
export function checkout(data) {
  const ctx = { auth: tokens.bearer(user(data)), cart: data.cart, skus: data.skus };
  checkoutFlow(ctx, CHECKOUT_DEADLINE_SECS);
  think(THINK_SECS);
}

/**
 * Scenario `generate`: a cover letter followed to its end. The gateway allows a
 * user LOADTEST_GENERATIONS_PER_USER generations an hour, so the VU moves to its next
 * user after that many.
 * @param {Data} data
 */
export function generate(data) {
  const n = Math.floor(exec.vu.iterationInScenario / GENERATIONS_PER_USER);
  const ctx = { auth: tokens.bearer(`${user(data)}-g${n}`), cart: data.cart, skus: data.skus };
  generationFlow(ctx, GENERATION_DEADLINE_SECS);
  think(THINK_SECS * 3);
}

/**
 * @param {{ auth: string }} ctx
 * @param {string} name
 */
function readParams(ctx, name) {
  return { headers: { Authorization: ctx.auth }, tags: { kind: 'read', name } };
}

/**
 * Scenario `reads` (profile `reads`): one read per iteration, alternately the
 * catalogue's first page and a reader's own checkout, spread over the readers so
 * none reaches the per-user rate limit.
 * @param {Data} data
 */
export function reads(data) {
  const n = exec.scenario.iterationInTest;
  const i = n % data.readers.length;
  const ctx = { auth: tokens.bearer(`${data.runId}-reader${i}`), cart: false, skus: data.skus };
  if (n % 2 === 0) {
    const res = http.get(`${baseUrl}/v1/products?limit=20`, readParams(ctx, 'GET /v1/products'));
    check(res, { 'GET products 200': (r) => r.status === 200 });
  } else {
    const res = http.get(`${baseUrl}/v1/checkouts/${data.readers[i]}`,
      readParams(ctx, 'GET /v1/checkouts/{id}'));
    check(res, { 'GET checkout 200': (r) => r.status === 200 });
  }
}

export default browse;

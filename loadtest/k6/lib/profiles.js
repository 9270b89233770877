// Load profiles, chosen with LOADTEST_PROFILE:
//   smoke  a few VUs for LOADTEST_DURATION (30s): proves the flows and the thresholds work.
//   short  a bounded local run: ramps to LOADTEST_MAX_VUS (200) and back within
//          LOADTEST_DURATION (2m); what a 2-core machine running the platform sustains.
//   full   the capacity run: stages from 100 to 5,000 VUs (about 20 minutes); needs
//          a platform on its own hosts and a load generator with the file
//          descriptors for it (ulimit -n 65536).
//   reads  the gateway's reads alone at a fixed arrival rate (LOADTEST_RATE, 1000/s,
//          for LOADTEST_DURATION, 60s): GET /v1/products and GET /v1/checkouts/{id}
//          of LOADTEST_READERS (100) users' own checkouts; p99 must stay under 10 ms.
//          Raise the gateway's per-address limit for it (GATEWAY_RATE_LIMIT_IP_PER_SEC).
// smoke, short and full run three scenarios, splitting the VUs: browse (reads),
// checkout (cart, checkout, polling to the end) and generate (cover letters).

/** Share of the VUs per scenario. */
const SHARES = { browse: 0.6, checkout: 0.35, generate: 0.05 };

/**
 * ramping-vus stages scaled to one scenario's share of `vus` at each step.
 * @param {Array<[string, number]>} steps  [duration, total VUs]
 * @param {number} share
 */
function stages(steps, share) {
  return steps.map(([duration, vus]) => ({
    duration,
    target: vus === 0 ? 0 : Math.max(1, Math.round(vus * share)),
  }));
}

/** @param {string} duration e.g. "2m", "90s" @returns {number} seconds */
function seconds(duration) {
  const m = /^(\d+)(s|m|h)$/.exec(duration);
  if (!m) throw new Error(`LOADTEST_DURATION must look like 30s, 2m or 1h, got ${duration}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[/** @type {'s'|'m'|'h'} */ (m[2])];
}

/**
 * @param {string} name
 * @returns {Record<string, import('k6/options').Scenario>}
 */
export function scenarios(name) {
  /** @type {(exec: keyof typeof SHARES, steps: Array<[string, number]>) => import('k6/options').Scenario} */
  const ramp = (exec, steps) => ({
    executor: 'ramping-vus',
    exec,
    startVUs: 0,
    stages: stages(steps, SHARES[exec]),
    gracefulRampDown: '30s',
    gracefulStop: '30s',
    tags: { scenario_kind: exec },
  });
  if (name === 'smoke') {
    const duration = __ENV.LOADTEST_DURATION || '30s';
    /** @type {(exec: string, vus: number) => import('k6/options').Scenario} */
    const constant = (exec, vus) => ({
      executor: 'constant-vus', exec, vus, duration, gracefulStop: '30s',
      tags: { scenario_kind: exec },
    });
    return {
      browse: constant('browse', 2),
      checkout: constant('checkout', 2),
      generate: constant('generate', 1),
    };
  }
  if (name === 'short') {
    const max = Number(__ENV.LOADTEST_MAX_VUS || 200);
    const total = seconds(__ENV.LOADTEST_DURATION || '2m');
    const s = (/** @type {number} */ f) => `${Math.max(1, Math.round(total * f))}s`;
    /** @type {Array<[string, number]>} */
    const steps = [[s(0.25), max * 0.25], [s(0.25), max], [s(0.4), max], [s(0.1), 0]];
    return {
      browse: ramp('browse', steps),
      checkout: ramp('checkout', steps),
      generate: ramp('generate', steps),
    };
  }
  if (name === 'reads') {
    return {
      reads: {
        executor: 'constant-arrival-rate',
        exec: 'reads',
        rate: Number(__ENV.LOADTEST_RATE || 1000),
        timeUnit: '1s',
        duration: __ENV.LOADTEST_DURATION || '60s',
        preAllocatedVUs: 100,
        maxVUs: 400,
        tags: { scenario_kind: 'reads' },
      },
    };
  }
  if (name === 'full') {
    /** @type {Array<[string, number]>} */
    const steps = [
      ['1m', 100], ['2m', 500], ['3m', 1000], ['3m', 2500],
      ['4m', 5000], ['5m', 5000], ['2m', 0],
    ];
    return {
      browse: ramp('browse', steps),
      checkout: ramp('checkout', steps),
      generate: ramp('generate', steps),
    };
  }
  throw new Error(`LOADTEST_PROFILE must be smoke, short, reads or full, got ${name}`);
}

/**
 * The SLOs as thresholds: p99 reads < 150 ms, p99 writes < 300 ms, checks > 99%.
 * Requests are tagged kind=read|write; polling GETs are reads. The smoke profile
 * (run by the test suite on whatever machine runs it, often a busy 2-core CI
 * runner) checks correctness only and reports the latencies without failing on
 * them: speed is measured by the short and full profiles and the bench harness.
 * @param {string} profile
 * @returns {Record<string, string[]>}
 */
export function thresholds(profile) {
  if (profile === 'reads') {
    return {
      checks: ['rate>0.99'],
      http_req_failed: ['rate<0.01'],
      'http_req_duration{kind:read}': ['p(99)<10'],
    };
  }
  /** @type {Record<string, string[]>} */
  const slos = {
    checks: ['rate>0.99'],
    http_req_failed: ['rate<0.01'],
    checkout_completed: ['rate>0.99'],
    generation_completed: ['rate>0.99'],
  };
  if (profile !== 'smoke') {
    slos['http_req_duration{kind:read}'] = ['p(99)<150'];
    slos['http_req_duration{kind:write}'] = ['p(99)<300'];
  }
  return slos;
}

// Bearer tokens for the gateway: HS256 JWTs signed with GATEWAY_JWT_HS256_SECRET,
// minted inside the load test (k6/crypto HMAC-SHA256), the same claims the gateway
// checks (services/gateway/src/auth.rs): sub, tenant_id, iss, aud, exp.
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';

/** Issuer and audience the gateway expects by default (GATEWAY_JWT_ISSUER / _AUDIENCE). */
export const ISSUER = __ENV.GATEWAY_JWT_ISSUER || 'sagaflow';
export const AUDIENCE = __ENV.GATEWAY_JWT_AUDIENCE || 'sagaflow-api';

/**
 * An HS256 JWT for `sub` in `tenant`, valid for `ttlSecs` from now.
 * @param {string} secret
 * @param {string} sub
 * @param {string} tenant
 * @param {number} ttlSecs
 * @returns {{ token: string, exp: number }}
 */
export function mintHs256(secret, sub, tenant, ttlSecs) {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + ttlSecs;
  const header = encoding.b64encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), 'rawurl');
  const claims = { sub, tenant_id: tenant, iss: ISSUER, aud: AUDIENCE, iat: now, exp };
  const payload = encoding.b64encode(JSON.stringify(claims), 'rawurl');
  const signature = crypto.hmac('sha256', secret, `${header}.${payload}`, 'base64rawurl');
  return { token: `${header}.${payload}.${signature}`, exp };
}

/**
 * Mints and caches one token per user name; a token is renewed a minute before
 * it expires. Each VU has its own module instance, so its own cache.
 */
export class Tokens {
  /**
   * @param {string} secret
   * @param {string} tenant
   * @param {number} [ttlSecs]
   */
  constructor(secret, tenant, ttlSecs = 3600) {
    if (!secret || secret.length < 32) {
      throw new Error('GATEWAY_JWT_HS256_SECRET must be set (32 bytes or more); source infra/dev/env.sh');
    }
    this.secret = secret;
    this.tenant = tenant;
    this.ttlSecs = ttlSecs;
    /** @type {Record<string, { token: string, exp: number }>} */
    this.cache = {};
  }

  /**
   * The `Authorization` header value for user `sub`.
   * @param {string} sub
   * @returns {string}
   */
  bearer(sub) {
    const now = Math.floor(Date.now() / 1000);
    let entry = this.cache[sub];
    if (!entry || entry.exp - now < 60) {
      entry = mintHs256(this.secret, sub, this.tenant, this.ttlSecs);
      this.cache[sub] = entry;
    }
    return `Bearer ${entry.token}`;
  }
}

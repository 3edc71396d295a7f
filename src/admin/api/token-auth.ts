/**
 * API authentication: `Authorization: Bearer r365_…` names an API token; a
 * `read` token may only read (GET), a `write` token may change things too.
 * Cookies are never looked at, so a panel session cannot call the API, and
 * the panel never looks at Bearer tokens. Checks are counted per client
 * address (behind RELAY365_TRUSTED_PROXIES, the forwarded one) before the
 * token is looked up: past the limit that address waits before any token is
 * checked again.
 */
import type { MiddlewareHandler } from 'hono';
import type { Cidr } from '../../cidr.js';
import type { Logger } from '../../log.js';
import type { StoreRepos } from '../../store/index.js';
import { createClientAddress } from '../client-address.js';
import { createLoginThrottle } from '../login-throttle.js';
import { ApiError } from './errors.js';
import type { ApiEnv } from './env.js';

/** Failed token checks one client address may make before it has to wait. */
const FAILURES_BEFORE_WAIT = 10;
const READ_METHODS = new Set(['GET', 'HEAD']);

export interface TokenAuthOptions {
  tokens: Pick<StoreRepos['apiTokens'], 'authenticate'>;
  log: Logger;
  now: () => number;
  /** Peers whose `X-Forwarded-For` names the client (RELAY365_TRUSTED_PROXIES). */
  trustedProxies: readonly Cidr[];
}

const refuse = (message: string): ApiError =>
  new ApiError('unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="relay365 API"' });

/** Middleware that authenticates every request and enforces the token's scope. */
export function tokenAuth({ tokens, log, now, trustedProxies }: TokenAuthOptions): MiddlewareHandler<ApiEnv> {
  const throttle = createLoginThrottle({ now, addressLimit: FAILURES_BEFORE_WAIT });
  const clientAddress = createClientAddress(trustedProxies);
  return async (c, next) => {
    const address = clientAddress(c);
    const admission = throttle.begin(null, address);
    if (!admission.admitted) {
      const seconds = Math.max(1, Math.ceil(admission.waitMs / 1000));
      throw new ApiError('rate_limited', `Too many requests with a wrong token; try again in ${seconds} s.`, undefined, {
        'Retry-After': String(seconds),
      });
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    if (!match) {
      admission.attempt.abandoned();
      throw refuse('Send an API token in the Authorization header: Authorization: Bearer r365_….');
    }
    const token = await tokens.authenticate(match[1] as string, now());
    if (!token) {
      admission.attempt.failed();
      log.warn('API request with an unknown or revoked token', { client: address, path: c.req.path });
      throw refuse('This API token is not valid: it was revoked or never existed.');
    }
    admission.attempt.succeeded();
    if (token.scope === 'read' && !READ_METHODS.has(c.req.method)) {
      throw new ApiError('forbidden', `The API token ${token.name} may only read; create a write token to change things.`);
    }
    c.set('apiToken', token);
    await next();
  };
}

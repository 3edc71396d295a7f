/**
 * API authentication: `Authorization: Bearer r365_…` names an API token; a
 * `read` token may only read (GET), a `write` token may change things too.
 * Cookies are never looked at, so a panel session cannot call the API, and
 * the panel never looks at Bearer tokens. Failed attempts are counted per
 * client address: past the limit that address waits before any token is
 * checked again.
 */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../log.js';
import type { ApiTokenRepo } from '../../store/api-tokens.js';
import { createLoginThrottle } from '../login-throttle.js';
import { ApiError } from './errors.js';
import type { ApiEnv } from './env.js';

/** Failed token checks one client address may make before it has to wait. */
const FAILURES_BEFORE_WAIT = 10;
const READ_METHODS = new Set(['GET', 'HEAD']);
/** The throttle counts per address only: every request shares this one "account". */
const ANY_TOKEN = 'api-token';

export interface TokenAuthOptions {
  tokens: ApiTokenRepo;
  log: Logger;
  now: () => number;
}

const refuse = (message: string): ApiError =>
  new ApiError('unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="relay365 API"' });

/** Middleware that authenticates every request and enforces the token's scope. */
export function tokenAuth({ tokens, log, now }: TokenAuthOptions): MiddlewareHandler<ApiEnv> {
  const throttle = createLoginThrottle({ now, accountLimit: Number.POSITIVE_INFINITY, addressLimit: FAILURES_BEFORE_WAIT });
  return async (c, next) => {
    const address = c.env?.incoming?.socket?.remoteAddress ?? 'unknown';
    const waitMs = throttle.waitMs(ANY_TOKEN, address);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new ApiError('rate_limited', `Too many requests with a wrong token; try again in ${seconds} s.`, undefined, {
        'Retry-After': String(seconds),
      });
    }
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw refuse('Send an API token in the Authorization header: Authorization: Bearer r365_….');
    const token = tokens.authenticate(match[1] as string, now());
    if (!token) {
      throttle.failed(ANY_TOKEN, address);
      log.warn('API request with an unknown or revoked token', { client: address, path: c.req.path });
      throw refuse('This API token is not valid: it was revoked or never existed.');
    }
    if (token.scope === 'read' && !READ_METHODS.has(c.req.method)) {
      throw new ApiError('forbidden', `The API token ${token.name} may only read; create a write token to change things.`);
    }
    c.set('apiToken', token);
    await next();
  };
}

/**
 * The REST API under /api/v1: JSON only, authorized by API tokens (never by
 * the panel's cookies), bodies validated by the store's schemas, every error
 * in one shape. The OpenAPI 3.1 document at /api/v1/openapi.json is generated
 * from the same route definitions, so it cannot drift from what is served.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { PasswordsBusyError } from '../../auth/passwords.js';
import { ApiError } from './errors.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { operationsApi } from './routes/operations.js';
import { queueApi } from './routes/queue.js';
import { refusedApi } from './routes/refused.js';
import { relayAccessApi } from './routes/relay-access.js';
import { serverApi } from './routes/servers.js';
import { tokenAuth } from './token-auth.js';

export const API_BASE = '/api/v1';
export const OPENAPI_PATH = '/openapi.json';
const MAX_BODY_BYTES = 64 * 1024;

/** Builds the API app, to be mounted at API_BASE. */
export function createApi(deps: ApiDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({
    // A body or query the schema refuses: the first problem, naming its field.
    defaultHook: (result) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const field = issue?.path.length ? issue.path.join('.') : undefined;
      const message =
        issue?.code === 'unrecognized_keys'
          ? `Unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}.`
          : (issue?.message ?? 'The request is not valid.');
      throw new ApiError('invalid', message, issue?.code === 'unrecognized_keys' ? issue.keys[0] : field);
    },
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token (r365_…) from the panel’s API tokens page or `relay365 api-token add`.',
  });
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'relay365 API',
      version: '1',
      description:
        'Email servers, relay access, the queue, refused clients and operations of one relay365. Every route needs an API token.',
    },
    servers: [{ url: API_BASE }],
    security: [{ apiToken: [] }],
  });

  const authenticate = tokenAuth({
    tokens: deps.store.apiTokens,
    log: deps.log,
    now: deps.now,
    trustedProxies: deps.config.trustedProxies,
  });
  app.use('*', async (c, next) => {
    // The document describes the API; it holds nothing secret and is read by tools before they have a token.
    if (c.req.path === `${API_BASE}${OPENAPI_PATH}`) return next();
    return authenticate(c, next);
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError('too_large', `A request body has at most ${MAX_BODY_BYTES / 1024} KiB.`);
      },
    }),
  );

  app.route('/', serverApi(deps));
  app.route('/', relayAccessApi(deps));
  app.route('/', queueApi(deps));
  app.route('/', refusedApi(deps));
  app.route('/', operationsApi(deps));

  app.notFound((c) => c.json(new ApiError('not_found', `There is no ${c.req.method} ${c.req.path} in the API.`).body(), 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.body(), err.status, err.headers);
    // Hashing a relay user's password waits its turn behind sign-ins; a full queue is worth a retry.
    if (err instanceof PasswordsBusyError) {
      return c.json(new ApiError('busy', 'Too many passwords are being checked; try again in a few seconds.').body(), 503, {
        'Retry-After': '5',
      });
    }
    // A body that is not JSON at all never reaches the schema.
    if (err instanceof SyntaxError || (err as { status?: number }).status === 400) {
      return c.json(new ApiError('invalid', 'The body must be JSON (Content-Type: application/json).').body(), 400);
    }
    deps.log.error('API request failed', { method: c.req.method, path: c.req.path, error: err.message });
    return c.json(new ApiError('internal', 'The request could not be completed. Details are in the relay’s log.').body(), 500);
  });
  return app;
}

/**
 * The admin panel as a Hono app: middleware (security headers, body limit,
 * session, layout, CSRF, login) and the routers, each mounted with app.route().
 * `createAdminApp` has no side effects, so tests drive it with `app.request()`.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { toActiveAlert } from '../alerts/engine.js';
import { PasswordsBusyError } from '../auth/passwords.js';
import { API_BASE, createApi } from './api/app.js';
import { createAuthorizeFlow, CALLBACK_PATH } from './authorize-flow.js';
import { createClientAddress } from './client-address.js';
import { createCookieJar } from './cookies.js';
import type { AdminDeps, AdminEnv } from './env.js';
import { createLoginThrottle } from './login-throttle.js';
import { csrfProtection } from './middleware/csrf.js';
import { layoutRenderer } from './middleware/layout.js';
import { requireLogin } from './middleware/require-login.js';
import { securityHeaders } from './middleware/security-headers.js';
import { sessionMiddleware } from './middleware/session.js';
import { accountRoutes } from './routes/account.js';
import { alertRoutes } from './routes/alerts.js';
import { clusterRoutes } from './routes/cluster.js';
import { apiTokenRoutes } from './routes/api-tokens.js';
import { assetRoutes, favicon } from './routes/assets.js';
import { authRoutes } from './routes/auth.js';
import { checkConfigRoutes } from './routes/check-config.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { lockoutRoutes } from './routes/lockouts.js';
import { logRoutes } from './routes/log.js';
import { networkRoutes } from './routes/networks.js';
import { opsRoutes } from './routes/ops.js';
import { authorizeRoutes, callbackRoutes } from './routes/oauth.js';
import { refusedRoutes } from './routes/refused.js';
import { relayUserRoutes } from './routes/relay-users.js';
import { serverSettingsRoutes } from './routes/server-settings.js';
import { serverRoutes } from './routes/servers.js';
import { testEmailRoutes } from './routes/test-email.js';
import { userRoutes } from './routes/users.js';
import { ErrorPage } from './views/error-page.js';

export interface AdminAppOptions {
  /** How often the live log tail polls the event table; default 1 s. */
  tailPollMs?: number;
}

/** Paths reachable without signing in. */
export const PUBLIC_PATHS = ['/login', '/setup', CALLBACK_PATH, '/assets', '/favicon.ico'] as const;

const MAX_BODY_BYTES = 256 * 1024;

/** Builds the panel over the relay's store and relay. */
export function createAdminApp(deps: AdminDeps, options: AdminAppOptions = {}): Hono<AdminEnv> {
  const { config, store, relay, log } = deps;
  const now = deps.now ?? Date.now;
  const publicUrl = config.publicUrl;
  const cookies = createCookieJar(publicUrl);
  const throttle = createLoginThrottle({ now });
  const clientAddress = createClientAddress(config.trustedProxies);
  const flow = createAuthorizeFlow({ store, relay, log, publicUrl, now, clientFor: deps.authCodeClient });

  const app = new Hono<AdminEnv>();
  app.use('*', securityHeaders());
  // The API answers before the panel's body limit, session, CSRF and login: only API tokens open it.
  app.route(API_BASE, createApi({ config, store, relay, log, now, ops: deps.ops }));
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.text('The form is too large.', 413),
    }),
  );
  // Monitoring's endpoints answer here, before any session, layout, CSRF or login middleware runs.
  app.route('/', opsRoutes({ ops: deps.ops, metricsToken: config.metricsToken }));
  app.use('*', sessionMiddleware({ store, cookies }));
  app.use('*', layoutRenderer({ store, now }));
  app.use(
    '*',
    csrfProtection({
      cookies,
      publicUrl,
      onRefused: async (c) =>
        c.render(
          <ErrorPage
            title="Form refused"
            message="This form was not accepted: it expired or came from another site."
            fix="Go back, reload the page and submit the form again."
          />,
          { title: 'Form refused', status: 403 },
        ),
    }),
  );
  app.use('*', requireLogin({ publicPaths: PUBLIC_PATHS }));

  app.route('/assets', assetRoutes());
  app.get('/favicon.ico', favicon);
  app.route('/', authRoutes({ store, cookies, throttle, clientAddress, log }));
  app.route('/account', accountRoutes({ store, throttle, clientAddress, log }));
  // Alerts as recorded by the engine (the store keeps them, so the dashboard shows them after a restart too).
  const firing = async () => (await store.alerts.open()).map(toActiveAlert);
  app.route('/', dashboardRoutes({ store, now, alerts: firing }));
  const serverOptions = { store, relay, log, publicUrl, now };
  app.route('/servers', serverRoutes(serverOptions));
  app.route('/servers', serverSettingsRoutes(serverOptions));
  app.route('/servers', authorizeRoutes({ store, flow }));
  app.route('/servers', testEmailRoutes(serverOptions));
  app.route('/servers', checkConfigRoutes({ ...serverOptions, config }));
  app.route('/oauth/office365', callbackRoutes({ store, flow }));
  app.route('/log', logRoutes({ store, relay, log, tailPollMs: options.tailPollMs, retentionDays: config.retentionDays }));
  app.route('/refused', refusedRoutes({ store, retentionDays: config.retentionDays }));
  app.route('/relay-users', relayUserRoutes({ ...serverOptions, config }));
  app.route('/relay-users/lockouts', lockoutRoutes({ store, log }));
  app.route('/networks', networkRoutes({ config, store, relay, log }));
  app.route('/users', userRoutes({ store, log }));
  app.route('/api-tokens', apiTokenRoutes({ store, log, publicUrl, now }));
  app.route('/alerts', alertRoutes({ config, store, alerts: deps.alerts, log, now }));
  app.route('/cluster', clusterRoutes({ store, instanceId: config.instanceId, now }));

  app.notFound((c) => c.render(<ErrorPage title="Not found" message="There is no such page." />, { title: 'Not found', status: 404 }));
  app.onError((err, c) => {
    if (err instanceof PasswordsBusyError) {
      c.header('Retry-After', '5');
      return c.render(
        <ErrorPage title="Busy" message="relay365 is busy checking passwords." fix="Go back and submit the form again in a few seconds." />,
        { title: 'Busy', status: 503 },
      );
    }
    // The message stays in the log; the page says only that something failed.
    log.error('admin request failed', { method: c.req.method, path: c.req.path, error: err.message });
    return c.render(
      <ErrorPage title="Something went wrong" message="The panel could not complete this request. Details are in the relay's log." />,
      {
        title: 'Something went wrong',
        status: 500,
      },
    );
  });
  return app;
}

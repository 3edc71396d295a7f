/**
 * Authorize Account: POST /servers/:id/authorize sends the browser to
 * Microsoft; GET /oauth/office365/callback is where it comes back. Reached by
 * another address than RELAY365_PUBLIC_URL, the browser is first sent there
 * (GET /servers/:id/authorize, a page to start from). The
 * callback is reachable without the login check, but its `state` must belong to
 * the current session: a wrong, reused or expired state gets an error page and
 * no token request.
 */
import { Hono, type Context } from 'hono';
import { toTokenError } from '../../auth/token-error.js';
import type { StoreSlice } from '../../store/index.js';
import type { EmailServer } from '../../store/servers.js';
import type { StateProblem } from '../../store/sessions.js';
import { offPublicUrl, type AuthorizeFlow } from '../authorize-flow.js';
import type { AdminEnv } from '../env.js';
import { setFlash } from '../flash.js';
import { requirePermission } from '../middleware/require-permission.js';
import { CsrfField } from '../views/components.js';
import { ErrorPage } from '../views/error-page.js';
import { serverNotFound, serverParam } from './server-view.js';

export interface OAuthRouteOptions {
  store: StoreSlice<{ servers: 'get'; sessions: 'setFlash' }>;
  flow: AuthorizeFlow;
}

const PROBLEMS: Record<StateProblem, string> = {
  unknown: 'This sign-in answer does not match any Authorize Account started here.',
  used: 'This sign-in answer was already used.',
  expired: 'This sign-in took longer than 10 minutes and has expired.',
  other_session: 'This sign-in was started in another browser session.',
};

/** The panel at RELAY365_PUBLIC_URL, where the browser is sent before Authorize Account starts. */
function ContinueAtPublicUrl({ server, csrf, publicUrl }: { server: EmailServer; csrf: string; publicUrl: string }) {
  return (
    <section class="action-box">
      <p class="lead">
        Authorize Account runs at {publicUrl}: Microsoft sends the browser back to that address, so the sign-in has to start there too.
      </p>
      <form method="post" action={`/servers/${server.id}/authorize`}>
        <CsrfField token={csrf} />
        <button type="submit">Authorize Account</button>
      </form>
      <p>
        <a href={`/servers/${server.id}`}>Back to {server.name}</a>
      </p>
    </section>
  );
}

/** GET and POST /servers/:id/authorize, mounted under /servers. */
export function authorizeRoutes({ store, flow }: OAuthRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const elsewhere = (c: Context<AdminEnv>): boolean =>
    offPublicUrl({ origin: c.req.header('origin'), host: c.req.header('host') }, flow.publicUrl);
  // Reached by another address (127.0.0.1 for localhost), the browser first goes to the public URL, signs in there if
  // need be, and starts from this page; otherwise Microsoft's answer would arrive without its session.
  const toPublicUrl = (c: Context<AdminEnv>, id: number): Response => c.redirect(`${flow.publicUrl}/servers/${id}/authorize`, 303);
  app.get('/:id{[0-9]+}/authorize', requirePermission('updateSettings'), async (c) => {
    const server = await serverParam(c, store);
    if (!server) return serverNotFound(c);
    if (elsewhere(c)) return toPublicUrl(c, server.id);
    return c.render(<ContinueAtPublicUrl server={server} csrf={c.var.csrfToken} publicUrl={flow.publicUrl} />, {
      title: `Authorize Account: ${server.name}`,
    });
  });
  app.post('/:id{[0-9]+}/authorize', requirePermission('updateSettings'), async (c) => {
    const server = await serverParam(c, store);
    if (!server) return serverNotFound(c);
    if (elsewhere(c)) return toPublicUrl(c, server.id);
    try {
      // The session is there: the login check ran before this route.
      return c.redirect(await flow.start(server, c.var.session!), 302);
    } catch (err) {
      const error = toTokenError(err);
      await setFlash(c, store, {
        kind: 'error',
        message: `Authorize Account could not start: ${error.message}`,
        code: error.code,
        meaning: error.hint?.meaning,
        fix: error.hint?.fix,
      });
      return c.redirect(`/servers/${server.id}`, 303);
    }
  });
  return app;
}

/** GET /oauth/office365/callback, mounted under /oauth/office365. */
export function callbackRoutes({ store, flow }: OAuthRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.get('/callback', async (c) => {
    const result = await flow.finish(
      {
        state: c.req.query('state'),
        code: c.req.query('code'),
        error: c.req.query('error'),
        errorDescription: c.req.query('error_description'),
      },
      c.var.session,
    );
    if (result.kind === 'refused') {
      return c.render(
        <ErrorPage
          title="Authorize Account refused"
          message={`${PROBLEMS[result.problem]} Nothing was changed.`}
          fix={
            c.var.user
              ? 'Open the email server and click Authorize Account again.'
              : 'Sign in to relay365, open the email server and click Authorize Account again.'
          }
          back={c.var.user ? { href: '/servers', label: 'Email servers' } : { href: '/login', label: 'Sign in' }}
        />,
        { title: 'Authorize Account refused', status: 400 },
      );
    }
    if (result.kind === 'authorized') {
      await setFlash(c, store, { kind: 'success', message: `Authorized: relay365 now sends as ${result.account}.` });
    } else {
      const { error } = result;
      await setFlash(c, store, {
        kind: 'error',
        message: `Authorize Account failed: ${error.message}`,
        code: error.code,
        meaning: error.hint?.meaning ?? null,
        fix: error.hint?.fix ?? null,
      });
    }
    return c.redirect(`/servers/${result.server.id}`, 303);
  });
  return app;
}

/**
 * Sign in, sign out, and the one-time setup page that creates the first
 * Super Admin. Sign-ins are throttled per account and per client address,
 * counted before the password is checked (see login-throttle.ts).
 */
import { Hono, type Context } from 'hono';
import type { StoreSlice } from '../../store/index.js';
import { unlessTaken } from '../../store/unique-violation.js';
import { checkEmail, checkPassword } from '../accounts.js';
import type { ClientAddressOf } from '../client-address.js';
import { ANON_COOKIE, SESSION_COOKIE, type CookieJar } from '../cookies.js';
import type { AdminEnv } from '../env.js';
import { waitText, type LoginThrottle } from '../login-throttle.js';
import { formText } from '../form-text.js';
import { createDummyHash, hashPassword, PasswordsBusyError, verifyPassword } from '../../auth/passwords.js';
import { ErrorPage } from '../views/error-page.js';
import { LoginPage, SetupPage } from '../views/login.js';
import type { Logger } from '../../log.js';

export interface AuthRouteOptions {
  store: StoreSlice<{
    sessions: 'create' | 'destroy';
    users: 'add' | 'checkSetupToken' | 'count' | 'findByEmail' | 'passwordHash' | 'useSetupToken';
  }>;
  cookies: CookieJar;
  throttle: LoginThrottle;
  clientAddress: ClientAddressOf;
  log: Logger;
}

/** Seconds a busy answer asks the browser to wait (Retry-After). */
const BUSY_RETRY_S = 5;

/** Only same-site paths, never `//host` or a scheme. */
function safeNext(next: string): string {
  return /^\/(?!\/)[^\\\s]*$/.test(next) ? next : '/';
}

/** Routes: GET/POST /login, POST /logout, GET/POST /setup/:token. */
export function authRoutes({ store, cookies, throttle, clientAddress, log }: AuthRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const dummyHash = createDummyHash();

  const startSession = async (c: Context<AdminEnv>, userId: number): Promise<void> => {
    const { id } = await store.sessions.create(userId);
    cookies.set(c, SESSION_COOKIE, id);
    cookies.remove(c, ANON_COOKIE);
  };

  app.get('/login', (c) => {
    if (c.var.user) return c.redirect('/', 303);
    return c.render(<LoginPage csrf={c.var.csrfToken} email="" next={safeNext(c.req.query('next') ?? '/')} error={null} />, {
      title: 'Sign in',
    });
  });

  app.post('/login', async (c) => {
    const body = await c.req.parseBody();
    const email = formText(body, 'email');
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    const next = safeNext(formText(body, 'next') || '/');
    const address = clientAddress(c);
    const refuse = (error: string, status: 401 | 429 | 503) =>
      c.render(<LoginPage csrf={c.var.csrfToken} email={email} next={next} error={error} />, { title: 'Sign in', status });

    const admission = throttle.begin(email, address);
    if (!admission.admitted) {
      return admission.waitMs > 0
        ? refuse(`Too many failed sign-ins. Wait ${waitText(admission.waitMs)}, then try again.`, 429)
        : refuse('Too many sign-ins at once for this account or from your address. Try again in a few seconds.', 429);
    }
    const { attempt } = admission;
    const user = await store.users.findByEmail(email);
    const hash = user ? await store.users.passwordHash(user.id) : null;
    let ok: boolean;
    try {
      // Check a hash even for an unknown address, so the answer time does not reveal which accounts exist.
      ok = await verifyPassword(password, hash ?? dummyHash);
    } catch (err) {
      attempt.abandoned();
      if (!(err instanceof PasswordsBusyError)) throw err;
      log.warn('admin sign-in not checked: too many passwords being checked', { email, address });
      c.header('Retry-After', String(BUSY_RETRY_S));
      return refuse('relay365 is busy checking other sign-ins. Try again in a few seconds.', 503);
    }
    if (!user || !hash || !ok) {
      attempt.failed();
      log.warn('admin sign-in failed', { email, address });
      return refuse('Email or password is not correct.', 401);
    }
    attempt.succeeded();
    await startSession(c, user.id);
    log.info('admin signed in', { email: user.email, address });
    return c.redirect(next, 303);
  });

  app.post('/logout', async (c) => {
    const id = cookies.get(c, SESSION_COOKIE);
    if (id) await store.sessions.destroy(id);
    cookies.remove(c, SESSION_COOKIE);
    return c.redirect('/login', 303);
  });

  const setupGone = (c: Context<AdminEnv>) =>
    c.render(
      <ErrorPage
        title="Setup link not valid"
        message="This setup link was already used, has expired, or an admin exists already."
        fix="Sign in with an existing account. If no one can sign in, restart relay365 to print a new link, or set RELAY365_ADMIN_EMAIL and RELAY365_ADMIN_PASSWORD."
        back={{ href: '/login', label: 'Go to sign in' }}
      />,
      { title: 'Setup link not valid', status: 404 },
    );

  /** True while no admin exists and `token` is a setup link still valid. */
  const setupOpen = async (token: string): Promise<boolean> =>
    (await store.users.count()) === 0 && (await store.users.checkSetupToken(token));

  app.get('/setup/:token', async (c) => {
    const token = c.req.param('token');
    if (!(await setupOpen(token))) return setupGone(c);
    return c.render(<SetupPage csrf={c.var.csrfToken} action={`/setup/${token}`} email="" errors={{}} />, {
      title: 'Create the first admin',
    });
  });

  app.post('/setup/:token', async (c) => {
    const token = c.req.param('token');
    if (!(await setupOpen(token))) return setupGone(c);
    const body = await c.req.parseBody();
    const email = formText(body, 'email');
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    const errors = {
      email: checkEmail(email),
      password: checkPassword(password),
      confirm: body['confirm'] === password ? undefined : 'The two passwords differ.',
    };
    if (errors.email || errors.password || errors.confirm) {
      return c.render(<SetupPage csrf={c.var.csrfToken} action={`/setup/${token}`} email={email} errors={errors} />, {
        title: 'Create the first admin',
        status: 422,
      });
    }
    // Hashed before the link is used up: a busy answer (503) leaves the link working for another try.
    const passwordHash = await hashPassword(password);
    if (!(await store.users.useSetupToken(token))) return setupGone(c);
    // Another instance may have created the same admin from RELAY365_ADMIN_EMAIL since setupOpen looked.
    const user = await unlessTaken(store.users.add({ email, passwordHash, isSuperAdmin: true, canUpdateSettings: true }));
    if (!user) return setupGone(c);
    log.info('first Super Admin created with the setup link', { email: user.email });
    await startSession(c, user.id);
    return c.redirect('/', 303);
  });

  return app;
}

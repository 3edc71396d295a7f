/**
 * The Account page, for every signed-in user: who you are and what you may
 * do, and changing your own password. The current password is required and
 * checked under the sign-in throttle, so a borrowed browser cannot guess it.
 * A change signs out the user's other sessions, keeps this one, and leaves
 * API tokens alone.
 */
import { Hono, type Context } from 'hono';
import type { Logger } from '../../log.js';
import type { StoreSlice } from '../../store/index.js';
import { createDummyHash, hashPassword, PasswordsBusyError, verifyPassword } from '../../auth/passwords.js';
import { checkPassword } from '../accounts.js';
import type { ClientAddressOf } from '../client-address.js';
import type { AdminEnv } from '../env.js';
import { setFlash } from '../flash.js';
import { waitText, type LoginThrottle } from '../login-throttle.js';
import { AccountPage, type PasswordChangeErrors } from '../views/account.js';

export interface AccountRouteOptions {
  store: StoreSlice<{ users: 'passwordHash' | 'setPassword'; sessions: 'setFlash' }>;
  /** The sign-in throttle: a wrong current password counts as a failed sign-in. */
  throttle: LoginThrottle;
  clientAddress: ClientAddressOf;
  log: Logger;
}

const BUSY = 'relay365 is busy checking other passwords. Try again in a few seconds.';

/** Routes under /account. */
export function accountRoutes({ store, throttle, clientAddress, log }: AccountRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  // A user removed while signed in has no hash; the check still runs, and fails.
  const dummyHash = createDummyHash();

  const page = (c: Context<AdminEnv>, errors: PasswordChangeErrors, status: 200 | 422 | 429 | 503 = 200) =>
    c.render(<AccountPage user={c.var.user!} csrf={c.var.csrfToken} errors={errors} />, { title: 'Your account', status });

  app.get('/', (c) => page(c, {}));

  app.post('/password', async (c) => {
    const user = c.var.user!;
    const body = await c.req.parseBody();
    const field = (name: string): string => (typeof body[name] === 'string' ? body[name] : '');
    const [current, password, confirm] = [field('current'), field('password'), field('confirm')];
    const errors: PasswordChangeErrors = {
      current: current ? undefined : 'Enter your current password.',
      password: checkPassword(password),
      confirm: confirm === password ? undefined : 'The two new passwords differ.',
    };
    if (errors.current || errors.password || errors.confirm) return page(c, errors, 422);

    const address = clientAddress(c);
    const admission = throttle.begin(user.email, address);
    if (!admission.admitted) {
      const message =
        admission.waitMs > 0
          ? `Too many wrong passwords. Wait ${waitText(admission.waitMs)}, then try again.`
          : 'Another password check for this account is running. Try again in a few seconds.';
      return page(c, { current: message }, 429);
    }
    let newHash: string;
    try {
      const ok = await verifyPassword(current, (await store.users.passwordHash(user.id)) ?? dummyHash);
      if (!ok) {
        admission.attempt.failed();
        log.warn('admin password change refused: wrong current password', { email: user.email, address });
        return page(c, { current: 'This is not your current password.' }, 422);
      }
      admission.attempt.succeeded();
      if (password === current) return page(c, { password: 'Choose a password other than the current one.' }, 422);
      newHash = await hashPassword(password);
    } catch (err) {
      admission.attempt.abandoned();
      if (!(err instanceof PasswordsBusyError)) throw err;
      c.header('Retry-After', '5');
      return page(c, { current: BUSY }, 503);
    }
    const ended = await store.users.setPassword(user.id, newHash, c.var.session?.idHash ?? null);
    log.info('admin changed their password', { email: user.email, address, otherSessionsEnded: ended });
    const others = ended === 1 ? ' 1 other session was signed out.' : ended > 1 ? ` ${ended} other sessions were signed out.` : '';
    await setFlash(c, store, { kind: 'success', message: `Your password was changed.${others}` });
    return c.redirect('/account', 303);
  });

  return app;
}

/**
 * Unlock on the Relay users page: lifts the SMTP AUTH lockout of one client
 * address and forgets its strikes. Needs `Settings: Update Settings`.
 */
import { Hono } from 'hono';
import { isIP } from 'node:net';
import type { Logger } from '../../log.js';
import type { StoreSlice } from '../../store/index.js';
import type { AdminEnv } from '../env.js';
import { setFlash } from '../flash.js';
import { formText } from '../form-text.js';
import { requirePermission } from '../middleware/require-permission.js';

export interface LockoutRouteOptions {
  store: StoreSlice<{ lockouts: 'unlock'; sessions: 'setFlash' }>;
  log: Logger;
}

/** Routes under /relay-users/lockouts. */
export function lockoutRoutes({ store, log }: LockoutRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  app.post('/unlock', requirePermission('updateSettings'), async (c) => {
    const address = formText(await c.req.parseBody(), 'address');
    const known = isIP(address) !== 0;
    if (known && (await store.lockouts.unlock(address))) {
      log.info('smtp auth lockout lifted', { client: address, by: c.var.user?.email });
      await setFlash(c, store, { kind: 'success', message: `Unlocked ${address}: it may try SMTP AUTH again.` });
    } else {
      await setFlash(c, store, {
        kind: 'error',
        message: `${known ? address : 'That address'} is not locked out (the lockout may have ended already).`,
      });
    }
    return c.redirect('/relay-users', 303);
  });

  return app;
}

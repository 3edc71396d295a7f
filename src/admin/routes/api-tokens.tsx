/**
 * The API tokens page (Super Admin only: a write token can change
 * everything). Creating a token is post/redirect/get: the token rides in a
 * one-time slot of this session to the next page, and never reaches the
 * database, a URL or a cookie.
 */
import { Hono, type Context } from 'hono';
import type { Logger } from '../../log.js';
import { newApiTokenSchema } from '../../store/api-tokens.js';
import type { StoreSlice } from '../../store/index.js';
import { unlessTaken } from '../../store/unique-violation.js';
import type { AdminEnv } from '../env.js';
import { setFlash } from '../flash.js';
import { formText } from '../form-text.js';
import { requirePermission } from '../middleware/require-permission.js';
import { ApiTokensPage, type NewApiTokenForm } from '../views/api-tokens.js';
import { createOneTimePasswords } from './one-time-passwords.js';

export interface ApiTokenRouteOptions {
  store: StoreSlice<{ apiTokens: 'add' | 'findByName' | 'list' | 'revoke'; sessions: 'setFlash' }>;
  log: Logger;
  publicUrl: string;
  now: () => number;
}

const NAME_TAKEN = 'An API token with this name exists already.';
const EMPTY_FORM: NewApiTokenForm = { values: { name: '', scope: 'read' }, errors: {} };
/** The slot is keyed by what it carries; the page has one new token at a time. */
const NEW_TOKEN = 0;

/** Routes under /api-tokens. */
export function apiTokenRoutes({ store, log, publicUrl, now }: ApiTokenRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const created = createOneTimePasswords(now);
  app.use('*', requirePermission('superAdmin'));

  const page = async (c: Context<AdminEnv>, form: NewApiTokenForm, status: 200 | 422 = 200) => {
    const session = c.var.session?.idHash;
    const slot = session ? created.take(session, NEW_TOKEN) : null;
    const shown = slot ? (JSON.parse(slot) as { name: string; token: string }) : null;
    const tokens = await store.apiTokens.list();
    return c.render(<ApiTokensPage tokens={tokens} created={shown} csrf={c.var.csrfToken} form={form} publicUrl={publicUrl} />, {
      title: 'API tokens',
      status,
    });
  };

  app.get('/', (c) => page(c, EMPTY_FORM));

  app.post('/', async (c) => {
    const body = await c.req.parseBody();
    const values = { name: formText(body, 'name'), scope: formText(body, 'scope') };
    const checked = newApiTokenSchema.safeParse(values);
    const errors: NewApiTokenForm['errors'] = {};
    if (!checked.success) for (const issue of checked.error.issues) errors[issue.path[0] as 'name' | 'scope'] ??= issue.message;
    else if (await store.apiTokens.findByName(checked.data.name)) errors.name = NAME_TAKEN;
    if (!checked.success || Object.keys(errors).length > 0) return page(c, { values, errors }, 422);
    const added = await unlessTaken(store.apiTokens.add(checked.data));
    if (!added) return page(c, { values, errors: { name: NAME_TAKEN } }, 422);
    const { apiToken, token } = added;
    log.info('API token created', { name: apiToken.name, scope: apiToken.scope, by: c.var.user?.email });
    if (c.var.session) created.put(c.var.session.idHash, NEW_TOKEN, JSON.stringify({ name: apiToken.name, token }));
    return c.redirect('/api-tokens', 303);
  });

  app.post('/:id{[0-9]+}/revoke', async (c) => {
    const token = (await store.apiTokens.list()).find((t) => t.id === Number(c.req.param('id')));
    if (token && (await store.apiTokens.revoke(token.id))) {
      log.info('API token revoked', { name: token.name, by: c.var.user?.email });
      await setFlash(c, store, { kind: 'success', message: `Revoked ${token.name}: requests with it now get 401.` });
    }
    return c.redirect('/api-tokens', 303);
  });

  return app;
}

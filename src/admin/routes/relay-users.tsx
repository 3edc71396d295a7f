/**
 * The Relay users pages: the list with the add form and the lockouts, and one
 * user's page. A password the panel generates is handed to that page through
 * a one-time slot and shown once; only its scrypt hash is stored. Every change
 * needs `Settings: Update Settings`.
 */
import { Hono, type Context } from 'hono';
import { addRelayUser } from '../../relay/add-relay-user.js';
import { generatePassword, hashPassword } from '../../auth/passwords.js';
import type { Logger } from '../../log.js';
import { deviceSettings, type DeviceListen } from '../../relay/device-settings.js';
import type { StoreSlice } from '../../store/index.js';
import type { RelayUser } from '../../store/relay-users.js';
import type { AdminEnv, AdminRelay } from '../env.js';
import { setFlash } from '../flash.js';
import { requirePermission } from '../middleware/require-permission.js';
import { can } from '../permissions.js';
import { ErrorPage } from '../views/error-page.js';
import { allowFromText } from '../views/relay-access-fields.js';
import { RelayUserPage, type RelayUserSettingsForm } from '../views/relay-user-page.js';
import { RelayUsersPage, type NewRelayUserForm } from '../views/relay-users.js';
import { createOneTimePasswords } from './one-time-passwords.js';
import { parseNewRelayUser, parseRelayUserSettings } from './relay-access-forms.js';

export interface RelayUserRouteOptions {
  store: StoreSlice<{
    relayUsers: 'add' | 'findByName' | 'get' | 'list' | 'remove' | 'update';
    servers: 'get' | 'getDefault' | 'list';
    lockouts: 'list';
    sessions: 'setFlash';
  }>;
  relay: AdminRelay;
  log: Logger;
  /** The listener settings a user's device settings come from. */
  config: DeviceListen;
  now: () => number;
}

/** Routes under /relay-users. */
export function relayUserRoutes({ store, relay, log, config, now }: RelayUserRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const edit = requirePermission('updateSettings');
  const passwords = createOneTimePasswords(now);
  const serverName = async (id: number): Promise<string> => (await store.servers.get(id))?.name ?? '(deleted server)';

  const emptyForm = async (): Promise<NewRelayUserForm> => ({
    values: { name: '', serverId: String((await store.servers.getDefault())?.id ?? ''), allowFrom: '' },
    errors: {},
  });
  const listPage = async (c: Context<AdminEnv>, form: NewRelayUserForm, status: 200 | 422 = 200) => {
    const users = await store.relayUsers.list();
    const rows = await Promise.all(users.map(async (user) => ({ user, serverName: await serverName(user.serverId) })));
    const servers = await store.servers.list();
    const lockouts = await store.lockouts.list(now());
    return c.render(
      <RelayUsersPage
        rows={rows}
        servers={servers}
        lockouts={lockouts}
        canEdit={can(c.var.user, 'updateSettings')}
        csrf={c.var.csrfToken}
        form={form}
      />,
      { title: 'Relay users', status },
    );
  };

  const settingsOf = (user: RelayUser): RelayUserSettingsForm => ({
    values: { serverId: String(user.serverId), allowFrom: allowFromText(user.allowFrom) },
    errors: {},
  });
  const userPage = async (c: Context<AdminEnv>, user: RelayUser, form: RelayUserSettingsForm, status: 200 | 422 = 200) => {
    const sessionHash = c.var.session?.idHash;
    const password = sessionHash ? passwords.take(sessionHash, user.id) : null;
    const name = await serverName(user.serverId);
    const servers = await store.servers.list();
    return c.render(
      <RelayUserPage
        user={user}
        serverName={name}
        servers={servers}
        password={password}
        device={deviceSettings({ listen: config, bound: relay.listenerInfo(), login: user.name })}
        canEdit={can(c.var.user, 'updateSettings')}
        csrf={c.var.csrfToken}
        form={form}
      />,
      { title: `Relay user ${user.name}`, status },
    );
  };
  const notFound = (c: Context<AdminEnv>) =>
    c.render(
      <ErrorPage
        title="Not found"
        message="There is no such relay user (it may have been removed)."
        back={{ href: '/relay-users', label: 'Relay users' }}
      />,
      { title: 'Not found', status: 404 },
    );
  const target = (c: Context<AdminEnv>): Promise<RelayUser | undefined> => store.relayUsers.get(Number(c.req.param('id')));
  /** Keeps a new password for the next page of this session only, then sends the browser there. */
  const showOnce = (c: Context<AdminEnv>, user: RelayUser, password: string) => {
    if (c.var.session) passwords.put(c.var.session.idHash, user.id, password);
    return c.redirect(`/relay-users/${user.id}`, 303);
  };

  app.get('/', async (c) => listPage(c, await emptyForm()));

  app.post('/', edit, async (c) => {
    const { input, form } = parseNewRelayUser(await c.req.parseBody(), await store.servers.list());
    if (!input) return listPage(c, form, 422);
    const { name, server, allowFrom, password } = input;
    const added = await addRelayUser(store, { name, serverId: server.id, allowFrom, password });
    if (!added) return listPage(c, { ...form, errors: { name: 'A relay user with this name exists already.' } }, 422);
    const { user, generated } = added;
    log.info('relay user added', { relayUser: user.name, server: input.server.name, by: c.var.user?.email });
    if (generated === null) {
      await setFlash(c, store, { kind: 'success', message: `Added ${user.name}. Enter the password you chose in the device.` });
      return c.redirect(`/relay-users/${user.id}`, 303);
    }
    await setFlash(c, store, { kind: 'success', message: `Added ${user.name}.` });
    return showOnce(c, user, generated);
  });

  app.get('/:id{[0-9]+}', async (c) => {
    const user = await target(c);
    return user ? userPage(c, user, settingsOf(user)) : notFound(c);
  });

  app.post('/:id{[0-9]+}', edit, async (c) => {
    const user = await target(c);
    if (!user) return notFound(c);
    const { input, form } = parseRelayUserSettings(await c.req.parseBody(), await store.servers.list());
    if (!input) return userPage(c, user, form, 422);
    await store.relayUsers.update(user.id, { serverId: input.server.id, allowFrom: input.allowFrom });
    log.info('relay user changed', {
      relayUser: user.name,
      server: input.server.name,
      allowFrom: input.allowFrom.length,
      by: c.var.user?.email,
    });
    await setFlash(c, store, { kind: 'success', message: `Saved ${user.name}.` });
    return c.redirect(`/relay-users/${user.id}`, 303);
  });

  app.post('/:id{[0-9]+}/password', edit, async (c) => {
    const user = await target(c);
    if (!user) return notFound(c);
    const password = generatePassword();
    await store.relayUsers.update(user.id, { passwordHash: await hashPassword(password) });
    log.info('relay user password reset', { relayUser: user.name, by: c.var.user?.email });
    await setFlash(c, store, { kind: 'success', message: `New password for ${user.name}; the old one no longer works.` });
    return showOnce(c, user, password);
  });

  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post(`/:id{[0-9]+}/${action}`, edit, async (c) => {
      const user = await target(c);
      if (!user) return notFound(c);
      await store.relayUsers.update(user.id, { disabled });
      log.info(`relay user ${action}d`, { relayUser: user.name, by: c.var.user?.email });
      await setFlash(c, store, {
        kind: 'success',
        message: disabled ? `Disabled ${user.name}: its logins are refused.` : `Enabled ${user.name}.`,
      });
      return c.redirect(`/relay-users/${user.id}`, 303);
    });
  }

  app.post('/:id{[0-9]+}/delete', edit, async (c) => {
    const user = await target(c);
    if (!user) return notFound(c);
    await store.relayUsers.remove(user.id);
    log.info('relay user removed', { relayUser: user.name, by: c.var.user?.email });
    await setFlash(c, store, { kind: 'success', message: `Removed ${user.name}.` });
    return c.redirect('/relay-users', 303);
  });

  return app;
}

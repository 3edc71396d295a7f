/**
 * Email servers: the list, creating one, its page, and deleting it (after a
 * confirmation; waiting mail is only failed when the admin says so).
 */
import { Hono, type Context } from 'hono';
import type { Logger } from '../../log.js';
import type { Store, StoreSlice } from '../../store/index.js';
import type { MessageStatus } from '../../store/queue.js';
import { unlessTaken } from '../../store/unique-violation.js';
import type { AdminEnv, AdminRelay } from '../env.js';
import { setFlash } from '../flash.js';
import { requirePermission } from '../middleware/require-permission.js';
import { can } from '../permissions.js';
import { secretWarning } from '../secret-expiry.js';
import { parseNewServerForm, SERVER_NAME_TAKEN } from '../server-forms.js';
import { DeleteServerPage } from '../views/server-delete.js';
import { ServerList } from '../views/server-list.js';
import { NewServerPage } from '../views/server-new.js';
import { renderServerPage, serverNotFound, serverParam } from './server-view.js';

export interface ServerRouteOptions {
  /** The list, new servers and the delete page's reads; the removal (with the bodies of the mail it fails). */
  store: StoreSlice<{
    servers: 'add' | 'findByName' | 'get' | 'list';
    queue: 'countsByStatus';
    relayUsers: 'namesForServer';
    networks: 'cidrsForServer';
    sessions: 'setFlash';
  }> &
    Pick<Store, 'removeServer' | 'dataDir'>;
  relay: AdminRelay;
  log: Logger;
  publicUrl: string;
  now: () => number;
}

const WAITING: readonly MessageStatus[] = ['queued', 'deferred', 'held'];

/** Routes under /servers. */
export function serverRoutes(options: ServerRouteOptions): Hono<AdminEnv> {
  const { store, relay, log, now } = options;
  const app = new Hono<AdminEnv>();
  const edit = requirePermission('updateSettings');

  app.get('/', async (c) => {
    const servers = await store.servers.list();
    const rows = await Promise.all(
      servers.map(async (server) => ({
        server,
        counts: await store.queue.countsByStatus(server.id),
        warning: secretWarning(server, now()),
      })),
    );
    return c.render(<ServerList rows={rows} canEdit={can(c.var.user, 'updateSettings')} />, { title: 'Email servers' });
  });

  app.get('/new', edit, (c) => c.render(<NewServerPage csrf={c.var.csrfToken} values={{}} errors={{}} />, { title: 'New email server' }));

  app.post('/', edit, async (c) => {
    const { settings, errors, values } = parseNewServerForm(await c.req.parseBody());
    const refuse = () =>
      c.render(<NewServerPage csrf={c.var.csrfToken} values={values} errors={errors} />, { title: 'New email server', status: 422 });
    if (settings && (await store.servers.findByName(settings.name))) errors.name = SERVER_NAME_TAKEN;
    if (!settings || Object.keys(errors).length > 0) return refuse();
    const server = await unlessTaken(store.servers.add(settings));
    if (!server) {
      errors.name = SERVER_NAME_TAKEN;
      return refuse();
    }
    log.info('email server created', { server: server.name, method: server.method, by: c.var.user?.email });
    relay.settingsChanged();
    await setFlash(c, store, { kind: 'success', message: `Created ${server.name}. Fill in the settings below.` });
    return c.redirect(`/servers/${server.id}`, 303);
  });

  app.get('/:id{[0-9]+}', async (c) => {
    const server = await serverParam(c, store);
    return server ? renderServerPage(c, options, server) : serverNotFound(c);
  });

  // Relay users and network rules point at their server; they must go first.
  const usedBy = async (serverId: number) => ({
    relayUsers: await store.relayUsers.namesForServer(serverId),
    networks: await store.networks.cidrsForServer(serverId),
  });
  const deletePage = async (c: Context<AdminEnv>, error: string | null, status: 200 | 409 = 200) => {
    const server = await serverParam(c, store);
    if (!server) return serverNotFound(c);
    const counts = await store.queue.countsByStatus(server.id);
    const routed = await usedBy(server.id);
    const waiting = WAITING.reduce((n, s) => n + counts[s], 0);
    return c.render(
      <DeleteServerPage server={server} csrf={c.var.csrfToken} waiting={waiting} inFlight={counts.sending} usedBy={routed} error={error} />,
      { title: `Delete ${server.name}`, status },
    );
  };

  app.get('/:id{[0-9]+}/delete', edit, (c) => deletePage(c, null));

  app.post('/:id{[0-9]+}/delete', edit, async (c) => {
    const server = await serverParam(c, store);
    if (!server) return serverNotFound(c);
    const drop = (await c.req.parseBody())['drop'] === '1';
    // The removal's own transaction decides every refusal and fails waiting mail (with an event naming it).
    const outcome = await store.removeServer(server.id, { dropQueued: drop, by: c.var.user?.email ?? 'an admin', now: now() });
    if (outcome.kind === 'in-use') {
      return deletePage(c, `${server.name} was not deleted: relay users or networks still route mail to it.`, 409);
    }
    if (outcome.kind === 'in-flight') {
      return deletePage(c, 'Mail is being delivered through this server right now. Try again in a moment.', 409);
    }
    if (outcome.kind === 'waiting') {
      return deletePage(
        c,
        `${outcome.waiting} message(s) are still waiting for this server. Tick the box to fail them, or wait until they are delivered.`,
        409,
      );
    }
    const failed = outcome.failed.length;
    relay.settingsChanged();
    log.info('email server deleted', { server: server.name, failedMessages: failed, by: c.var.user?.email });
    await setFlash(c, store, {
      kind: 'success',
      message: `Deleted ${server.name}${failed ? `; ${failed} waiting message(s) were marked failed` : ''}.`,
    });
    return c.redirect('/servers', 303);
  });

  return app;
}

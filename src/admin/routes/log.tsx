/**
 * The relay log: messages (filterable), one message with its events, Retry
 * now and Delete for waiting mail, and `/log/events`, the live tail as
 * server-sent events read from the queue's event table.
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { DEFAULT_RETENTION_DAYS } from '../../config.js';
import type { Logger } from '../../log.js';
import type { StoreSlice } from '../../store/index.js';
import type { MessageStatus } from '../../store/queue.js';
import type { AdminEnv, AdminRelay } from '../env.js';
import { latestEventId } from '../event-cursor.js';
import { setFlash } from '../flash.js';
import { requirePermission } from '../middleware/require-permission.js';
import { can } from '../permissions.js';
import { ErrorPage } from '../views/error-page.js';
import { LogPage, MESSAGE_STATUSES, type LogFilter } from '../views/log-list.js';
import { MessagePage } from '../views/message-page.js';

export interface LogRouteOptions {
  store: StoreSlice<{
    servers: 'get' | 'list';
    queue: 'events' | 'eventsSince' | 'get' | 'list' | 'recipients';
    retention: 'stats';
    sessions: 'setFlash';
  }>;
  relay: AdminRelay;
  log: Logger;
  /** How often the live tail looks for new events; default 1 s. */
  tailPollMs?: number;
  /** RELAY365_RETENTION_DAYS, shown with the database's size; default 30. */
  retentionDays?: number;
}

const ID = '{[0-9A-Za-z]{1,64}}';

/** Routes under /log. */
export function logRoutes({
  store,
  relay,
  log,
  tailPollMs = 1000,
  retentionDays = DEFAULT_RETENTION_DAYS,
}: LogRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const edit = requirePermission('updateSettings');
  const serverNames = async (): Promise<Map<number, string>> => new Map((await store.servers.list()).map((s) => [s.id, s.name]));
  const nameOf = (names: Map<number, string>, id: number | null): string =>
    id === null ? '(deleted server)' : (names.get(id) ?? '(deleted server)');

  app.get('/', async (c) => {
    const q = (name: string): string => (c.req.query(name) ?? '').trim().slice(0, 320);
    const filter: LogFilter = { server: q('server'), status: q('status'), sender: q('sender'), recipient: q('recipient') };
    const serverId = /^\d+$/.test(filter.server) ? Number(filter.server) : undefined;
    const status = MESSAGE_STATUSES.includes(filter.status as MessageStatus) ? (filter.status as MessageStatus) : undefined;
    const names = await serverNames();
    const messages = await store.queue.list({
      serverId,
      status,
      sender: filter.sender || undefined,
      recipient: filter.recipient || undefined,
      limit: 200,
    });
    const rows = await Promise.all(
      messages.map(async (message) => ({
        message,
        serverName: nameOf(names, message.serverId),
        recipients: (await store.queue.recipients(message.id)).map((r) => r.address),
      })),
    );
    const servers = await store.servers.list();
    const latest = await latestEventId(store.queue);
    const stats = await store.retention.stats();
    return c.render(
      <LogPage rows={rows} servers={servers} filter={filter} latestEventId={latest} database={{ ...stats, retentionDays }} />,
      { title: 'Relay log' },
    );
  });

  app.get('/events', async (c) => {
    const start = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? NaN);
    let after = Number.isSafeInteger(start) && start >= 0 ? start : await latestEventId(store.queue);
    return streamSSE(c, async (stream) => {
      while (!stream.aborted && !stream.closed) {
        const events = await store.queue.eventsSince(after, 100);
        const names = events.length > 0 ? await serverNames() : new Map<number, string>();
        for (const e of events) {
          after = e.id;
          const data = { id: e.id, at: e.at, kind: e.kind, messageId: e.messageId, server: nameOf(names, e.serverId), detail: e.detail };
          await stream.writeSSE({ id: String(e.id), event: 'queue', data: JSON.stringify(data) });
        }
        if (events.length < 100) await stream.sleep(tailPollMs);
      }
    });
  });

  const notFound = (c: Context<AdminEnv>) =>
    c.render(
      <ErrorPage
        title="Not found"
        message="There is no such message (it may have been deleted)."
        back={{ href: '/log', label: 'Relay log' }}
      />,
      {
        title: 'Not found',
        status: 404,
      },
    );

  app.get(`/:id${ID}`, async (c) => {
    const message = await store.queue.get(c.req.param('id'));
    if (!message) return notFound(c);
    const serverName = nameOf(await serverNames(), message.serverId);
    const serverId = message.serverId !== null && (await store.servers.get(message.serverId)) ? message.serverId : null;
    const recipients = await store.queue.recipients(message.id);
    const events = await store.queue.events(message.id);
    return c.render(
      <MessagePage
        message={message}
        serverName={serverName}
        serverId={serverId}
        recipients={recipients}
        events={events}
        canEdit={can(c.var.user, 'updateSettings')}
        csrf={c.var.csrfToken}
      />,
      { title: `Message ${message.id}` },
    );
  });

  app.post(`/:id${ID}/retry`, edit, async (c) => {
    const id = c.req.param('id');
    if (!(await store.queue.get(id))) return notFound(c);
    const ok = await relay.retryNow(id);
    log.info('message retry requested', { message: id, ok, by: c.var.user?.email });
    await setFlash(
      c,
      store,
      ok
        ? { kind: 'success', message: 'The message will be retried now.' }
        : { kind: 'error', message: 'This message is not waiting any more.' },
    );
    return c.redirect(`/log/${id}`, 303);
  });

  app.post(`/:id${ID}/delete`, edit, async (c) => {
    const id = c.req.param('id');
    if (!(await store.queue.get(id))) return notFound(c);
    const ok = await relay.deleteMessage(id);
    log.info('message deleted', { message: id, ok, by: c.var.user?.email });
    if (!ok) {
      await setFlash(c, store, { kind: 'error', message: 'The message is being delivered right now and cannot be deleted.' });
      return c.redirect(`/log/${id}`, 303);
    }
    await setFlash(c, store, { kind: 'success', message: `Deleted message ${id}.` });
    return c.redirect('/log', 303);
  });

  return app;
}

/**
 * /api/v1/servers: email servers, listed, read, created, changed and
 * removed with the same rules as `relay365 server` and the panel. Secrets are
 * accepted in bodies and never answered; a change of app, tenant, cloud or
 * sign-in mode ends the authorization (the store does that), and the running
 * relay is told at once.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { newServerSettings } from '../../../auth/server-settings.js';
import type { ServerSettings } from '../../../store/servers.js';
import type { Store, StoreSlice } from '../../../store/index.js';
import { unlessTaken } from '../../../store/unique-violation.js';
import type { ApiEnv, ApiRouteDeps } from '../env.js';
import { ApiError, errorResponses, notFound } from '../errors.js';
import { body, json } from '../openapi.js';
import { idParams, newServerBody, serverChangesBody, serverOut, serverSchema } from '../schemas.js';

const list = createRoute({
  method: 'get',
  path: '/servers',
  tags: ['Email servers'],
  summary: 'List email servers with their status and queue',
  responses: { 200: json(z.object({ servers: z.array(serverSchema) }), 'The email servers'), ...errorResponses('unauthorized') },
});
const get = createRoute({
  method: 'get',
  path: '/servers/{id}',
  tags: ['Email servers'],
  summary: 'Read one email server',
  request: { params: idParams },
  responses: { 200: json(serverSchema, 'The email server'), ...errorResponses('unauthorized', 'not_found') },
});
const create = createRoute({
  method: 'post',
  path: '/servers',
  tags: ['Email servers'],
  summary: 'Create an email server (defaults or a preset as for `relay365 server add`)',
  request: body(newServerBody),
  responses: {
    201: json(serverSchema, 'The new email server'),
    ...errorResponses('invalid', 'unauthorized', 'forbidden', 'conflict'),
  },
});
const update = createRoute({
  method: 'patch',
  path: '/servers/{id}',
  tags: ['Email servers'],
  summary: 'Change settings of an email server',
  request: { params: idParams, ...body(serverChangesBody) },
  responses: {
    200: json(serverSchema, 'The email server as changed'),
    ...errorResponses('invalid', 'unauthorized', 'forbidden', 'not_found', 'conflict'),
  },
});
const remove = createRoute({
  method: 'delete',
  path: '/servers/{id}',
  tags: ['Email servers'],
  summary: 'Remove an email server; its waiting mail is failed only with dropQueued=true',
  request: {
    params: idParams,
    query: z.object({ dropQueued: z.enum(['true', 'false']).optional().meta({ description: 'Fail the mail still waiting for it.' }) }),
  },
  responses: {
    204: { description: 'Removed' },
    ...errorResponses('unauthorized', 'forbidden', 'not_found', 'conflict'),
  },
});

/** The email server routes. */
export function serverApi({
  store,
  relay,
  log,
  now,
}: ApiRouteDeps<
  StoreSlice<{ servers: 'add' | 'findByName' | 'get' | 'list' | 'update'; queue: 'countsByStatus' }> &
    Pick<Store, 'removeServer' | 'dataDir'>
>): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  const find = async (id: number) => {
    const server = await store.servers.get(id);
    if (!server) throw notFound(`email server with ID ${id}`);
    return server;
  };
  const out = async (id: number) => serverOut(await find(id), await store.queue.countsByStatus(id));
  const nameTaken = (name: string): never => {
    throw new ApiError('conflict', `An email server named ${JSON.stringify(name)} exists already.`, 'name');
  };
  const nameFree = async (name: string, ownId?: number): Promise<void> => {
    const other = await store.servers.findByName(name);
    if (other && other.id !== ownId) nameTaken(name);
  };

  app.openapi(list, async (c) => {
    const servers = await store.servers.list();
    return c.json({ servers: await Promise.all(servers.map(async (s) => serverOut(s, await store.queue.countsByStatus(s.id)))) }, 200);
  });

  app.openapi(get, async (c) => c.json(await out(c.req.valid('param').id), 200));

  app.openapi(create, async (c) => {
    const { isDefault, preset, ...given } = c.req.valid('json');
    await nameFree(given.name);
    const settings: ServerSettings = newServerSettings(given, preset);
    if (!settings.host) throw new ApiError('invalid', `Give host: method ${settings.method} has no default host.`, 'host');
    const server = (await unlessTaken(store.servers.add(settings, isDefault === true))) ?? nameTaken(given.name);
    log.info('email server created', { server: server.name, method: server.method, by: `API token ${c.var.apiToken.name}` });
    relay.settingsChanged();
    return c.json(await out(server.id), 201);
  });

  app.openapi(update, async (c) => {
    const server = await find(c.req.valid('param').id);
    const { isDefault, ...changes } = c.req.valid('json');
    if (changes.name !== undefined) await nameFree(changes.name, server.id);
    if (changes.host === '') throw new ApiError('invalid', 'host cannot be empty.', 'host');
    // Only a new name can be taken by another request after nameFree looked.
    if (!(await unlessTaken(store.servers.update(server.id, changes, isDefault === true)))) nameTaken(changes.name ?? server.name);
    log.info('email server changed', { server: server.name, settings: Object.keys(changes), by: `API token ${c.var.apiToken.name}` });
    relay.settingsChanged();
    return c.json(await out(server.id), 200);
  });

  app.openapi(remove, async (c) => {
    const server = await find(c.req.valid('param').id);
    const outcome = await store.removeServer(server.id, {
      dropQueued: c.req.valid('query').dropQueued === 'true',
      by: `API token ${c.var.apiToken.name}`,
      now: now(),
    });
    if (outcome.kind === 'in-use') {
      const using = [...outcome.relayUsers.map((u) => `relay user ${u}`), ...outcome.networks.map((n) => `network ${n}`)];
      throw new ApiError('conflict', `${server.name} is used by ${using.join(', ')}; move or remove them first.`);
    }
    if (outcome.kind === 'in-flight') throw new ApiError('conflict', `${server.name} is delivering mail right now; try again in a moment.`);
    if (outcome.kind === 'waiting') {
      throw new ApiError(
        'conflict',
        `${server.name} has ${outcome.waiting} message(s) waiting; deliver them first or pass dropQueued=true.`,
      );
    }
    relay.settingsChanged();
    log.info('email server deleted', {
      server: server.name,
      failedMessages: outcome.failed.length,
      by: `API token ${c.var.apiToken.name}`,
    });
    return c.body(null, 204);
  });

  return app;
}

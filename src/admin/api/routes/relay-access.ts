/**
 * /api/v1/relay-users and /api/v1/networks: who may hand mail to relay365,
 * with the same rules as `relay365 relay-user` and `relay365 network`. A
 * generated password is answered once, when the user is created; only its
 * scrypt hash is stored. Rules from RELAY365_RELAY_NETWORKS are listed but
 * change only with the variable.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { hashPassword } from '../../../auth/passwords.js';
import { parseCidr } from '../../../cidr.js';
import { addRelayUser } from '../../../relay/add-relay-user.js';
import { tooWideToAllow, wideNetworkWarning } from '../../../store/access-schemas.js';
import type { EmailServer } from '../../../store/servers.js';
import type { StoreSlice } from '../../../store/index.js';
import { unlessTaken } from '../../../store/unique-violation.js';
import type { ApiEnv, ApiRouteDeps } from '../env.js';
import { ApiError, errorResponses, notFound } from '../errors.js';
import { body, json } from '../openapi.js';
import {
  idParams,
  networkOut,
  networkSchema,
  newNetworkBody,
  newRelayUserBody,
  relayUserChangesBody,
  relayUserOut,
  relayUserSchema,
} from '../schemas.js';

const USERS = ['Relay users'];
const NETWORKS = ['Allowed networks'];

const listUsers = createRoute({
  method: 'get',
  path: '/relay-users',
  tags: USERS,
  summary: 'List relay users',
  responses: { 200: json(z.object({ relayUsers: z.array(relayUserSchema) }), 'The relay users'), ...errorResponses('unauthorized') },
});
const getUser = createRoute({
  method: 'get',
  path: '/relay-users/{id}',
  tags: USERS,
  summary: 'Read one relay user',
  request: { params: idParams },
  responses: { 200: json(relayUserSchema, 'The relay user'), ...errorResponses('unauthorized', 'not_found') },
});
const createUser = createRoute({
  method: 'post',
  path: '/relay-users',
  tags: USERS,
  summary: 'Create a relay user; without a password one is generated and answered once',
  request: body(newRelayUserBody),
  responses: {
    201: json(
      z.object({
        relayUser: relayUserSchema,
        password: z.string().optional().meta({ description: 'The generated password: shown only in this answer.' }),
      }),
      'The new relay user',
    ),
    ...errorResponses('invalid', 'unauthorized', 'forbidden', 'conflict'),
  },
});
const updateUser = createRoute({
  method: 'patch',
  path: '/relay-users/{id}',
  tags: USERS,
  summary: 'Change a relay user: email server, password, allowed From, disabled',
  request: { params: idParams, ...body(relayUserChangesBody) },
  responses: {
    200: json(relayUserSchema, 'The relay user as changed'),
    ...errorResponses('invalid', 'unauthorized', 'forbidden', 'not_found'),
  },
});
const removeUser = createRoute({
  method: 'delete',
  path: '/relay-users/{id}',
  tags: USERS,
  summary: 'Remove a relay user',
  request: { params: idParams },
  responses: { 204: { description: 'Removed' }, ...errorResponses('unauthorized', 'forbidden', 'not_found') },
});
const listNetworks = createRoute({
  method: 'get',
  path: '/networks',
  tags: NETWORKS,
  summary: 'List allowed networks, stored and from RELAY365_RELAY_NETWORKS',
  responses: { 200: json(z.object({ networks: z.array(networkSchema) }), 'The allowed networks'), ...errorResponses('unauthorized') },
});
const createNetwork = createRoute({
  method: 'post',
  path: '/networks',
  tags: NETWORKS,
  summary: 'Allow a network to relay without SMTP AUTH, routed to an email server',
  request: body(newNetworkBody),
  responses: { 201: json(networkSchema, 'The new rule'), ...errorResponses('invalid', 'unauthorized', 'forbidden', 'conflict') },
});
const removeNetwork = createRoute({
  method: 'delete',
  path: '/networks/{id}',
  tags: NETWORKS,
  summary: 'Remove a stored network rule',
  request: { params: idParams },
  responses: { 204: { description: 'Removed' }, ...errorResponses('unauthorized', 'forbidden', 'not_found') },
});

/** The relay user and network routes. */
export function relayAccessApi({
  config,
  store,
  log,
}: ApiRouteDeps<
  StoreSlice<{
    servers: 'get' | 'getDefault';
    relayUsers: 'add' | 'findByName' | 'get' | 'list' | 'remove' | 'update';
    networks: 'add' | 'findByCidr' | 'list' | 'remove';
  }>
>): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  const serverName = async (id: number): Promise<string | null> => (await store.servers.get(id))?.name ?? null;
  const serverFor = async (id: number): Promise<EmailServer> => {
    const server = await store.servers.get(id);
    if (!server) throw new ApiError('invalid', `There is no email server with ID ${id}.`, 'serverId');
    return server;
  };
  const findUser = async (id: number) => {
    const user = await store.relayUsers.get(id);
    if (!user) throw notFound(`relay user with ID ${id}`);
    return user;
  };
  const by = (c: { var: ApiEnv['Variables'] }): string => `API token ${c.var.apiToken.name}`;

  app.openapi(listUsers, async (c) => {
    const users = await store.relayUsers.list();
    return c.json({ relayUsers: await Promise.all(users.map(async (u) => relayUserOut(u, await serverName(u.serverId)))) }, 200);
  });

  app.openapi(getUser, async (c) => {
    const user = await findUser(c.req.valid('param').id);
    return c.json(relayUserOut(user, await serverName(user.serverId)), 200);
  });

  app.openapi(createUser, async (c) => {
    const input = c.req.valid('json');
    const server = await serverFor(input.serverId);
    const added = await addRelayUser(store, {
      name: input.name,
      serverId: server.id,
      allowFrom: input.allowFrom ?? [],
      password: input.password ?? null,
    });
    if (!added) throw new ApiError('conflict', `A relay user named ${JSON.stringify(input.name)} exists already.`, 'name');
    const { user, generated } = added;
    log.info('relay user created', { relayUser: user.name, server: server.name, by: by(c) });
    return c.json({ relayUser: relayUserOut(user, server.name), ...(generated === null ? {} : { password: generated }) }, 201);
  });

  app.openapi(updateUser, async (c) => {
    const user = await findUser(c.req.valid('param').id);
    const input = c.req.valid('json');
    const server = input.serverId === undefined ? undefined : await serverFor(input.serverId);
    const changed = await store.relayUsers.update(user.id, {
      ...(server ? { serverId: server.id } : {}),
      ...(input.allowFrom === undefined ? {} : { allowFrom: input.allowFrom }),
      ...(input.disabled === undefined ? {} : { disabled: input.disabled }),
      ...(input.password === undefined ? {} : { passwordHash: await hashPassword(input.password) }),
    });
    log.info('relay user changed', { relayUser: user.name, fields: Object.keys(input), by: by(c) });
    return c.json(relayUserOut(changed, await serverName(changed.serverId)), 200);
  });

  app.openapi(removeUser, async (c) => {
    const user = await findUser(c.req.valid('param').id);
    await store.relayUsers.remove(user.id);
    log.info('relay user removed', { relayUser: user.name, by: by(c) });
    return c.body(null, 204);
  });

  app.openapi(listNetworks, async (c) => {
    const rules = await store.networks.list();
    const stored = await Promise.all(rules.map(async (rule) => networkOut(rule, await serverName(rule.serverId))));
    const fallback = (await store.servers.getDefault()) ?? null;
    const fromEnvironment = config.relayNetworks.map((cidr) => ({
      id: null,
      cidr: cidr.text,
      serverId: fallback?.id ?? null,
      server: fallback?.name ?? null,
      source: 'environment' as const,
      createdAt: null,
    }));
    return c.json({ networks: [...stored, ...fromEnvironment] }, 200);
  });

  app.openapi(createNetwork, async (c) => {
    const { cidr, serverId, force } = c.req.valid('json');
    const server = await serverFor(serverId);
    const tooWide = tooWideToAllow(cidr);
    if (tooWide !== null && force !== true) throw new ApiError('invalid', `${tooWide}. Send "force": true if you mean it.`, 'cidr');
    const existing = await store.networks.findByCidr(cidr);
    const rule = existing ? null : await unlessTaken(store.networks.add(cidr, server.id));
    if (!rule) {
      // Stored before the look-up, or by another request between the look-up and the insert.
      const stored = existing ?? (await store.networks.findByCidr(cidr));
      const owner = (stored && (await serverName(stored.serverId))) ?? '?';
      throw new ApiError('conflict', `Network ${cidr.text} is stored already, routed to ${owner}.`, 'cidr');
    }
    const wide = wideNetworkWarning(cidr);
    if (wide === null) log.info('network allowed', { cidr: rule.cidr, server: server.name, by: by(c) });
    else log.warn('wide network allowed', { cidr: rule.cidr, server: server.name, by: by(c), warning: wide, forced: tooWide !== null });
    return c.json(networkOut(rule, server.name), 201);
  });

  app.openapi(removeNetwork, async (c) => {
    const id = c.req.valid('param').id;
    const rule = (await store.networks.list()).find((r) => r.id === id);
    if (!rule) throw notFound(`stored network rule with ID ${id}`);
    const cidr = parseCidr(rule.cidr);
    if (typeof cidr !== 'string') await store.networks.remove(cidr);
    log.info('network removed', { cidr: rule.cidr, by: by(c) });
    return c.body(null, 204);
  });

  return app;
}

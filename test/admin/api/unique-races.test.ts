/**
 * The API's creates and renames when another relay365 instance on the same
 * store takes the name between the route's look-up and its insert: 409
 * conflict naming the field, as for a name taken earlier, never a 500.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCidr, type Cidr } from '../../../src/cidr.js';
import { ENGINES } from '../../helpers/engines.js';
import { plainServer } from '../../helpers/fixture.js';
import { takenBeforeWrite } from '../../helpers/unique-race.js';
import { createEnginePanel, type EnginePanel } from '../engine-panel.js';
import { apiClient } from './api-client.js';

const cidr = (text: string): Cidr => parseCidr(text) as Cidr;

describe.each(ENGINES)('API creates racing another instance (%s)', (engine) => {
  let p: EnginePanel;
  let api: ReturnType<typeof apiClient>;
  beforeEach(async () => {
    p = await createEnginePanel(engine);
    api = apiClient(p.app, (await p.store.apiTokens.add({ name: 'write-token', scope: 'write' })).token);
  });
  afterEach(() => p.cleanup());

  it('answers 409 for a new email server whose name was taken meanwhile', async () => {
    takenBeforeWrite(p.store.servers, 'add', () => p.other.servers.add(plainServer({ name: 'smarthost' })));
    const res = await api('POST', '/servers', { name: 'smarthost', method: 'none', secure: 'none', host: '127.0.0.1', port: 25 });
    expect(res).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', field: 'name', message: 'An email server named "smarthost" exists already.' } },
    });
    expect(await p.store.servers.list()).toHaveLength(1);
  });

  it('answers 409 for a rename to a name taken meanwhile, and leaves the server as it was', async () => {
    const server = await p.store.servers.add(plainServer({ name: 'first' }));
    takenBeforeWrite(p.store.servers, 'update', () => p.other.servers.add(plainServer({ name: 'second' })));
    const res = await api('PATCH', `/servers/${server.id}`, { name: 'second', port: 2525 });
    expect(res).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', field: 'name', message: 'An email server named "second" exists already.' } },
    });
    expect(await p.store.servers.get(server.id)).toMatchObject({ name: 'first', port: 25 });
  });

  it('answers 409 for a relay user whose name was taken meanwhile', async () => {
    const server = await p.store.servers.add(plainServer({ name: 'o365' }));
    takenBeforeWrite(p.store.relayUsers, 'add', () =>
      p.other.relayUsers.add({ name: 'scanner', passwordHash: 'scrypt$unused', serverId: server.id, allowFrom: [] }),
    );
    const res = await api('POST', '/relay-users', { name: 'scanner', serverId: server.id });
    expect(res).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', field: 'name', message: 'A relay user named "scanner" exists already.' } },
    });
    expect(await p.store.relayUsers.list()).toHaveLength(1);
  });

  it('answers 409 for a network stored meanwhile, naming the server it routes to', async () => {
    const mine = await p.store.servers.add(plainServer({ name: 'o365' }));
    const theirs = await p.store.servers.add(plainServer({ name: 'smarthost' }));
    takenBeforeWrite(p.store.networks, 'add', () => p.other.networks.add(cidr('192.168.10.0/24'), theirs.id));
    const res = await api('POST', '/networks', { cidr: '192.168.10.0/24', serverId: mine.id });
    expect(res).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', field: 'cidr', message: 'Network 192.168.10.0/24 is stored already, routed to smarthost.' } },
    });
    expect((await p.store.networks.list()).map((r) => r.serverId)).toEqual([theirs.id]);
  });
});

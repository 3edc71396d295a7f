/**
 * The panel's adds and renames when another relay365 instance on the same
 * store takes the name between the page's look-up and its insert: the form
 * answers as it does for a name taken earlier, never with a failed request.
 * The first Super Admin, created by two instances starting together, and the
 * setup link are here too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootstrapFirstAdmin } from '../../src/admin/accounts.js';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import { ENGINES } from '../helpers/engines.js';
import { plainServer } from '../helpers/fixture.js';
import { takenBeforeWrite } from '../helpers/unique-race.js';
import { createEnginePanel, type EnginePanel } from './engine-panel.js';
import { Agent, PASSWORD, visibleText } from './panel.js';

const cidr = (text: string): Cidr => parseCidr(text) as Cidr;
const UNUSED_HASH = 'scrypt$unused';

describe.each(ENGINES)('panel adds racing another instance (%s)', (engine) => {
  let p: EnginePanel;
  beforeEach(async () => {
    p = await createEnginePanel(engine);
  });
  afterEach(() => p.cleanup());

  it('answers a new email server whose name was taken meanwhile with the form and its message', async () => {
    const agent = await p.signedIn('editor@example.com', { updateSettings: true });
    await agent.get('/servers/new');
    takenBeforeWrite(p.store.servers, 'add', () => p.other.servers.add(plainServer({ name: 'Smarthost' })));
    const res = await agent.post('/servers', { name: 'smarthost', method: 'none', host: '127.0.0.1', port: '25', secure: 'none' });
    expect(res.status).toBe(422);
    expect(visibleText(res.text)).toContain('An email server with this name exists already.');
    expect((await p.store.servers.list()).map((s) => s.name)).toEqual(['Smarthost']);
  });

  it('answers a rename to a name taken meanwhile with the Name form and its message', async () => {
    const server = await p.store.servers.add(plainServer({ name: 'first' }));
    const agent = await p.signedIn('editor@example.com', { updateSettings: true });
    await agent.get(`/servers/${server.id}/edit/name`);
    takenBeforeWrite(p.store.servers, 'update', () => p.other.servers.add(plainServer({ name: 'second' })));
    const res = await agent.post(`/servers/${server.id}/edit/name`, { name: 'second' });
    expect(res.status).toBe(422);
    expect(visibleText(res.text)).toContain('An email server with this name exists already.');
    expect((await p.store.servers.get(server.id))?.name).toBe('first');
  });

  it('answers a new panel user whose email was taken meanwhile with the form and its message', async () => {
    const admin = await p.signedIn('root@example.com', { superAdmin: true });
    await admin.get('/users');
    takenBeforeWrite(p.store.users, 'add', () =>
      p.other.users.add({ email: 'new@example.com', passwordHash: UNUSED_HASH, isSuperAdmin: false, canUpdateSettings: false }),
    );
    const res = await admin.post('/users', { email: 'new@example.com', password: 'a long enough password', updateSettings: '1' });
    expect(res.status).toBe(422);
    expect(visibleText(res.text)).toContain('A user with this email exists already.');
    expect(await p.store.users.findByEmail('new@example.com')).toMatchObject({ canUpdateSettings: false });
  });

  it('answers a new API token whose name was taken meanwhile with the form and its message', async () => {
    const admin = await p.signedIn('root@example.com', { superAdmin: true });
    await admin.get('/api-tokens');
    takenBeforeWrite(p.store.apiTokens, 'add', () => p.other.apiTokens.add({ name: 'provisioning', scope: 'read' }));
    const res = await admin.post('/api-tokens', { name: 'provisioning', scope: 'write' });
    expect(res.status).toBe(422);
    expect(visibleText(res.text)).toContain('An API token with this name exists already.');
    expect((await p.store.apiTokens.list()).map((t) => [t.name, t.scope])).toEqual([['provisioning', 'read']]);
  });

  it('answers a network stored meanwhile with the form, naming the server it routes to', async () => {
    const mine = await p.store.servers.add(plainServer({ name: 'o365' }));
    const theirs = await p.store.servers.add(plainServer({ name: 'smarthost' }));
    const agent = await p.signedIn('editor@example.com', { updateSettings: true });
    await agent.get('/networks');
    takenBeforeWrite(p.store.networks, 'add', () => p.other.networks.add(cidr('192.168.10.0/24'), theirs.id));
    const res = await agent.post('/networks', { cidr: '192.168.10.0/24', serverId: String(mine.id) });
    expect(res.status).toBe(422);
    expect(visibleText(res.text)).toContain(
      '192.168.10.0/24 is in the list already, routed to smarthost. Remove it first to route it elsewhere.',
    );
    expect((await p.store.networks.list()).map((r) => r.serverId)).toEqual([theirs.id]);
  });

  it('answers a relay user whose name was taken meanwhile with the form and its message', async () => {
    const server = await p.store.servers.add(plainServer({ name: 'o365' }));
    const agent = await p.signedIn('editor@example.com', { updateSettings: true });
    await agent.get('/relay-users');
    takenBeforeWrite(p.store.relayUsers, 'add', () =>
      p.other.relayUsers.add({ name: 'scanner', passwordHash: UNUSED_HASH, serverId: server.id, allowFrom: [] }),
    );
    const res = await agent.post('/relay-users', { name: 'scanner', serverId: String(server.id), password: '', allowFrom: '' });
    expect(res.status).toBe(422);
    expect(visibleText(res.text)).toContain('A relay user with this name exists already.');
    const users = await p.store.relayUsers.list();
    expect(users).toHaveLength(1);
    expect(await p.store.relayUsers.passwordHash(users[0]!.id)).toBe(UNUSED_HASH);
  });

  it('answers the setup link as used when another instance created the same first admin meanwhile', async () => {
    const token = await p.store.users.createSetupToken(60_000);
    const agent = new Agent(p.app);
    await agent.get(`/setup/${token}`);
    takenBeforeWrite(p.store.users, 'add', () =>
      p.other.users.add({ email: 'first@example.com', passwordHash: UNUSED_HASH, isSuperAdmin: true, canUpdateSettings: true }),
    );
    const res = await agent.post(`/setup/${token}`, { email: 'first@example.com', password: PASSWORD, confirm: PASSWORD });
    expect(res.status).toBe(404);
    expect(visibleText(res.text)).toContain('This setup link was already used, has expired, or an admin exists already.');
    expect(await p.store.users.count()).toBe(1);
  });

  it('starts when another instance created the first Super Admin from the environment meanwhile', async () => {
    const lines: string[] = [];
    const log: Logger = { ...silentLogger, info: (m, f) => lines.push(JSON.stringify({ m, ...f })) };
    takenBeforeWrite(p.store.users, 'add', () =>
      p.other.users.add({ email: 'root@example.com', passwordHash: UNUSED_HASH, isSuperAdmin: true, canUpdateSettings: true }),
    );
    const started = bootstrapFirstAdmin({
      store: p.store,
      publicUrl: p.config.publicUrl,
      adminEmail: 'root@example.com',
      adminPassword: 'from the environment',
      log,
    });
    await expect(started).resolves.toBeNull();
    expect(lines.join('\n')).toContain('the first Super Admin from RELAY365_ADMIN_EMAIL was created by another instance');
    expect(await p.store.users.count()).toBe(1);
  });
});

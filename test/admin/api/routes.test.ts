import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEED } from '../../emulator/index.js';
import { plainServer, queuedMessage } from '../../helpers/fixture.js';
import { fillPasswordQueue } from '../../helpers/password-queue.js';
import { relayUserArrivesBeforeRemoval } from '../../helpers/removal-race.js';
import { createPanel, signedIn, type Panel } from '../panel.js';
import { apiClient, newToken } from './api-client.js';

let panel: Panel;
let api: ReturnType<typeof apiClient>;
/** Every answer of the write token in a test: no secret given to the API may come back in any of them. */
let answers: string[];
const SECRET = 'Zq8~very.secret.client.value-123';
const RELAY_PASSWORD = 'printer-pass-0123456789';

beforeEach(() => {
  panel = createPanel();
  answers = [];
  api = apiClient(panel.app, newToken(panel.fx.store, 'write'), answers);
});
afterEach(() => {
  for (const answer of answers) {
    expect(answer).not.toContain(SECRET);
    expect(answer).not.toContain(RELAY_PASSWORD);
    expect(answer).not.toContain('scrypt$');
  }
  panel.cleanup();
});

const office365 = {
  name: 'office365',
  method: 'office365',
  signInMode: 'application',
  tenantId: SEED.tenantId,
  clientId: SEED.clientId,
  clientSecret: SECRET,
  clientSecretExpires: '2027-06-30',
  mailbox: SEED.mailbox,
};

describe('API: email servers', () => {
  it('creates a server with the CLI defaults, answers it without its secret, and tells the relay', async () => {
    const created = await api('POST', '/servers', office365);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'office365',
      host: 'smtp.office365.com',
      port: 587,
      secure: 'tls',
      hasClientSecret: true,
      status: 'not_authorized',
      queue: { queued: 0, held: 0 },
    });
    expect(created.text).not.toContain(SECRET);
    expect(created.body).not.toHaveProperty('clientSecret');
    expect(panel.relay.settingsChanged).toHaveBeenCalled();
    expect(panel.fx.store.sync.servers.clientSecret(created.body.id)).toBe(SECRET);

    const list = await api('GET', '/servers');
    expect(list.body.servers.map((s: { name: string }) => s.name)).toEqual(['office365']);
    const one = await api('GET', `/servers/${created.body.id}`);
    expect(one.body).toMatchObject({ name: 'office365', tenantId: SEED.tenantId });
    expect(list.text + one.text).not.toContain(SECRET);
  });

  it('changes settings, refuses a taken name with 409 and a bad value naming its field', async () => {
    const { body: a } = await api('POST', '/servers', office365);
    await api('POST', '/servers', plainServer({ name: 'other' }));
    expect(a).toMatchObject({ bounceNotices: 'on', delayNotices: 'off' });
    const changed = await api('PATCH', `/servers/${a.id}`, {
      port: 25,
      fromHandling: 'rewrite',
      sendAs: ['Sales@Contoso.test'],
      bounceNotices: 'off',
      delayNotices: 'on',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ port: 25, fromHandling: 'rewrite', bounceNotices: 'off', delayNotices: 'on' });
    const badSwitch = await api('PATCH', `/servers/${a.id}`, { bounceNotices: 'maybe' });
    expect(badSwitch.body.error).toMatchObject({ code: 'invalid', field: 'bounceNotices', message: 'Choose one of on, off.' });

    const taken = await api('PATCH', `/servers/${a.id}`, { name: 'other' });
    expect(taken).toMatchObject({ status: 409, body: { error: { code: 'conflict', field: 'name' } } });
    const badPort = await api('PATCH', `/servers/${a.id}`, { port: 70000 });
    expect(badPort).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid', field: 'port', message: expect.stringMatching(/1 to 65535/) } },
    });
    const badTenant = await api('POST', '/servers', { ...office365, name: 'x', tenantId: 'not a tenant' });
    expect(badTenant.body.error).toMatchObject({ code: 'invalid', field: 'tenantId' });
    const unknown = await api('PATCH', `/servers/${a.id}`, { colour: 'blue' });
    expect(unknown.body.error).toMatchObject({ code: 'invalid', field: 'colour', message: 'Unknown field "colour".' });
    const notJson = await api('POST', '/servers', '{not json');
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    expect((await api('GET', '/servers/999')).body.error).toMatchObject({ code: 'not_found' });
  });

  it('removes a server, refusing while relay users use it', async () => {
    const { body: server } = await api('POST', '/servers', plainServer({ name: 'upstream' }));
    const { body: user } = await api('POST', '/relay-users', { name: 'scanner', serverId: server.id });
    const refused = await api('DELETE', `/servers/${server.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/relay user scanner/);
    expect((await api('DELETE', `/relay-users/${user.relayUser.id}`)).status).toBe(204);
    expect((await api('DELETE', `/servers/${server.id}`)).status).toBe(204);
    expect(panel.fx.store.sync.servers.list()).toEqual([]);
  });

  it('answers 409 naming a relay user added just before the removal runs, not 500', async () => {
    const { body: server } = await api('POST', '/servers', plainServer({ name: 'upstream' }));
    relayUserArrivesBeforeRemoval(panel.fx.store, 'late-scanner');
    const refused = await api('DELETE', `/servers/${server.id}`);
    expect(refused).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', message: 'upstream is used by relay user late-scanner; move or remove them first.' } },
    });
    expect(panel.fx.store.sync.servers.get(server.id)).toBeDefined();
  });
});

describe('API: relay access', () => {
  it('answers 503 busy, not 500, when password hashing is full, and adds the relay user once it is not', async () => {
    const { body: server } = await api('POST', '/servers', plainServer({ name: 'upstream' }));
    const flood = fillPasswordQueue();
    const busy = await api('POST', '/relay-users', { name: 'scanner', serverId: server.id });
    expect(busy.status).toBe(503);
    expect(busy.body.error).toMatchObject({ code: 'busy', message: expect.stringContaining('try again') });
    await flood;
    expect((await api('POST', '/relay-users', { name: 'scanner', serverId: server.id })).status).toBe(201);
  });

  it('creates a relay user with a generated password shown once, changes and lists it; only the hash is stored', async () => {
    const { body: server } = await api('POST', '/servers', plainServer({ name: 'upstream' }));
    const created = await api('POST', '/relay-users', {
      name: 'scanner',
      serverId: server.id,
      allowFrom: ['scans@contoso.test', '@Branch.contoso.test'],
    });
    expect(created.status).toBe(201);
    expect(created.body.password).toMatch(/^\S{16,}$/);
    expect(created.body.relayUser).toMatchObject({
      name: 'scanner',
      server: 'upstream',
      allowFrom: ['scans@contoso.test', '@branch.contoso.test'],
    });

    const given = await api('POST', '/relay-users', { name: 'erp', serverId: server.id, password: RELAY_PASSWORD });
    expect(given.body).not.toHaveProperty('password');
    const changed = await api('PATCH', `/relay-users/${given.body.relayUser.id}`, { disabled: true, allowFrom: [] });
    expect(changed.body).toMatchObject({ disabled: true, allowFrom: [] });
    const list = await api('GET', '/relay-users');
    expect(list.body.relayUsers.map((u: { name: string }) => u.name)).toEqual(['erp', 'scanner']);
    expect(list.text + changed.text).not.toContain(RELAY_PASSWORD);
    expect(list.text).not.toContain(created.body.password);
    expect(panel.fx.store.sync.relayUsers.passwordHash(given.body.relayUser.id)).not.toContain(RELAY_PASSWORD);

    const short = await api('POST', '/relay-users', { name: 'x', serverId: server.id, password: 'short' });
    expect(short.body.error).toMatchObject({ code: 'invalid', field: 'password', message: expect.stringMatching(/at least 12/) });
    const badFrom = await api('POST', '/relay-users', { name: 'y', serverId: server.id, allowFrom: ['nobody'] });
    expect(badFrom.body.error).toMatchObject({ field: 'allowFrom.0', message: '"nobody" is neither an address nor an @domain.' });
    const noServer = await api('POST', '/relay-users', { name: 'z', serverId: 999 });
    expect(noServer.body.error).toMatchObject({ code: 'invalid', field: 'serverId' });
    expect((await api('POST', '/relay-users', { name: 'scanner', serverId: server.id })).status).toBe(409);
  });

  it('adds and removes a network in one spelling and lists the environment rules beside it', async () => {
    const { body: server } = await api('POST', '/servers', plainServer({ name: 'upstream' }));
    const added = await api('POST', '/networks', { cidr: '192.168.10.7/24', serverId: server.id });
    expect(added).toMatchObject({ status: 201, body: { cidr: '192.168.10.0/24', server: 'upstream', source: 'stored' } });
    expect((await api('POST', '/networks', { cidr: '192.168.10.0/24', serverId: server.id })).status).toBe(409);
    expect((await api('POST', '/networks', { cidr: '10.0.0.0/33', serverId: server.id })).body.error).toMatchObject({ field: 'cidr' });
    const list = await api('GET', '/networks');
    expect(list.body.networks).toEqual([
      expect.objectContaining({ cidr: '192.168.10.0/24', source: 'stored' }),
      expect.objectContaining({ cidr: '127.0.0.0/8', source: 'environment', id: null }),
      expect.objectContaining({ cidr: '::1/128', source: 'environment' }),
    ]);
    expect((await api('DELETE', `/networks/${added.body.id}`)).status).toBe(204);
    expect(panel.fx.store.sync.networks.list()).toEqual([]);
  });
});

describe('API: queue, test email, alerts, health', () => {
  const seed = (count: number, serverId: number): string[] =>
    Array.from({ length: count }, (_, i) => {
      const id = `Q${String(i).padStart(4, '0')}`;
      panel.fx.store.sync.queue.insert([
        queuedMessage(id, serverId, {
          mailFrom: i % 2 ? 'erp@contoso.test' : 'scanner@contoso.test',
          recipients: [`user${i}@fabrikam.test`],
          size: 100,
          subject: `message ${i}`,
          receivedAt: 1_700_000_000_000 + Math.floor(i / 2) * 1000,
          expiresAt: 1_800_000_000_000,
        }),
      ]);
      return id;
    });

  it('pages through the queue newest first with a cursor and filters, and shows one message with its events', async () => {
    const server = panel.fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    const ids = seed(7, server.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const answer = await api('GET', `/queue?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(answer.status).toBe(200);
      seen.push(...answer.body.messages.map((m: { id: string }) => m.id));
      cursor = answer.body.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual([...ids].reverse());
    const erp = await api('GET', `/queue?sender=ERP@&serverId=${server.id}&status=queued`);
    expect(erp.body.messages.map((m: { id: string }) => m.id)).toEqual(['Q0005', 'Q0003', 'Q0001']);
    expect((await api('GET', '/queue?status=lost')).body.error).toMatchObject({ field: 'status' });
    expect((await api('GET', '/queue?cursor=bogus')).body.error).toMatchObject({ field: 'cursor' });
    expect((await api('GET', '/queue?limit=100000')).body.error).toMatchObject({ field: 'limit' });

    const one = await api('GET', '/queue/Q0001');
    expect(one.body).toMatchObject({ id: 'Q0001', recipients: [{ address: 'user1@fabrikam.test', status: 'pending' }], hint: null });
    expect(Array.isArray(one.body.events)).toBe(true);
    expect((await api('GET', '/queue/NOPE')).status).toBe(404);
  });

  it('retries and deletes waiting mail through the relay, 409 when the relay says no', async () => {
    const server = panel.fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    seed(1, server.id);
    expect((await api('POST', '/queue/Q0000/retry')).status).toBe(200);
    expect(panel.relay.retryNow).toHaveBeenCalledWith('Q0000');
    panel.relay.retryNow.mockResolvedValueOnce(false);
    expect((await api('POST', '/queue/Q0000/retry')).status).toBe(409);
    expect((await api('DELETE', '/queue/Q0000')).status).toBe(204);
    expect(panel.relay.deleteMessage).toHaveBeenCalledWith('Q0000');
  });

  it('sends a test email and answers the transcript; a bad address names the field', async () => {
    const server = panel.fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    const sent = await api('POST', `/servers/${server.id}/test-email`, { to: 'admin@contoso.test' });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({
      ok: true,
      reply: '250 2.0.0 OK',
      queueId: 'TEST1',
      transcript: expect.arrayContaining(['C: AUTH XOAUTH2 (hidden)']),
    });
    expect(panel.relay.sendTest).toHaveBeenCalledWith(server.id, {
      to: 'admin@contoso.test',
      subject: 'relay365 test email via upstream',
      body: '',
    });
    const bad = await api('POST', `/servers/${server.id}/test-email`, { to: 'not an address' });
    expect(bad.body.error).toMatchObject({ code: 'invalid', field: 'to' });
  });

  it('lists the alerts that fire and the recent ones', async () => {
    panel.fx.store.sync.alerts.fire(
      {
        key: 'queue:oldest',
        severity: 'warning',
        title: 'Mail has been waiting',
        server: null,
        code: null,
        fix: 'Look at the queue.',
        detail: null,
        repeats: true,
      },
      panel.clock.now,
    );
    const alerts = await api('GET', '/alerts');
    expect(alerts.body.active).toEqual([
      expect.objectContaining({ key: 'queue:oldest', title: 'Mail has been waiting', resolvedAt: null }),
    ]);
  });
});

describe('API: tokens', () => {
  it('answers 401 without a token, with a revoked one, and to a signed-in panel session', async () => {
    expect((await apiClient(panel.app, null)('GET', '/servers')).status).toBe(401);
    const token = newToken(panel.fx.store, 'read', 'soon-revoked');
    expect((await apiClient(panel.app, token)('GET', '/servers')).status).toBe(200);
    panel.fx.store.sync.apiTokens.revoke(panel.fx.store.sync.apiTokens.findByName('soon-revoked')!.id);
    const revoked = await apiClient(panel.app, token)('GET', '/servers');
    expect(revoked).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(revoked.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const admin = await signedIn(panel, 'root@contoso.test', { superAdmin: true });
    const withCookie = await admin.request('/api/v1/servers');
    expect(withCookie.status).toBe(401);
    const posted = await admin.request('/api/v1/servers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(office365),
    });
    expect(posted.status).toBe(401);
    expect(panel.fx.store.sync.servers.list()).toEqual([]);
  });

  it('lets a read token read but not write, and a write token do both', async () => {
    const read = apiClient(panel.app, newToken(panel.fx.store, 'read'));
    expect((await read('GET', '/servers')).status).toBe(200);
    const refused = await read('POST', '/servers', plainServer({ name: 'x' }));
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await read('DELETE', '/queue/Q1')).status).toBe(403);
    expect(panel.fx.store.sync.servers.list()).toEqual([]);
    expect((await api('POST', '/servers', plainServer({ name: 'x' }))).status).toBe(201);
  });

  it('makes an address that keeps sending wrong tokens wait, even with a good one', async () => {
    const wrong = apiClient(panel.app, 'r365_wrong');
    for (let i = 0; i < 10; i++) expect((await wrong('GET', '/servers')).status).toBe(401);
    const limited = await wrong('GET', '/servers');
    expect(limited).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api('GET', '/servers')).status).toBe(429);
    panel.clock.now += 60 * 60_000;
    expect((await api('GET', '/servers')).status).toBe(200);
  });

  it('records when a token was last used, and stores only its hash', async () => {
    const token = newToken(panel.fx.store, 'read', 'monitoring');
    await apiClient(panel.app, token)('GET', '/servers');
    expect(panel.fx.store.sync.apiTokens.findByName('monitoring')).toMatchObject({
      lastUsedAt: panel.clock.now,
      hint: token.slice(0, 9) + '…',
    });
    const row = panel.fx.store.db.prepare('SELECT * FROM api_tokens WHERE name = ?').get('monitoring');
    expect(JSON.stringify(row)).not.toContain(token);
  });
});

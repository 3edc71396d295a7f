/**
 * The email servers' repository on both engines: settings stored and read
 * back through one mapping, secrets sealed and opened only on request, one
 * default server (also when several writers change it at once), the revision
 * a running relay polls, and an identity (tenant, client, cloud, sign-in and
 * sending path) that owns its tokens: changing any part of it, from the store
 * or the CLI, clears the tokens and the authorization; other changes keep them.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands.js';
import type { Store } from '../../src/store/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import type { EmailServer } from '../../src/store/servers.js';
import { createTestCertificate, type TestCertificate } from '../emulator/index.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer } from '../helpers/fixture.js';

const T0 = Date.parse('2030-06-01T12:00:00Z');

let certificate: TestCertificate;
beforeAll(async () => {
  certificate = await createTestCertificate({ commonName: 'store' });
});

const defaults = async (store: Store): Promise<string[]> => (await store.servers.list()).filter((s) => s.isDefault).map((s) => s.name);

describe.each(ENGINES)('%s', (engine) => {
  let es: EngineStore;
  let store: Store;
  let clock: number;
  beforeEach(async () => {
    clock = T0;
    es = await openEngineStore(engine, () => clock);
    store = es.store;
  });
  afterEach(() => es.cleanup());

  async function authorizedOffice365(): Promise<number> {
    const { id } = await store.servers.add(
      plainServer({
        name: 'o365',
        method: 'office365',
        tenantId: 'contoso.onmicrosoft.com',
        clientId: 'c1',
        mailbox: 'relay@contoso.test',
      }),
    );
    await store.tokenCaches.save(id, '{"cache":true}');
    await store.servers.setStatus(id, { status: 'authorized', account: 'relay@contoso.test', refreshedAt: 1_000 });
    return id;
  }

  describe('email server identity', () => {
    it.each(['tenantId', 'clientId', 'cloud', 'signInMode', 'sendVia', 'graphEndpoint'] as const)(
      'changing %s clears the tokens and the authorization',
      async (key) => {
        const id = await authorizedOffice365();
        const value = {
          tenantId: 'fabrikam.onmicrosoft.com',
          clientId: 'c2',
          cloud: 'usgov',
          signInMode: 'authorize',
          sendVia: 'graph',
          graphEndpoint: 'https://graph.example',
        }[key];
        await store.servers.update(id, { [key]: value });
        expect(await store.tokenCaches.load(id)).toBeNull();
        expect(await store.servers.get(id)).toMatchObject({
          status: 'not_authorized',
          statusAt: null,
          authorizedAccount: null,
          tokenRefreshedAt: null,
          [key]: value,
        });
      },
    );

    it('keeps the authorization when another setting changes, or the identity is saved unchanged', async () => {
      const id = await authorizedOffice365();
      await store.servers.update(id, { port: 25, clientId: 'c1' });
      expect(await store.tokenCaches.load(id)).toBe('{"cache":true}');
      expect(await store.servers.get(id)).toMatchObject({ status: 'authorized', authorizedAccount: 'relay@contoso.test' });
    });

    it('keeps the tokens of a server that does not sign in to Office 365', async () => {
      const { id } = await store.servers.add(plainServer({ method: 'password', username: 'relay', password: 'a password of some length' }));
      await store.tokenCaches.save(id, '{"cache":true}');
      await store.servers.update(id, { tenantId: 'fabrikam.onmicrosoft.com' });
      expect(await store.tokenCaches.load(id)).toBe('{"cache":true}');
    });

    it('clears them when the CLI changes the client ID too', async () => {
      const id = await authorizedOffice365();
      await runCommand(store, 'server', ['set', 'o365', '--client-id', '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94'], () => undefined);
      expect(await store.tokenCaches.load(id)).toBeNull();
      expect((await store.servers.get(id))?.status).toBe('not_authorized');
    });
  });

  describe('settings', () => {
    it('reads back every setting as it was added, with the times and a first revision', async () => {
      const settings = plainServer({
        name: 'Smarthost 1',
        method: 'office365',
        tenantId: 'contoso.onmicrosoft.com',
        clientId: '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94',
        clientSecretExpires: '2031-01-31',
        cloud: 'custom',
        authorityHost: 'https://login.example',
        smtpResource: 'https://outlook.example',
        sendVia: 'graph',
        graphEndpoint: 'https://graph.example',
        mailbox: 'relay@contoso.test',
        maxConnections: 7,
        messagesPerMinute: 120,
        recipientsPerDay: 5_000,
        graphRequestsAtOnce: 2,
        fromHandling: 'rewrite',
        sendAs: ['sales@contoso.test', 'billing@contoso.test'],
        bounceNotices: 'off',
        delayNotices: 'on',
      });
      const added = await store.servers.add(settings);
      const { clientSecret: _secret, clientCertificate: _certificate, password: _password, ...visible } = settings;
      expect(added).toEqual({
        ...visible,
        id: added.id,
        isDefault: true,
        hasClientSecret: false,
        hasPassword: false,
        hasClientCertificate: false,
        clientCertificateThumbprint: null,
        clientCertificateExpiresAt: null,
        status: 'not_authorized',
        statusCode: null,
        statusMessage: null,
        statusHint: null,
        statusAt: null,
        authorizedAccount: null,
        tokenRefreshedAt: null,
        revision: 1,
      } satisfies EmailServer);
      expect(await store.servers.get(added.id)).toEqual(added);
    });

    it('stores an empty Send As list as none, and reads it back empty', async () => {
      const { id } = await store.servers.add(plainServer({ sendAs: ['sales@contoso.test'] }));
      expect((await store.servers.update(id, { sendAs: [] })).sendAs).toEqual([]);
      expect((await store.servers.get(id))?.sendAs).toEqual([]);
    });

    it('lists servers in the order they were added, and finds one by name in any case', async () => {
      await store.servers.add(plainServer({ name: 'Bravo' }));
      await store.servers.add(plainServer({ name: 'alpha' }));
      expect((await store.servers.list()).map((s) => s.name)).toEqual(['Bravo', 'alpha']);
      expect((await store.servers.findByName('bravo'))?.name).toBe('Bravo');
      expect((await store.servers.findByName('ALPHA'))?.name).toBe('alpha');
      expect(await store.servers.findByName('charlie')).toBeUndefined();
      expect(await store.servers.get(999)).toBeUndefined();
    });

    it('refuses a second server whose name differs only in case', async () => {
      await store.servers.add(plainServer({ name: 'Smarthost' }));
      await expect(store.servers.add(plainServer({ name: 'SMARTHOST' }))).rejects.toThrow();
      expect(await store.servers.list()).toHaveLength(1);
    });

    it('bumps the revision on every update, also an empty one, and lists the revisions by id', async () => {
      const a = await store.servers.add(plainServer({ name: 'a' }));
      const b = await store.servers.add(plainServer({ name: 'b' }));
      clock = T0 + 1_000;
      expect((await store.servers.update(a.id, { port: 2525 })).revision).toBe(2);
      expect((await store.servers.update(a.id, {})).revision).toBe(3);
      expect(await store.servers.revisions()).toEqual(
        new Map([
          [a.id, 3],
          [b.id, 1],
        ]),
      );
    });

    it('refuses to update or remove a server that does not exist', async () => {
      await expect(store.servers.update(42, { port: 25 })).rejects.toThrow('no email server with id 42');
      await expect(store.servers.remove(42)).rejects.toThrow('no email server with id 42');
    });

    it('records a status, keeping the account and the refresh time unless given', async () => {
      const { id } = await store.servers.add(plainServer());
      clock = T0 + 5_000;
      await store.servers.setStatus(id, { status: 'authorized', account: 'relay@contoso.test', refreshedAt: T0 + 4_000 });
      clock = T0 + 9_000;
      await store.servers.setStatus(id, { status: 'error', code: 'AADSTS50076', message: 'MFA required', hint: 'Sign in again.' });
      expect(await store.servers.get(id)).toMatchObject({
        status: 'error',
        statusCode: 'AADSTS50076',
        statusMessage: 'MFA required',
        statusHint: 'Sign in again.',
        statusAt: T0 + 9_000,
        authorizedAccount: 'relay@contoso.test',
        tokenRefreshedAt: T0 + 4_000,
        revision: 1,
      });
      await store.servers.setStatus(id, { status: 'authorized' });
      expect(await store.servers.get(id)).toMatchObject({ status: 'authorized', statusCode: null, statusMessage: null, statusHint: null });
    });
  });

  describe('secrets', () => {
    it('keeps the client secret and password sealed, opened only on request, and clears them with null', async () => {
      const { id } = await store.servers.add(
        plainServer({ method: 'office365', clientSecret: 'the client secret value', password: 'a password of some length' }),
      );
      const server = await store.servers.get(id);
      expect(server).toMatchObject({ hasClientSecret: true, hasPassword: true, hasClientCertificate: false });
      expect(JSON.stringify(server)).not.toContain('the client secret value');
      expect(await store.servers.clientSecret(id)).toBe('the client secret value');
      expect(await store.servers.password(id)).toBe('a password of some length');
      // Sealed with the store's key: another key does not open them.
      expect(await store.keyCheck.verdict()).toBe('opens');
      expect(await store.keyCheck.verdict(createSecretBox(Buffer.from('cd'.repeat(32), 'hex')))).toBe('wrong');

      await store.servers.update(id, { clientSecret: null, password: '' });
      expect(await store.servers.get(id)).toMatchObject({ hasClientSecret: false, hasPassword: false });
      expect(await store.servers.clientSecret(id)).toBeNull();
      expect(await store.servers.password(id)).toBeNull();
      expect(await store.servers.clientCertificate(999)).toBeNull();
    });

    it('keeps a client certificate sealed, with its thumbprint and expiry in the clear', async () => {
      const pem = `${certificate.certPem}${certificate.keyPem}`;
      const { id } = await store.servers.add(plainServer({ method: 'office365', clientCertificate: pem }));
      expect(await store.servers.get(id)).toMatchObject({
        hasClientCertificate: true,
        clientCertificateThumbprint: certificate.thumbprintSha256,
        clientCertificateExpiresAt: certificate.notAfter.getTime(),
      });
      expect(await store.servers.clientCertificate(id)).toBe(pem);

      await expect(store.servers.update(id, { clientCertificate: certificate.certPem })).rejects.toThrow(
        /^Office 365 Client Certificate: /,
      );
      expect(await store.servers.clientCertificate(id)).toBe(pem);

      await store.servers.update(id, { clientCertificate: null });
      expect(await store.servers.get(id)).toMatchObject({
        hasClientCertificate: false,
        clientCertificateThumbprint: null,
        clientCertificateExpiresAt: null,
      });
      expect(await store.servers.clientCertificate(id)).toBeNull();
    });
  });

  describe('the default server', () => {
    it('is the first server added, or one added or updated as the default, without bumping revisions', async () => {
      expect(await store.servers.getDefault()).toBeUndefined();
      const a = await store.servers.add(plainServer({ name: 'a' }));
      const b = await store.servers.add(plainServer({ name: 'b' }));
      expect([a.isDefault, b.isDefault]).toEqual([true, false]);
      expect((await store.servers.getDefault())?.name).toBe('a');

      const c = await store.servers.add(plainServer({ name: 'c' }), true);
      expect(c.isDefault).toBe(true);
      expect(await defaults(store)).toEqual(['c']);

      expect((await store.servers.update(b.id, {}, true)).isDefault).toBe(true);
      expect(await defaults(store)).toEqual(['b']);
      expect((await store.servers.get(c.id))?.revision).toBe(1);
    });

    it('passes to the oldest remaining server when the default is removed, and is none without servers', async () => {
      const a = await store.servers.add(plainServer({ name: 'a' }));
      const b = await store.servers.add(plainServer({ name: 'b' }));
      const c = await store.servers.add(plainServer({ name: 'c' }), true);
      await store.servers.remove(a.id);
      expect(await defaults(store)).toEqual(['c']);
      await store.servers.remove(c.id);
      expect(await defaults(store)).toEqual(['b']);
      await store.servers.remove(b.id);
      expect(await store.servers.getDefault()).toBeUndefined();
    });

    // Each race runs several rounds: the first ones also open the pool's connections, which spaces them out.
    it('stays one when several servers are made the default at once', async () => {
      const ids: number[] = [];
      for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) ids.push((await store.servers.add(plainServer({ name }))).id);
      for (let round = 0; round < 5; round++) {
        await Promise.all([
          ...ids.map((id) => store.servers.update(id, { port: 2525 }, true)),
          store.servers.add(plainServer({ name: `g${round}` }), true),
        ]);
        expect(await defaults(store)).toHaveLength(1);
      }
    });

    it('is exactly one of several servers added at once to an empty store', async () => {
      for (let round = 0; round < 5; round++) {
        await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((name) => store.servers.add(plainServer({ name }))));
        expect(await defaults(store)).toHaveLength(1);
        for (const { id } of await store.servers.list()) await store.servers.remove(id);
      }
    });

    it('is still one when the default is removed while another server is added', async () => {
      let last = await store.servers.add(plainServer({ name: 'first' }));
      for (let round = 0; round < 5; round++) {
        const [, added] = await Promise.all([store.servers.remove(last.id), store.servers.add(plainServer({ name: `next${round}` }))]);
        expect(await defaults(store)).toEqual([added.name]);
        last = added;
      }
    });
  });
});

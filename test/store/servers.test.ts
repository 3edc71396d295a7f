/**
 * An email server's identity (tenant, client, cloud, sign-in and sending
 * path) owns its tokens: changing any part of it, from the store or the CLI,
 * clears the tokens and the authorization; other changes keep them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
beforeEach(() => {
  fx = createFixture();
});
afterEach(() => fx.cleanup());

async function authorizedOffice365(): Promise<number> {
  const { id } = await fx.store.servers.add(
    plainServer({ name: 'o365', method: 'office365', tenantId: 'contoso.onmicrosoft.com', clientId: 'c1', mailbox: 'relay@contoso.test' }),
  );
  await fx.store.tokenCaches.save(id, '{"cache":true}');
  await fx.store.servers.setStatus(id, { status: 'authorized', account: 'relay@contoso.test', refreshedAt: 1_000 });
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
      await fx.store.servers.update(id, { [key]: value });
      expect(await fx.store.tokenCaches.load(id)).toBeNull();
      expect(await fx.store.servers.get(id)).toMatchObject({ status: 'not_authorized', authorizedAccount: null, tokenRefreshedAt: null });
    },
  );

  it('keeps the authorization when another setting changes, or the identity is saved unchanged', async () => {
    const id = await authorizedOffice365();
    await fx.store.servers.update(id, { port: 25, clientId: 'c1' });
    expect(await fx.store.tokenCaches.load(id)).toBe('{"cache":true}');
    expect(await fx.store.servers.get(id)).toMatchObject({ status: 'authorized', authorizedAccount: 'relay@contoso.test' });
  });

  it('clears them when the CLI changes the client ID too', async () => {
    const id = await authorizedOffice365();
    await runCommand(fx.store, 'server', ['set', 'o365', '--client-id', '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94'], () => undefined);
    expect(await fx.store.tokenCaches.load(id)).toBeNull();
    expect((await fx.store.servers.get(id))?.status).toBe('not_authorized');
  });
});

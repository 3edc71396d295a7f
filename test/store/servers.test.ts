import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
beforeEach(() => {
  fx = createFixture();
});
afterEach(() => fx.cleanup());

function authorizedOffice365(): number {
  const { id } = fx.store.sync.servers.add(
    plainServer({ name: 'o365', method: 'office365', tenantId: 'contoso.onmicrosoft.com', clientId: 'c1', mailbox: 'relay@contoso.test' }),
  );
  fx.store.sync.tokenCaches.save(id, '{"cache":true}');
  fx.store.sync.servers.setStatus(id, { status: 'authorized', account: 'relay@contoso.test', refreshedAt: 1_000 });
  return id;
}

describe('email server identity', () => {
  it.each(['tenantId', 'clientId', 'cloud', 'signInMode', 'sendVia', 'graphEndpoint'] as const)(
    'changing %s clears the tokens and the authorization',
    (key) => {
      const id = authorizedOffice365();
      const value = {
        tenantId: 'fabrikam.onmicrosoft.com',
        clientId: 'c2',
        cloud: 'usgov',
        signInMode: 'authorize',
        sendVia: 'graph',
        graphEndpoint: 'https://graph.example',
      }[key];
      fx.store.sync.servers.update(id, { [key]: value });
      expect(fx.store.sync.tokenCaches.load(id)).toBeNull();
      expect(fx.store.sync.servers.get(id)).toMatchObject({ status: 'not_authorized', authorizedAccount: null, tokenRefreshedAt: null });
    },
  );

  it('keeps the authorization when another setting changes, or the identity is saved unchanged', () => {
    const id = authorizedOffice365();
    fx.store.sync.servers.update(id, { port: 25, clientId: 'c1' });
    expect(fx.store.sync.tokenCaches.load(id)).toBe('{"cache":true}');
    expect(fx.store.sync.servers.get(id)).toMatchObject({ status: 'authorized', authorizedAccount: 'relay@contoso.test' });
  });

  it('clears them when the CLI changes the client ID too', async () => {
    const id = authorizedOffice365();
    await runCommand(fx.store, 'server', ['set', 'o365', '--client-id', '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94'], () => undefined);
    expect(fx.store.sync.tokenCaches.load(id)).toBeNull();
    expect(fx.store.sync.servers.get(id)?.status).toBe('not_authorized');
  });
});

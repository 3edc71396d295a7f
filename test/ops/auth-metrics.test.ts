import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics, type StoreSample } from '../../src/metrics.js';
import { createRelayAuth } from '../../src/relay/relay-auth.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { parseExposition, valueOf } from './exposition.js';

const EMPTY: StoreSample = { queue: [], oldestWaitingSeconds: 0, spoolBytes: 0, databaseBytes: 0, servers: [], secretExpiries: [], certificateExpiries: [] };

let fx: Fixture;
afterEach(() => fx.cleanup());

describe('SMTP AUTH metrics', () => {
  it('counts failed logins by reason and the lockout they lead to', async () => {
    fx = createFixture();
    const server = fx.store.sync.servers.add(plainServer());
    fx.store.sync.relayUsers.add({ name: 'scanner', passwordHash: await hashPassword('right password'), serverId: server.id, allowFrom: [] });
    const metrics = createMetrics({ version: '0.0.0-test', nodeVersion: process.version, instanceId: 'relay-test' });
    const auth = createRelayAuth({ store: fx.store, log: silentLogger, now: Date.now, metrics });
    const refused = (username: string, password: string) =>
      auth.login('192.0.2.7', username, password).then(
        () => false,
        () => true,
      );

    expect(await refused('nobody', 'x')).toBe(true);
    // Five failures within ten minutes lock the address out (README, Brute force).
    for (let i = 0; i < 4; i++) expect(await refused('scanner', `wrong ${i}`)).toBe(true);
    expect(await refused('scanner', 'right password')).toBe(true);

    const m = parseExposition(await metrics.render(EMPTY));
    expect(valueOf(m, 'relay365_smtp_auth_failures_total', { reason: 'unknown_user' })).toBe(1);
    expect(valueOf(m, 'relay365_smtp_auth_failures_total', { reason: 'wrong_password' })).toBe(4);
    expect(valueOf(m, 'relay365_smtp_auth_failures_total', { reason: 'locked_out' })).toBe(1);
    expect(valueOf(m, 'relay365_smtp_auth_lockouts_total')).toBe(1);
  });
});

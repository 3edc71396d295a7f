// Every time the command line prints reads as the panel shows it: `2030-05-01 10:00:00 UTC`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';
import { runInProcess } from '../helpers/cli.js';

const T0 = Date.parse('2030-05-01T10:00:00Z');
const SHOWN = '2030-05-01 10:00:00 UTC';

let fx: Fixture;
beforeEach(() => {
  fx = createFixture();
});
afterEach(() => fx.cleanup());

const run = async (command: string, ...args: string[]): Promise<string> => (await runInProcess(fx, command, ...args)).join('\n');

describe('times on the command line', () => {
  it('shows when a message came in, its next attempt, its end and its events as the panel does', async () => {
    const server = fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    fx.store.sync.queue.insert([queuedMessage('MXC4B99K09DB1DFEC812', server.id, { receivedAt: T0, expiresAt: T0 + 86_400_000 })]);
    fx.store.sync.queue.addEvent('MXC4B99K09DB1DFEC812', server.id, 'released', 'retried', T0 + 61_000);

    expect(await run('queue', 'list')).toMatch(/^MXC4B99K09DB1DFEC812 2030-05-01 10:00:00 UTC queued /);
    const shown = await run('queue', 'show', 'MXC4B99K09DB1DFEC812');
    expect(shown).toContain(`received ${SHOWN} from 127.0.0.1`);
    expect(shown).toContain('gives up 2030-05-02 10:00:00 UTC');
    expect(shown).toContain('    2030-05-01 10:01:01 UTC released: retried');
  });

  it('shows when an authorized server last refreshed its token', async () => {
    const server = fx.store.sync.servers.add(plainServer({ name: 'office365' }));
    fx.store.sync.servers.setStatus(server.id, { status: 'authorized', account: 'relay@contoso.test', refreshedAt: T0 });
    expect(await run('server', 'list')).toContain(`Authorized as relay@contoso.test, token refreshed ${SHOWN}`);
  });

  it('shows when an API token was created and last used', async () => {
    const { token } = fx.store.sync.apiTokens.add({ name: 'provisioning', scope: 'read' });
    fx.store.sync.apiTokens.authenticate(token, T0);
    expect(await run('api-token', 'list')).toMatch(/, created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, last used 2030-05-01 10:00:00 UTC$/);
  });
});

/**
 * Membership of the store's cluster, on both engines: a second instance is
 * refused while a first one beats, admitted once the first stopped or its
 * heartbeat went stale, and the same instance may restart at once after a
 * crash. `cluster status` reports each member's state.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLUSTER_COMMAND } from '../../src/cli/cluster-commands.js';
import { ClusterError, HEARTBEAT_MS, joinCluster, MEMBER_STALE_MS, type Membership } from '../../src/cluster/membership.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';

let opened: EngineStore | null = null;
// Heartbeats run on fake timers: a member left running never beats into a closed store.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
});
afterEach(async () => {
  vi.useRealTimers();
  await opened?.cleanup();
  opened = null;
});

describe.each(ENGINES)('cluster membership (%s)', (engine) => {
  let clock = 1_000_000;
  const now = (): number => clock;
  const join = (store: EngineStore['store'], instanceId: string): Promise<Membership> =>
    joinCluster({ store, instanceId, version: '1.2.3', onError: (err) => expect.fail(String(err)), now });

  it('refuses a second instance while the first beats, and names it', async () => {
    opened = await openEngineStore(engine);
    const { store } = opened;
    await join(store, 'relay-a');
    clock += MEMBER_STALE_MS - 1;
    await store.instances.heartbeat('relay-a', clock);
    clock += MEMBER_STALE_MS - 1;
    const refused = join(store, 'relay-b');
    await expect(refused).rejects.toBeInstanceOf(ClusterError);
    await expect(refused).rejects.toThrow(/^relay365 instance relay-a already runs on this database \(last heartbeat 30 s ago\)/);
    // The refused instance is not left looking alive.
    expect((await store.instances.list()).map((m) => [m.id, m.stoppedAt !== null])).toEqual([
      ['relay-b', true],
      ['relay-a', false],
    ]);
  });

  it('admits another instance once the first stopped, or died and went stale; the same id restarts at once', async () => {
    opened = await openEngineStore(engine);
    const { store } = opened;
    const first = await join(store, 'relay-a');
    await first.leave();
    // relay-b then dies without leaving: the same id comes back at once, another only after the stale time.
    await join(store, 'relay-b');
    await join(store, 'relay-b');
    await expect(join(store, 'relay-c')).rejects.toBeInstanceOf(ClusterError);
    clock += MEMBER_STALE_MS + 1;
    await expect(join(store, 'relay-c')).resolves.toBeDefined();
  });

  it('beats while it runs, and cluster status tells running, stopped and gone apart', async () => {
    opened = await openEngineStore(engine);
    const { store } = opened;
    const a = await join(store, 'relay-a');
    await a.leave();
    clock += 1_000;
    await join(store, 'relay-b');
    clock += HEARTBEAT_MS;
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS);
    await vi.waitFor(async () => expect((await store.instances.list())[0]?.heartbeatAt).toBe(clock));
    clock += 2_000;
    const lines: string[] = [];
    await CLUSTER_COMMAND.run({ store, print: (line) => lines.push(line), now }, ['status']);
    expect(lines).toEqual([
      expect.stringMatching(/^relay-b: running, relay365 1\.2\.3, started .+, last heartbeat 2 s ago, delivering 0$/),
      expect.stringMatching(/^relay-a: stopped, relay365 1\.2\.3, started .+, stopped .+, delivering 0$/),
    ]);
    clock += MEMBER_STALE_MS + 1;
    const json: string[] = [];
    await CLUSTER_COMMAND.run({ store, print: (line) => json.push(line), now }, ['status', '--json']);
    expect((JSON.parse(json.join('')) as { id: string; state: string }[]).map((m) => [m.id, m.state])).toEqual([
      ['relay-b', 'gone'],
      ['relay-a', 'stopped'],
    ]);
  });
});

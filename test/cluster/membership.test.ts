/**
 * Membership of the store's cluster, on both engines: any number of
 * instances join, the same instance restarts after a crash once its old
 * heartbeat fails to come, a second process with a live instance's id is
 * refused, and `cluster status` reports each member's state.
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
  const deps = (store: EngineStore['store'], instanceId: string) => ({
    store,
    instanceId,
    version: '1.2.3',
    onError: (err: unknown) => expect.fail(String(err)),
    now,
  });
  const join = (store: EngineStore['store'], instanceId: string): Promise<Membership> => joinCluster(deps(store, instanceId));

  it('admits any number of instances, each telling who else runs', async () => {
    opened = await openEngineStore(engine);
    const { store } = opened;
    expect((await join(store, 'relay-a')).others).toEqual([]);
    clock += 1_000;
    expect((await join(store, 'relay-b')).others).toEqual(['relay-a']);
    clock += MEMBER_STALE_MS + 1;
    // relay-a and relay-b stopped beating: gone.
    expect((await join(store, 'relay-c')).others).toEqual([]);
  });

  it('restarts with its own id after a crash, once a heartbeat it did not write fails to come', async () => {
    opened = await openEngineStore(engine);
    const { store } = opened;
    await join(store, 'relay-a');
    clock += 2_000;
    const pauses: number[] = [];
    const restarted = await joinCluster({ ...deps(store, 'relay-a'), pause: (ms) => (pauses.push(ms), (clock += ms), Promise.resolve()) });
    expect(pauses).toEqual([HEARTBEAT_MS + 1_000 - 2_000]);
    expect(restarted.others).toEqual([]);
  });

  it('refuses a second process with the id of an instance that beats on', async () => {
    opened = await openEngineStore(engine);
    const { store } = opened;
    await join(store, 'relay-a');
    // The first process beats while the second one waits.
    const beat = async (ms: number): Promise<void> => {
      clock += ms;
      await store.instances.heartbeat('relay-a', clock);
    };
    const second = joinCluster({ ...deps(store, 'relay-a'), pause: beat });
    await expect(second).rejects.toBeInstanceOf(ClusterError);
    await expect(second).rejects.toThrow(
      'another relay365 process runs as instance relay-a on this database (last heartbeat 0 s ago): give each instance its own RELAY365_INSTANCE_ID',
    );
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

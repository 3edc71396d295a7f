/**
 * The PostgreSQL figures of a cluster: two relay365 processes (instances
 * relay-a and relay-b) on one database. Durable acceptance with the bench
 * client's 20 clients split over them (10 on each, half the messages each),
 * end-to-end delivery of a burst sent half to each, and failover: while a
 * burst sent half to each drains, the instance delivering for the mailbox is
 * killed (SIGKILL), and the figures are how soon the other one takes over
 * (the dead one's lease on the mailbox runs out after 30 s), how soon it has
 * delivered everything acknowledged (the dead one's claims are queued again
 * once their 60 s leases run out) and how many messages arrived twice.
 */
import { startEmulator, SEED, type Emulator } from '../test/emulator/index.js';
import { burst, killLaneHolder } from '../test/helpers/cluster.js';
import type { RelayProcess } from '../test/helpers/relay-process.js';
import type { StoreSlice } from '../src/store/index.js';
import { concurrentAcceptFigures } from './accept-figures.js';
import { endToEndFigures } from './end-to-end.js';
import { makeBody, runSplitLoad } from './smtp-load.js';

const LABEL = ' on PostgreSQL, two instances';
const INSTANCES = ['relay-a', 'relay-b'];

/** What the PostgreSQL bench lends the cluster's figures: fresh databases on its server, and relay365 processes on them. */
export interface PostgresBench {
  /**
   * A new database with relay365's schema whose one email server is the emulator `upstream`, or
   * (null) an upstream nobody listens on: its URL, and a store on it.
   */
  database(name: string, upstream: Emulator | null): Promise<{ url: string; store: StoreSlice<{ leases: 'list' }> }>;
  /** Starts relay365 on the database at `url`, as instance `id`, with a data folder of its own. */
  start(url: string, id?: string): Promise<RelayProcess>;
}

/** Runs `figures` with the two instances started on the database at `url`, stopping them after. */
async function withInstances(
  bench: PostgresBench,
  url: string,
  figures: (relays: Map<string, RelayProcess>) => Promise<void>,
): Promise<void> {
  const relays = new Map<string, RelayProcess>();
  try {
    for (const id of INSTANCES) relays.set(id, await bench.start(url, id));
    await figures(relays);
  } finally {
    await Promise.all([...relays.values()].map((relay) => relay.stop()));
  }
}

const portsOf = (relays: Map<string, RelayProcess>): number[] => [...relays.values()].map((relay) => relay.smtpPort);

/** Runs `figures` against a fresh emulator, whose counts (arrivals, peak sessions) are then this figure's alone. */
async function withEmulator(figures: (emu: Emulator) => Promise<void>): Promise<void> {
  const emu = await startEmulator();
  try {
    await figures(emu);
  } finally {
    await emu.close();
  }
}

/** Prints the two-instance figures: `total` messages for acceptance, `e2e` end to end, `failover` in the failover. */
export async function benchCluster(
  bench: PostgresBench,
  { total, e2e, failover }: { total: number; e2e: number; failover: number },
): Promise<void> {
  const accept = await bench.database('cluster_accept', null);
  await withInstances(bench, accept.url, async (relays) => {
    await runSplitLoad(portsOf(relays), { clients: 20, total: 200, body: makeBody(2048), reuse: true }); // warm-up
    await concurrentAcceptFigures(portsOf(relays), total, LABEL);
  });

  await withEmulator(async (emu) => {
    const { url } = await bench.database('cluster_e2e', emu);
    await withInstances(bench, url, (relays) => endToEndFigures(emu, portsOf(relays), e2e, LABEL));
  });

  await withEmulator(async (emu) => {
    const { url, store } = await bench.database('cluster_failover', emu);
    await withInstances(bench, url, async (relays) => {
      const [a, b] = portsOf(relays) as [number, number];
      const half = Math.floor(failover / 2);
      const ids = (await Promise.all([burst(a, half, 'a', 2048), burst(b, failover - half, 'b', 2048)])).flat();
      const f = await killLaneHolder(emu, store, relays, ids, { timeoutMs: 300_000 });
      const after = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'never');
      console.log(
        `failover${LABEL}: ${ids.length} messages of 2 KB sent half to each; ${f.killed}, delivering for the mailbox, killed (SIGKILL) with ${f.left} of them undelivered; ` +
          `the other instance's first delivery ${after(f.firstDeliveryMs)} after the kill, everything acknowledged delivered ${after(f.allDeliveredMs)} after it; ` +
          `${f.twice} message(s) arrived twice; at most ${emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox) ?? 0} sessions at once at the mailbox`,
      );
    });
  });
}

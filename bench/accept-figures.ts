/**
 * The acceptance figures every store engine's bench prints: the bench
 * client's throughput and DATA end -> 250 latency with one connection per
 * message and with reused connections (against one relay, or split over the
 * instances of a cluster), one sequential client, and the peak memory of 10
 * clients sending 30 MB each.
 */
import type { RelayProcess } from '../test/helpers/relay-process.js';
import { latencyFigures, makeBody, percentile, runLoad, runSplitLoad } from './smtp-load.js';

const MB = 1024 * 1024;

/**
 * Prints the bench client's figures for 20 clients sending `total` 2 KB messages, split evenly over
 * the relays at `ports`, with one connection per message and with reused connections.
 */
export async function concurrentAcceptFigures(ports: readonly number[], total: number, label = ''): Promise<void> {
  const body = makeBody(2048);
  for (const reuse of [false, true]) {
    const r = await runSplitLoad(ports, { clients: 20, total, body, reuse });
    console.log(
      `accept${label} (bench client), 20 clients, 2 KB, ${reuse ? 'reused connections' : 'one connection per message'}: ` +
        `${(r.messages / r.seconds).toFixed(0)} messages/s durable; DATA end -> 250 ${latencyFigures(r)}`,
    );
  }
}

/** Prints the bench client's figures for 20 clients sending `total` 2 KB messages, then one sequential client's. */
export async function acceptFigures(port: number, total: number, label = ''): Promise<void> {
  await concurrentAcceptFigures([port], total, label);
  const body = makeBody(2048);
  const seq = await runLoad(port, { clients: 1, total: 1000, body, reuse: true });
  console.log(
    `one sequential client${label}, 2 KB, reused connection: ${((seq.seconds * 1000) / seq.messages).toFixed(2)} ms per message (p50 DATA end -> 250 ${percentile(seq.latencies, 50).toFixed(2)} ms)`,
  );
}

/** Starts a relay with `start` and prints its peak memory while 10 clients send 30 MB each; stops it. */
export async function bigMessageFigures(start: () => Promise<RelayProcess>, label = ''): Promise<void> {
  const big = await start();
  const before = big.memory().rss;
  const r30 = await runLoad(big.smtpPort, { clients: 10, total: 10, body: makeBody(30 * 1000 * 1000), reuse: false });
  const { peak } = big.memory();
  console.log(
    `10 clients x 30 MB${label}: peak RSS ${(peak / MB).toFixed(0)} MiB (${(before / MB).toFixed(0)} MiB before, +${((peak - before) / MB).toFixed(0)} MiB), ${r30.seconds.toFixed(1)} s`,
  );
  await big.stop();
}

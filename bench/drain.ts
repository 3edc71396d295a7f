/**
 * Accepting while a burst drains: relay365 (a child process) delivers a
 * burst to the Microsoft 365 emulator (in the bench's process) while new mail
 * keeps arriving from the load generator (a third process); the
 * figures are the acceptance throughput and DATA end -> 250 latency during
 * the drain, next to the same relay's figures before the burst.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createStore } from '../src/store/index.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { EMULATOR_CA_PATH, SEED, startEmulator } from '../test/emulator/index.js';
import { emulatorServer } from '../test/helpers/office365.js';
import { startRelay } from '../test/helpers/relay-process.js';
import { BENCH_RELAY } from './relay-options.js';
import { runLoadInChild } from './load-process.js';
import { latencyFigures, type LoadResult } from './smtp-load.js';

const KEY = 'cd'.repeat(32);
/** Messages added to the idle phase's ones before the measured load. */
const BURST = Number(process.env.BENCH_BURST ?? 1_000);
const MEASURED = 2_000;
/** The paced phases offer this many messages a second: a busy relay's load, below saturation. */
const PACED_RATE = Number(process.env.BENCH_PACED_RATE ?? 200);
const PACED = PACED_RATE * 5;

const rate = (r: LoadResult): number => r.messages / r.seconds;
const figures = (r: LoadResult): string => `${rate(r).toFixed(0)} messages/s, DATA end -> 250 ${latencyFigures(r)}`;

/** Prints acceptance before and during the drain of a burst. */
export async function benchDrain(env: (dir: string) => NodeJS.ProcessEnv): Promise<void> {
  const emu = await startEmulator();
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-bench-drain-'));
  try {
    // Idle first: one delivery a minute. The burst's drain starts when the limit is lifted. The load
    // generator sends as app@bench.test, which Exchange refuses from this mailbox unless rewritten.
    const store = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
    const server = store.sync.servers.add(emulatorServer(emu, { name: 'bench', messagesPerMinute: 1, fromHandling: 'rewrite' }));
    const relay = await startRelay({ ...env(dir), RELAY365_SECRET_KEY: KEY, NODE_EXTRA_CA_CERTS: EMULATOR_CA_PATH }, BENCH_RELAY);
    const load = { clients: 20, bodySize: 2048, reuse: true } as const;
    const paced = { ...load, total: PACED, rate: PACED_RATE };
    let sent = 0;
    const run = async (options: Parameters<typeof runLoadInChild>[1]): Promise<LoadResult> => {
      const result = await runLoadInChild(relay.smtpPort, options);
      sent += result.messages;
      return result;
    };
    await run({ ...load, total: 200 });
    const idle = await run({ ...load, total: MEASURED });
    const idlePaced = await run(paced);
    // The relay picks up settings changed by another process within two seconds.
    store.sync.servers.update(server.id, { messagesPerMinute: 100_000 });
    await store.close();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await run({ ...load, total: BURST });
    const before = emu.exchange.messages.length;
    const waiting = sent - before;
    const during = await run({ ...load, total: MEASURED });
    const deliveredDuring = emu.exchange.messages.length - before;
    const beforePaced = emu.exchange.messages.length;
    const duringPaced = await run(paced);
    const deliveredPaced = emu.exchange.messages.length - beforePaced;
    const waitingAfter = sent - emu.exchange.messages.length;
    // The rest drains with nothing arriving: at full speed, without yielding to clients.
    const drainStart = performance.now();
    await emu.exchange.waitForMessages(sent, 300_000);
    const drainRate = waitingAfter / ((performance.now() - drainStart) / 1000);
    console.log(`accept with nothing to deliver, 20 clients, 2 KB, reused connections: ${figures(idle)}`);
    console.log(
      `accept while ${waiting} waiting messages drain to the emulator: ${figures(during)}; ` +
        `${((rate(during) / rate(idle)) * 100).toFixed(0)}% of the idle throughput; ${deliveredDuring} delivered meanwhile as ${SEED.mailbox}`,
    );
    console.log(
      `${PACED_RATE} messages/s offered, DATA end -> 250: with nothing to deliver ${latencyFigures(idlePaced)}; ` +
        `while draining ${latencyFigures(duringPaced)}, ${deliveredPaced} delivered meanwhile (${waitingAfter} still waiting at its end)`,
    );
    console.log(`the ${waitingAfter} left, with nothing arriving, drained at ${drainRate.toFixed(0)} messages/s`);
    await relay.stop();
  } finally {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * End-to-end delivery of a burst to the Microsoft 365 emulator, from one
 * relay365 or split over the instances of a cluster: how long the burst took
 * to be accepted and to be delivered, and the most sessions the mailbox had
 * open at once (Exchange allows 3 wherever they come from).
 */
import { SEED, type Emulator } from '../test/emulator/index.js';
import { makeBody, runSplitLoad } from './smtp-load.js';

/** Sends `total` 2 KB messages split evenly over the relays at `ports`, waits until `emu` has them all, prints the figures. */
export async function endToEndFigures(emu: Emulator, ports: readonly number[], total: number, label: string): Promise<void> {
  const started = performance.now();
  const accepted = await runSplitLoad(ports, { clients: 20, total, body: makeBody(2048), reuse: true });
  await emu.exchange.waitForMessages(total, 300_000);
  const seconds = (performance.now() - started) / 1000;
  const peak = emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox) ?? 0;
  console.log(
    `end to end${label}: ${total} messages of 2 KB accepted in ${accepted.seconds.toFixed(1)} s and delivered to the emulator in ${seconds.toFixed(1)} s ` +
      `(${(total / seconds).toFixed(0)} messages/s; at most ${peak} sessions at once at the mailbox, Exchange allows 3)`,
  );
}

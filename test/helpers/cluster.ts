/**
 * Two relay365 processes on one PostgreSQL database against the Microsoft
 * 365 emulator, as the cluster test and the benchmark drive them: bursts
 * whose queue IDs are known, counting arrivals by the queue ID in relay365's
 * Received: header, and killing the instance that delivers for the mailbox
 * mid-drain, with what the other instance then does, timed.
 */
import nodemailer from 'nodemailer';
import type { StoreSlice } from '../../src/store/index.js';
import { SEED, type Emulator, type ReceivedMessage } from '../emulator/index.js';
import type { RelayProcess } from './relay-process.js';

/** The lease an instance holds while it delivers the seeded mailbox's mail. */
export const MAILBOX_LANE = `lane:mailbox:${SEED.mailbox.toLowerCase()}`;

/** The instance holding `lease` now (or that held it last), if anyone took it. */
export async function leaseHolder(store: StoreSlice<{ leases: 'list' }>, lease: string): Promise<string | undefined> {
  return (await store.leases.list()).find((l) => l.name === lease)?.holder;
}

/**
 * Sends `count` messages of about `size` bytes from the seeded mailbox to `port` over 4 connections;
 * the queue IDs of those acknowledged.
 */
export async function burst(port: number, count: number, label: string, size = 20_000): Promise<string[]> {
  const client = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: 4 });
  const infos = await Promise.all(
    Array.from({ length: count }, (_, n) =>
      client.sendMail({
        envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] },
        raw: `From: ${SEED.mailbox}\r\nSubject: ${label} ${n}\r\n\r\n${'x'.repeat(size)}\r\n`,
      }),
    ),
  );
  client.close();
  return infos.map((info) => /queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string);
}

/** The queue ID relay365 wrote in its Received: header, which leads the message. */
const queueIdOf = (m: ReceivedMessage): string | undefined => / id ([0-9A-Z]+)/.exec(m.raw.subarray(0, 600).toString('latin1'))?.[1];

/** How many times each queue ID reached the emulator. */
export function arrivals(emu: Emulator): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of emu.exchange.messages.map(queueIdOf)) if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** Waits, without polling, until every one of `ids` reached the emulator; rejects at `deadline` (epoch ms). */
async function waitForAll(emu: Emulator, ids: readonly string[], deadline: number): Promise<void> {
  for (;;) {
    const arrived = arrivals(emu);
    const missing = ids.filter((id) => !arrived.has(id)).length;
    if (missing === 0) return;
    // At least `missing` more arrivals are needed; duplicates may make it take more rounds.
    await emu.exchange.waitForMessages(emu.exchange.messages.length + missing, Math.max(0, deadline - Date.now())).catch(() => {
      throw new Error(`${missing} acknowledged message(s) not delivered by the deadline`);
    });
  }
}

export interface Failover {
  /** The instance killed: the one that held the mailbox's lane. */
  killed: string;
  /** Acknowledged messages that had not arrived at the kill. */
  left: number;
  /**
   * Milliseconds from the kill to the first message accepted after the first sign-in that followed
   * it: the other instance's first delivery (the killed one signs in no more).
   */
  firstDeliveryMs: number;
  /** Milliseconds from the kill to the first arrival of the last of those `left` (0 when none was). */
  allDeliveredMs: number;
  /** Messages (queue IDs) that arrived more than once. */
  twice: number;
}

export interface FailoverOptions {
  /** Arrivals that show the drain under way; the kill waits for them (default 20). */
  underWay?: number;
  /** How long after the kill everything may take to arrive (default two minutes). */
  timeoutMs?: number;
}

/**
 * Mid-drain, SIGKILLs the instance in `instances` that holds the mailbox's lane (read through
 * `store`), then waits until everything in `ids` has arrived, and times what the other did.
 */
export async function killLaneHolder(
  emu: Emulator,
  store: StoreSlice<{ leases: 'list' }>,
  instances: ReadonlyMap<string, RelayProcess>,
  ids: readonly string[],
  { underWay = 20, timeoutMs = 120_000 }: FailoverOptions = {},
): Promise<Failover> {
  await emu.exchange.waitForMessages(underWay, 60_000);
  const killed = await leaseHolder(store, MAILBOX_LANE);
  const relay = killed === undefined ? undefined : instances.get(killed);
  if (killed === undefined || relay === undefined)
    throw new Error(`the mailbox's lane is held by ${killed ?? 'nobody'}, not by one of the instances`);
  await relay.kill();
  const killedAt = Date.now();
  const before = arrivals(emu);
  const left = ids.filter((id) => !before.has(id));
  await waitForAll(emu, left, killedAt + timeoutMs);

  const signedIn = emu.exchange.authAttempts.find((a) => a.ok && a.at >= killedAt)?.at ?? Infinity;
  const firstAfter = emu.exchange.messages.find((m) => m.receivedAt.getTime() >= signedIn);
  const firstArrival = new Map<string, number>();
  for (const m of emu.exchange.messages) {
    const id = queueIdOf(m);
    if (id && !firstArrival.has(id)) firstArrival.set(id, m.receivedAt.getTime());
  }
  return {
    killed,
    left: left.length,
    firstDeliveryMs: (firstAfter?.receivedAt.getTime() ?? NaN) - killedAt,
    allDeliveredMs: Math.max(killedAt, ...left.map((id) => firstArrival.get(id) ?? NaN)) - killedAt,
    twice: [...arrivals(emu).values()].filter((n) => n > 1).length,
  };
}

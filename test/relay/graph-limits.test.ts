/**
 * Graph Requests at Once through real sockets: the email servers of one app
 * (tenant and client ID) share its requests in flight across their mailboxes,
 * seen at the Microsoft 365 emulator, which would answer a fifth request of the
 * app 429 ApplicationThrottled. The emulator holds admitted requests in rounds,
 * so the relay's real concurrency shows (loopback answers are otherwise too
 * fast to overlap).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let signingKey: SigningKey;
let h: Harness;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(() => h.close());

const MAILBOXES = [SEED.mailbox, 'printers@contoso.test', 'scanners@contoso.test'];
/** Messages per mailbox. */
const EACH = 15;
/** Max Connections per server: well above the app budget, so only the app budget binds. */
const MAX_CONNECTIONS = 10;

/** A short message from `mailbox` (Graph refuses a From the mailbox may not send as). */
const messageFrom = (mailbox: string, n: number): string =>
  [
    `From: <${mailbox}>`,
    'To: alice@fabrikam.test',
    `Subject: ${mailbox} #${n}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain',
    '',
    'Hello.',
    '',
  ].join('\r\n');

/** Three servers of the seeded app, one per mailbox, each allowed MAX_CONNECTIONS; returns their IDs. */
async function threeServersOfOneApp(graphRequestsAtOnce?: number): Promise<number[]> {
  const limits = { sendVia: 'graph' as const, maxConnections: MAX_CONNECTIONS, ...(graphRequestsAtOnce ? { graphRequestsAtOnce } : {}) };
  h = await startHarness({ signingKey, sharedClock: { tickMs: 0 }, server: limits });
  for (const address of MAILBOXES.slice(1)) h.emu.directory.addUser(SEED.tenantId, { address, shared: true });
  return [h.serverId(), ...MAILBOXES.slice(1).map((mailbox) => h.addServer({ ...limits, mailbox }))];
}

/** Requests the emulator has not answered yet (held, or on their way). */
const unanswered = () => h.emu.graph.requests.filter((r) => r.status === 0);

/** What the emulator refused as over a limit: route, concurrency on arrival, code. */
const throttled = () =>
  h.emu.graph.requests.filter((r) => r.status === 429).map((r) => ({ route: r.route, concurrent: r.concurrent, code: r.code }));

/**
 * Queues EACH messages per server, then delivers them in rounds: each round the emulator holds the
 * requests it admits until as many as the relay may keep in flight (`limit`, or fewer near the
 * end) have arrived, and then answers them all. Returns how many rounds it took.
 */
async function deliverInRounds(ids: number[], limit: number): Promise<number> {
  const total = ids.length * EACH;
  const queued: string[] = [];
  let hold = h.emu.graph.holdRequests();
  try {
    for (let n = 0; n < EACH; n++) {
      for (const [i, id] of ids.entries()) queued.push(await h.enqueue(id, messageFrom(MAILBOXES[i] as string, n)));
    }
    let rounds = 0;
    while (h.emu.graph.messages.length < total) {
      rounds++;
      const due = Math.min(limit, total - h.emu.graph.messages.length);
      await waitFor(() => unanswered().length >= due || throttled().length > 0, `${due} requests held`);
      // Over the app's limit the emulator answers at once with 429 (and the relay then pauses).
      expect(throttled()).toEqual([]);
      // The relay's own count: every attempt it started has its request at the emulator.
      expect(h.relay.scheduler.inFlight()).toBeLessThanOrEqual(limit);
      const held = unanswered();
      hold.release();
      hold = h.emu.graph.holdRequests();
      await waitFor(() => held.every((r) => r.status !== 0), 'the held requests answered');
    }
    hold.release();
    await waitFor(() => queued.every((id) => h.fx.store.sync.queue.get(id)?.status === 'delivered'), 'all delivered');
    return rounds;
  } finally {
    hold.release();
  }
}

describe('Graph Requests at Once', () => {
  it('keeps at most 4 requests of one app in flight across its mailboxes, and Microsoft never throttles it', async () => {
    const ids = await threeServersOfOneApp();
    const rounds = await deliverInRounds(ids, 4);
    const requests = h.emu.graph.requests;
    expect(requests).toHaveLength(MAILBOXES.length * EACH);
    // The app's key at the emulator is its client ID (concurrency per app, across mailboxes).
    expect(h.emu.graph.peakConcurrencyByKey.get(SEED.clientId)).toBe(4);
    expect(Math.max(...requests.map((r) => r.concurrent))).toBe(4);
    expect(throttled()).toEqual([]);
    expect(requests.every((r) => r.status === 202 && r.clientId === SEED.clientId)).toBe(true);
    // Every mailbox sent all its mail, through its own server.
    for (const mailbox of MAILBOXES) expect(h.emu.graph.messages.filter((m) => m.mailbox === mailbox)).toHaveLength(EACH);
    // The budget was used, not merely respected: every round but the last held 4 requests at once.
    expect(rounds).toBe(Math.ceil((MAILBOXES.length * EACH) / 4));
  });

  it('keeps at most 2 in flight when one of the app’s servers sets Graph Requests at Once to 2', async () => {
    const ids = await threeServersOfOneApp();
    // The strictest server of the app sets its budget.
    h.fx.store.sync.servers.update(ids[2] as number, { graphRequestsAtOnce: 2 });
    h.relay.settingsChanged();
    expect(await deliverInRounds(ids, 2)).toBe(Math.ceil((MAILBOXES.length * EACH) / 2));
    expect(h.emu.graph.peakConcurrencyByKey.get(SEED.clientId)).toBe(2);
    expect(h.emu.graph.requests.filter((r) => r.status !== 202)).toEqual([]);
  });

  it('keeps at most 2 in flight with Graph Requests at Once 2 on every server', async () => {
    const ids = await threeServersOfOneApp(2);
    expect(await deliverInRounds(ids, 2)).toBe(Math.ceil((MAILBOXES.length * EACH) / 2));
    expect(h.emu.graph.peakConcurrencyByKey.get(SEED.clientId)).toBe(2);
    expect(h.emu.graph.requests.filter((r) => r.status !== 202)).toEqual([]);
  });

  it('waits out the Retry-After of a 429 when Microsoft allows the app fewer requests than Graph Requests at Once', async () => {
    // Microsoft counting 3 where the setting says 4: the fourth request is refused by the emulator's own limit.
    h = await startHarness({ signingKey, sharedClock: { tickMs: 0 }, server: { sendVia: 'graph', maxConnections: MAX_CONNECTIONS } });
    h.emu.graph.settings.maxConcurrentRequests = 3;
    const t0 = h.now();
    const hold = h.emu.graph.holdRequests();
    const ids: string[] = [];
    try {
      for (let n = 0; n < 4; n++) ids.push(await h.enqueue(h.serverId(), messageFrom(SEED.mailbox, n)));
      await waitFor(() => unanswered().length === 3 && throttled().length === 1, 'three held and one refused');
      expect(throttled()).toEqual([{ route: 'sendMail', concurrent: 4, code: 'ApplicationThrottled' }]);
      expect(h.emu.graph.requests.find((r) => r.status === 429)?.retryAfterSeconds).toBe(1);
    } finally {
      hold.release();
    }
    const status = (id: string) => h.fx.store.sync.queue.get(id)?.status;
    const refused = await waitFor(() => ids.find((id) => status(id) === 'deferred'), 'the refused message deferred');
    expect(h.fx.store.sync.queue.get(refused)?.nextAttemptAt).toBe(t0 + 1000);
    await waitFor(() => ids.filter((id) => status(id) === 'delivered').length === 3, 'the three held delivered');
    await h.advance(999);
    expect(status(refused)).toBe('deferred');
    expect(h.relay.scheduler.inFlight()).toBe(0);
    expect(h.emu.graph.requests).toHaveLength(4);
    await h.advance(1);
    await waitFor(() => status(refused) === 'delivered', 'delivered after the Retry-After');
    expect(h.emu.graph.requests.at(-1)).toMatchObject({ status: 202, at: t0 + 1000 });
  });
});

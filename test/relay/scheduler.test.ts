import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryPace, PACE_MS } from '../../src/relay/delivery-pace.js';
import { PROBE_INTERVAL_MS } from '../../src/relay/outcomes.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, testMessage, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let signingKey: SigningKey;
let h: Harness;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(() => h.close());

const setup = async (server: Partial<ServerSettings> = {}, exchange = {}): Promise<void> => {
  h = await startHarness({ signingKey, server, emulator: { exchange } });
};
const status = (id: string) => h.fx.store.sync.queue.get(id)?.status;
const lane = () => h.relay.scheduler.lanes().find((l) => l.serverId === h.serverId());

describe('scheduler limits', () => {
  it('keeps to Messages per Minute and sends the rest when the minute is over', async () => {
    await setup({ messagesPerMinute: 2 });
    const ids = [await h.submit(testMessage('1')), await h.submit(testMessage('2')), await h.submit(testMessage('3'))];
    await h.emu.exchange.waitForMessages(2, 10_000);
    await waitFor(() => ids.filter((id) => status(id) === 'delivered').length === 2, 'two delivered');
    const third = ids.find((id) => status(id) === 'queued') as string;
    expect(third).toBeDefined();
    // The look the clock's move asks for has claimed what it may: a third start would show as 'sending'.
    await h.advance(59_000);
    expect(status(third)).toBe('queued');
    await h.relay.scheduler.idle();
    expect(h.emu.exchange.messages).toHaveLength(2);
    await h.advance(1_000);
    expect(status(third)).not.toBe('queued');
    await h.emu.exchange.waitForMessages(3, 10_000);
  });

  it('stops at Recipients per Day without failing the mail', async () => {
    await setup({ recipientsPerDay: 2 });
    await h.submit(testMessage('a'));
    await h.submit(testMessage('b'));
    await waitFor(() => h.fx.store.sync.queue.countsByStatus().delivered === 2, 'two delivered');
    const third = await h.submit(testMessage('c'));
    await waitFor(() => (lane()?.quotaUntil ?? 0) > h.now(), 'waiting for the daily budget');
    expect(status(third)).toBe('queued');
    expect(h.emu.exchange.messages).toHaveLength(2);
  });

  it("reserves a message's recipients when it is claimed, so messages of many recipients keep to Recipients per Day", async () => {
    await setup({ recipientsPerDay: 50 });
    const twenty = (n: number) => Array.from({ length: 20 }, (_, i) => `r${n}-${i}@fabrikam.test`);
    const ids = await Promise.all([1, 2, 3, 4].map((n) => h.submit(testMessage(`many ${n}`), twenty(n))));
    await waitFor(() => ids.filter((id) => status(id) === 'delivered').length === 2, 'two delivered');
    await waitFor(() => (lane()?.quotaUntil ?? 0) > h.now(), 'waiting for the daily budget');
    await h.relay.scheduler.idle();
    expect(h.emu.exchange.recipientsLastDay(SEED.mailbox)).toBe(40);
    expect(ids.map(status).filter((s) => s === 'queued')).toHaveLength(2);
    // The budget frees up as the first deliveries leave the rolling 24 hours; nothing failed meanwhile.
    await h.advance(24 * 60 * 60_000);
    await waitFor(() => ids.every((id) => status(id) === 'delivered'), 'all delivered a day later');
    expect(h.emu.exchange.messages).toHaveLength(4);
  });

  it("pauses on Microsoft's daily quota reply and defers instead of failing", async () => {
    await setup();
    h.emu.exchange.exceedQuota(SEED.mailbox);
    const id = await h.submit(testMessage('quota'));
    await waitFor(() => status(id) === 'deferred', 'deferred');
    expect(h.fx.store.sync.queue.get(id)?.lastReply).toMatch(/SubmissionQuotaExceeded/);
    expect(lane()?.pausedUntil).toBe(h.now() + 60 * 60_000);
    h.emu.exchange.resetQuota(SEED.mailbox);
    await h.advance(60 * 60_000);
    await h.emu.exchange.waitForMessages(1, 10_000);
    await waitFor(() => status(id) === 'delivered', 'delivered after the pause');
  });

  it('lowers its concurrency when Exchange answers 432 4.3.2 and still delivers everything', async () => {
    // Max Connections set above Exchange's limit of 3: the fourth session gets 432 4.3.2.
    await setup({ maxConnections: 4 });
    const ids = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => h.submit(testMessage(`c${n}`))));
    await waitFor(() => ids.some((id) => status(id) === 'deferred'), 'one deferred');
    expect(h.fx.store.sync.queue.list({ status: 'deferred' })[0]?.lastReply).toMatch(/^432 4\.3\.2/);
    expect(lane()?.limit).toBeLessThanOrEqual(3);
    // Each minute, every attempt due has started and ended before the clock moves on (an attempt
    // the scheduler has yet to start leaves a message due, not in flight).
    const settled = (id: string): boolean => status(id) === 'delivered' || (h.fx.store.sync.queue.get(id)?.nextAttemptAt ?? 0) > h.now();
    for (let minutes = 0; minutes < 10 && !ids.every((id) => status(id) === 'delivered'); minutes++) {
      await h.advance(60_000);
      await waitFor(() => lane()?.inFlight === 0 && ids.every(settled), 'attempts due done');
    }
    expect(ids.map(status)).toEqual(ids.map(() => 'delivered'));
  });
});

describe('accept first', () => {
  it('spaces attempt starts while mail arrives, and starts the waiting ones as the pace allows', async () => {
    let paceNow = 0;
    h = await startHarness({ signingKey, pace: createDeliveryPace(() => paceNow) });
    const ids = [await h.submit(testMessage('1')), await h.submit(testMessage('2')), await h.submit(testMessage('3'))];
    // Max Connections is 3, yet the pace's clock stands still: the second message waits for it.
    expect(ids.map(status)).toEqual([expect.stringMatching(/^(sending|delivered)$/), 'queued', 'queued']);
    await h.emu.exchange.waitForMessages(1, 10_000);
    expect(h.emu.exchange.messages).toHaveLength(1);
    paceNow += PACE_MS;
    await waitFor(() => status(ids[1] as string) === 'delivered', 'second delivered');
    expect(status(ids[2] as string)).toBe('queued');
    paceNow += PACE_MS;
    await waitFor(() => status(ids[2] as string) === 'delivered', 'third delivered');
  });

  it('takes turns between mailboxes while it paces', async () => {
    let paceNow = 0;
    h = await startHarness({ signingKey, pace: createDeliveryPace(() => paceNow) });
    h.emu.directory.addUser(SEED.tenantId, { address: 'printers@contoso.test', fullAccess: [SEED.clientId] });
    const printers = h.addServer({ mailbox: 'printers@contoso.test', fromHandling: 'rewrite' });
    // Mail is arriving (the listener says so after each commit): the first attempt starts at once, the others wait their turn.
    h.relay.scheduler.arrived();
    const relayMail: string[] = [];
    const printerMail: string[] = [];
    for (let n = 1; n <= 3; n++) relayMail.push(await h.enqueue(h.serverId(), testMessage(`relay ${n}`)));
    for (let n = 1; n <= 3; n++) printerMail.push(await h.enqueue(printers, testMessage(`printers ${n}`)));
    const order: string[] = [];
    const all = [...relayMail, ...printerMail];
    for (let step = 1; step <= all.length; step++) {
      await waitFor(() => all.filter((id) => status(id) === 'delivered').length === step, `${step} delivered`);
      order.push(...all.filter((id) => status(id) === 'delivered' && !order.includes(id)));
      paceNow += PACE_MS;
    }
    expect(order).toEqual([relayMail[0], printerMail[0], relayMail[1], printerMail[1], relayMail[2], printerMail[2]]);
  });
});

describe('held mail', () => {
  it('holds mail while SMTP AUTH is disabled, probes every 5 minutes, and releases it when a probe works', async () => {
    await setup();
    const mailbox = h.emu.directory.getMailbox(SEED.mailbox);
    mailbox.smtpAuthEnabled = false;
    const first = await h.submit(testMessage('one'));
    await waitFor(() => status(first) === 'held', 'held');
    const second = await h.submit(testMessage('two'));
    await waitFor(() => status(second) === 'held', 'new mail held too');
    const server = h.fx.store.sync.servers.get(h.serverId());
    expect(server).toMatchObject({ status: 'error', statusCode: '5.7.139' });
    expect(server?.statusHint).toMatch(/Authenticated SMTP/);
    expect(h.fx.store.sync.queue.get(first)?.status).toBe('held');

    mailbox.smtpAuthEnabled = true;
    // A probe starts synchronously when the clock moves: one second early, both stay held.
    await h.advance(PROBE_INTERVAL_MS - 1_000);
    expect([status(first), status(second)]).toEqual(['held', 'held']);
    await h.relay.scheduler.idle();
    expect(h.emu.exchange.messages).toHaveLength(0);
    await h.advance(1_000);
    await h.emu.exchange.waitForMessages(2, 10_000);
    await waitFor(() => status(first) === 'delivered' && status(second) === 'delivered', 'both delivered');
    expect(h.fx.store.sync.servers.get(h.serverId())?.status).toBe('authorized');
  });
});

/**
 * Lanes per mailbox, seen from the Microsoft 365 emulator: the rate counted
 * where Microsoft counts it, one set of connections for every server (and
 * Send Test Email) sending as a mailbox, limits that survive settings changes
 * and restarts, and no error path that can end the process.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PROBE_INTERVAL_MS } from '../../src/relay/outcomes.js';
import { RETRY_DELAYS_MS } from '../../src/relay/classify.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, testMessage, type Harness, type HarnessOptions } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let signingKey: SigningKey;
let h: Harness;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(() => h.close());

const setup = async (server: Partial<ServerSettings> = {}, options: Omit<HarnessOptions, 'signingKey' | 'server'> = {}) => {
  h = await startHarness({ signingKey, server, ...options });
};
const status = (id: string) => h.fx.store.sync.queue.get(id)?.status;
const delivered = (ids: string[]) => ids.filter((id) => status(id) === 'delivered').length;
const lane = () => h.relay.scheduler.lanes().find((l) => l.serverId === h.serverId());
/** The most messages the emulator received in any 60 seconds. */
const peakPerMinute = (): number => {
  const times = h.emu.exchange.messages.map((m) => m.receivedAt.getTime()).sort((a, b) => a - b);
  return Math.max(0, ...times.map((start) => times.filter((t) => t >= start && t < start + 60_000).length));
};
const test = { to: 'alice@fabrikam.test', subject: 'relay365 test email', body: 'Testing.' };

describe('lanes per mailbox', () => {
  it('keeps Messages per Minute where Microsoft counts it: no 60 seconds at the receiver hold more than 30', async () => {
    // The first 20 clock readings by the emulator take a second each: the first sessions (token, TLS,
    // AUTH) deliver 20 s after they started, later ones at once.
    await setup({ messagesPerMinute: 30 }, { sharedClock: { tickMs: 1_000, ticks: 20 } });
    const ids: string[] = [];
    for (let n = 0; n < 40; n++) ids.push(await h.enqueue(h.serverId(), testMessage(`rate ${n}`)));
    for (let step = 0; step < 600 && delivered(ids) < 40; step++) {
      await h.relay.scheduler.idle();
      await h.advance(1_000);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(delivered(ids)).toBe(40);
    expect(peakPerMinute()).toBeLessThanOrEqual(30);
  });

  it('shares the mailbox between two servers: at most 3 sessions at the emulator, no 432, oldest mail first', async () => {
    await setup();
    const second = h.addServer({});
    const ids: string[] = [];
    for (let n = 0; n < 12; n++) ids.push(await h.enqueue(n % 2 === 0 ? h.serverId() : second, testMessage(`shared ${n}`)));
    await waitFor(() => delivered(ids) === 12, 'all delivered', 30_000);
    expect(h.emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)).toBeLessThanOrEqual(3);
    const replies = ids.flatMap((id) => h.fx.store.sync.queue.events(id).map((e) => e.detail ?? ''));
    expect(replies.filter((r) => /432 4\.3\.2/.test(r))).toEqual([]);
    expect(h.relay.scheduler.lanes().map((l) => l.key)).toEqual([`mailbox:${SEED.mailbox}`, `mailbox:${SEED.mailbox}`]);
  });

  it('counts Send Test Email against Messages per Minute and says it waited', async () => {
    await setup({ messagesPerMinute: 1 }, { sharedClock: { tickMs: 0 }, captureLog: true });
    const first = await h.relay.sendTest(h.serverId(), test);
    expect(first).toMatchObject({ ok: true });
    expect(first.waited).toBeUndefined();
    const second = h.relay.sendTest(h.serverId(), test);
    await waitFor(() => h.logLines.some((l) => l.includes('test email waits for the mailbox limits')), 'the test waits');
    expect(h.emu.exchange.messages).toHaveLength(1);
    await h.advance(60_000);
    const result = await second;
    expect(result).toMatchObject({ ok: true, waited: expect.stringMatching(/^Waited for Messages per Minute until /) });
    const [a, b] = h.emu.exchange.messages.map((m) => m.receivedAt.getTime());
    expect((b as number) - (a as number)).toBeGreaterThanOrEqual(60_000);
  });

  it('does not leave a failed test email queued to be retried later', async () => {
    await setup({ clientSecret: 'wrong-secret' });
    const result = await h.relay.sendTest(h.serverId(), test);
    expect(result.ok).toBe(false);
    expect(status(result.messageId as string)).toBe('failed');
  });

  it('checks a server again as soon as its settings are saved, so a fixed secret shows at once', async () => {
    await setup({ clientSecret: 'wrong-secret' });
    expect((await h.relay.sendTest(h.serverId(), test)).ok).toBe(false);
    expect(h.fx.store.sync.servers.get(h.serverId())).toMatchObject({ status: 'error', statusCode: 'AADSTS7000215' });
    h.fx.store.sync.servers.update(h.serverId(), { clientSecret: SEED.clientSecret });
    h.relay.settingsChanged();
    await waitFor(() => h.fx.store.sync.servers.get(h.serverId())?.status === 'authorized', 'authorized without any mail');
    expect(h.emu.exchange.messages).toHaveLength(0);
  });

  it('never opens a second session when settings are saved twice while 150 messages drain at Max Connections 1', async () => {
    await setup({ maxConnections: 1 });
    // A 20 MB message first: it is still on its way when the first save comes.
    const big = await h.enqueue(h.serverId(), testMessage('big') + `${'x'.repeat(76)}\r\n`.repeat(260_000));
    await waitFor(() => status(big) === 'sending', 'the big message on its way');
    h.fx.store.sync.servers.update(h.serverId(), { messagesPerMinute: 100_001 });
    h.relay.settingsChanged();
    const ids: string[] = [];
    for (let n = 0; n < 150; n++) ids.push(await h.enqueue(h.serverId(), testMessage(`drain ${n}`)));
    await waitFor(() => delivered(ids) >= 80, '80 delivered', 30_000);
    h.fx.store.sync.servers.update(h.serverId(), { messagesPerMinute: 100_002 });
    h.relay.settingsChanged();
    await waitFor(() => delivered([big, ...ids]) === 151, 'all delivered', 60_000);
    expect(h.emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)).toBe(1);
  });

  it('keeps the Messages per Minute window across a settings change', async () => {
    await setup({ messagesPerMinute: 2 });
    const ids = [await h.submit(testMessage('1')), await h.submit(testMessage('2'))];
    await waitFor(() => delivered(ids) === 2, 'two delivered');
    h.fx.store.sync.servers.update(h.serverId(), { maxConnections: 2 });
    h.relay.settingsChanged();
    const third = await h.submit(testMessage('3'));
    await h.advance(59_000);
    expect(status(third)).toBe('queued');
    await h.advance(1_000);
    await waitFor(() => status(third) === 'delivered', 'sent once the minute is over');
  });

  it("keeps Microsoft's quota pause across a settings change and a restart", async () => {
    await setup();
    h.emu.exchange.exceedQuota(SEED.mailbox);
    const first = await h.submit(testMessage('quota'));
    await waitFor(() => status(first) === 'deferred', 'deferred');
    const until = lane()?.pausedUntil as number;
    expect(until).toBe(h.now() + 60 * 60_000);
    h.emu.exchange.resetQuota(SEED.mailbox);
    h.fx.store.sync.servers.update(h.serverId(), { messagesPerMinute: 100_001 });
    h.relay.settingsChanged();
    expect(lane()?.pausedUntil).toBe(until);
    await h.restart();
    const second = await h.submit(testMessage('after restart'));
    expect(lane()?.pausedUntil).toBe(until);
    await h.advance(30 * 60_000);
    expect(status(second)).toBe('queued');
    await h.relay.scheduler.idle();
    expect(h.emu.exchange.messages).toHaveLength(0);
    await h.advance(30 * 60_000);
    await waitFor(() => status(first) === 'delivered' && status(second) === 'delivered', 'both delivered after the pause');
  });

  it('does not count held-mail probes as attempts: the first real 451 is retried a minute later', async () => {
    await setup();
    const mailbox = h.emu.directory.getMailbox(SEED.mailbox);
    mailbox.smtpAuthEnabled = false;
    const id = await h.submit(testMessage('probed'));
    await waitFor(() => status(id) === 'held', 'held');
    for (let probe = 0; probe < 3; probe++) {
      await h.advance(PROBE_INTERVAL_MS);
      await h.relay.scheduler.idle();
      await waitFor(() => status(id) === 'held', 'held again');
    }
    mailbox.smtpAuthEnabled = true;
    h.emu.exchange.failNext({ stage: 'data', reply: '451 4.7.500 Server busy. Please try again later.' });
    await h.advance(PROBE_INTERVAL_MS);
    await waitFor(() => status(id) === 'deferred', 'deferred by the 451');
    expect(h.fx.store.sync.queue.get(id)).toMatchObject({ attempts: 1, nextAttemptAt: h.now() + (RETRY_DELAYS_MS[0] as number) });
  });

  it('logs a database error while recording an outcome as an alert and keeps delivering', async () => {
    await setup({}, { captureLog: true });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const queue = h.fx.store.queue;
      const record = queue.recordAttempt.bind(queue);
      let broken = '';
      vi.spyOn(queue, 'recordAttempt').mockImplementation((id, result, t) => {
        if (id === broken) throw new Error('SQLITE_IOERR: disk I/O error');
        return record(id, result, t);
      });
      broken = await h.submit(testMessage('cannot be recorded'));
      await waitFor(() => h.logLines.some((l) => l.includes('cannot record a delivery attempt')), 'the alert');
      const next = await h.submit(testMessage('still delivered'));
      await waitFor(() => status(next) === 'delivered', 'the next message delivered');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
      const alert = JSON.parse(h.logLines.find((l) => l.includes('cannot record a delivery attempt')) as string);
      expect(alert).toMatchObject({ level: 'error', alert: true, queueId: broken });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

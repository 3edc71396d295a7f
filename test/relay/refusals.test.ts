import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMetrics, type StoreSample } from '../../src/metrics.js';
import { createRefusals, REFUSAL_HINTS, REFUSAL_REASON_KEYS, type RefusalsDeps } from '../../src/relay/refusals.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { parseExposition, valueOf } from '../ops/exposition.js';

const NOW = Date.parse('2030-06-01T12:00:00Z');
const EMPTY_SAMPLE: StoreSample = {
  queue: [],
  oldestWaitingSeconds: 0,
  spoolBytes: 0,
  databaseBytes: 0,
  servers: [],
  secretExpiries: [],
  certificateExpiries: [],
};

let fx: Fixture;
afterEach(() => fx?.cleanup());

/** A recorder over a fresh store with real metrics and a logger writing JSON lines into `lines`. */
function setUp(store?: RefusalsDeps['store']) {
  fx = createFixture();
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', (line) => void lines.push(JSON.parse(line) as Record<string, unknown>));
  const metrics = createMetrics({ version: '1', nodeVersion: 'v20', instanceId: 'relay-test' });
  const clock = { now: NOW };
  const refusals = createRefusals({ store: store ?? fx.store, log, metrics, now: () => clock.now });
  const refusedTotal = async (reason: string): Promise<number> =>
    valueOf(parseExposition(await metrics.render(EMPTY_SAMPLE)), 'relay365_refused_total', { reason });
  return { refusals, lines, clock, refusedTotal };
}

/** Lets the recorder's end-of-turn write run. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the refusal recorder', () => {
  it('writes one log line per refusal with the client address, the reason and the detail', () => {
    const { refusals, lines } = setUp();
    refusals.record({
      reason: 'too_big',
      client: '192.0.2.7',
      detail: '552 5.3.4 Message size exceeds 26214400 bytes (41943040 bytes sent)',
    });
    refusals.record({ reason: 'auth_failed', client: '192.0.2.8', detail: '535 5.7.8 Authentication failed', username: 'scanner' });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'refused: Message too big',
        client: '192.0.2.7',
        reason: 'too_big',
        detail: '552 5.3.4 Message size exceeds 26214400 bytes (41943040 bytes sent)',
      }),
      expect.objectContaining({ msg: 'refused: Login failed', client: '192.0.2.8', reason: 'auth_failed', username: 'scanner' }),
    ]);
  });

  it('counts relay365_refused_total per reason', async () => {
    const { refusals, refusedTotal } = setUp();
    for (let i = 0; i < 3; i++) refusals.record({ reason: 'tls_failed', client: '192.0.2.7', detail: 'TLS handshake failed' });
    refusals.record({ reason: 'server_busy', client: '192.0.2.9', detail: '421 4.7.0 Too many connections' });
    expect(await refusedTotal('tls_failed')).toBe(3);
    expect(await refusedTotal('server_busy')).toBe(1);
    expect(await refusedTotal('too_big')).toBe(0);
  });

  it('stores each refusal by the end of the event-loop turn, with the caller’s hint or the reason’s own', async () => {
    const { refusals } = setUp();
    const tlsHint =
      'The client offered TLSv1 (required TLSv1.2): set RELAY365_TLS_MIN_VERSION=TLSv1 for this printer, or update its firmware.';
    refusals.record({
      reason: 'tls_failed',
      client: '192.0.2.7',
      detail: 'TLS handshake failed: offered TLSv1, required TLSv1.2',
      hint: tlsHint,
    });
    refusals.record({ reason: 'relay_denied', client: '2001:DB8::7', detail: '550 5.7.1 Relaying denied' });
    expect(fx.store.sync.refusals.list()).toEqual([]);
    await nextTurn();
    expect(fx.store.sync.refusals.list()).toEqual([
      expect.objectContaining({ client: '2001:db8::7', reason: 'relay_denied', hint: REFUSAL_HINTS.relay_denied, count: 1, lastAt: NOW }),
      expect.objectContaining({ client: '192.0.2.7', reason: 'tls_failed', hint: tlsHint, count: 1, lastAt: NOW }),
    ]);
  });

  it('merges a flood from one client into one row with its count', async () => {
    const { refusals, clock } = setUp();
    for (let i = 0; i < 10_000; i++) {
      clock.now = NOW + i;
      refusals.record({ reason: 'junk_commands', client: '203.0.113.5', detail: `500 5.5.1 Too many commands without mail (${i})` });
    }
    await nextTurn();
    // A second burst 30 s later joins the same row.
    clock.now = NOW + 40_000;
    refusals.record({ reason: 'junk_commands', client: '203.0.113.5', detail: '500 5.5.1 Too many commands without mail (last)' });
    await refusals.flush();
    expect(fx.store.sync.refusals.list()).toEqual([
      expect.objectContaining({
        client: '203.0.113.5',
        count: 10_001,
        firstAt: NOW,
        lastAt: NOW + 40_000,
        detail: '500 5.5.1 Too many commands without mail (last)',
      }),
    ]);
  });

  it('stores at once when many clients are waiting, so a flood of addresses never piles up in memory', () => {
    const { refusals } = setUp();
    for (let i = 0; i < 2500; i++) {
      refusals.record({ reason: 'relay_denied', client: `10.0.${i >> 8}.${i & 255}`, detail: '550 5.7.1 Relaying denied' });
    }
    // Nothing was flushed by hand and the turn has not ended.
    expect(fx.store.sync.refusals.list({ limit: 5000 }).length).toBeGreaterThanOrEqual(2000);
  });

  it('keeps text on one line and bounded: a client’s control characters and long words never reach the store as sent', async () => {
    const { refusals, lines } = setUp();
    refusals.record({
      reason: 'auth_failed',
      client: '192.0.2.7',
      detail: `535 5.7.8 Authentication failed\r\n250 fake\u0000${'x'.repeat(5000)}`,
      username: `evil\r\nuser${'y'.repeat(200)}`,
    });
    await refusals.flush();
    const [row] = fx.store.sync.refusals.list();
    expect(row?.detail).toMatch(/^535 5\.7\.8 Authentication failed 250 fake x+…$/);
    expect(row?.detail.length).toBe(1000);
    expect(row?.username).toMatch(/^evil usery+…$/);
    expect(row?.username?.length).toBe(64);
    expect(JSON.stringify(lines)).not.toMatch(/\\r|\\n|\\u0000/);
  });

  it('never throws when the store fails: the refusal is still logged and counted, the failure logged once a minute', async () => {
    const failing: RefusalsDeps['store'] = {
      refusals: {
        record: () => {
          throw new Error('SQLITE_FULL: database or disk is full');
        },
      },
    };
    const { refusals, lines, clock, refusedTotal } = setUp(failing);
    for (let i = 0; i < 5; i++) {
      expect(() =>
        refusals.record({ reason: 'insufficient_storage', client: '192.0.2.7', detail: '452 4.3.1 Insufficient system storage' }),
      ).not.toThrow();
      await refusals.flush();
    }
    clock.now = NOW + 60_000;
    refusals.record({ reason: 'insufficient_storage', client: '192.0.2.7', detail: '452 4.3.1 Insufficient system storage' });
    await refusals.flush();
    expect(lines.filter((l) => l['msg'] === 'refused: Low disk space')).toHaveLength(6);
    expect(lines.filter((l) => l['level'] === 'error')).toEqual([
      expect.objectContaining({ error: 'SQLITE_FULL: database or disk is full' }),
      expect.objectContaining({ error: 'SQLITE_FULL: database or disk is full' }),
    ]);
    expect(await refusedTotal('insufficient_storage')).toBe(6);
  });

  it('has a label and a hint for every reason', () => {
    for (const reason of REFUSAL_REASON_KEYS) expect(REFUSAL_HINTS[reason].length, reason).toBeGreaterThan(20);
  });
});

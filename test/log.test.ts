import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { createSigningKey, SEED, type SigningKey } from './emulator/index.js';
import { startHarness, testMessage, type Harness } from './helpers/relay-harness.js';
import { waitFor } from './helpers/wait.js';

type Line = Record<string, unknown>;

function capture(level: 'debug' | 'info' = 'info', format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  return { lines, log: createLogger(level, (line) => lines.push(line), { format }) };
}

describe('log lines', () => {
  it('writes one JSON object per line with the time, level label, message and fields', () => {
    const { lines, log } = capture();
    log.info('message queued', { queueId: 'Q1', recipients: 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\n$/);
    const line = JSON.parse(lines[0] as string) as Line;
    expect(line).toMatchObject({ level: 'info', msg: 'message queued', queueId: 'Q1', recipients: 2 });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
  });

  it('drops lines below the level and keeps the fields of a child on each of its lines', () => {
    const { lines, log } = capture('info');
    log.debug('not shown');
    log.child({ server: 'o365' }).warn('paused', { alert: true });
    expect(lines.map((l) => JSON.parse(l) as Line)).toEqual([expect.objectContaining({ level: 'warn', server: 'o365', alert: true })]);
  });

  it('redacts every secret-bearing field, at the top level and one level down', () => {
    const { lines, log } = capture();
    log.error('careless caller', {
      password: 'pw-1',
      clientSecret: 'cs-2',
      accessToken: 'at-3',
      refreshToken: 'rt-4',
      token: 'tk-5',
      webhookUrl: 'https://hooks.example/T0/secret-6',
      auth: { pass: 'pw-7', accessToken: 'at-8' },
      headers: { authorization: 'Bearer at-9', cookie: 'relay365_session=s-10' },
      server: 'o365',
    });
    const text = lines.join('');
    for (const secret of ['pw-1', 'cs-2', 'at-3', 'rt-4', 'tk-5', 'secret-6', 'pw-7', 'at-8', 'at-9', 's-10']) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.parse(text) as Line).toMatchObject({ server: 'o365', password: '[redacted]', auth: { pass: '[redacted]' } });
  });

  it('writes readable lines for people with RELAY365_LOG_FORMAT=pretty, secrets redacted there too', () => {
    const { lines, log } = capture('info', 'pretty');
    log.warn('email server paused', { server: 'o365', clientSecret: 'cs-11' });
    const text = lines.join('');
    expect(text).toMatch(/WARN.*email server paused/);
    expect(text).toMatch(/server: "o365"/);
    expect(text).not.toContain('cs-11');
    expect(() => JSON.parse(text) as unknown).toThrow();
  });
});

describe("a message's log lines", () => {
  let signingKey: SigningKey;
  let h: Harness;
  beforeAll(async () => {
    signingKey = await createSigningKey();
  });
  afterEach(() => h.close());

  it('carry its queue ID from acceptance through the token retry to delivery', async () => {
    h = await startHarness({ signingKey, captureLog: true });
    h.emu.exchange.failNext({ stage: 'auth', reply: '535 5.7.3 Authentication unsuccessful [EMULATOR.prod.outlook.com]' });
    const id = await h.submit(testMessage('traced'));
    await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'delivered', 'delivered');
    const about = h.logLines.map((l) => JSON.parse(l) as Line).filter((l) => l.queueId === id);
    expect(about.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['message queued', 'upstream refused the token; retrying once with a new one', 'delivery attempt']),
    );
    expect(h.logLines.join('')).not.toContain(SEED.clientSecret);
  });
});

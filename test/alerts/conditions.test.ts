/**
 * The alert conditions as a table: a snapshot of the store in, the keys (and
 * what each says) out.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, type AlertSnapshot, type ServerFacts } from '../../src/alerts/conditions.js';

const NOW = Date.parse('2030-03-10T12:00:00Z');
const MIN = 60_000;
const SETTINGS = { oldestMinutes: 30, failuresPerHour: 10 };

const server = (overrides: Partial<ServerFacts> = {}): ServerFacts => ({
  id: 3,
  name: 'o365',
  method: 'office365',
  status: 'authorized',
  statusCode: null,
  statusMessage: null,
  statusHint: null,
  clientSecretExpires: '2031-01-01',
  clientCertificateExpiresAt: null,
  held: 0,
  ...overrides,
});

const snapshot = (overrides: Partial<AlertSnapshot> = {}): AlertSnapshot => ({
  servers: [server()],
  oldestWaiting: null,
  failuresLastHour: { count: 0, lastReply: null, serverName: null },
  lockouts: [],
  ...overrides,
});

const REVOKED = server({
  status: 'not_authorized',
  statusCode: 'AADSTS50173',
  statusMessage: 'AADSTS50173: The provided grant has expired due to it being revoked.',
  held: 2,
});

const cases: { name: string; snap: AlertSnapshot; keys: string[] }[] = [
  { name: 'a healthy relay', snap: snapshot(), keys: [] },
  { name: 'a new server not authorized yet (no code)', snap: snapshot({ servers: [server({ status: 'not_authorized' })] }), keys: [] },
  { name: 'a revoked grant', snap: snapshot({ servers: [REVOKED] }), keys: ['server:3:authorization'] },
  {
    name: 'Microsoft refusing the token',
    snap: snapshot({ servers: [server({ status: 'error', statusCode: '5.7.3', statusMessage: '535 5.7.3 Authentication unsuccessful' })] }),
    keys: ['server:3:authorization'],
  },
  { name: 'held mail on an authorized server', snap: snapshot({ servers: [server({ held: 4 })] }), keys: ['server:3:authorization'] },
  { name: 'a secret expiring in 31 days', snap: snapshot({ servers: [server({ clientSecretExpires: '2030-04-10' })] }), keys: [] },
  {
    name: 'a secret expiring in 30 days',
    snap: snapshot({ servers: [server({ clientSecretExpires: '2030-04-09' })] }),
    keys: ['server:3:secret-expiry:30'],
  },
  {
    name: 'a secret expiring in 6 days',
    snap: snapshot({ servers: [server({ clientSecretExpires: '2030-03-16' })] }),
    keys: ['server:3:secret-expiry:7'],
  },
  {
    name: 'a secret expiring tomorrow',
    snap: snapshot({ servers: [server({ clientSecretExpires: '2030-03-11' })] }),
    keys: ['server:3:secret-expiry:1'],
  },
  {
    name: 'a secret of a password server (no secret to expire)',
    snap: snapshot({ servers: [server({ method: 'password', clientSecretExpires: '2030-03-11' })] }),
    keys: [],
  },
  {
    name: 'the oldest message waiting 29 minutes',
    snap: snapshot({ oldestWaiting: { id: 'Q1', receivedAt: NOW - 29 * MIN, status: 'deferred', serverName: 'o365', lastReply: null } }),
    keys: [],
  },
  {
    name: 'the oldest message waiting 31 minutes',
    snap: snapshot({
      oldestWaiting: { id: 'Q1', receivedAt: NOW - 31 * MIN, status: 'deferred', serverName: 'o365', lastReply: '451 4.7.500 Server busy' },
    }),
    keys: ['queue:oldest'],
  },
  { name: '9 failures in the hour', snap: snapshot({ failuresLastHour: { count: 9, lastReply: null, serverName: null } }), keys: [] },
  {
    name: '10 failures in the hour',
    snap: snapshot({ failuresLastHour: { count: 10, lastReply: '550 5.1.10 RESOLVER.ADR.RecipientNotFound', serverName: 'o365' } }),
    keys: ['failures:hour'],
  },
  {
    name: 'two lockouts, one already over',
    snap: snapshot({
      lockouts: [
        { address: '203.0.113.9', lockedUntil: NOW + 15 * MIN, strikes: 1, lastUsername: 'scanner' },
        { address: '198.51.100.7', lockedUntil: NOW - 1, strikes: 1, lastUsername: null },
      ],
    }),
    keys: ['lockout:203.0.113.9'],
  },
];

describe('alert conditions', () => {
  it.each(cases)('$name → $keys', ({ snap, keys }) => {
    expect(evaluate(snap, SETTINGS, NOW).map((c) => c.key)).toEqual(keys);
  });

  it('names the server, the Microsoft code and the fix from the hint table for a revoked grant', () => {
    const [alert] = evaluate(snapshot({ servers: [REVOKED] }), SETTINGS, NOW);
    expect(alert).toMatchObject({
      severity: 'critical',
      title: 'Email server o365 lost its authorization',
      server: 'o365',
      code: 'AADSTS50173',
      fix: 'Click Authorize Account again and sign in with the mailbox account.',
      repeats: true,
    });
    expect(alert?.detail).toMatch(/revoked.*2 messages held/);
  });

  it('takes the fix for an SMTP refusal from the reply hints', () => {
    const [alert] = evaluate(
      snapshot({
        servers: [
          server({
            status: 'error',
            statusCode: '5.7.139',
            statusMessage: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.',
          }),
        ],
      }),
      SETTINGS,
      NOW,
    );
    expect(alert).toMatchObject({ code: '5.7.139', fix: expect.stringMatching(/SmtpClientAuthenticationDisabled \$false/) });
  });

  it('says a secret expiry warning once (no repeats) and counts days as the panel does', () => {
    const alerts = evaluate(snapshot({ servers: [server({ clientSecretExpires: '2030-03-16' })] }), SETTINGS, NOW);
    expect(alerts.every((a) => !a.repeats)).toBe(true);
    expect(alerts[0]).toMatchObject({ title: 'The client secret of o365 expires in 6 days (2030-03-16)', code: null });
    expect(alerts[0]?.fix).toMatch(/Create a new client secret/);
  });

  const DAY = 24 * 60 * MIN;
  /** The secret works through 2030-04-01 (UTC): its end is the midnight after. */
  const SECRET_END = Date.parse('2030-04-02T00:00:00Z');
  it.each([
    { before: 20, key: 'secret-expiry:30', severity: 'warning', when: 'expires in 20 days' },
    { before: 5, key: 'secret-expiry:7', severity: 'critical', when: 'expires in 5 days' },
    { before: 0.5, key: 'secret-expiry:1', severity: 'critical', when: 'expires today' },
  ])('gives one $severity alert $before days before the secret expires', ({ before, key, severity, when }) => {
    const alerts = evaluate(snapshot({ servers: [server({ clientSecretExpires: '2030-04-01' })] }), SETTINGS, SECRET_END - before * DAY);
    expect(alerts).toEqual([
      expect.objectContaining({
        key: `server:3:${key}`,
        severity,
        title: `The client secret of o365 ${when} (2030-04-01)`,
        server: 'o365',
      }),
    ]);
  });

  it('lets the nearer secret expiry threshold replace the others', () => {
    const [alert] = evaluate(snapshot({ servers: [server({ clientSecretExpires: '2030-03-15' })] }), SETTINGS, NOW);
    expect(alert).toMatchObject({ key: 'server:3:secret-expiry:7', replaces: ['server:3:secret-expiry:30', 'server:3:secret-expiry:1'] });
  });

  it('gives the expired secret its Microsoft code', () => {
    const alerts = evaluate(snapshot({ servers: [server({ clientSecretExpires: '2030-03-01' })] }), SETTINGS, NOW);
    expect(alerts.at(-1)).toMatchObject({ key: 'server:3:secret-expiry:1', severity: 'critical', code: 'AADSTS7000222' });
  });

  it('names the code in the last reply of waiting and failed mail', () => {
    const [queue, failures] = evaluate(
      snapshot({
        oldestWaiting: {
          id: 'Q1',
          receivedAt: NOW - 3 * 60 * MIN,
          status: 'deferred',
          serverName: 'o365',
          lastReply: '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded',
        },
        failuresLastHour: {
          count: 12,
          lastReply: '554 5.2.252 SendAsDenied; relay@contoso.test not allowed to send as x@y.test',
          serverName: 'o365',
        },
      }),
      SETTINGS,
      NOW,
    );
    expect(queue).toMatchObject({
      title: 'Mail has been waiting for 3 hours',
      code: '4.3.2',
      fix: expect.stringMatching(/Max Connections/),
    });
    expect(failures).toMatchObject({
      title: '12 messages failed within the last hour',
      code: '5.2.252',
      fix: expect.stringMatching(/rewrite/),
    });
  });
});

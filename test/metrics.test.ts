import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codeClass, createMetrics, enhancedCode, type StoreSample } from '../src/metrics.js';
import { parseExposition, valueOf } from './ops/exposition.js';

const SAMPLE: StoreSample = {
  queue: [
    { server: 'o365', status: 'held', messages: 3 },
    { server: 'o365', status: 'queued', messages: 2 },
  ],
  oldestWaitingSeconds: 95,
  spoolBytes: 12_345,
  databaseBytes: 65_536,
  servers: [{ server: 'o365', status: 'not_authorized' }],
  secretExpiries: [{ server: 'o365', expiresAt: 1_900_000_000 }],
  certificateExpiries: [{ server: 'hve', expiresAt: 1_950_000_000 }],
};

/** Every metric relay365 exposes, with its type and labels: the list the README documents. */
const EXPECTED: Record<string, { type: string; labels: string[] }> = {
  relay365_messages_accepted_total: { type: 'counter', labels: ['server'] },
  relay365_messages_delivered_total: { type: 'counter', labels: ['server'] },
  relay365_messages_failed_total: { type: 'counter', labels: ['server'] },
  relay365_messages_deferred_total: { type: 'counter', labels: ['server'] },
  relay365_messages_held_total: { type: 'counter', labels: ['server'] },
  relay365_delivery_latency_seconds: { type: 'histogram', labels: ['server'] },
  relay365_upstream_replies_total: { type: 'counter', labels: ['server', 'class', 'enhanced_code'] },
  relay365_token_requests_total: { type: 'counter', labels: ['server', 'result', 'code'] },
  relay365_smtp_sessions_total: { type: 'counter', labels: [] },
  relay365_smtp_sessions_active: { type: 'gauge', labels: [] },
  relay365_smtp_auth_failures_total: { type: 'counter', labels: ['reason'] },
  relay365_smtp_auth_lockouts_total: { type: 'counter', labels: [] },
  relay365_refused_total: { type: 'counter', labels: ['reason'] },
  relay365_queue_messages: { type: 'gauge', labels: ['server', 'status'] },
  relay365_queue_oldest_message_age_seconds: { type: 'gauge', labels: [] },
  relay365_spool_bytes: { type: 'gauge', labels: [] },
  relay365_database_bytes: { type: 'gauge', labels: [] },
  relay365_server_status: { type: 'gauge', labels: ['server', 'status'] },
  relay365_client_secret_expiry_timestamp_seconds: { type: 'gauge', labels: ['server'] },
  relay365_client_certificate_expiry_timestamp_seconds: { type: 'gauge', labels: ['server'] },
  relay365_build_info: { type: 'gauge', labels: ['version', 'node_version', 'instance_id'] },
};

/** Labels whose values come from a small set: never addresses, message IDs or free text. */
const LOW_CARDINALITY_LABELS = new Set([
  'server',
  'status',
  'class',
  'enhanced_code',
  'result',
  'code',
  'reason',
  'version',
  'node_version',
  // One per instance of a cluster.
  'instance_id',
]);

/** Renders metrics that saw one of every event, so every labelled series exists. */
async function renderEverything(): Promise<string> {
  const metrics = createMetrics({ version: '1.2.3', nodeVersion: 'v20.0.0', instanceId: 'relay-test' });
  metrics.messageAccepted('o365');
  for (const outcome of ['delivered', 'failed', 'deferred', 'held'] as const) metrics.messageSettled('o365', outcome);
  metrics.deliveryLatency('o365', 42);
  metrics.upstreamReply('o365', 535, '535 5.7.139 Authentication unsuccessful');
  metrics.tokenRequest('o365', 'error', 'AADSTS7000222');
  metrics.tokenRequest('o365', 'ok');
  metrics.smtpSessionOpened();
  metrics.authFailure('wrong_password');
  metrics.authLockout();
  metrics.refused('too_big');
  metrics.refused('too_big');
  metrics.refused('tls_failed');
  return metrics.render(SAMPLE);
}

describe('metric names and labels', () => {
  it('exposes exactly the documented metrics, named by Prometheus conventions', async () => {
    const families = parseExposition(await renderEverything());
    expect(Object.fromEntries([...families.values()].map((f) => [f.name, f.type]))).toEqual(
      Object.fromEntries(Object.entries(EXPECTED).map(([name, e]) => [name, e.type])),
    );
    for (const family of families.values()) {
      expect(family.name).toMatch(/^relay365_[a-z0-9_]+$/);
      expect(family.help.length, `${family.name} has help`).toBeGreaterThan(10);
      // Counters end in _total and only counters do; units are base units named last.
      expect(family.name.endsWith('_total'), family.name).toBe(family.type === 'counter');
      expect(family.name).not.toMatch(/_(milliseconds|ms|minutes|hours|kilobytes|megabytes|count)(_|$)/);
      if (/_latency|_age_/.test(family.name)) expect(family.name).toMatch(/_seconds$/);
      if (/spool|database/.test(family.name)) expect(family.name).toMatch(/_bytes$/);
      const labels = new Set(family.samples.flatMap((s) => Object.keys(s.labels)).filter((l) => l !== 'le'));
      expect([...labels].sort(), family.name).toEqual([...(EXPECTED[family.name]?.labels ?? [])].sort());
      for (const label of labels) expect(LOW_CARDINALITY_LABELS.has(label), `${family.name}{${label}}`).toBe(true);
    }
  });

  it('documents every metric in the README', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## Monitoring: health and metrics'));
    expect(section.length).toBeGreaterThan(100);
    for (const name of Object.keys(EXPECTED)) expect(section, name).toContain(name);
  });

  it('uses only exposed metric names in the example alert rules', async () => {
    const rules = readFileSync('deploy/prometheus/relay365-rules.yml', 'utf8');
    const families = parseExposition(await renderEverything());
    const used = new Set(rules.match(/relay365_[a-z0-9_]+/g));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(families.has(name), name).toBe(true);
  });

  it('sets the scrape-time gauges from the store sample and lists each server status', async () => {
    const families = parseExposition(await renderEverything());
    expect(valueOf(families, 'relay365_queue_messages', { server: 'o365', status: 'held' })).toBe(3);
    expect(valueOf(families, 'relay365_queue_oldest_message_age_seconds')).toBe(95);
    expect(valueOf(families, 'relay365_spool_bytes')).toBe(12_345);
    expect(valueOf(families, 'relay365_database_bytes')).toBe(65_536);
    expect(valueOf(families, 'relay365_client_secret_expiry_timestamp_seconds', { server: 'o365' })).toBe(1_900_000_000);
    expect(valueOf(families, 'relay365_client_certificate_expiry_timestamp_seconds', { server: 'hve' })).toBe(1_950_000_000);
    expect(valueOf(families, 'relay365_server_status', { server: 'o365', status: 'not_authorized' })).toBe(1);
    expect(valueOf(families, 'relay365_server_status', { server: 'o365', status: 'authorized' })).toBe(0);
    expect(valueOf(families, 'relay365_build_info', { version: '1.2.3', node_version: 'v20.0.0', instance_id: 'relay-test' })).toBe(1);
    expect(valueOf(families, 'relay365_upstream_replies_total', { class: '5xx', enhanced_code: '5.7.139' })).toBe(1);
    expect(valueOf(families, 'relay365_token_requests_total', { result: 'error', code: 'AADSTS7000222' })).toBe(1);
    expect(valueOf(families, 'relay365_refused_total', { reason: 'too_big' })).toBe(2);
    expect(valueOf(families, 'relay365_refused_total', { reason: 'tls_failed' })).toBe(1);
  });

  it('forgets a queue series once its messages are gone', async () => {
    const metrics = createMetrics({ version: '1.2.3', nodeVersion: 'v20.0.0', instanceId: 'relay-test' });
    await metrics.render(SAMPLE);
    const families = parseExposition(await metrics.render({ ...SAMPLE, queue: [] }));
    expect(families.get('relay365_queue_messages')?.samples).toEqual([]);
  });

  it('keeps two relays in one process apart (no global registry)', async () => {
    const a = createMetrics({ version: '1', nodeVersion: 'v20', instanceId: 'relay-test' });
    const b = createMetrics({ version: '1', nodeVersion: 'v20', instanceId: 'relay-test' });
    a.messageAccepted('o365');
    const families = parseExposition(await b.render(SAMPLE));
    expect(valueOf(families, 'relay365_messages_accepted_total', { server: 'o365' })).toBe(0);
  });
});

describe('reply labels', () => {
  it.each([
    [250, '250 2.0.0 OK <id@contoso.test> [Hostname=X]', '2xx', '2.0.0'],
    [451, '451 4.7.500 Server busy. Please try again later.', '4xx', '4.7.500'],
    [535, '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled', '5xx', '5.7.139'],
    [550, '550-5.1.10 RecipientNotFound', '5xx', '5.1.10'],
    [421, '421 Service not available', '4xx', 'none'],
    [0, 'connection lost', 'other', 'none'],
  ])('labels %i %j as %s and %s', (code, reply, klass, enhanced) => {
    expect(codeClass(code)).toBe(klass);
    expect(enhancedCode(reply)).toBe(enhanced);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createRefusals, REFUSAL_HINTS, type Refusal } from '../../../src/relay/refusals.js';
import { createPanel, type Panel } from '../panel.js';
import { apiClient, newToken } from './api-client.js';

const T0 = Date.parse('2030-05-01T10:00:00Z');

let panel: Panel;
beforeEach(() => {
  panel = createPanel();
});
afterEach(() => panel.cleanup());

/** Records refusals as the relay does, one a minute from T0. */
async function record(refusals: Refusal[]): Promise<void> {
  const clock = { now: T0 };
  const recorder = createRefusals({ store: panel.fx.store, log: silentLogger, now: () => clock.now });
  for (const [i, refusal] of refusals.entries()) {
    clock.now = T0 + i * 60_000;
    recorder.record(refusal);
    await recorder.flush();
  }
}

describe('GET /api/v1/refused', () => {
  it('lists refusals for a read token, most recently seen first, with label, hint, count and ISO times', async () => {
    await record([
      { reason: 'tls_failed', client: '192.168.10.7', detail: 'TLS handshake failed: offered TLSv1, required TLSv1.2', hint: 'Lower it.' },
      { reason: 'auth_failed', client: '192.168.11.9', detail: '535 5.7.8 Authentication failed', username: 'scanner-7' },
    ]);
    const call = apiClient(panel.app, newToken(panel.fx.store, 'read'));
    const answer = await call('GET', '/refused');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      refusals: [
        {
          id: 2,
          client: '192.168.11.9',
          reason: 'auth_failed',
          label: 'Login failed',
          detail: '535 5.7.8 Authentication failed',
          hint: REFUSAL_HINTS.auth_failed,
          username: 'scanner-7',
          count: 1,
          firstAt: '2030-05-01T10:01:00.000Z',
          lastAt: '2030-05-01T10:01:00.000Z',
        },
        expect.objectContaining({
          client: '192.168.10.7',
          reason: 'tls_failed',
          label: 'TLS handshake failed',
          hint: 'Lower it.',
          username: null,
        }),
      ],
      nextCursor: null,
    });
  });

  it('filters by client address start and reason, and pages with nextCursor', async () => {
    await record(
      Array.from({ length: 7 }, (_, i): Refusal => ({ reason: i % 2 ? 'too_big' : 'relay_denied', client: `10.0.${i}.1`, detail: 'x' })),
    );
    const call = apiClient(panel.app, newToken(panel.fx.store, 'read'));
    const clientsOf = (body: { refusals: { client: string }[] }): string[] => body.refusals.map((r) => r.client);
    expect(clientsOf((await call('GET', '/refused?client=10.0.3')).body)).toEqual(['10.0.3.1']);
    expect(clientsOf((await call('GET', '/refused?reason=too_big')).body)).toEqual(['10.0.5.1', '10.0.3.1', '10.0.1.1']);
    const seen: string[] = [];
    let query = '/refused?reason=relay_denied&limit=3';
    for (let pages = 0; pages < 5; pages++) {
      const { body } = await call('GET', query);
      seen.push(...clientsOf(body));
      if (body.nextCursor === null) break;
      query = `/refused?reason=relay_denied&limit=3&cursor=${body.nextCursor}`;
    }
    expect(seen).toEqual(['10.0.6.1', '10.0.4.1', '10.0.2.1', '10.0.0.1']);
  });

  it('refuses a cursor it did not give out, an unknown reason and a limit out of range, naming the field', async () => {
    const call = apiClient(panel.app, newToken(panel.fx.store, 'read'));
    for (const [query, field] of [
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ['reason=bored', 'reason'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
    ] as const) {
      const answer = await call('GET', `/refused?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error).toEqual(expect.objectContaining({ code: 'invalid', field }));
    }
  });

  it('answers 401 without a token', async () => {
    const answer = await apiClient(panel.app, null)('GET', '/refused');
    expect(answer.status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await panel.app.request('/api/v1/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/refused');
  });
});

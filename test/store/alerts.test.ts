/**
 * Alerts as stored, on both engines: the panel's alert settings with the
 * sealed webhook URL, alerts from firing to resolved (one open alert per key,
 * also when two fire it at once) and what each channel was told, and the
 * queue figures the alert conditions read, alert emails left out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALERT_ROUTE, type AlertContent } from '../../src/store/alerts.js';
import type { AttemptResult, NewMessage } from '../../src/store/queue.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const NOW = Date.parse('2030-06-01T12:00:00Z');

/** An alert's content; `key` names it. */
function alert(key: string, overrides: Partial<AlertContent> = {}): AlertContent {
  return {
    key,
    severity: 'critical',
    title: `${key} needs attention`,
    server: 'o365',
    code: 'AADSTS7000215',
    fix: 'Paste a new client secret.',
    detail: '3 messages held',
    repeats: true,
    ...overrides,
  };
}

function message(id: string, receivedAt: number, overrides: Partial<NewMessage> = {}): NewMessage {
  return queuedMessage(id, 1, { recipients: ['a@fabrikam.com'], receivedAt, expiresAt: receivedAt + 5 * DAY, ...overrides });
}

const refused = (...to: string[]): AttemptResult => ({
  kind: 'done',
  delivered: [],
  failed: to.map((address) => ({ address, reply: `550 5.1.10 ${address} not found` })),
});

describe.each(ENGINES)('stored alerts (%s)', (engine) => {
  let es: EngineStore | undefined;
  afterEach(async () => {
    await es?.cleanup();
    es = undefined;
  });
  const openStore = async () => {
    es = await openEngineStore(engine, () => NOW);
    return es.store;
  };

  describe('settings', () => {
    it('starts with the defaults and no webhook', async () => {
      const { alerts } = await openStore();
      expect(await alerts.settings()).toEqual({
        hasWebhook: false,
        emails: [],
        emailServerId: null,
        oldestMinutes: 30,
        failuresPerHour: 10,
        repeatMinutes: 240,
      });
      expect(await alerts.webhookUrl()).toBeNull();
    });

    it('changes only what it is given, and seals the webhook URL', async () => {
      const store = await openStore();
      const { alerts } = store;
      await store.servers.add(plainServer());
      const url = 'https://hooks.contoso.test/T000/B000/secret';
      await alerts.saveSettings({ webhookUrl: url, emails: ['ops@contoso.test', 'it@contoso.test'], emailServerId: 1 }, NOW);
      await alerts.saveSettings({ oldestMinutes: 45, failuresPerHour: 3, repeatMinutes: 60 }, NOW + 1);
      expect(await alerts.settings()).toEqual({
        hasWebhook: true,
        emails: ['ops@contoso.test', 'it@contoso.test'],
        emailServerId: 1,
        oldestMinutes: 45,
        failuresPerHour: 3,
        repeatMinutes: 60,
      });
      expect(await alerts.webhookUrl()).toBe(url);
    });

    it('clears the webhook URL with null or an empty text, and the emails and server with an empty list and null', async () => {
      const store = await openStore();
      const { alerts } = store;
      await store.servers.add(plainServer());
      await alerts.saveSettings({ webhookUrl: 'https://hooks.contoso.test/a', emails: ['ops@contoso.test'], emailServerId: 1 }, NOW);
      await alerts.saveSettings({ webhookUrl: null, emails: [], emailServerId: null }, NOW);
      expect(await alerts.settings()).toMatchObject({ hasWebhook: false, emails: [], emailServerId: null });
      expect(await alerts.webhookUrl()).toBeNull();
      await alerts.saveSettings({ webhookUrl: 'https://hooks.contoso.test/b' }, NOW);
      await alerts.saveSettings({ webhookUrl: '' }, NOW);
      expect(await alerts.webhookUrl()).toBeNull();
    });
  });

  describe('firing and resolving', () => {
    it('fires an alert not yet told to any channel, and lists open ones oldest first', async () => {
      const { alerts } = await openStore();
      const first = await alerts.fire(alert('held:1'), NOW);
      expect(first).toEqual({
        ...alert('held:1'),
        id: expect.any(Number),
        firedAt: NOW,
        resolvedAt: null,
        notified: { webhook: null, email: null },
        resolvedNotified: { webhook: null, email: null },
      });
      await alerts.fire(
        alert('oldest', { severity: 'warning', server: null, code: null, fix: null, detail: null, repeats: false }),
        NOW + 1,
      );
      await alerts.fire(alert('failures'), NOW - 1);
      expect((await alerts.open()).map((a) => a.key)).toEqual(['failures', 'held:1', 'oldest']);
      expect((await alerts.open())[2]).toMatchObject({
        severity: 'warning',
        server: null,
        code: null,
        fix: null,
        detail: null,
        repeats: false,
      });
    });

    it('keeps one open alert per key: firing it again updates what it says and keeps when it fired', async () => {
      const { alerts } = await openStore();
      const first = await alerts.fire(alert('held:1'), NOW);
      const again = await alerts.fire(alert('held:1', { detail: '5 messages held' }), NOW + MIN);
      expect(again).toMatchObject({ id: first.id, firedAt: NOW, detail: '5 messages held' });
      expect(await alerts.open()).toEqual([again]);
    });

    it('leaves one open alert when two fire the same key at once', async () => {
      const { alerts } = await openStore();
      // Connections opened beforehand, so that the alerts below do fire at the same time.
      await Promise.all(Array.from({ length: 10 }, () => alerts.open()));
      const fired = await Promise.all(Array.from({ length: 8 }, (_, i) => alerts.fire(alert('held:1', { detail: `${i}` }), NOW)));
      const firing = await alerts.open();
      expect(firing).toHaveLength(1);
      expect(new Set(fired.map((a) => a.id))).toEqual(new Set([firing[0]?.id]));
    });

    it('refreshes what an open alert says without firing it again', async () => {
      const { alerts } = await openStore();
      const { id } = await alerts.fire(alert('held:1'), NOW);
      await alerts.markNotified(id, 'webhook', NOW);
      await alerts.refresh(id, alert('held:1', { severity: 'warning', detail: '1 message held', code: null, repeats: false }));
      expect(await alerts.open()).toEqual([
        expect.objectContaining({
          id,
          firedAt: NOW,
          severity: 'warning',
          detail: '1 message held',
          code: null,
          repeats: false,
          notified: { webhook: NOW, email: null },
        }),
      ]);
    });

    it('resolves an alert once, and fires a new one for the same key afterwards', async () => {
      const { alerts } = await openStore();
      const first = await alerts.fire(alert('held:1'), NOW);
      await alerts.resolve(first.id, NOW + MIN);
      // Resolving again (another instance saw it end too) keeps the first time.
      await alerts.resolve(first.id, NOW + 2 * MIN);
      expect(await alerts.open()).toEqual([]);
      const second = await alerts.fire(alert('held:1'), NOW + 3 * MIN);
      expect(second.id).not.toBe(first.id);
      expect(await alerts.open()).toEqual([second]);
      expect((await alerts.recent(10)).map((a) => [a.id, a.resolvedAt])).toEqual([
        [second.id, null],
        [first.id, NOW + MIN],
      ]);
    });

    it('lists recent alerts newest first, at most the limit', async () => {
      const { alerts } = await openStore();
      for (let i = 0; i < 5; i++) {
        const { id } = await alerts.fire(alert(`k${i}`), NOW + i);
        if (i % 2 === 0) await alerts.resolve(id, NOW + 10);
      }
      expect((await alerts.recent(3)).map((a) => a.key)).toEqual(['k4', 'k3', 'k2']);
      expect(await alerts.recent(100)).toHaveLength(5);
    });
  });

  describe('notices', () => {
    it('records when each channel was told it fires and told it resolved', async () => {
      const { alerts } = await openStore();
      const { id } = await alerts.fire(alert('held:1'), NOW);
      await alerts.markNotified(id, 'email', NOW + 1);
      await alerts.markNotified(id, 'webhook', NOW + 2);
      await alerts.resolve(id, NOW + 3);
      await alerts.markResolvedNotified(id, 'webhook', NOW + 4);
      expect((await alerts.recent(1))[0]).toMatchObject({
        notified: { webhook: NOW + 2, email: NOW + 1 },
        resolvedNotified: { webhook: NOW + 4, email: null },
      });
    });

    it('owes a resolved notice to each channel told it fired and not yet told it resolved, since the time given', async () => {
      const { alerts } = await openStore();
      const fire = async (key: string, resolvedAt: number, told: ('webhook' | 'email')[], toldResolved: ('webhook' | 'email')[]) => {
        const { id } = await alerts.fire(alert(key), NOW - DAY);
        for (const channel of told) await alerts.markNotified(id, channel, NOW - DAY);
        await alerts.resolve(id, resolvedAt);
        for (const channel of toldResolved) await alerts.markResolvedNotified(id, channel, resolvedAt);
      };
      await fire('owed-webhook', NOW - 2, ['webhook', 'email'], ['email']);
      await fire('owed-email', NOW - 3, ['email'], []);
      await fire('all-told', NOW - 1, ['webhook', 'email'], ['webhook', 'email']);
      await fire('never-told', NOW - 1, [], []);
      await fire('too-old', NOW - 60 * MIN - 1, ['webhook'], []);
      // Open alerts owe no resolved notice.
      await alerts.markNotified((await alerts.fire(alert('still-open'), NOW)).id, 'webhook', NOW);
      expect((await alerts.resolvedPending(NOW - 60 * MIN)).map((a) => a.key)).toEqual(['owed-email', 'owed-webhook']);
    });

    it('forgets alerts resolved more than 90 days ago, never open ones', async () => {
      const { alerts } = await openStore();
      const old = await alerts.fire(alert('old'), NOW - 200 * DAY);
      await alerts.resolve(old.id, NOW - 91 * DAY);
      const kept = await alerts.fire(alert('kept'), NOW - 200 * DAY);
      await alerts.resolve(kept.id, NOW - 89 * DAY);
      await alerts.fire(alert('still-open'), NOW - 200 * DAY);
      await alerts.prune(NOW);
      expect((await alerts.recent(10)).map((a) => a.key).sort()).toEqual(['kept', 'still-open']);
    });
  });

  describe('queue figures', () => {
    it('is empty on an empty queue', async () => {
      const { alerts } = await openStore();
      expect(await alerts.heldByServer()).toEqual(new Map());
      expect(await alerts.oldestWaiting()).toBeNull();
      expect(await alerts.failuresSince(0)).toEqual({ count: 0, lastReply: null, serverId: null });
    });

    it('counts held mail per server, alert emails not counted', async () => {
      const store = await openStore();
      const { servers, queue, alerts } = store;
      await servers.add(plainServer());
      await servers.add(plainServer({ name: 'second' }));
      await queue.insert([
        message('H1', NOW),
        message('H2', NOW),
        { ...message('H3', NOW), serverId: 2 },
        message('ALERT', NOW, { route: ALERT_ROUTE }),
        message('WAITING', NOW),
      ]);
      for (const id of ['H1', 'H2', 'H3', 'ALERT']) await queue.recordAttempt(id, { kind: 'hold', reply: '535 5.7.3' }, NOW);
      expect(Object.fromEntries(await alerts.heldByServer())).toEqual({ 1: 2, 2: 1 });
    });

    it('finds the oldest queued or deferred message, held mail and alert emails not counted', async () => {
      const store = await openStore();
      const { servers, queue, alerts } = store;
      await servers.add(plainServer());
      await queue.insert([
        message('ALERT', NOW - 5 * MIN, { route: ALERT_ROUTE }),
        message('HELD', NOW - 4 * MIN),
        message('DELIVERED', NOW - 4 * MIN),
        message('DEFERRED', NOW - 3 * MIN),
        message('QUEUED', NOW - 2 * MIN),
      ]);
      await queue.recordAttempt('HELD', { kind: 'hold', reply: '535 5.7.3' }, NOW);
      await queue.recordAttempt(
        'DELIVERED',
        { kind: 'done', delivered: [{ address: 'a@fabrikam.com', reply: '250 OK' }], failed: [] },
        NOW,
      );
      await queue.recordAttempt('DEFERRED', { kind: 'defer', nextAttemptAt: NOW + MIN, reply: '451 4.7.500 Server busy' }, NOW);
      expect(await alerts.oldestWaiting()).toEqual({
        id: 'DEFERRED',
        receivedAt: NOW - 3 * MIN,
        status: 'deferred',
        serverId: 1,
        lastReply: '451 4.7.500 Server busy',
      });
    });

    it('counts messages that failed since the time given once each, with the newest one’s reply', async () => {
      const store = await openStore();
      const { servers, queue, alerts } = store;
      await servers.add(plainServer());
      await queue.insert([
        message('EARLIER', NOW - DAY),
        message('TWO', NOW - DAY, { recipients: ['a@fabrikam.com', 'b@fabrikam.com'] }),
        message('NEWEST', NOW - DAY),
        message('ALERT', NOW - DAY, { route: ALERT_ROUTE }),
      ]);
      await queue.recordAttempt('EARLIER', refused('a@fabrikam.com'), NOW - 61 * MIN);
      await queue.recordAttempt('TWO', refused('a@fabrikam.com', 'b@fabrikam.com'), NOW - 30 * MIN);
      await queue.recordAttempt('NEWEST', { kind: 'expire', reply: 'expired after 5 days' }, NOW - 10 * MIN);
      await queue.recordAttempt('ALERT', refused('a@fabrikam.com'), NOW - 5 * MIN);
      expect(await alerts.failuresSince(NOW - 60 * MIN)).toEqual({ count: 2, lastReply: 'expired after 5 days', serverId: 1 });
    });
  });
});

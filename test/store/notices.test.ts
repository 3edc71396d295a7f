/**
 * Delivery status notifications a message owes, on both engines: at most one
 * per message and kind, listed oldest first until done, and done once with an
 * event on the original message.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OwedNotice } from '../../src/store/notices.js';
import type { Store } from '../../src/store/index.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';

const T0 = 1_700_000_000_000;

const owed = (messageId: string, kind: OwedNotice['kind'], owedAt: number): OwedNotice => ({
  messageId,
  kind,
  noticeId: `N-${messageId}-${kind}`,
  headers: Buffer.from(`Subject: ${messageId}\r\n\r\n`),
  owedAt,
});

describe.each(ENGINES)('notices on %s', (engine) => {
  let es: EngineStore;
  let notices: Store['queue']['notices'];
  let serverId: number;
  beforeEach(async () => {
    es = await openEngineStore(engine);
    notices = es.store.queue.notices;
    serverId = (await es.store.servers.add(plainServer())).id;
    await es.store.queue.insert([queuedMessage('M1', serverId), queuedMessage('M2', serverId)]);
  });
  afterEach(() => es.cleanup());

  it('records a notice owed once per message and kind, and says which it has', async () => {
    expect(await notices.has('M1', 'failed')).toBe(false);
    expect(await notices.owe(owed('M1', 'failed', T0))).toBe(true);
    expect(await notices.owe({ ...owed('M1', 'failed', T0 + 1), noticeId: 'OTHER' })).toBe(false);
    expect(await notices.owe(owed('M1', 'delayed', T0 + 2))).toBe(true);
    expect(await notices.has('M1', 'failed')).toBe(true);
    expect(await notices.has('M2', 'failed')).toBe(false);
    expect(await notices.owed()).toEqual([owed('M1', 'failed', T0), owed('M1', 'delayed', T0 + 2)]);
  });

  it('refuses a notice of a message that is not in the queue', async () => {
    await expect(notices.owe(owed('GONE', 'failed', T0))).rejects.toThrow();
  });

  it('lists the notices still owed, oldest first, up to the limit', async () => {
    await notices.owe(owed('M2', 'failed', T0 + 5));
    await notices.owe(owed('M1', 'delayed', T0 + 1));
    await notices.owe(owed('M1', 'failed', T0 + 9));
    expect((await notices.owed()).map((n) => n.owedAt)).toEqual([T0 + 1, T0 + 5, T0 + 9]);
    expect((await notices.owed(2)).map((n) => n.noticeId)).toEqual(['N-M1-delayed', 'N-M2-failed']);
  });

  it('marks a notice done once, with an event on the original message, and never owes it again', async () => {
    await notices.owe(owed('M1', 'failed', T0));
    await notices.done('M1', 'failed', 'bounce N-M1-failed to app@example.test', T0 + 1);
    await notices.done('M1', 'failed', 'again', T0 + 2);
    expect(await notices.owed()).toEqual([]);
    expect(await notices.has('M1', 'failed')).toBe(true);
    expect(await notices.owe(owed('M1', 'failed', T0 + 3))).toBe(false);
    const events = (await es.store.queue.events('M1')).filter((e) => e.kind === 'notice');
    expect(events).toEqual([
      { id: expect.any(Number), messageId: 'M1', serverId, at: T0 + 1, kind: 'notice', detail: 'bounce N-M1-failed to app@example.test' },
    ]);
  });
});

/**
 * The outcomes of an attempt whose claim ran out while it ran, on both store
 * engines: the instance could not renew its claim (the database unreachable),
 * another instance queued the message again and claimed it. Whatever the
 * upstream answered, the late outcome is logged and not recorded: the message
 * keeps the new claim's state and its body, and owes no notice.
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { laneKey, newLane, newMember, type Member } from '../../src/relay/lane.js';
import { createNotices } from '../../src/relay/notices.js';
import { createOutcomes, type Attempt, type Outcomes } from '../../src/relay/outcomes.js';
import { createSpool, queueRecord } from '../../src/relay/spool.js';
import { DeliveryError } from '../../src/relay/upstream.js';
import type { Store } from '../../src/store/index.js';
import { CLAIM_LEASE_MS } from '../../src/store/queue-outcome.js';
import type { QueuedMessage } from '../../src/store/queue.js';
import { ENGINES, openAnotherInstance, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer, spoolEnvelope } from '../helpers/fixture.js';

const T0 = 1_700_000_000_000;
/** When the other instance finds the claim made at T0 run out. */
const EXPIRED = T0 + CLAIM_LEASE_MS + 1;
const LOST = "the claim on this message ran out and it was queued again; this attempt's outcome is not recorded";

describe.each(ENGINES)('outcomes after a lost claim on %s', (engine) => {
  let clock: number;
  let es: EngineStore;
  let store: Store;
  let other: Store;
  let lines: string[];
  let outcomes: Outcomes;
  let attempt: Attempt;
  /** M1 as this instance claimed it at T0. */
  let claimed: QueuedMessage;

  beforeEach(async () => {
    clock = T0;
    const now = (): number => clock;
    es = await openEngineStore(engine, now);
    store = es.store;
    other = await openAnotherInstance(es, 'relay-b', now);
    const server = await store.servers.add(plainServer());
    const spool = createSpool(store.bodies);
    const raw = 'From: app@example.test\r\nSubject: invoice\r\n\r\nHello\r\n';
    const file = await spool.write('M1', Buffer.alloc(0), Readable.from([Buffer.from(raw)]));
    // Its lifetime ends before a retry after a 4xx would be due: a 4xx expires it.
    const envelope = spoolEnvelope('M1', server.id, { receivedAt: T0, expiresAt: T0 + 2 * CLAIM_LEASE_MS });
    await store.queue.insert([queueRecord(envelope, file)], [file.last]);
    lines = [];
    const log = createLogger('debug', (line) => lines.push(line));
    const notices = createNotices({ store, spool, log, now, enqueue: async () => undefined });
    outcomes = createOutcomes({ store, spool, log, now, isCurrent: () => true, notices });
    const member: Member = newMember(server, newLane(laneKey(server), null));
    attempt = { member, conn: null, generation: member.generation };
    claimed = (await store.queue.claim('M1', T0)) as QueuedMessage;
    expect(await other.queue.requeueExpired(EXPIRED)).toBe(1);
    expect(await other.queue.claim('M1', EXPIRED)).toMatchObject({ attempts: 2 });
    clock = EXPIRED + 1;
  });
  afterEach(async () => {
    await other.close();
    await es.cleanup();
  });

  /** The message's state, body and notices, and this instance's warnings about it. */
  const left = async () => ({
    message: await store.queue.get('M1'),
    recipients: (await store.queue.recipients('M1')).map((r) => r.status),
    events: (await store.queue.events('M1')).map((e) => e.kind),
    body: await store.bodies.has('M1'),
    owed: await store.queue.notices.owed(),
    warnings: lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === LOST),
  });
  const untouched = {
    message: { status: 'sending', attempts: 2 },
    recipients: ['pending'],
    events: ['received', 'requeued'],
    body: true,
    owed: [],
    warnings: [{ level: 'warn', queueId: 'M1' }],
  };

  it('keeps the body and the new claim when the upstream accepted the message', async () => {
    const summary = await outcomes.settleRecipients(
      attempt,
      claimed,
      [{ address: 'a@example.test', code: 250, reply: '250 2.0.0 OK' }],
      [],
    );
    expect(summary).toMatchObject({ ok: true });
    expect(await left()).toMatchObject(untouched);
    expect(lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'delivery attempt')).toBe(false);
  });

  it.each([
    ['refused for good', 550, '550 5.7.1 refused'],
    ['expired by a 4xx', 451, '451 4.4.1 try later'],
  ])('keeps the body and owes no notice when the message is %s', async (_, code, reply) => {
    await outcomes.settleFailure(attempt, claimed, new DeliveryError({ kind: 'smtp', code, reply }));
    expect(await left()).toMatchObject(untouched);
  });
});

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { recover } from '../../src/relay/recovery.js';
import { createSpool, type Spool } from '../../src/relay/spool.js';
import type { NewMessage } from '../../src/store/queue.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
let spool: Spool;

const record = (id: string, serverId: number): NewMessage => ({
  id,
  serverId,
  mailFrom: 'app@example.test',
  recipients: ['a@example.test'],
  size: 10,
  subject: null,
  headerMessageId: null,
  clientAddress: '127.0.0.1',
  clientHelo: 'app',
  route: 'network 127.0.0.0/8',
  relayUser: null,
  receivedAt: 1_000,
  expiresAt: 10_000_000,
});

beforeEach(() => {
  fx = createFixture();
  spool = createSpool(path.join(fx.dir, 'spool'));
});
afterEach(() => fx.cleanup());

describe('start-up recovery', () => {
  it('requeues mail left in flight, deletes unrecorded files and fails records whose file is gone', async () => {
    const { id: serverId } = fx.store.servers.add(plainServer());
    fx.store.queue.insert([record('INFLIGHT', serverId), record('NOFILE', serverId)]);
    for (const id of ['INFLIGHT', 'NOFILE']) fx.store.queue.claim(id, 2_000);
    writeFileSync(spool.path('INFLIGHT'), 'Subject: x\r\n\r\nx\r\n');
    writeFileSync(spool.path('ORPHAN'), 'Subject: never acknowledged\r\n');

    const report = await recover(fx.store.queue, spool, silentLogger, 3_000);

    expect(report).toEqual({ requeued: 2, orphansRemoved: 1, lost: ['NOFILE'] });
    expect(fx.store.queue.get('INFLIGHT')).toMatchObject({ status: 'queued', nextAttemptAt: 3_000 });
    expect(fx.store.queue.get('NOFILE')).toMatchObject({ status: 'failed', lastReply: expect.stringMatching(/spool file missing/) });
    expect(existsSync(spool.path('ORPHAN'))).toBe(false);
    expect(existsSync(spool.path('INFLIGHT'))).toBe(true);
    expect(fx.store.queue.events('INFLIGHT').map((e) => e.kind)).toEqual(['received', 'requeued']);
  });
});

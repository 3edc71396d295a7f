import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { recover } from '../../src/relay/recovery.js';
import { Readable } from 'node:stream';
import { createSpool, type Spool } from '../../src/relay/spool.js';
import { createFixture, plainServer, queuedMessage, spoolEnvelope, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
let spool: Spool;

beforeEach(() => {
  fx = createFixture();
  spool = createSpool(path.join(fx.dir, 'spool'));
});
afterEach(() => fx.cleanup());

describe('start-up recovery', () => {
  it('requeues mail left in flight, deletes unrecorded files and fails records whose file is gone', async () => {
    const { id: serverId } = fx.store.servers.add(plainServer());
    fx.store.queue.insert([queuedMessage('INFLIGHT', serverId), queuedMessage('NOFILE', serverId)]);
    for (const id of ['INFLIGHT', 'NOFILE']) fx.store.queue.claim(id, 2_000);
    writeFileSync(spool.path('INFLIGHT'), 'Subject: x\r\n\r\nx\r\n');
    writeFileSync(spool.path('ORPHAN'), 'Subject: never acknowledged\r\n');

    const report = await recover(fx.store.queue, spool, silentLogger, 3_000);

    expect(report).toEqual({ requeued: 2, rebuilt: 0, unfinishedRemoved: 0, orphansRemoved: 1, lost: ['NOFILE'] });
    expect(fx.store.queue.get('INFLIGHT')).toMatchObject({ status: 'queued', nextAttemptAt: 3_000 });
    expect(fx.store.queue.get('NOFILE')).toMatchObject({ status: 'failed', lastReply: expect.stringMatching(/spool file missing/) });
    expect(existsSync(spool.path('ORPHAN'))).toBe(false);
    expect(existsSync(spool.path('INFLIGHT'))).toBe(true);
    expect(fx.store.queue.events('INFLIGHT').map((e) => e.kind)).toEqual(['received', 'requeued']);
  });

  it('records again, from its envelope, a message whose record a power cut undid, and delivers its bytes unchanged', async () => {
    const { id: serverId } = fx.store.servers.add(plainServer());
    const envelope = spoolEnvelope('UNDONE', serverId, {
      mailFrom: 'erp@contoso.test',
      recipients: ['alice@fabrikam.test', 'bob@fabrikam.test'],
      clientAddress: '127.0.0.9',
      clientHelo: 'erp.contoso.test',
      route: 'relay user erp',
      relayUser: 'erp',
      receivedAt: 5_000,
      expiresAt: 9_000_000,
    });
    const prefix = Buffer.from('Received: from erp.contoso.test by relay365\r\n');
    const message = 'Subject: Invoice 7\r\nMessage-ID: <7@erp>\r\n\r\nAmount: 12\r\n';
    await spool.write(envelope, prefix, Readable.from([Buffer.from(message)]));

    const report = await recover(fx.store.queue, spool, silentLogger, 6_000);

    expect(report).toMatchObject({ rebuilt: 1, orphansRemoved: 0, lost: [] });
    expect(fx.store.queue.get('UNDONE')).toMatchObject({
      status: 'queued',
      serverId,
      mailFrom: 'erp@contoso.test',
      size: Buffer.byteLength(message),
      subject: 'Invoice 7',
      headerMessageId: '<7@erp>',
      clientAddress: '127.0.0.9',
      route: 'relay user erp',
      relayUser: 'erp',
      receivedAt: 5_000,
    });
    expect(fx.store.queue.pendingRecipients('UNDONE')).toEqual(['alice@fabrikam.test', 'bob@fabrikam.test']);
    const chunks: Buffer[] = [];
    for await (const chunk of spool.read('UNDONE')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(prefix.toString() + message);
  });

  it('removes unfinished writes, and files of messages already done or of a deleted server, without recording them', async () => {
    const { id: serverId } = fx.store.servers.add(plainServer());
    const gone = fx.store.servers.add(plainServer({ name: 'gone' })).id;
    const body = (): Readable => Readable.from([Buffer.from('Subject: x\r\n\r\nx\r\n')]);
    fx.store.queue.insert([queuedMessage('DONE', serverId)]);
    fx.store.queue.claim('DONE', 2_000);
    fx.store.queue.recordAttempt('DONE', { kind: 'done', delivered: [{ address: 'a@example.test', reply: '250 ok' }], failed: [] }, 2_500);
    await spool.write(spoolEnvelope('DONE', serverId), Buffer.alloc(0), body());
    await spool.write(spoolEnvelope('ORPHANED', gone), Buffer.alloc(0), body());
    fx.store.servers.remove(gone);
    writeFileSync(path.join(fx.dir, 'spool', 'PARTIAL.tmp'), 'R365ENV1');

    const report = await recover(fx.store.queue, spool, silentLogger, 3_000);

    expect(report).toMatchObject({ rebuilt: 0, unfinishedRemoved: 1, orphansRemoved: 2, lost: [] });
    expect(readdirSync(path.join(fx.dir, 'spool'))).toEqual([]);
    expect(fx.store.queue.get('DONE')?.status).toBe('delivered');
    expect(fx.store.queue.get('ORPHANED')).toBeUndefined();
  });
});

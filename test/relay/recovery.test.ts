/**
 * Start-up recovery: mail in flight is queued again, chunks without a waiting
 * message go, a waiting message without a body is failed and reported, and an
 * earlier version's spool folder moves into the database.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dataFolder } from '../../src/data-folder.js';
import { silentLogger } from '../../src/log.js';
import { recover } from '../../src/relay/recovery.js';
import { createSpool, type Spool, type SpoolEnvelope } from '../../src/relay/spool.js';
import { createFixture, earlierSpoolFile, plainServer, queuedMessage, spoolEnvelope, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
let spool: Spool;
let spoolDir: string;

beforeEach(() => {
  fx = createFixture();
  spool = createSpool(fx.store.bodies);
  spoolDir = dataFolder(fx.dir).spool;
});
afterEach(() => fx.cleanup());

/** Writes a file into the spool folder as earlier versions spooled it. */
function oldSpoolFile(envelope: SpoolEnvelope, prefix: Buffer, message: Buffer): void {
  mkdirSync(spoolDir, { recursive: true });
  writeFileSync(path.join(spoolDir, `${envelope.id}.eml`), earlierSpoolFile(envelope, prefix, message));
}

const bytesOf = async (id: string): Promise<string> => (await spool.head(id, Infinity)).toString();

describe('start-up recovery', () => {
  it('requeues mail left in flight, deletes chunks without a waiting message and fails waiting mail without a body', async () => {
    const { id: serverId } = fx.store.sync.servers.add(plainServer());
    const chunk = (id: string) => ({ messageId: id, seq: 0, bytes: Buffer.from('Subject: x\r\n\r\nx\r\n') });
    fx.store.sync.queue.insert([queuedMessage('INFLIGHT', serverId)], [chunk('INFLIGHT')]);
    fx.store.sync.queue.insert([queuedMessage('NOBODY', serverId)]);
    for (const id of ['INFLIGHT', 'NOBODY']) fx.store.sync.queue.claim(id, 2_000);
    // A client that went away mid-DATA, or a crash before its record's commit.
    fx.store.sync.bodies.append(chunk('ORPHAN'));

    const report = await recover(fx.store, spoolDir, silentLogger, 3_000);

    expect(report).toEqual({ requeued: 2, rebuilt: 0, moved: 0, orphansRemoved: 1, lost: ['NOBODY'] });
    expect(fx.store.sync.queue.get('INFLIGHT')).toMatchObject({ status: 'queued', nextAttemptAt: 3_000 });
    expect(fx.store.sync.queue.get('NOBODY')).toMatchObject({ status: 'failed', lastReply: expect.stringMatching(/body missing/) });
    expect(fx.store.sync.bodies.has('ORPHAN')).toBe(false);
    expect(await bytesOf('INFLIGHT')).toBe('Subject: x\r\n\r\nx\r\n');
    expect(fx.store.sync.queue.events('INFLIGHT').map((e) => e.kind)).toEqual(['received', 'requeued']);
  });

  it('records again, from its envelope, a spool file whose record a power cut undid, with its bytes unchanged', async () => {
    const { id: serverId } = fx.store.sync.servers.add(plainServer());
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
    oldSpoolFile(envelope, prefix, Buffer.from(message));

    const report = await recover(fx.store, spoolDir, silentLogger, 6_000);

    expect(report).toMatchObject({ rebuilt: 1, moved: 0, orphansRemoved: 0, lost: [] });
    expect(fx.store.sync.queue.get('UNDONE')).toMatchObject({
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
    expect(fx.store.sync.queue.pendingRecipients('UNDONE')).toEqual(['alice@fabrikam.test', 'bob@fabrikam.test']);
    expect(await bytesOf('UNDONE')).toBe(prefix.toString() + message);
    expect(existsSync(spoolDir)).toBe(false);
  });

  it('moves the body of a waiting message from a spool file, in chunks, and removes files it does not need', async () => {
    const { id: serverId } = fx.store.sync.servers.add(plainServer());
    const gone = fx.store.sync.servers.add(plainServer({ name: 'gone' })).id;
    const big = Buffer.from('Subject: big\r\n\r\n' + 'y'.repeat(700_000));
    fx.store.sync.queue.insert([queuedMessage('WAITING', serverId), queuedMessage('DONE', serverId)]);
    fx.store.sync.queue.claim('DONE', 2_000);
    fx.store.sync.queue.recordAttempt(
      'DONE',
      { kind: 'done', delivered: [{ address: 'a@example.test', reply: '250 ok' }], failed: [] },
      2_500,
    );
    const prefix = Buffer.from('Received: by relay365\r\n');
    oldSpoolFile(spoolEnvelope('WAITING', serverId), prefix, big);
    oldSpoolFile(spoolEnvelope('DONE', serverId), Buffer.alloc(0), Buffer.from('x'));
    oldSpoolFile(spoolEnvelope('ORPHANED', gone), Buffer.alloc(0), Buffer.from('x'));
    fx.store.sync.servers.remove(gone);
    writeFileSync(path.join(spoolDir, 'PARTIAL.tmp'), 'R365ENV1');

    const report = await recover(fx.store, spoolDir, silentLogger, 3_000);

    expect(report).toMatchObject({ rebuilt: 0, moved: 1, orphansRemoved: 3, lost: [] });
    expect(await bytesOf('WAITING')).toBe(Buffer.concat([prefix, big]).toString());
    expect(fx.store.sync.bodies.chunk('WAITING', 2)).toBeDefined();
    expect(fx.store.sync.queue.get('DONE')?.status).toBe('delivered');
    expect(fx.store.sync.bodies.has('DONE')).toBe(false);
    expect(fx.store.sync.queue.get('ORPHANED')).toBeUndefined();
    expect(existsSync(spoolDir)).toBe(false);
  });

  it('moves a file from before envelopes into the body of its waiting record', async () => {
    const { id: serverId } = fx.store.sync.servers.add(plainServer());
    fx.store.sync.queue.insert([queuedMessage('OLDEST', serverId)]);
    mkdirSync(spoolDir, { recursive: true });
    writeFileSync(path.join(spoolDir, 'OLDEST.eml'), 'Subject: old\r\n\r\nold\r\n');

    expect(await recover(fx.store, spoolDir, silentLogger, 3_000)).toMatchObject({ moved: 1, lost: [] });
    expect(await bytesOf('OLDEST')).toBe('Subject: old\r\n\r\nold\r\n');
  });
});

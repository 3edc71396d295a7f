import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { create as createTar, extract as extractTar, list as listTar } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupError } from '../../src/backup/backup-error.js';
import { createBackup } from '../../src/backup/create-backup.js';
import { describeFile, MANIFEST_FORMAT, type Manifest } from '../../src/backup/manifest.js';
import { restoreBackup } from '../../src/backup/restore-backup.js';
import { dataFolder } from '../../src/data-folder.js';
import { silentLogger } from '../../src/log.js';
import { recover } from '../../src/relay/recovery.js';
import { CHUNK_BYTES, createSpool } from '../../src/relay/spool.js';
import { copyDatabase, CURRENT_SCHEMA_VERSION, openExistingDatabase } from '../../src/store/backup.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { createStore, type SqliteStore } from '../../src/store/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { createFixture, earlierSpoolFile, plainServer, queuedMessage, spoolEnvelope, type Fixture } from '../helpers/fixture.js';

/** The key the fixture seals its store with (RELAY365_SECRET_KEY, so no secret.key in the data folder). */
const KEY = 'ab'.repeat(32);

let fx: Fixture;
let serverId: number;
let root: string;
let opened: SqliteStore | null;
beforeEach(() => {
  fx = createFixture();
  serverId = fx.store.sync.servers.add(plainServer()).id;
  root = mkdtempSync(path.join(tmpdir(), 'relay365-backup-'));
  opened = null;
});
afterEach(() => {
  void opened?.close();
  fx.cleanup();
  rmSync(root, { recursive: true, force: true });
});

/** Opens (and migrates) the store of a restored data folder; closed after the test. */
function openStore(dir: string): SqliteStore {
  opened = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
  return opened;
}

/** Entry names of an archive, in order. */
async function entries(file: string): Promise<string[]> {
  const names: string[] = [];
  await listTar({ file, onReadEntry: (e) => void names.push(e.path) });
  return names;
}

const message = (subject: string): Buffer => Buffer.from(`Received: from app by relay365\r\nSubject: ${subject}\r\n\r\nbody\r\n`);

describe('backup of a data folder with its bodies in the database', () => {
  it('restores a backup taken while mail waits into a fresh data folder, with each waiting message byte for byte', async () => {
    // One message of three chunks (stored while DATA streamed, the last with its record), one of a single chunk.
    const big = [Buffer.alloc(CHUNK_BYTES, 'a'), Buffer.alloc(CHUNK_BYTES, 'b'), Buffer.from('the end\r\n')];
    fx.store.sync.bodies.append({ messageId: 'BIG', seq: 0, bytes: big[0] as Buffer });
    fx.store.sync.bodies.append({ messageId: 'BIG', seq: 1, bytes: big[1] as Buffer });
    fx.store.sync.queue.insert(
      [queuedMessage('BIG', serverId, { size: 2 * CHUNK_BYTES + 9 }), queuedMessage('SMALL', serverId, { size: 40 })],
      [
        { messageId: 'BIG', seq: 2, bytes: big[2] as Buffer },
        { messageId: 'SMALL', seq: 0, bytes: message('small') },
      ],
    );
    // A message that failed is not waiting, and chunks of a message still in DATA have no record.
    fx.store.sync.queue.insert(
      [queuedMessage('FAILED', serverId, { size: 1000 })],
      [{ messageId: 'FAILED', seq: 0, bytes: message('failed') }],
    );
    fx.store.sync.queue.markLost('FAILED', 'given up', 2_000);
    fx.store.sync.bodies.remove('FAILED');
    fx.store.sync.bodies.append({ messageId: 'STREAMING', seq: 0, bytes: Buffer.from('half a message') });

    const archive = path.join(root, 'relay365.tar.gz');
    const made = await createBackup({ dataDir: fx.dir, to: archive, includeKey: true });
    expect(made).toMatchObject({
      file: archive,
      messages: 2,
      receivedBytes: 2 * CHUNK_BYTES + 9 + 40,
      keyIncluded: false,
      listenerCertificate: true,
      schemaVersion: CURRENT_SCHEMA_VERSION,
    });
    expect(made.databaseBytes).toBeGreaterThan(2 * CHUNK_BYTES);
    expect(await entries(archive)).toEqual(['manifest.json', 'relay365.db', 'listener-cert.pem', 'listener-key.pem']);
    expect(readdirSync(fx.dir).filter((name) => name.startsWith('.backup-'))).toEqual([]);

    const restoredDir = path.join(root, 'restored');
    const restored = await restoreBackup({ dataDir: restoredDir, from: archive, keyFromEnvironment: true });
    expect(restored).toMatchObject({ files: 3, messages: 2, keyIncluded: false, warnings: [] });
    expect(readdirSync(restoredDir).sort()).toEqual(['listener-cert.pem', 'listener-key.pem', 'relay365.db']);

    const store = openStore(restoredDir);
    const waiting = store.sync.queue.list().filter((m) => m.status !== 'delivered' && m.status !== 'failed');
    expect(waiting.map((m) => m.id).sort()).toEqual(['BIG', 'SMALL']);
    const spool = createSpool(store.bodies);
    expect((await buffer(spool.read('BIG'))).equals(Buffer.concat(big))).toBe(true);
    expect((await buffer(spool.read('SMALL'))).equals(message('small'))).toBe(true);
    const report = await recover(store, dataFolder(restoredDir).spool, silentLogger);
    expect(report).toMatchObject({ moved: 0, orphansRemoved: 1, lost: [] });
    expect(store.sync.bodies.has('STREAMING')).toBe(false);
  });

  it('writes how much mail was waiting into the manifest', async () => {
    fx.store.sync.queue.insert([queuedMessage('ONE', serverId, { size: 123 })], [{ messageId: 'ONE', seq: 0, bytes: message('one') }]);
    const archive = path.join(root, 'relay365.tar.gz');
    await createBackup({ dataDir: fx.dir, to: archive, includeKey: true });
    const unpacked = path.join(root, 'unpacked');
    mkdirSync(unpacked);
    await extractTar({ file: archive, cwd: unpacked });
    const manifest = JSON.parse(readFileSync(path.join(unpacked, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ format: MANIFEST_FORMAT, keyIncluded: false, waiting: { messages: 1, receivedBytes: 123 } });
    expect(manifest.files.map((f) => f.path)).toEqual(['relay365.db', 'listener-cert.pem', 'listener-key.pem']);
  });

  it('refuses to back up a data folder that still has an earlier version’s spool files, whose bodies are not in the database yet', async () => {
    fx.store.sync.queue.insert([queuedMessage('OLD', serverId)]);
    mkdirSync(path.join(fx.dir, 'spool'));
    writeFileSync(path.join(fx.dir, 'spool', 'OLD.eml'), message('old'));
    const archive = path.join(root, 'relay365.tar.gz');
    const made = createBackup({ dataDir: fx.dir, to: archive, includeKey: true });
    await expect(made).rejects.toThrow(BackupError);
    await expect(made).rejects.toThrow(/still has 1 spool file\(s\) of an earlier relay365, .*start relay365 once/);
    expect(existsSync(archive)).toBe(false);
    expect(existsSync(`${archive}.partial`)).toBe(false);
  });
});

/** A spool file as earlier versions wrote it, for message `id` of the fixture's server. */
const spoolFile = (id: string, bytes: Buffer): Buffer => earlierSpoolFile(spoolEnvelope(id, serverId), Buffer.alloc(0), bytes);

/** The schema version of relay365 before message bodies moved into the database. */
const BEFORE_BODIES = MIGRATIONS.findIndex((sql) => sql.includes('CREATE TABLE IF NOT EXISTS message_bodies'));
/**
 * An archive as an earlier version made it: the fixture's database as that version left it (no
 * message bodies in it) and a spool file for each of `spooled`.
 */
async function olderArchive(spooled: Record<string, Buffer>): Promise<string> {
  const staged = path.join(root, 'older');
  mkdirSync(path.join(staged, 'spool'), { recursive: true });
  const db = path.join(staged, 'relay365.db');
  await copyDatabase(fx.store.db, db);
  const old = openExistingDatabase(db);
  // Undo the migrations from the one that added message_bodies on: instances, auth_failures' id, claims' leases.
  old.exec(`
    DROP INDEX messages_leases;
    ALTER TABLE messages DROP COLUMN claimed_by;
    ALTER TABLE messages DROP COLUMN lease_until;
    DROP TABLE message_bodies;
    DROP TABLE instances;
    DROP TABLE auth_failures;
    CREATE TABLE auth_failures (address TEXT NOT NULL, at INTEGER NOT NULL, username TEXT);
    CREATE INDEX auth_failures_address ON auth_failures(address, at);
    PRAGMA user_version = ${BEFORE_BODIES};`);
  old.close();
  const names = ['relay365.db', ...Object.keys(spooled).map((id) => `spool/${id}.eml`)];
  for (const [id, bytes] of Object.entries(spooled)) writeFileSync(path.join(staged, 'spool', `${id}.eml`), spoolFile(id, bytes));
  const manifest = {
    format: MANIFEST_FORMAT,
    relay365Version: '0.1.0',
    createdAt: new Date().toISOString(),
    schemaVersion: BEFORE_BODIES,
    keyIncluded: false,
    files: await Promise.all(names.map((name) => describeFile(path.join(staged, name), name))),
  };
  writeFileSync(path.join(staged, 'manifest.json'), JSON.stringify(manifest));
  const archive = path.join(root, 'older.tar.gz');
  await createTar({ gzip: true, cwd: staged, file: archive }, ['manifest.json', ...names]);
  return archive;
}

describe('restore of an archive made before bodies moved into the database', () => {
  it('puts its spool files into the spool folder, and the next start moves them into the database', async () => {
    fx.store.sync.queue.insert([queuedMessage('OLD1', serverId), queuedMessage('OLD2', serverId)]);
    const bytes = { OLD1: message('first'), OLD2: message('second') };
    const archive = await olderArchive(bytes);
    expect(await entries(archive)).toEqual(['manifest.json', 'relay365.db', 'spool/OLD1.eml', 'spool/OLD2.eml']);

    const restoredDir = path.join(root, 'restored');
    const restored = await restoreBackup({ dataDir: restoredDir, from: archive, keyFromEnvironment: true });
    expect(restored).toMatchObject({ files: 3, messages: 2, schemaVersion: BEFORE_BODIES, warnings: [] });
    const spoolDir = dataFolder(restoredDir).spool;
    expect(readdirSync(spoolDir).sort()).toEqual(['OLD1.eml', 'OLD2.eml']);
    expect(statSync(spoolDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(spoolDir, 'OLD1.eml')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(spoolDir, 'OLD1.eml')).equals(spoolFile('OLD1', bytes.OLD1))).toBe(true);

    const store = openStore(restoredDir);
    const report = await recover(store, spoolDir, silentLogger);
    expect(report).toMatchObject({ rebuilt: 0, moved: 2, lost: [] });
    expect(existsSync(spoolDir)).toBe(false);
    expect(store.sync.bodies.chunk('OLD1', 0)?.equals(bytes.OLD1)).toBe(true);
    expect(store.sync.bodies.chunk('OLD2', 0)?.equals(bytes.OLD2)).toBe(true);
    expect(store.sync.queue.get('OLD1')?.status).toBe('queued');
  });

  it('warns about a waiting message with no spool file in the archive, which the next start reports lost', async () => {
    fx.store.sync.queue.insert([queuedMessage('KEPT', serverId), queuedMessage('MISSING', serverId)]);
    const archive = await olderArchive({ KEPT: message('kept') });

    const restoredDir = path.join(root, 'restored');
    const restored = await restoreBackup({ dataDir: restoredDir, from: archive, keyFromEnvironment: true });
    expect(restored.messages).toBe(2);
    expect(restored.warnings).toEqual(['1 waiting message(s) have no body in the archive; relay365 will report them lost']);

    const report = await recover(openStore(restoredDir), dataFolder(restoredDir).spool, silentLogger);
    expect(report).toMatchObject({ moved: 1, lost: ['MISSING'] });
  });
});

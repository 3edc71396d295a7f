import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { create as createTar, extract as extractTar, Header, list as listTar } from 'tar';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { createRelay } from '../../src/relay/index.js';
import { createStore } from '../../src/store/index.js';
import { createSecretBox, loadSecretKey } from '../../src/store/secret-box.js';
import { startHarness, testMessage } from '../helpers/relay-harness.js';
import { endedPid, runCli } from '../helpers/relay-process.js';
import { MANIFEST_FORMAT } from '../../src/backup/manifest.js';
import { waitFor } from '../helpers/wait.js';
import { createSpool } from '../../src/relay/spool.js';

const KEY = 'ab'.repeat(32);
const BUSY = '451 4.7.500 Server busy. Please try again later.';
/** At most this many messages are sent while the backup runs. */
const MAX_DURING_BACKUP = 200;

let scratch: string;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A data folder made by relay365 itself (with its generated key) and a full backup of it, shared read-only by the tests. */
let source: { root: string; dataDir: string; archive: string };
beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'relay365-backup-source-'));
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  await createStore(dataDir, createSecretBox(loadSecretKey(dataDir, null))).close();
  const archive = path.join(root, 'full.tar.gz');
  const made = await runCli(['backup', '--to', archive], cliEnv(dataDir));
  expect(made).toMatchObject({ code: 0, stderr: '' });
  source = { root, dataDir, archive };
}, 60_000);
afterAll(() => {
  if (source) rmSync(source.root, { recursive: true, force: true });
});

const newScratch = (): string => (scratch = mkdtempSync(path.join(tmpdir(), 'relay365-backup-')));
function cliEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { RELAY365_SECRET_KEY: _key, RELAY365_SECRET_KEY_FILE: _keyFile, ...inherited } = process.env;
  return { ...inherited, RELAY365_DATA_DIR: dataDir, RELAY365_LOG_LEVEL: 'error', ...extra };
}

/** Entry names of an archive, in order. */
async function entries(file: string): Promise<string[]> {
  const names: string[] = [];
  await listTar({ file, onReadEntry: (e) => void names.push(e.path) });
  return names;
}

/** The source archive unpacked into a new folder, to be changed and packed again. */
async function unpackSource(root: string): Promise<string> {
  const unpacked = path.join(root, 'unpacked');
  mkdirSync(unpacked);
  await extractTar({ file: source.archive, cwd: unpacked });
  return unpacked;
}

/** Writes a gzipped tar whose entries are exactly these, unchecked: what an attacker could hand over. */
function craftArchive(file: string, list: { path: string; body?: Buffer; type?: 'File' | 'SymbolicLink'; linkpath?: string }[]): void {
  const blocks: Buffer[] = [];
  for (const entry of list) {
    const body = entry.body ?? Buffer.alloc(0);
    const header = new Header({
      path: entry.path,
      type: entry.type ?? 'File',
      linkpath: entry.linkpath,
      mode: 0o600,
      size: body.length,
      mtime: new Date(),
    });
    header.encode();
    blocks.push(header.block as Buffer, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  writeFileSync(file, gzipSync(Buffer.concat(blocks)));
}

/** A tar header block for a plain file of `size` bytes. */
function fileHeader(name: string, size: number): Buffer {
  const header = new Header({ path: name, type: 'File', mode: 0o600, size, mtime: new Date() });
  header.encode();
  return header.block as Buffer;
}

const padding = (size: number): Buffer => Buffer.alloc((512 - (size % 512)) % 512);

/**
 * Streams a gzipped tar of a manifest listing `listed` and one entry named
 * `listed.path` whose header says `headerSize` and whose body is `body`:
 * an archive far larger unpacked than packed, without holding it in memory.
 */
async function streamArchive(
  file: string,
  listed: { path: string; size: number; sha256: string },
  headerSize: number,
  body: () => Iterable<Buffer>,
) {
  const manifest = Buffer.from(
    JSON.stringify({
      format: MANIFEST_FORMAT,
      relay365Version: '0.0.0',
      createdAt: new Date().toISOString(),
      schemaVersion: 1,
      keyIncluded: false,
      files: [listed],
    }),
  );
  function* blocks(): Iterable<Buffer> {
    yield fileHeader('manifest.json', manifest.length);
    yield manifest;
    yield padding(manifest.length);
    yield fileHeader(listed.path, headerSize);
    yield* body();
    yield padding(headerSize);
    yield Buffer.alloc(1024);
  }
  await pipeline(Readable.from(blocks()), createGzip({ level: 9 }), createWriteStream(file));
}

describe('relay365 backup and restore', () => {
  it('restores a backup taken while mail flows, and the restored relay delivers what was waiting, byte for byte', async () => {
    const root = newScratch();
    const h = await startHarness();
    try {
      // Every delivery attempt is deferred: the queue fills and stays.
      h.emu.exchange.failNext({ stage: 'rcpt', reply: BUSY, count: 100_000 });
      const before: Record<string, string> = {};
      for (let i = 0; i < 5; i++) before[await h.submit(testMessage(`before backup ${i}`))] = testMessage(`before backup ${i}`);
      await waitFor(() => h.fx.store.sync.queue.countsByStatus().deferred === 5, 'five deferred messages');

      const archive = path.join(root, 'relay365.tar.gz');
      let backupDone = false;
      const backup = runCli(['backup', '--to', archive], cliEnv(h.fx.dir, { RELAY365_SECRET_KEY: KEY })).finally(() => (backupDone = true));
      const during: string[] = [];
      while (!backupDone && during.length < MAX_DURING_BACKUP) during.push(await h.submit(testMessage(`during backup ${during.length}`)));
      const made = await backup;
      expect(made.code).toBe(0);
      const archived =
        /^wrote .*relay365\.tar\.gz \(.+\): database .+ \(schema \d+\) with (\d+) waiting message\(s\) \(.+ as received\)/.exec(
          made.stdout,
        );
      expect(archived, made.stdout).not.toBeNull();
      expect(made.stdout).toContain('the encryption key is not in the archive: it comes from RELAY365_SECRET_KEY');
      expect(made.stdout).not.toContain(KEY);
      expect(statSync(archive).mode & 0o777).toBe(0o600);
      expect(existsSync(`${archive}.partial`)).toBe(false);
      expect(during.length).toBeGreaterThan(0);
      expect(readdirSync(h.fx.dir).filter((name) => name.startsWith('.backup-'))).toEqual([]);
      await h.relay.stop();

      const restoredDir = path.join(root, 'restored');
      const restored = await runCli(['restore', '--from', archive], cliEnv(restoredDir, { RELAY365_SECRET_KEY: KEY }));
      expect(restored).toMatchObject({ code: 0, stderr: '' });
      expect(restored.stdout).toContain('start relay365 to resume the queue');
      expect(statSync(restoredDir).mode & 0o777).toBe(0o700);
      // The bodies are in the database: the archive has no spool files to restore.
      expect(readdirSync(restoredDir).sort()).toEqual(['listener-cert.pem', 'listener-key.pem', 'relay365.db']);
      for (const name of readdirSync(restoredDir)) expect(statSync(path.join(restoredDir, name)).mode & 0o777).toBe(0o600);

      // The restored relay, with the upstream healthy again and the retry time passed.
      h.emu.exchange.clearFaults();
      const config = loadConfig({
        RELAY365_DATA_DIR: restoredDir,
        RELAY365_SMTP_LISTEN: '127.0.0.1:0',
        RELAY365_ADMIN_LISTEN: '127.0.0.1:0',
        RELAY365_SECRET_KEY: KEY,
      });
      const store = createStore(restoredDir, createSecretBox(Buffer.from(KEY, 'hex')));
      const waiting = store.db
        .prepare<[], { id: string }>(`SELECT id FROM messages WHERE status NOT IN ('delivered', 'failed')`)
        .all()
        .map((m) => m.id);
      expect(waiting).toEqual(expect.arrayContaining(Object.keys(before)));
      expect(waiting).toHaveLength(Number(archived?.[1]));
      const spool = createSpool(store.bodies);
      const spooled = new Map<string, Buffer>();
      for (const id of waiting) spooled.set(id, await buffer(spool.read(id)));
      const relay = createRelay({ config, store, log: silentLogger, now: () => h.now() + 3 * 60 * 60_000, pollMs: 50 });
      try {
        await relay.start();
        const received = await h.emu.exchange.waitForMessages(waiting.length, 20_000);
        await waitFor(() => store.sync.queue.countsByStatus().delivered === waiting.length, 'every restored message delivered');
        expect(received).toHaveLength(waiting.length);
        for (const [id, bytes] of spooled)
          expect(
            received.filter((m) => m.raw.equals(bytes)),
            id,
          ).toHaveLength(1);
        for (const [id, raw] of Object.entries(before)) {
          const bytes = spooled.get(id) as Buffer;
          expect(bytes.toString('utf8').startsWith('Received: ')).toBe(true);
          expect(bytes.toString('utf8').endsWith(raw)).toBe(true);
        }
      } finally {
        await relay.stop();
        await store.close();
      }
    } finally {
      await h.close();
    }
  }, 120_000);

  it('removes the folder a killed backup left in the data folder', async () => {
    const dataDir = path.join(newScratch(), 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    await createStore(dataDir, createSecretBox(loadSecretKey(dataDir, null))).close();
    const left = path.join(dataDir, `.backup-${hostname()}-${await endedPid()}-Ab12Cd`);
    mkdirSync(left);
    writeFileSync(path.join(left, 'relay365.db'), 'half a copy');
    const made = await runCli(['backup', '--to', path.join(scratch, 'next.tar.gz')], cliEnv(dataDir));
    expect(made).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(dataDir).filter((name) => name.startsWith('.backup-'))).toEqual([]);
  });

  it('leaves the key out with --without-key and says so, and a restore of such an archive warns', async () => {
    const root = newScratch();
    expect(await entries(source.archive)).toEqual(['manifest.json', 'relay365.db', 'secret.key']);
    const keyless = path.join(root, 'keyless.tar.gz');
    const made = await runCli(['backup', '--to', keyless, '--without-key'], cliEnv(source.dataDir));
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('the encryption key is not in the archive (--without-key)');
    expect(made.stdout).not.toContain(readFileSync(path.join(source.dataDir, 'secret.key'), 'utf8').trim());
    expect(await entries(keyless)).toEqual(['manifest.json', 'relay365.db']);
    const manifest = JSON.parse(readFileSync(path.join(await unpackSource(root), 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ format: 'relay365-backup/1', keyIncluded: true, schemaVersion: expect.any(Number) });

    const restored = await runCli(['restore', '--from', keyless], cliEnv(path.join(root, 'restored')));
    expect(restored.code).toBe(0);
    expect(restored.stderr).toMatch(/warning: the archive has no encryption key and RELAY365_SECRET_KEY is not set/);
  }, 60_000);

  it('refuses a backup without --to, or onto a file that exists, without touching that file', async () => {
    const missing = await runCli(['backup'], cliEnv(source.dataDir));
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toMatch(/^relay365: --to is required, e\.g\. relay365 backup --to /);
    const before = readFileSync(source.archive);
    const taken = await runCli(['backup', '--to', source.archive], cliEnv(source.dataDir));
    expect(taken).toMatchObject({ code: 2, stdout: '' });
    expect(taken.stderr).toMatch(/full\.tar\.gz": the file exists already; choose a new name\n$/);
    expect(readFileSync(source.archive).equals(before)).toBe(true);
    expect(readdirSync(source.root)).toEqual(['data', 'full.tar.gz']);
  }, 60_000);

  it('refuses to restore into a folder that has a database or spool files', async () => {
    const root = newScratch();
    const intoDatabase = await runCli(['restore', '--from', source.archive], cliEnv(source.dataDir));
    expect(intoDatabase.code).toBe(2);
    expect(intoDatabase.stderr).toMatch(
      /^relay365: .*data \(RELAY365_DATA_DIR\) already has a database \(relay365\.db\); restore only into an empty data folder\n$/,
    );

    const spoolOnly = path.join(root, 'spool-only');
    mkdirSync(path.join(spoolOnly, 'spool'), { recursive: true });
    writeFileSync(path.join(spoolOnly, 'spool', 'ABC.eml'), 'Subject: x\r\n\r\nx\r\n');
    const intoSpool = await runCli(['restore', '--from', source.archive], cliEnv(spoolOnly));
    expect(intoSpool.code).toBe(2);
    expect(intoSpool.stderr).toMatch(/already has 1 spool file\(s\); restore only into an empty data folder\n$/);
    expect(readdirSync(spoolOnly)).toEqual(['spool']);
  }, 60_000);

  it('refuses an archive whose file does not match its checksum, and leaves the folder empty', async () => {
    const root = newScratch();
    const unpacked = await unpackSource(root);
    const key = path.join(unpacked, 'secret.key');
    writeFileSync(
      key,
      readFileSync(key, 'utf8').replace(/^./, (c) => (c === '0' ? '1' : '0')),
    );
    const tampered = path.join(root, 'tampered.tar.gz');
    await createTar({ gzip: true, cwd: unpacked, file: tampered }, ['manifest.json', 'relay365.db', 'secret.key']);

    const target = path.join(root, 'target');
    const refused = await runCli(['restore', '--from', tampered], cliEnv(target));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /was refused: secret\.key does not match its checksum in the manifest: the archive was changed or damaged\n$/,
    );
    expect(readdirSync(target)).toEqual([]);
  }, 60_000);

  it.each([
    [
      'a path that climbs out of the data folder',
      { path: '../escaped.txt', body: Buffer.from('x') },
      /entry "\.\.\/escaped\.txt" points outside the data folder/,
    ],
    [
      'an absolute path',
      { path: '/tmp/relay365-escaped.txt', body: Buffer.from('x') },
      /entry "\/tmp\/relay365-escaped\.txt" has an absolute path/,
    ],
    [
      'a symbolic link',
      { path: 'secret.key', type: 'SymbolicLink' as const, linkpath: '/etc/passwd' },
      /entry "secret\.key" is a SymbolicLink, not a plain file/,
    ],
  ])(
    'refuses an archive with %s',
    async (_what, entry, message) => {
      const root = newScratch();
      const unpacked = await unpackSource(root);
      const crafted = path.join(root, 'crafted.tar.gz');
      craftArchive(crafted, [{ path: 'manifest.json', body: readFileSync(path.join(unpacked, 'manifest.json')) }, entry]);

      const target = path.join(root, 'deep', 'target');
      const refused = await runCli(['restore', '--from', crafted], cliEnv(target));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(message);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(path.join(root, 'deep', 'escaped.txt'))).toBe(false);
      expect(existsSync('/tmp/relay365-escaped.txt')).toBe(false);
      expect(readdirSync(target)).toEqual([]);
    },
    60_000,
  );

  it('refuses an entry larger than its size in the manifest before writing any of it', async () => {
    const root = newScratch();
    const listed = randomBytes(1024);
    const entry = randomBytes(4 * 1024 * 1024);
    const crafted = path.join(root, 'grown.tar.gz');
    const spoolFile = { path: 'spool/grown.eml', size: listed.length, sha256: createHash('sha256').update(listed).digest('hex') };
    await streamArchive(crafted, spoolFile, entry.length, () => [entry]);

    const target = path.join(root, 'target');
    // A restore that wrote the entry would hit this limit and fail with EFBIG instead of the refusal.
    const refused = await runCli(['restore', '--from', crafted], cliEnv(target), { maxFileBytes: 1024 * 1024, timeoutMs: 60_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /was refused: spool\/grown\.eml is 4194304 bytes in the archive but 1024 in its manifest: the archive was changed or damaged\n$/,
    );
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(target)).toEqual([]);
  }, 60_000);

  it('refuses an archive that inflates a thousandfold, writing only a small part of it', async () => {
    const root = newScratch();
    const inflated = 256 * 1024 * 1024;
    const zeros = Buffer.alloc(1024 * 1024);
    const hash = createHash('sha256');
    for (let i = 0; i < inflated / zeros.length; i++) hash.update(zeros);
    // The manifest tells the truth about the entry: only the ratio gives the bomb away.
    const spoolFile = { path: 'spool/bomb.eml', size: inflated, sha256: hash.digest('hex') };
    const bomb = path.join(root, 'bomb.tar.gz');
    await streamArchive(bomb, spoolFile, inflated, function* () {
      for (let i = 0; i < inflated / zeros.length; i++) yield zeros;
    });
    expect(statSync(bomb).size).toBeLessThan(inflated / 900);

    const target = path.join(root, 'target');
    const refused = await runCli(['restore', '--from', bomb], cliEnv(target), { maxFileBytes: 64 * 1024 * 1024, timeoutMs: 60_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/was refused: it unpacks to more than a thousand times its size, which no relay365 backup does/);
    expect(refused.stderr).not.toMatch(/EFBIG/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(target)).toEqual([]);
  }, 60_000);

  it('refuses with one line, instead of crashing, when a file cannot be written', async () => {
    const root = newScratch();
    const target = path.join(root, 'target');
    // The database is larger than 16 KB: the limit stands in for a full disk.
    const refused = await runCli(['restore', '--from', source.archive], cliEnv(target), { maxFileBytes: 16 * 1024, timeoutMs: 60_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/was refused: relay365\.db cannot be written \(EFBIG\)\n$/);
    expect(readdirSync(target)).toEqual([]);
  }, 60_000);
});

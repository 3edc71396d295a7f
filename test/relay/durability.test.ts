/**
 * The proof behind "nothing acknowledged is lost": relay365 runs as a child process under
 * `strace -f`, and the trace of its real system calls shows, for every message, that the message was
 * on disk before the `250` for it was written to the client's socket.
 *
 * Message records and bodies live in the SQLite database `relay365.db`, in WAL mode. SQLite writes
 * each page it changes to the `relay365.db-wal` file as a frame: a 24-byte frame header, then the
 * page. Bytes 4-7 of a frame header are non-zero only in the last frame of a transaction (its commit
 * frame). The running relay's commits skip their own fsync; after each group commit it fdatasyncs
 * the -wal file, and only then answers 250.
 *
 * strace prints every byte these writes carry (`-xx`, with `-s` larger than a page), so for each
 * acknowledged queue ID the test finds:
 * - the first write to the -wal file whose bytes hold the message's `recipients` row (its queue ID
 *   followed by the recipient's address, two columns stored side by side). The row exists only once
 *   inserted, and the relay inserts it with the message's record and last body chunk in one
 *   transaction, so this page belongs to the transaction that recorded the message. (The last page
 *   holding the queue ID would not do: later transactions, such as the scheduler claiming the
 *   message or another message's update on the same page, write it again before the `250`.)
 * - the message's body (the test's messages are one chunk each) written to the -wal file before the
 *   end of that transaction;
 * - the first commit frame from that page's frame on: the transaction ends once that frame's page
 *   is written (after its header), which must come before the `250`;
 * - an fdatasync (or fsync) of the -wal file that succeeded, began after that commit frame was
 *   written, and ended before the `250` was written. It makes every frame written before it durable.
 * And before the first `250`, an fsync of the data folder itself must have finished, so the -wal
 * file's name is on disk too.
 * The trace's line order is the order of events: strace prints a call's end before the thread goes
 * on, and the relay learns that an fsync ended only after that thread went on.
 * Needs Debian's `strace` (CI installs it); without it the test is skipped locally and fails in CI.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { SEED, startEmulator, type Emulator } from '../emulator/index.js';
import { emulatorServer } from '../helpers/office365.js';
import { freePort, waitForPort } from '../helpers/relay-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KEY = 'ef'.repeat(32);
const RECIPIENT = 'alice@fabrikam.test';
/** Only the calls the proof needs, so the relay runs at nearly full speed: SQLite writes its -wal file with pwrite64. */
const TRACED = '/^(pwrite64|write|writev|fdatasync|fsync)$';
/** Bytes strace prints of each buffer: more than a page (4 KiB), so every -wal frame is printed whole. */
const STRING_LIMIT = 8192;

/** Why strace cannot trace a child here, or null when it can. */
function straceProblem(): string | null {
  const probe = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=write', process.execPath, '-e', ''], {
    encoding: 'utf8',
  });
  if (probe.error) return `strace is not installed (${(probe.error as NodeJS.ErrnoException).code}); apt-get install strace`;
  if (probe.status !== 0) return `strace cannot trace a child here: ${probe.stderr.trim()}`;
  return null;
}

/** One system call from its start to its end, as line numbers in the trace. */
interface Syscall {
  name: string;
  /** Its arguments and result as printed, the start and the end of an interrupted call joined. */
  text: string;
  start: number;
  end: number;
  result: string;
}

const START = /^(\d+)\s+(\w+)\((.*)$/;
const RESUMED = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$/;
const RESULT = /\)\s+=\s+(-?\d+|\?)/;

/**
 * The calls in an `strace -f` trace. A call that another thread's line interrupts is printed as
 * `name(args <unfinished ...>` and later `<... name resumed>rest) = result`; a thread makes one
 * call at a time, so the two halves pair up by thread ID.
 */
function parseTrace(trace: string): Syscall[] {
  const calls: Syscall[] = [];
  const open = new Map<string, Syscall>();
  trace.split('\n').forEach((line, index) => {
    const resumed = RESUMED.exec(line);
    if (resumed) {
      const [, tid = '', , rest = ''] = resumed;
      const call = open.get(tid);
      if (!call) return;
      open.delete(tid);
      call.text += rest;
      call.end = index;
      call.result = RESULT.exec(rest)?.[1] ?? '?';
      return;
    }
    const started = START.exec(line);
    if (!started) return;
    const [, tid = '', name = '', rest = ''] = started;
    const call: Syscall = { name, text: rest, start: index, end: index, result: RESULT.exec(rest)?.[1] ?? '?' };
    calls.push(call);
    if (rest.endsWith('<unfinished ...>')) open.set(tid, call);
  });
  return calls;
}

/** Decodes text as strace prints it with `-xx` (every byte as `\xHH`; other characters as they are). */
const unescape = (text: string): Buffer =>
  Buffer.concat(
    text
      .split(/(\\x[0-9a-f]{2})/)
      .map((part) => (/^\\x[0-9a-f]{2}$/.test(part) ? Buffer.from(part.slice(2), 'hex') : Buffer.from(part, 'latin1'))),
  );

/** The path of the descriptor a call starts with, as `-yy` prints it (`18</path>`, hex-escaped by `-xx`). */
const fileOf = (call: Syscall): string | undefined => {
  const decorated = /^\d+<([^>]*)>/.exec(call.text)?.[1];
  return decorated === undefined ? undefined : unescape(decorated).toString('latin1');
};

/** The bytes of every string argument a call prints (one for write and pwrite64, one per iovec for writev). */
const bytesOf = (call: Syscall): { bytes: Buffer; truncated: boolean } => {
  const strings = [...call.text.matchAll(/"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?/g)];
  return {
    bytes: Buffer.concat(strings.map((m) => unescape(m[1] ?? ''))),
    truncated: strings.some((m) => m[2] !== undefined),
  };
};

/** One write to the -wal file, with the bytes it wrote. */
interface WalWrite {
  call: Syscall;
  bytes: Buffer;
}

/** One frame of the -wal file: SQLite writes its 24-byte header, then its page. */
interface Frame {
  header: WalWrite;
  page: WalWrite;
  /** Its header's "database size after commit" (bytes 4-7) is set: the last frame of a transaction. */
  commit: boolean;
}

/**
 * The frames among the writes to the -wal file, in the order written. One connection writes the
 * file, from one thread, so the write after a frame header is its page; the other writes are the
 * file's own 32-byte header.
 */
function framesOf(writes: WalWrite[], gaps: string[]): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < writes.length; i++) {
    const header = writes[i] as WalWrite;
    if (header.bytes.length !== 24) continue;
    const page = writes[i + 1];
    if (!page || page.bytes.length === 24) {
      gaps.push(`the frame header written at trace line ${header.call.start + 1} is not followed by its page`);
      continue;
    }
    frames.push({ header, page, commit: header.bytes.readUInt32BE(4) !== 0 });
    i++;
  }
  return frames;
}

/** What is missing before the `250` of each message the trace shows being acknowledged (empty when nothing is). */
function durabilityGaps(
  calls: Syscall[],
  dataDir: string,
  smtpPort: number,
  sent: { recipient: string; bodies: Map<string, string> },
): { acked: string[]; gaps: string[] } {
  const wal = path.join(dataDir, 'relay365.db-wal');
  const toClient = new RegExp(`^\\d+<TCP:\\[127\\.0\\.0\\.1:${smtpPort}->`);
  const gaps: string[] = [];
  const acks = calls
    .filter((c) => (c.name === 'write' || c.name === 'writev') && toClient.test(c.text))
    .map((call) => ({ call, id: /queued as ([0-9A-Z]+)/.exec(bytesOf(call).bytes.toString('latin1'))?.[1] }))
    .filter((a): a is { call: Syscall; id: string } => a.id !== undefined);
  const walWrites: WalWrite[] = [];
  for (const call of calls) {
    if (call.name !== 'pwrite64' || fileOf(call) !== wal) continue;
    const { bytes, truncated } = bytesOf(call);
    // A page strace cut short could hide a queue ID: nothing the trace shows would then be proof.
    if (truncated) gaps.push(`a write to the -wal file at trace line ${call.start + 1} is not printed whole (raise -s)`);
    walWrites.push({ call, bytes });
  }
  const frames = framesOf(walWrites, gaps);
  const syncs = calls.filter((c) => (c.name === 'fdatasync' || c.name === 'fsync') && c.result === '0');
  const walSyncs = syncs.filter((c) => fileOf(c) === wal);
  const folderSync = syncs.find((c) => c.name === 'fsync' && fileOf(c) === dataDir);
  const firstAck = acks[0];
  if (firstAck && (!folderSync || folderSync.end > firstAck.call.start))
    gaps.push('no fsync of the data folder finished before the first 250');

  const acked: string[] = [];
  for (const { call: ack, id } of acks) {
    acked.push(id);
    // Its recipients row: the columns message_id and address, stored side by side. A row exists only
    // once inserted, so the first page holding it is written by the transaction that recorded the message.
    const row = Buffer.from(`${id}${sent.recipient}`, 'latin1');
    const record = frames.findIndex((f) => f.page.bytes.includes(row));
    if (record < 0 || (frames[record] as Frame).page.call.start > ack.start) {
      gaps.push(`${id}: its record was not written to the -wal file before its 250`);
      continue;
    }
    // The transaction ends with its commit frame's page: from then on a sync of the file covers all of it.
    const commit = frames.slice(record).find((f) => f.commit);
    if (!commit || commit.page.call.end > ack.start) {
      const line = (frames[record] as Frame).page.call.start + 1;
      gaps.push(`${id}: the transaction that recorded it (trace line ${line}) did not commit before its 250`);
      continue;
    }
    const body = Buffer.from(sent.bodies.get(id) ?? '', 'latin1');
    const bodyPage = body.length > 0 ? frames.find((f) => f.page.bytes.includes(body)) : undefined;
    if (!bodyPage || bodyPage.page.call.start > commit.page.call.start)
      gaps.push(`${id}: its body was not written to the -wal file by the end of the transaction that recorded it`);
    const synced = walSyncs.some((c) => c.start > commit.page.call.end && c.end < ack.start);
    if (!synced) {
      const line = commit.page.call.start + 1;
      gaps.push(`${id}: no fdatasync of the -wal file begun after its commit (trace line ${line}) and finished before its 250`);
    }
  }
  return { acked, gaps };
}

interface TracedRelay {
  smtpPort: number;
  /** Stops the relay (SIGTERM) and returns the whole trace once strace has written it. */
  stop(): Promise<string>;
}

let emu: Emulator;
let dir: string;
let tracer: ChildProcess | null;

beforeEach(async () => {
  emu = await startEmulator();
  dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'relay365-durability-')));
  const store = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
  store.sync.servers.add(emulatorServer(emu));
  await store.close();
  tracer = null;
});

afterEach(async () => {
  // strace, the relay and anything it started share the process group strace leads.
  if (tracer && tracer.exitCode === null && tracer.signalCode === null) process.kill(-(tracer.pid as number), 'SIGKILL');
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts relay365 under `strace -f` and waits until it accepts connections. */
async function startTraced(traceFile: string): Promise<TracedRelay> {
  const smtpPort = await freePort();
  const child = spawn(
    'strace',
    [
      ...['-f', '-qq', '--seccomp-bpf', '-yy', '-xx', '-s', String(STRING_LIMIT), '-o', traceFile, '-e', `trace=${TRACED}`],
      ...[process.execPath, '--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'start'],
    ],
    {
      env: {
        ...process.env,
        RELAY365_DATA_DIR: dir,
        RELAY365_SECRET_KEY: KEY,
        RELAY365_SMTP_LISTEN: `127.0.0.1:${smtpPort}`,
        RELAY365_ADMIN_LISTEN: '127.0.0.1:0',
        RELAY365_LOG_LEVEL: 'error',
      },
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      // Its own process group: stopping it reaches the relay, which strace started.
      detached: true,
    },
  );
  tracer = child;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(smtpPort, () => child.exitCode !== null, 'relay365 under strace', 60_000);
  return {
    smtpPort,
    async stop() {
      // strace ignores SIGTERM while it traces a program it started (-I 3); the relay stops gracefully.
      process.kill(-(child.pid as number), 'SIGTERM');
      await exited;
      return readFileSync(traceFile, 'utf8');
    },
  };
}

const problem = straceProblem();

describe('durability of an accepted message', () => {
  it("makes the record, its body and the -wal file's name durable before it answers 250", async (ctx) => {
    if (problem !== null && process.env.CI !== 'true') ctx.skip(problem);
    expect(problem).toBeNull();
    const relay = await startTraced(path.join(dir, 'relay.strace'));
    const client = nodemailer.createTransport({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true, pool: true, maxConnections: 8 });
    const raw = (i: number): string => `From: ${SEED.mailbox}\r\nSubject: durable ${i}\r\n\r\nbody ${i}\r\n`;
    const send = (i: number) => client.sendMail({ envelope: { from: SEED.mailbox, to: [RECIPIENT] }, raw: raw(i) });
    const ids: string[] = [];
    /** The message each queue ID names, as sent: its body is stored with its record. */
    const bodies = new Map<string, string>();
    const queued = (i: number, info: { response: string }): void => {
      const id = /queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string;
      ids.push(id);
      bodies.set(id, raw(i));
    };
    // One at a time, then many at once: concurrent messages share a -wal fdatasync (group commit).
    for (let i = 0; i < 3; i++) queued(i, await send(i));
    const concurrent = Array.from({ length: 24 }, (_, k) => 100 + k);
    (await Promise.all(concurrent.map(send))).forEach((info, k) => queued(concurrent[k] as number, info));
    client.close();

    const trace = await relay.stop();
    const { acked, gaps } = durabilityGaps(parseTrace(trace), dir, relay.smtpPort, { recipient: RECIPIENT, bodies });
    expect(acked.sort()).toEqual([...ids].sort());
    expect(gaps).toEqual([]);
  }, 120_000);
});

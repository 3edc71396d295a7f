/**
 * The proof behind "nothing acknowledged is lost": relay365 runs as a child process under
 * `strace -f`, and the trace of its real system calls shows, for every message, that the spool
 * file's fdatasync finished, the file was renamed to `.eml`, and a directory fsync that began after
 * that rename finished, all before the `250` for that message was written to the client's socket.
 * The trace's line order is the order of events: strace prints a call's end before the thread
 * goes on, and the relay learns that an fsync ended only after that thread went on.
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
/** Only the calls the proof needs, so the relay runs at nearly full speed (a regex: `rename` is missing on some architectures). */
const TRACED = '/^(fdatasync|fsync|write|writev|rename|renameat|renameat2)$';

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

/** The path of the descriptor a call starts with, as `-y` prints it (`18</path>`). */
const fileOf = (call: Syscall): string | undefined => /^\d+<([^>]*)>/.exec(call.text)?.[1];

/** What is missing before the `250` of each message the trace shows being acknowledged (empty when nothing is). */
function durabilityGaps(calls: Syscall[], spool: string, smtpPort: number): { acked: string[]; gaps: string[] } {
  const toClient = new RegExp(`^\\d+<TCP:\\[127\\.0\\.0\\.1:${smtpPort}->`);
  const acks = calls.filter(
    (c) => (c.name === 'write' || c.name === 'writev') && toClient.test(c.text) && /queued as [0-9A-Z]+/.test(c.text),
  );
  const gaps: string[] = [];
  const acked: string[] = [];
  for (const ack of acks) {
    const id = /queued as ([0-9A-Z]+)/.exec(ack.text)?.[1] as string;
    acked.push(id);
    const tmp = `${spool}/${id}.tmp`;
    const rename = calls.find(
      (c) => c.name.startsWith('rename') && c.result === '0' && c.text.includes(`"${tmp}"`) && c.text.includes(`"${spool}/${id}.eml"`),
    );
    if (!rename || rename.end > ack.start) {
      gaps.push(`${id}: not renamed to .eml before its 250`);
      continue;
    }
    const synced = calls.some((c) => c.name === 'fdatasync' && c.result === '0' && fileOf(c) === tmp && c.end < rename.start);
    if (!synced) gaps.push(`${id}: no completed fdatasync of ${id}.tmp before its rename`);
    const directory = calls.some(
      (c) => c.name === 'fsync' && c.result === '0' && fileOf(c) === spool && c.start > rename.end && c.end < ack.start,
    );
    if (!directory) gaps.push(`${id}: no directory fsync begun after its rename and finished before its 250`);
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
  store.servers.add(emulatorServer(emu));
  store.close();
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
      ...['-f', '-qq', '--seccomp-bpf', '-yy', '-s', '96', '-o', traceFile, '-e', `trace=${TRACED}`],
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
  it('makes the spool file, its name and the directory durable before it answers 250', async (ctx) => {
    if (problem !== null && process.env.CI !== 'true') ctx.skip(problem);
    expect(problem).toBeNull();
    const relay = await startTraced(path.join(dir, 'relay.strace'));
    const client = nodemailer.createTransport({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true, pool: true, maxConnections: 8 });
    const send = (i: number) =>
      client.sendMail({
        envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] },
        raw: `From: ${SEED.mailbox}\r\nSubject: durable ${i}\r\n\r\nbody ${i}\r\n`,
      });
    const ids: string[] = [];
    const queued = (info: { response: string }): number => ids.push(/queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string);
    // One at a time, then many at once: concurrent messages share a directory fsync (group commit).
    for (let i = 0; i < 3; i++) queued(await send(i));
    for (const info of await Promise.all(Array.from({ length: 24 }, (_, i) => send(100 + i)))) queued(info);
    client.close();

    const trace = await relay.stop();
    const { acked, gaps } = durabilityGaps(parseTrace(trace), path.join(dir, 'spool'), relay.smtpPort);
    expect(acked.sort()).toEqual([...ids].sort());
    expect(gaps).toEqual([]);
  }, 120_000);
});

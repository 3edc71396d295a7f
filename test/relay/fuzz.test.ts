/**
 * Fuzzing the SMTP listener with relay365 as a real child process: thousands
 * of generated sessions (test/relay/fuzz-sessions.ts) must not crash it, must
 * not get a partial message queued or a message relayed for a client that
 * neither is in an allowed network nor logged in, and a normal message must
 * still go through afterwards. FUZZ_SEED=<n> replays a run; FUZZ_SESSIONS
 * changes how many sessions it runs.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { createStore, type SqliteStore } from '../../src/store/index.js';
import type { QueuedMessage } from '../../src/store/queue.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { SEED, startEmulator, type Emulator } from '../emulator/index.js';
import { emulatorServer } from '../helpers/office365.js';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { waitFor } from '../helpers/wait.js';
import { createSessionGenerator, type Ending, type FuzzSession, type GeneratorOptions } from './fuzz-sessions.js';
import { createSpool } from '../../src/relay/spool.js';

const KEY = 'ef'.repeat(32);
const SESSIONS = process.env.FUZZ_SESSIONS ? Number(process.env.FUZZ_SESSIONS) : 10_000;
/** Printed with the figures; FUZZ_SEED=<it> replays the same sessions. */
const SEED_VALUE = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : Date.now() % 2 ** 32;
const CONCURRENCY = 32;
const SESSION_TIMEOUT_MS = 5_000;
/** After QUIT, how long a client waits for more replies before it gives up on the 221. */
const QUIT_QUIET_MS = 250;
/** RELAY365_MAX_MESSAGE_SIZE=64KB is 64,000 bytes. */
const MAX_MESSAGE_SIZE = 64_000;
const MAX_CONNECTIONS_PER_CLIENT = 20;
const GENERATOR: GeneratorOptions = {
  // RELAY365_RELAY_NETWORKS=127.0.0.0/9 holds these ...
  insideAddresses: ['127.0.0.1', '127.0.0.5', '127.1.2.3'],
  // ... and not these, which must log in to relay.
  outsideAddresses: ['127.200.0.1', '127.200.0.2', '127.200.0.3'],
  loginAddress: '127.200.0.9',
  user: 'fuzz',
  password: 'fuzz-password-123',
  maxMessageSize: MAX_MESSAGE_SIZE,
};

/** What a queued message carrying a token must be. */
interface Expected {
  session: number;
  rightPassword: boolean;
  size: number;
  sha256: string;
}

interface Outcome {
  greeting: string;
  ms: number;
  queuedAs: string[];
  timedOut: boolean;
}

const sha256 = (buf: Buffer): string => createHash('sha256').update(buf).digest('hex');

/** Plays one session against the relay; always ends within SESSION_TIMEOUT_MS. */
function play(port: number, session: FuzzSession): Promise<Outcome> {
  const begin = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: session.localAddress });
    let replies = '';
    let writing = false;
    let done = false;
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      socket.destroy();
      resolve({
        greeting: replies.slice(0, 3),
        ms: performance.now() - begin,
        queuedAs: [...replies.matchAll(/queued as ([0-9A-Z]+)/g)].map((m) => m[1] as string),
        timedOut,
      });
    };
    const timer = setTimeout(() => finish(true), SESSION_TIMEOUT_MS);
    // QUIT: a polite client waits for the 221 (or, if its QUIT went into an unfinished DATA, for the server to fall quiet).
    let quitting = false;
    let quiet: NodeJS.Timeout | undefined;
    const waitForBye = (): void => {
      clearTimeout(quiet);
      if (/(^|\n)221 /.test(replies)) socket.end();
      else quiet = setTimeout(() => socket.end(), QUIT_QUIET_MS);
    };
    const end = (): void => {
      if (session.ending === 'quit') {
        quitting = true;
        waitForBye();
      } else if (session.ending === 'end') socket.end();
      else if (session.ending === 'destroy') socket.destroy();
      else if (session.delayMs === 0) setImmediate(() => socket.destroy());
      else setTimeout(() => socket.destroy(), session.delayMs);
    };
    const write = async (): Promise<void> => {
      if (writing) return;
      writing = true;
      for (const [n, chunk] of session.chunks.entries()) {
        if (socket.destroyed) return;
        if (n > 0) await new Promise((r) => setImmediate(r));
        socket.write(chunk);
      }
      end();
    };
    socket.on('connect', () => {
      if (session.early) void write();
    });
    socket.on('data', (data: Buffer) => {
      if (replies.length < 64 * 1024) replies += data.toString('latin1');
      if (quitting) waitForBye();
      void write();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish(false));
  });
}

/**
 * Writes the named sessions of `seed` (regenerated: the generator is deterministic) to files for a
 * bug report, and describes each: where it came from, how it ended, where its bytes are.
 */
function dumpSessions(seed: number, indexes: Set<number>): Map<number, string> {
  const described = new Map<number, string>();
  const generator = createSessionGenerator(seed, GENERATOR);
  const last = Math.max(...indexes);
  for (let session = generator.next(); session.index <= last; session = generator.next()) {
    if (!indexes.has(session.index)) continue;
    const file = path.join(tmpdir(), `relay365-fuzz-${seed}-${session.index}.bin`);
    writeFileSync(file, Buffer.concat(session.chunks));
    const start = session.early ? 'writes at once' : 'writes after the greeting';
    described.set(session.index, `session ${session.index} from ${session.localAddress} (${start}, ends ${session.ending}): ${file}`);
  }
  return described;
}

/** Opens `count` connections from `localAddress` at once, holds them until all are greeted, and returns the greeting codes. */
async function greetAll(port: number, localAddress: string, count: number): Promise<string[]> {
  const codes: string[] = Array.from({ length: count }, () => '');
  const sockets: net.Socket[] = [];
  let greeted = 0;
  // A connection that gets no greeting at all ends the round after 5 s.
  const deadline = setTimeout(() => sockets.forEach((socket) => socket.destroy()), 5_000);
  await Promise.all(
    codes.map(
      (_, i) =>
        new Promise<void>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port, localAddress });
          sockets.push(socket);
          socket.on('error', () => undefined);
          socket.once('data', (data: Buffer) => {
            codes[i] = data.toString('latin1').slice(0, 3);
            if (++greeted === count) sockets.forEach((s) => s.end('QUIT\r\n'));
          });
          socket.on('close', () => resolve());
        }),
    ),
  );
  clearTimeout(deadline);
  return codes;
}

/** What a fuzz run did, for the summary and the checks. */
interface Run {
  sessions: number;
  seconds: number;
  bytes: number;
  /** Complete DATA payloads by token. */
  expected: Map<string, Expected>;
  /** Queue IDs the relay answered 250 for. */
  acked: Set<string>;
  endings: Record<Ending, number>;
  durations: Record<Ending, number[]>;
  greetings: Map<string, number>;
  timedOut: number;
}

/** Plays `count` generated sessions, CONCURRENCY at a time. */
async function fuzz(port: number, seed: number, count: number): Promise<Run> {
  const generator = createSessionGenerator(seed, GENERATOR);
  const run: Run = {
    sessions: 0,
    seconds: 0,
    bytes: 0,
    expected: new Map(),
    acked: new Set(),
    endings: { quit: 0, end: 0, destroy: 0, 'destroy-later': 0 },
    durations: { quit: [], end: [], destroy: [], 'destroy-later': [] },
    greetings: new Map(),
    timedOut: 0,
  };
  const begin = performance.now();
  const worker = async (): Promise<void> => {
    while (run.sessions < count) {
      run.sessions++;
      const session = generator.next();
      for (const c of session.candidates) {
        run.expected.set(c.token, {
          session: session.index,
          rightPassword: session.rightPassword,
          size: c.body.length,
          sha256: sha256(c.body),
        });
      }
      run.bytes += session.chunks.reduce((n, c) => n + c.length, 0);
      const outcome = await play(port, session);
      run.endings[session.ending]++;
      run.durations[session.ending].push(outcome.ms);
      const greeting = outcome.greeting || 'none';
      run.greetings.set(greeting, (run.greetings.get(greeting) ?? 0) + 1);
      for (const id of outcome.queuedAs) run.acked.add(id);
      if (outcome.timedOut) run.timedOut++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  run.seconds = (performance.now() - begin) / 1000;
  return run;
}

/** The run's figures, as printed. */
function summary(seed: number, run: Run): string {
  const list = (entries: [string, number | string][]): string => entries.map(([k, v]) => `${k} ${v}`).join(', ');
  const spread = (d: number[]): string => {
    const sorted = [...d].sort((a, b) => a - b);
    return [0.5, 0.99, 1].map((q) => (sorted[Math.floor(q * (sorted.length - 1))] ?? 0).toFixed(0)).join('/');
  };
  return [
    `fuzz seed ${seed}: ${run.sessions} SMTP sessions in ${run.seconds.toFixed(1)} s (${(run.sessions / run.seconds).toFixed(0)} sessions/s), ` +
      `${(run.bytes / 1e6).toFixed(1)} MB sent, ${CONCURRENCY} at a time`,
    `  endings: ${list(Object.entries(run.endings))}; ${run.timedOut} hit the ${SESSION_TIMEOUT_MS} ms session timeout`,
    `  ms p50/p99/max: ${list(Object.entries(run.durations).map(([k, d]) => [k, spread(d)]))}`,
    `  greetings: ${list([...run.greetings])}; ${run.acked.size} messages answered 250 queued`,
  ].join('\n');
}

/** A broken invariant, with the session that caused it when known. */
interface Violation {
  what: string;
  session?: number;
}

/**
 * Checks the store against what the fuzz sent: no stored body without a record, no 250 without
 * a record, every record the exact bytes of a complete DATA within the size limit, nothing from
 * outside the networks without the right login, every waiting message's body there.
 */
async function checkQueue(store: SqliteStore, run: Run): Promise<{ violations: Violation[]; rows: QueuedMessage[]; compared: number }> {
  const list = (): QueuedMessage[] => store.sync.queue.list({ limit: 1_000_000 });
  const spool = createSpool(store.bodies);
  const orphans = (): string[] =>
    (
      store.db.prepare('SELECT DISTINCT message_id AS id FROM message_bodies WHERE message_id NOT IN (SELECT id FROM messages)').all() as {
        id: string;
      }[]
    ).map((r) => r.id);
  // Sessions the fuzz dropped may still be finishing on the server side; give them a moment.
  await waitFor(() => orphans().length === 0, 'no stored body without a record', 10_000).catch(() => undefined);
  const violations: Violation[] = [];
  for (const id of orphans()) {
    const token = /Subject: (fz-\d+-\d+)/.exec((await spool.head(id, 400)).toString('latin1'))?.[1];
    violations.push({ what: `stored body ${id} has no record`, session: token ? run.expected.get(token)?.session : undefined });
  }
  const rows = list();
  const ids = new Set(rows.map((r) => r.id));
  for (const id of run.acked) if (!ids.has(id)) violations.push({ what: `message ${id} was answered 250 but has no record` });
  let compared = 0;
  for (const row of rows) {
    const token = /^(fz-\d+-\d+)/.exec(row.subject ?? '')?.[1];
    const want = token === undefined ? undefined : run.expected.get(token);
    if (!want) {
      const what = `message ${row.id} (subject ${JSON.stringify(row.subject)}, ${row.size} bytes, from ${row.clientAddress}) matches no complete DATA`;
      violations.push({ what });
      continue;
    }
    const found = (what: string): void => {
      violations.push({ what: `message ${row.id} (${token}) ${what}`, session: want.session });
    };
    if (row.size > MAX_MESSAGE_SIZE) found(`is ${row.size} bytes, over the ${MAX_MESSAGE_SIZE} limit`);
    if (row.size !== want.size) found(`is ${row.size} bytes, its DATA had ${want.size}`);
    if (row.clientAddress?.startsWith('127.200.') && (row.relayUser !== GENERATOR.user || !want.rightPassword)) {
      found(`from ${row.clientAddress} was relayed without logging in`);
    }
    if (!store.sync.bodies.has(row.id)) {
      const status = store.sync.queue.get(row.id)?.status;
      if (status !== 'delivered' && status !== 'failed') found(`is ${status} but its body is gone`);
      continue;
    }
    // The body is the relay's Received: header, then exactly the client's message.
    const raw = await spool.head(row.id, Infinity);
    const prefix = raw.subarray(0, raw.length - row.size).toString('latin1');
    if (!/^Received: from [^\r\n]*\r\n\tby [^\r\n]* id /.test(prefix) || !prefix.includes(` id ${row.id}`) || !prefix.endsWith('\r\n')) {
      found(`has no Received: header of its own: ${JSON.stringify(prefix.slice(0, 300))}`);
    }
    if (sha256(raw.subarray(raw.length - row.size)) !== want.sha256) found('differs from its DATA');
    compared++;
  }
  return { violations, rows, compared };
}

/** The violations as lines, each with the seed's session that caused it written to a file. */
function describeViolations(seed: number, violations: Violation[]): string[] {
  const culprits = new Set([...new Set(violations.flatMap((v) => (v.session === undefined ? [] : [v.session])))].slice(0, 20));
  const sessions = culprits.size > 0 ? dumpSessions(seed, culprits) : new Map<number, string>();
  return violations.map((v) => {
    const session = v.session === undefined ? undefined : sessions.get(v.session);
    return session ? `${v.what}; ${session}` : v.what;
  });
}

/** Retries greetAll a little while the fuzz's dropped sessions may still be closing on the server side. */
async function greetAllSettled(port: number, address: string): Promise<string[]> {
  let codes = await greetAll(port, address, MAX_CONNECTIONS_PER_CLIENT);
  for (let i = 0; i < 20 && codes.some((c) => c !== '220'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    codes = await greetAll(port, address, MAX_CONNECTIONS_PER_CLIENT);
  }
  return codes;
}

let emu: Emulator;
let dir: string;
let relay: RelayProcess | undefined;
let store: SqliteStore | undefined;

beforeAll(async () => {
  emu = await startEmulator();
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-fuzz-'));
  const setup = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
  const server = setup.sync.servers.add(emulatorServer(emu));
  setup.sync.relayUsers.add({
    name: GENERATOR.user,
    passwordHash: await hashPassword(GENERATOR.password),
    serverId: server.id,
    allowFrom: [],
  });
  await setup.close();
  relay = await startRelay({
    ...process.env,
    RELAY365_DATA_DIR: dir,
    RELAY365_SECRET_KEY: KEY,
    RELAY365_ADMIN_LISTEN: '127.0.0.1:0',
    RELAY365_LOG_LEVEL: 'error',
    RELAY365_ALLOW_PLAINTEXT_AUTH: 'true',
    RELAY365_MAX_MESSAGE_SIZE: '64KB',
    RELAY365_RELAY_NETWORKS: '127.0.0.0/9',
    RELAY365_MAX_CONNECTIONS_PER_CLIENT: String(MAX_CONNECTIONS_PER_CLIENT),
  });
});

afterAll(async () => {
  await store?.close();
  await relay?.kill();
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SMTP listener under fuzzing', () => {
  it('survives generated sessions without queuing a partial message, then relays a normal one', { timeout: 180_000 }, async () => {
    const running = relay as RelayProcess;
    const port = running.smtpPort;
    // Exchange defers whatever the fuzz gets queued, so the spool files stay to be compared with what was sent.
    emu.exchange.failNext({ stage: 'mail', reply: '451 4.4.3 Fuzzing, try again later', count: 1_000_000 });
    const run = await fuzz(port, SEED_VALUE, SESSIONS);
    console.log(summary(SEED_VALUE, run));
    expect(run.sessions).toBeGreaterThanOrEqual(SESSIONS);

    // The process is still there, ...
    expect(running.child.exitCode).toBeNull();
    expect(running.child.signalCode).toBeNull();
    // ... it still answers, and no address's connection count leaked: each may still open its 20 at once.
    for (const address of [...GENERATOR.insideAddresses, ...GENERATOR.outsideAddresses, GENERATOR.loginAddress]) {
      const codes = await greetAllSettled(port, address);
      expect(
        codes.filter((c) => c !== '220'),
        `greetings of ${MAX_CONNECTIONS_PER_CLIENT} connections from ${address}`,
      ).toEqual([]);
    }
    // A client left hanging would show here: the relay closes after end() unless it has stopped reading.
    expect(run.timedOut, 'sessions that hit the session timeout').toBeLessThan(SESSIONS / 100);

    store = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
    const { violations, rows, compared } = await checkQueue(store, run);
    const outside = rows.filter((r) => r.clientAddress?.startsWith('127.200.')).length;
    const statuses = Object.entries(store.sync.queue.countsByStatus()).filter(([, n]) => n > 0);
    console.log(
      `  store: ${rows.length} messages (${statuses.map(([k, n]) => `${k} ${n}`).join(', ')}; ${outside} from outside the networks), ` +
        `${compared} spool files compared byte for byte`,
    );
    expect(describeViolations(SEED_VALUE, violations), `fuzz seed ${SEED_VALUE} (replay with FUZZ_SEED=${SEED_VALUE})`).toEqual([]);
    // The run tested something: messages got in, logged-in ones from outside the networks too.
    expect(rows.length).toBeGreaterThan(100);
    expect(outside).toBeGreaterThan(0);

    // A normal message still goes through.
    emu.exchange.clearFaults();
    const subject = `after the fuzz ${SEED_VALUE}`;
    const client = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
    const info = await client.sendMail({ from: SEED.mailbox, to: 'alice@fabrikam.test', subject, text: 'still here' });
    client.close();
    expect(info.response).toMatch(/^250 /);
    await waitFor(() => emu.exchange.messages.some((m) => m.raw.includes(`Subject: ${subject}`)), 'the normal message at Exchange', 30_000);
  });
});

/**
 * `npm run bench`: acceptance throughput of the SMTP listener next to Postfix's
 * hold queue (when Postfix is installed), latency, the same on PostgreSQL (when
 * it is installed) with end-to-end delivery, for one instance and for two on
 * one database (with failover), acceptance while a burst
 * drains, memory, and token requests per 1,000 delivered messages. Prints
 * figures; asserts nothing. Everything runs on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeBody, percentile, runLoad } from './smtp-load.js';
import { acceptFigures, bigMessageFigures } from './accept-figures.js';
import { benchPostgres } from './postgres.js';
import { runCli, startRelay } from '../test/helpers/relay-process.js';
import { BENCH_RELAY } from './relay-options.js';
import { benchDrain } from './drain.js';
import { postfixMissing, smtpSource, startPostfixHold, type PostfixHold } from './postfix.js';
import { benchTokens } from './tokens.js';

function env(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    RELAY365_DATA_DIR: dir,
    RELAY365_SMTP_LISTEN: '127.0.0.1:0',
    RELAY365_ADMIN_LISTEN: '127.0.0.1:0',
    RELAY365_LOG_LEVEL: 'error',
    RELAY365_MAX_MESSAGE_SIZE: '64MB',
  };
}

const median = (values: number[]): number => percentile(values, 50);

/**
 * relay365 against Postfix's hold queue with Postfix's own load generator, smtp-source (20
 * sessions, 2 KB): rounds alternate between the two, and the medians and their ratio are printed.
 */
async function compareWithPostfix(relayPort: number, total: number): Promise<void> {
  const missing = postfixMissing();
  if (missing) {
    console.log(`Postfix reference skipped: ${missing}`);
    return;
  }
  let postfix: PostfixHold;
  try {
    postfix = await startPostfixHold();
  } catch (err) {
    console.log(`Postfix reference skipped: ${(err as Error).message}`);
    return;
  }
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  try {
    for (const reuse of [false, true]) {
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let round = 0; round < rounds; round++) {
        ours.push(total / (await smtpSource(relayPort, { sessions: 20, total, size: 2048, reuse })));
        theirs.push(total / (await smtpSource(postfix.port, { sessions: 20, total, size: 2048, reuse })));
      }
      console.log(
        `smtp-source, 20 sessions, 2 KB, ${reuse ? 'reused connections' : 'one connection per message'}, median of ${rounds} alternating rounds: ` +
          `relay365 ${median(ours).toFixed(0)} vs Postfix hold queue ${median(theirs).toFixed(0)} messages/s (${(median(ours) / median(theirs)).toFixed(2)}x)`,
      );
    }
  } finally {
    await postfix.stop();
  }
}

async function acceptance(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-bench-'));
  try {
    const created = await runCli(['init'], env(dir));
    if (created.code !== 0) throw new Error(created.stderr);
    // An upstream nobody listens on, limited to one attempt a minute: the figures are about accepting.
    const added = await runCli(
      [
        'server',
        'add',
        '--name',
        'bench',
        '--method',
        'none',
        '--secure',
        'none',
        '--host',
        '127.0.0.1',
        '--port',
        '9',
        '--messages-per-minute',
        '1',
      ],
      env(dir),
    );
    if (added.code !== 0) throw new Error(added.stderr);
    const relay = await startRelay(env(dir), BENCH_RELAY);
    const body = makeBody(2048);
    const total = Number(process.env.BENCH_MESSAGES ?? 10_000);
    await runLoad(relay.smtpPort, { clients: 20, total: 200, body, reuse: true }); // warm-up
    await compareWithPostfix(relay.smtpPort, total);

    await acceptFigures(relay.smtpPort, total);
    await relay.stop();

    await bigMessageFigures(() => startRelay(env(dir), BENCH_RELAY));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `npm run bench -- drain` runs only the parts named (accept, postgres, drain, tokens); none named runs all. */
const parts = process.argv.slice(2);
const wanted = (part: string): boolean => parts.length === 0 || parts.includes(part);
if (wanted('accept')) await acceptance();
if (wanted('postgres')) await benchPostgres(env);
if (wanted('drain')) await benchDrain(env);
if (wanted('tokens')) await benchTokens(env);

/**
 * `npm run bench`: acceptance throughput, latency and memory of the SMTP
 * listener, and token requests per 1,000 delivered messages. Prints figures;
 * asserts nothing. Everything runs on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeBody, percentile, runLoad } from './smtp-load.js';
import { runCli, startRelay } from '../test/helpers/relay-process.js';
import { benchTokens } from './tokens.js';

const MB = 1024 * 1024;

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

async function acceptance(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-bench-'));
  try {
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
    const relay = await startRelay(env(dir));
    const body = makeBody(2048);
    const total = Number(process.env.BENCH_MESSAGES ?? 10_000);
    await runLoad(relay.smtpPort, { clients: 20, total: 200, body, reuse: true }); // warm-up

    for (const reuse of [false, true]) {
      const r = await runLoad(relay.smtpPort, { clients: 20, total, body, reuse });
      console.log(
        `accept, 20 clients, 2 KB, ${reuse ? 'reused connections' : 'one connection per message'}: ` +
          `${(r.messages / r.seconds).toFixed(0)} messages/s durable; DATA end -> 250 p50 ${percentile(r.latencies, 50).toFixed(2)} ms, p99 ${percentile(r.latencies, 99).toFixed(2)} ms`,
      );
    }
    const seq = await runLoad(relay.smtpPort, { clients: 1, total: 1000, body, reuse: true });
    console.log(
      `one sequential client, 2 KB, reused connection: ${((seq.seconds * 1000) / seq.messages).toFixed(2)} ms per message (p50 DATA end -> 250 ${percentile(seq.latencies, 50).toFixed(2)} ms)`,
    );
    await relay.stop();

    const big = await startRelay(env(dir));
    const before = big.memory().rss;
    const r30 = await runLoad(big.smtpPort, { clients: 10, total: 10, body: makeBody(30 * 1000 * 1000), reuse: false });
    const { peak } = big.memory();
    console.log(
      `10 clients x 30 MB: peak RSS ${(peak / MB).toFixed(0)} MiB (${(before / MB).toFixed(0)} MiB before, +${((peak - before) / MB).toFixed(0)} MiB), ${r30.seconds.toFixed(1)} s`,
    );
    await big.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await acceptance();
await benchTokens(env);

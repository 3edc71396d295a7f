/**
 * A lean SMTP load client for the benchmark: pipelined envelope commands on
 * raw sockets, so the client costs little CPU next to the relay it measures.
 * It times each message from the end of DATA to the 250 reply.
 */
import net from 'node:net';

export interface LoadResult {
  messages: number;
  seconds: number;
  /** Milliseconds from the final "." to the 250, one entry per message. */
  latencies: number[];
}

class Session {
  private buffer = '';
  private waiters: ((line: string) => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      this.buffer += chunk.toString('latin1');
      let end: number;
      while ((end = this.buffer.indexOf('\r\n')) >= 0) {
        const line = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        // Only final reply lines ("250 ...", not "250-...") complete a command.
        if (line[3] !== '-') this.waiters.shift()?.(line);
      }
    });
  }

  /** Connects from 127.0.0.1, the one address every client of the bench shares, as an app server's threads do. */
  static async open(port: number): Promise<Session> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const session = new Session(socket);
    await session.expect('220');
    await session.send('EHLO bench.test', '250');
    return session;
  }

  expect(code: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${code}`)), 30_000);
      this.waiters.push((line) => {
        clearTimeout(timer);
        if (line.startsWith(code)) resolve(line);
        else reject(new Error(`expected ${code}, got: ${line}`));
      });
    });
  }

  send(line: string, code: string): Promise<string> {
    const reply = this.expect(code);
    this.socket.write(`${line}\r\n`);
    return reply;
  }

  /** Sends one message; resolves with ms from end of DATA to 250. */
  async message(body: Buffer): Promise<number> {
    // PIPELINING: MAIL, RCPT and DATA go out together.
    const replies = [this.expect('250'), this.expect('250'), this.expect('354')];
    this.socket.write('MAIL FROM:<app@bench.test>\r\nRCPT TO:<to@bench.test>\r\nDATA\r\n');
    await Promise.all(replies);
    const done = this.expect('250');
    this.socket.write(body);
    const start = performance.now();
    this.socket.write('\r\n.\r\n');
    await done;
    return performance.now() - start;
  }

  async quit(): Promise<void> {
    await this.send('QUIT', '221').catch(() => undefined);
    this.socket.destroy();
  }
}

/** A message body of about `size` bytes, CRLF lines, no line starting with a dot. */
export function makeBody(size: number): Buffer {
  const head = 'From: app@bench.test\r\nTo: to@bench.test\r\nSubject: benchmark\r\n\r\n';
  const line = `${'x'.repeat(76)}\r\n`;
  const lines = Math.max(1, Math.ceil((size - head.length) / line.length));
  return Buffer.from(head + line.repeat(lines).slice(0, -2), 'latin1');
}

export interface LoadOptions {
  clients: number;
  total: number;
  body: Buffer;
  reuse: boolean;
  /**
   * Messages a second offered, evenly spaced; unset, every client sends as fast as it is answered
   * (a saturating load: its latencies are mostly waiting in line).
   */
  rate?: number;
}

/** Sends `total` messages from `clients` concurrent clients. */
export async function runLoad(port: number, opts: LoadOptions): Promise<LoadResult> {
  let next = 0;
  const latencies: number[] = [];
  const start = performance.now();
  const worker = async (): Promise<void> => {
    const session: Session | null = opts.reuse ? await Session.open(port) : null;
    while (next < opts.total) {
      const due = opts.rate === undefined ? 0 : start + (next * 1000) / opts.rate - performance.now();
      next++;
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
      const s = session ?? (await Session.open(port));
      latencies.push(await s.message(opts.body));
      if (!opts.reuse) await s.quit();
    }
    await session?.quit();
  };
  await Promise.all(Array.from({ length: opts.clients }, () => worker()));
  return { messages: latencies.length, seconds: (performance.now() - start) / 1000, latencies };
}

/**
 * `runLoad` split evenly over the relays at `ports`, all at once (with two: half the clients and half
 * the messages each), as one result timed from the start to the last relay's end.
 */
export async function runSplitLoad(ports: readonly number[], opts: LoadOptions): Promise<LoadResult> {
  const share = (n: number, i: number): number => Math.floor(n / ports.length) + (i < n % ports.length ? 1 : 0);
  const start = performance.now();
  const parts = await Promise.all(
    ports.map((port, i) =>
      runLoad(port, {
        ...opts,
        clients: share(opts.clients, i),
        total: share(opts.total, i),
        rate: opts.rate === undefined ? undefined : opts.rate / ports.length,
      }),
    ),
  );
  return {
    messages: parts.reduce((sum, part) => sum + part.messages, 0),
    seconds: (performance.now() - start) / 1000,
    latencies: parts.flatMap((part) => part.latencies),
  };
}

/** A load's DATA end -> 250 latency as the bench prints it: `p50 1.23 ms, p99 4.56 ms`. */
export function latencyFigures(r: LoadResult): string {
  return `p50 ${percentile(r.latencies, 50).toFixed(2)} ms, p99 ${percentile(r.latencies, 99).toFixed(2)} ms`;
}

/** The p-th percentile (0-100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Runs relay365 as a child process on a fresh data folder, as a user would
 * run it, so tests can kill it and benchmarks can measure its memory.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RelayProcess {
  child: ChildProcess;
  smtpPort: number;
  /** Resident set size now and at its peak (VmHWM), in bytes. */
  memory(): { rss: number; peak: number };
  stop(): Promise<void>;
  /** Ends the process at once, as a crash or power cut would (SIGKILL). */
  kill(): Promise<void>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  /** RLIMIT_FSIZE: no file the command writes grows past this (Node then gets EFBIG). */
  maxFileBytes?: number;
}

/** Runs `relay365 <args>` to completion (CLI commands), bounded by `timeoutMs`. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, { timeoutMs = 30_000, maxFileBytes }: CliOptions = {}): Promise<CliResult> {
  const command = [process.execPath, '--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args];
  const child =
    maxFileBytes === undefined
      ? spawn(command[0] as string, command.slice(1), { env, cwd: ROOT })
      : spawn('bash', ['-c', `ulimit -f ${Math.floor(maxFileBytes / 1024)} && exec "$@"`, 'relay365', ...command], { env, cwd: ROOT });
  return collectOutput(child, timeoutMs, `relay365 ${args.join(' ')}`);
}

/** What `child` writes until it exits; after `timeoutMs` it is killed and `what` named in the rejection. */
export function collectOutput(child: ChildProcessWithoutNullStreams, timeoutMs: number, what: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The ID of a process that has ended (what a killed backup leaves in its folder's name). */
export async function endedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid as number;
}

/** Waits until something listens on `port` (loopback), polling every 100 ms; `exited` says the process gave up. */
export async function waitForPort(port: number, exited: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  for (let waited = 0; ; waited += 100) {
    if (exited()) throw new Error(`${what} exited during start-up`);
    if (waited > timeoutMs) throw new Error(`${what} did not start within ${timeoutMs / 1000} s`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface StartOptions {
  /** Runs the built relay (`dist/main.js`, as `npm start` does) instead of the sources through tsx. */
  built?: boolean;
  /** Extra Node.js flags, such as `--cpu-prof`. */
  nodeArgs?: string[];
}

/** Starts the relay on a free port and waits until it accepts connections. */
export async function startRelay(env: NodeJS.ProcessEnv, { built = false, nodeArgs = [] }: StartOptions = {}): Promise<RelayProcess> {
  const smtpPort = await freePort();
  const entry = built ? [path.join(ROOT, 'dist/main.js')] : ['--import', 'tsx', path.join(ROOT, 'src/main.ts')];
  const child = spawn(process.execPath, [...nodeArgs, ...entry, 'start'], {
    env: { ...env, RELAY365_SMTP_LISTEN: `127.0.0.1:${smtpPort}` },
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitForPort(smtpPort, () => exited, 'relay');
  const signal = (name: NodeJS.Signals): Promise<void> =>
    new Promise((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill(name);
    });
  const status = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return Number(match?.[1] ?? 0) * 1024;
  };
  return {
    child,
    smtpPort,
    memory: () => ({ rss: status('VmRSS'), peak: status('VmHWM') }),
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}

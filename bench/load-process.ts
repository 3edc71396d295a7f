/**
 * Runs the load generator in a process of its own, so that what the bench
 * process does meanwhile (the emulator receiving deliveries) does not delay
 * the client's reading of replies and inflate the latencies it reports.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeBody, runLoad, type LoadOptions, type LoadResult } from './smtp-load.js';

type ChildOptions = Omit<LoadOptions, 'body'> & { bodySize: number };

const SELF = fileURLToPath(import.meta.url);

/** `runLoad` in a child process; the body is made there from its size. */
export function runLoadInChild(port: number, options: ChildOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, String(port), JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited with ${code}`)),
    );
  });
}

if (process.argv[1] === SELF) {
  const port = Number(process.argv[2]);
  const { bodySize, ...options } = JSON.parse(process.argv[3] ?? '{}') as ChildOptions;
  const result = await runLoad(port, { ...options, body: makeBody(bodySize) });
  process.stdout.write(JSON.stringify(result));
}

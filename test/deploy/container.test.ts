/**
 * The Dockerfile read as Docker reads it: its HEALTHCHECK script, run with
 * this Node against servers on loopback, asks /readyz where
 * RELAY365_ADMIN_LISTEN listens; every stage starts from one pinned Node
 * release that package.json's `engines` allows.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

/** The Dockerfile's instructions: comment lines dropped, continuation lines joined, as Docker's parser does. */
function instructions(): string[] {
  const out: string[] = [];
  let pending = '';
  for (const line of readFileSync('Dockerfile', 'utf8').split('\n')) {
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1);
      continue;
    }
    if (pending + line !== '') out.push(pending + line);
    pending = '';
  }
  return out;
}

/** The HEALTHCHECK's command in exec form; a JSON error here means Docker would run it through a shell instead. */
function healthCheckCommand(): string[] {
  const line = instructions().find((l) => l.startsWith('HEALTHCHECK'));
  expect(line).toBeDefined();
  return JSON.parse(line!.slice(line!.indexOf(' CMD ') + 5)) as string[];
}

/** Runs the health check with RELAY365_ADMIN_LISTEN set; resolves with its exit code. */
function runHealthCheck(listen: string): Promise<number> {
  const [program, ...args] = healthCheckCommand();
  expect(program).toBe('node');
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, RELAY365_ADMIN_LISTEN: listen }, timeout: 10_000 }, (err) =>
      resolve(err ? Number(err.code ?? 1) : 0),
    );
  });
}

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
});

/** A readiness endpoint on `host` (port 0) answering `status`, recording the address each request reached. */
async function readyzOn(host: string, status = 200): Promise<{ port: number; reached: string[] }> {
  const reached: string[] = [];
  const server = createServer((req, res) => {
    reached.push(`${req.socket.localAddress?.replace(/^::ffff:/, '')} ${req.url}`);
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as AddressInfo).port, reached };
}

describe('the image HEALTHCHECK', () => {
  it('asks /readyz at the host RELAY365_ADMIN_LISTEN names', async () => {
    const v4 = await readyzOn('127.0.0.2');
    expect(await runHealthCheck(`127.0.0.2:${v4.port}`)).toBe(0);
    expect(v4.reached).toEqual(['127.0.0.2 /readyz']);

    const v6 = await readyzOn('::1');
    expect(await runHealthCheck(`[::1]:${v6.port}`)).toBe(0);
    expect(v6.reached).toEqual(['::1 /readyz']);
  });

  it('asks 127.0.0.1 when the panel listens on every address', async () => {
    const every = await readyzOn('0.0.0.0');
    expect(await runHealthCheck(`0.0.0.0:${every.port}`)).toBe(0);
    expect(await runHealthCheck(`[::]:${every.port}`)).toBe(0);
    expect(every.reached).toEqual(['127.0.0.1 /readyz', '127.0.0.1 /readyz']);
  });

  it('fails while the relay is not ready or the panel does not answer', async () => {
    const notReady = await readyzOn('127.0.0.1', 503);
    expect(await runHealthCheck(`127.0.0.1:${notReady.port}`)).toBe(1);
    const closed = await readyzOn('127.0.0.1');
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect(await runHealthCheck(`127.0.0.1:${closed.port}`)).toBe(1);
  });
});

describe('the image base', () => {
  it('builds every stage from one exact Node release of a line that package.json allows', () => {
    const lines = instructions();
    const arg = lines.find((l) => l.startsWith('ARG NODE_IMAGE='));
    const release = /^ARG NODE_IMAGE=node:(\d+)\.\d+\.\d+-bookworm-slim$/.exec(arg ?? '');
    expect(release, arg).not.toBeNull();
    const stages = lines.filter((l) => l.startsWith('FROM '));
    expect(stages).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE} AS deps', 'FROM ${NODE_IMAGE}']);
    const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines.split('||').map((range) => range.trim())).toContain(`${release![1]}.x`);
  });
});

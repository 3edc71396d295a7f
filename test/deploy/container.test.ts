/**
 * The Dockerfile read as Docker reads it: its HEALTHCHECK script, run with
 * this Node against servers on loopback, asks /readyz where
 * RELAY365_ADMIN_LISTEN listens; every stage starts from one pinned Node
 * release that package.json's `engines` allows. And the cluster that
 * compose.cluster.yaml adds to compose.yaml and compose.postgres.yaml, read as
 * Compose and relay365 read it: each instance's settings go through
 * relay365's own configuration parser, and deploy/haproxy/haproxy.cfg must
 * send every connection to a ready instance the way those settings expect.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isNode, parseDocument } from 'yaml';
import { networkMatcher, parseCidr, type Cidr } from '../../src/cidr.js';
import { loadConfig, type Config } from '../../src/config.js';

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

interface ComposeService {
  image?: string;
  extends?: { file: string; service: string };
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string | number | boolean>;
  secrets?: string[];
  depends_on?: Record<string, { condition: string }>;
  networks?: Record<string, { ipv4_address?: string } | null>;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
  networks?: Record<string, { ipam?: { config?: { subnet: string; ip_range?: string }[] } }>;
}

/** A Compose file as YAML reads it (merge keys and aliases resolved), and whether Compose's `!reset` clears the value at a path. */
function composeFile(file: string): { model: ComposeFile; isReset: (...keys: string[]) => boolean } {
  // `!reset` is Compose's own tag: the yaml package keeps it on the node (warning that it does not know it).
  const doc = parseDocument(readFileSync(file, 'utf8'), { merge: true });
  expect(doc.errors).toEqual([]);
  return {
    model: doc.toJS() as ComposeFile,
    isReset: (...keys) => {
      const node: unknown = doc.getIn(keys, true);
      return isNode(node) && node.tag === '!reset';
    },
  };
}

const single = composeFile('compose.yaml');
const postgres = composeFile('compose.postgres.yaml');
const cluster = composeFile('compose.cluster.yaml');
const INSTANCES = ['relay365-1', 'relay365-2'];
const haproxy = cluster.model.services.haproxy!;

/** A Compose port: its host side (`127.0.0.1:8025` or `25`) and the container port. */
function published(port: string): { host: string; container: number } {
  const cut = port.lastIndexOf(':');
  return { host: port.slice(0, cut), container: Number(port.slice(cut + 1)) };
}

type Instance = Required<Pick<ComposeService, 'ports' | 'volumes' | 'environment' | 'secrets' | 'depends_on'>>;

/** An instance as Compose makes it: compose.yaml's relay365 (its `extends`) with what the cluster file adds or resets. */
function instance(name: string): Instance {
  const own = cluster.model.services[name]!;
  expect(own.extends).toEqual({ file: 'compose.yaml', service: 'relay365' });
  const base = single.model.services.relay365!;
  // Compose keeps one volume per mount target: the later one.
  const volumes = new Map([...(base.volumes ?? []), ...(own.volumes ?? [])].map((v) => [v.split(':')[1], v]));
  return {
    ports: cluster.isReset('services', name, 'ports') ? [] : [...(base.ports ?? []), ...(own.ports ?? [])],
    volumes: [...volumes.values()],
    environment: { ...base.environment, ...own.environment },
    secrets: [...new Set([...(base.secrets ?? []), ...(own.secrets ?? [])])],
    depends_on: { ...base.depends_on, ...own.depends_on },
  };
}

/** The image's ENV instruction: the settings every container starts with. */
function imageEnvironment(): Record<string, string> {
  const env = instructions().find((l) => l.startsWith('ENV '));
  expect(env).toBeDefined();
  return Object.fromEntries([...env!.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

/** Stand-ins for the secret files that compose.yaml's and compose.postgres.yaml's set-up steps create. */
const SECRET_VALUES: Record<string, string> = {
  secret_key: 'ab'.repeat(32),
  admin_password: 'a long admin password',
  database_url: 'postgres://relay365:secret@postgres:5432/relay365',
};
const secretsRoot = mkdtempSync(path.join(tmpdir(), 'relay365-secrets-'));
afterAll(() => rmSync(secretsRoot, { recursive: true, force: true }));

/** What relay365 starts with in an instance's container, where only the secrets mounted into it are readable. */
function instanceConfig(name: string): Config {
  const own = instance(name);
  const secrets = mkdtempSync(path.join(secretsRoot, `${name}-`));
  for (const secret of own.secrets) writeFileSync(path.join(secrets, secret), `${SECRET_VALUES[secret]}\n`);
  const env: Record<string, string> = imageEnvironment();
  for (const [key, value] of Object.entries(own.environment)) env[key] = String(value).replace(/^\/run\/secrets\//, `${secrets}/`);
  return loadConfig(env);
}

/** haproxy.cfg by section (`backend relay365-smtp`), each line split into words, comments dropped. */
function haproxySections(): Map<string, string[][]> {
  const sections = new Map<string, string[][]>();
  let current: string[][] = [];
  for (const raw of readFileSync('deploy/haproxy/haproxy.cfg', 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trimEnd();
    if (line.trim() === '') continue;
    const words = line.trim().split(/\s+/);
    if (/^\S/.test(line)) sections.set(words.join(' '), (current = []));
    else current.push(words);
  }
  return sections;
}

const sections = haproxySections();

/** The lines of `section` that start with `words`. */
function lines(section: string, ...words: string[]): string[][] {
  const body = sections.get(section);
  expect(body, section).toBeDefined();
  return body!.filter((line) => words.every((word, i) => line[i] === word));
}

interface HaproxyServer {
  backend: string;
  name: string;
  host: string;
  port: number;
  options: string[];
}

/** A backend's `server` lines. */
function haproxyServers(backend: string): HaproxyServer[] {
  return lines(`backend ${backend}`, 'server').map(([, name, address, ...options]) => {
    const [host, port] = address!.split(':');
    return { backend, name: name!, host: host!, port: Number(port), options };
  });
}

/** The server whose own health check decides `server`'s state, following `track`. */
function checkedBy(server: HaproxyServer): HaproxyServer {
  const track = server.options.indexOf('track');
  if (track < 0) {
    expect(server.options, `${server.backend}/${server.name} checks itself`).toContain('check');
    return server;
  }
  const [backend, name] = server.options[track + 1]!.split('/');
  const tracked = haproxyServers(backend!).find((s) => s.name === name);
  expect(tracked, server.options[track + 1]).toBeDefined();
  return checkedBy(tracked!);
}

/** What a backend's HTTP health check asks and expects: `GET /readyz` → `200`. */
function httpCheck(backend: string): string {
  expect(lines(`backend ${backend}`, 'option', 'httpchk')).toHaveLength(1);
  const [send] = lines(`backend ${backend}`, 'http-check', 'send');
  const [expectation] = lines(`backend ${backend}`, 'http-check', 'expect');
  const at = (words: string[] | undefined, key: string) => words?.[words.indexOf(key) + 1];
  return `${at(send, 'meth')} ${at(send, 'uri')} → ${at(expectation, 'status')}`;
}

/** The backend a frontend binding container port `port` sends to, and that frontend's mode. */
function frontendFor(port: number): { mode: string; backend: string } {
  const name = [...sections.keys()].find((key) => key.startsWith('frontend ') && lines(key, 'bind', `:${port}`).length === 1);
  expect(name, `a frontend binding :${port}`).toBeDefined();
  return { mode: lines(name!, 'mode')[0]![1]!, backend: lines(name!, 'default_backend')[0]![1]! };
}

describe('the cluster compose file', () => {
  it('replaces the single relay365 by two instances behind HAProxy, which publishes what the single one did', () => {
    expect(cluster.isReset('services', 'relay365')).toBe(true);
    expect(Object.keys(cluster.model.services).sort()).toEqual(['haproxy', 'relay365', ...INSTANCES].sort());
    for (const name of INSTANCES) expect(instance(name).ports, name).toEqual([]);
    expect(postgres.model.services.postgres!.ports).toBeUndefined();
    expect(haproxy.ports).toEqual(single.model.services.relay365!.ports);
  });

  it('gives each instance its own data folder and instance id, and both the same database and key', () => {
    const configs = INSTANCES.map((name) => instanceConfig(name));
    expect(configs.map((c) => c.instanceId)).toEqual(INSTANCES);
    expect(configs.map((c) => c.databaseUrl)).toEqual(INSTANCES.map(() => SECRET_VALUES.database_url));
    expect(new Set(configs.map((c) => c.secretKey)).size).toBe(1);

    const dataVolumes = INSTANCES.map(
      (name) =>
        instance(name)
          .volumes.find((v) => v.endsWith(`:${configs[0]!.dataDir}`))
          ?.split(':')[0],
    );
    expect(new Set(dataVolumes).size).toBe(INSTANCES.length);
    for (const volume of dataVolumes) expect(Object.keys(cluster.model.volumes ?? {})).toContain(volume);

    // The secrets are the other two files' own: the cluster declares none of its own.
    const declared = { ...single.model.secrets, ...postgres.model.secrets };
    for (const name of INSTANCES) {
      expect(
        instance(name).secrets.every((secret) => secret in declared),
        name,
      ).toBe(true);
      expect(instance(name).depends_on.postgres).toEqual({ condition: 'service_healthy' });
    }
    expect(postgres.model.services.postgres).toBeDefined();
  });

  it('makes every instance expect a PROXY header, and believe one from HAProxy alone', () => {
    const address = haproxy.networks?.default?.ipv4_address;
    const [pool] = cluster.model.networks?.default?.ipam?.config ?? [];
    expect(address).toBeDefined();
    expect(pool?.ip_range).toBeDefined();
    const inSubnet = networkMatcher(parseNetwork(pool!.subnet));
    const dynamic = networkMatcher(parseNetwork(pool!.ip_range!));
    // Docker hands out the rest of the range to other containers; the gateway is the Docker host.
    expect(inSubnet.matches(address!) && !dynamic.matches(address!)).toBe(true);
    const others = [
      ipv4Plus(inSubnet.cidr.address, 1),
      ipv4Plus(dynamic.cidr.address, 0),
      ipv4Plus(dynamic.cidr.address, 2 ** (32 - dynamic.cidr.prefix) - 2),
    ];

    for (const name of INSTANCES) {
      const config = instanceConfig(name);
      expect(config.smtpProxyProtocol, name).toBe(true);
      const trusted = config.trustedProxies.map(networkMatcher);
      expect(
        trusted.some((t) => t.matches(address!)),
        name,
      ).toBe(true);
      for (const other of others)
        expect(
          trusted.some((t) => t.matches(other)),
          `${name} trusts ${other}`,
        ).toBe(false);
    }
  });

  it("sends browsers to one public URL for both instances: HAProxy's published panel", () => {
    const urls = new Set(INSTANCES.map((name) => instanceConfig(name).publicUrl));
    expect(urls.size).toBe(1);
    const url = new URL([...urls][0]!);
    const panel = haproxy.ports!.map(published).find((p) => p.container === instanceConfig(INSTANCES[0]!).adminListen.port);
    expect(panel?.host).toBe(`127.0.0.1:${url.port}`);
    expect(['localhost', '127.0.0.1']).toContain(url.hostname);
  });

  it('runs the official haproxy image of one release line, with deploy/haproxy mounted read-only as its configuration', () => {
    expect(haproxy.image).toMatch(/^haproxy:\d+\.\d+$/);
    expect(haproxy.volumes).toEqual(['./deploy/haproxy:/usr/local/etc/haproxy:ro']);
    expect(existsSync('deploy/haproxy/haproxy.cfg')).toBe(true);
  });
});

describe('the HAProxy configuration', () => {
  const config = (): Config => instanceConfig(INSTANCES[0]!);

  it('listens on every port the cluster publishes: SMTP in TCP mode, the panel in HTTP mode, each to the same port of the instances', () => {
    const { smtpListen, smtpsListen, adminListen } = config();
    const ports = new Set(haproxy.ports!.map((p) => published(p).container));
    expect([...ports].sort()).toEqual([smtpListen.port, smtpsListen!.port, adminListen.port].sort());
    for (const port of ports) {
      const { mode, backend } = frontendFor(port);
      expect(mode, `:${port}`).toBe(port === adminListen.port ? 'http' : 'tcp');
      expect(lines(`backend ${backend}`, 'mode')).toEqual([['mode', mode]]);
      const active = haproxyServers(backend).filter((s) => !s.options.includes('backup'));
      expect(active.map((s) => `${s.host}:${s.port}`)).toEqual(INSTANCES.map((name) => `${name}:${port}`));
    }
  });

  it('sends each SMTP connection with a PROXY v2 header, only to an instance whose /readyz answers 200', () => {
    const { smtpListen, smtpsListen, adminListen } = config();
    for (const port of [smtpListen.port, smtpsListen!.port]) {
      for (const server of haproxyServers(frontendFor(port).backend)) {
        expect(server.options, server.name).toContain('send-proxy-v2');
        const check = checkedBy(server);
        expect(`${check.host}:${check.port}`).toBe(`${server.host}:${adminListen.port}`);
        expect(httpCheck(check.backend)).toBe('GET /readyz → 200');
      }
    }
  });

  it('passes the panel and API with X-Forwarded-For to ready instances, falling back to running ones, with no sticky sessions', () => {
    const { adminListen } = config();
    const { backend } = frontendFor(adminListen.port);
    expect(lines(`backend ${backend}`, 'option', 'forwardfor')).toHaveLength(1);
    for (const server of haproxyServers(backend)) {
      const check = checkedBy(server);
      expect(`${check.host}:${check.port}`).toBe(`${server.host}:${adminListen.port}`);
      expect(httpCheck(check.backend)).toBe(server.options.includes('backup') ? 'GET /healthz → 200' : 'GET /readyz → 200');
    }
    // Sessions and Authorize Account state are rows in the database and CSRF tokens derive from a cookie:
    // no request needs the instance that answered the one before.
    const sticky = [...sections.values()]
      .flat()
      .filter(([word, arg]) => ['cookie', 'stick', 'stick-table'].includes(word!) || (word === 'balance' && arg === 'source'));
    expect(sticky).toEqual([]);
  });
});

/** A network written in a Compose file. */
function parseNetwork(text: string): Cidr {
  const cidr = parseCidr(text);
  if (typeof cidr === 'string') throw new Error(cidr);
  return cidr;
}

/** The IPv4 address `n` after `address`. */
function ipv4Plus(address: string, n: number): string {
  const value = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0) + n;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

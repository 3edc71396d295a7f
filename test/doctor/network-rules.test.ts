/**
 * The doctor's first step warns about allowed networks wider than a /16
 * (IPv4) or a /48 (IPv6), stored or from RELAY365_RELAY_NETWORKS, without
 * failing: on the command line, in its JSON and in Check Configuration.
 * Loopback rules (the default) and narrow rules bring no warning.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import { formatReport } from '../../src/doctor/format.js';
import { runDoctor } from '../../src/doctor/run.js';
import { silentLogger } from '../../src/log.js';
import { createPanel, signedIn, visibleText, type Panel } from '../admin/panel.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { freePort, runCli } from '../helpers/relay-process.js';

const ENV_NETWORKS = '127.0.0.0/8,::1/128,10.0.0.0/8';
const cidr = (text: string): Cidr => parseCidr(text) as Cidr;

let fx: Fixture | undefined;
let panel: Panel | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
  panel?.cleanup();
  panel = undefined;
});

/** A data folder with wide and narrow stored rules beside ENV_NETWORKS, and one server on a closed port. */
async function folderWithRules(): Promise<Fixture> {
  fx = createFixture({ RELAY365_RELAY_NETWORKS: ENV_NETWORKS });
  const server = fx.store.sync.servers.add(plainServer({ name: 'internal', port: await freePort() }));
  for (const rule of ['172.16.0.0/12', '192.168.1.0/24', '2001:db8::/40', '2001:db8:1::/48'])
    fx.store.sync.networks.add(cidr(rule), server.id);
  return fx;
}

describe('relay365 doctor and wide allowed networks', () => {
  it('warns in the first step about each rule wider than a /16 or /48, without failing it', async () => {
    const folder = await folderWithRules();
    const report = await runDoctor({ config: folder.config, store: folder.store, log: silentLogger, timeoutMs: 5_000 });
    const first = report.servers[0]!.steps[0]!;
    expect(first.status).toBe('pass');
    expect(first.saw).toMatch(/; warning: 3 allowed networks are wider than a \/16 \(IPv4\) or \/48 \(IPv6\)$/);
    expect(first.checks.filter((c) => c.warn)).toEqual([
      {
        name: 'allowed network',
        saw: '172.16.0.0/12 is wider than a /16: anyone among its 1,048,576 addresses can send mail as your tenant without a password; narrow it on the Networks page or with relay365 network',
        ok: true,
        warn: true,
      },
      {
        name: 'allowed network',
        saw: '2001:db8::/40 is wider than a /48: anyone among its 2^88 addresses can send mail as your tenant without a password; narrow it on the Networks page or with relay365 network',
        ok: true,
        warn: true,
      },
      {
        name: 'allowed network',
        saw: '10.0.0.0/8 is wider than a /16: anyone among its 16,777,216 addresses can send mail as your tenant without a password; it comes from RELAY365_RELAY_NETWORKS: narrow the variable and restart',
        ok: true,
        warn: true,
      },
    ]);
    const text = formatReport(report).join('\n');
    expect(text).toContain('⚠ allowed network: 10.0.0.0/8 is wider than a /16');
    expect(text).not.toMatch(/127\.0\.0\.0\/8 is wider|192\.168\.1\.0\/24 is wider|2001:db8:1::\/48 is wider/);
  });

  it('has no warning for the default loopback networks', async () => {
    fx = createFixture({ RELAY365_RELAY_NETWORKS: '127.0.0.0/8,::1/128' });
    fx.store.sync.servers.add(plainServer({ name: 'internal', port: await freePort() }));
    const report = await runDoctor({ config: fx.config, store: fx.store, log: silentLogger, timeoutMs: 5_000 });
    const first = report.servers[0]!.steps[0]!;
    expect(first.checks.some((c) => c.warn)).toBe(false);
    expect(first.saw).not.toContain('warning');
  });

  it('prints the warnings on the command line, RELAY365_RELAY_NETWORKS included', async () => {
    const folder = await folderWithRules();
    const run = await runCli(['doctor'], {
      ...process.env,
      RELAY365_DATA_DIR: folder.dir,
      RELAY365_SECRET_KEY: 'ab'.repeat(32),
      RELAY365_RELAY_NETWORKS: ENV_NETWORKS,
      RELAY365_LOG_LEVEL: 'error',
    });
    expect(run.stdout).toMatch(/⚠ allowed network: 172\.16\.0\.0\/12 is wider than a \/16/);
    expect(run.stdout).toMatch(/⚠ allowed network: 10\.0\.0\.0\/8 is wider than a \/16.*RELAY365_RELAY_NETWORKS/);
  });

  it('shows the warnings with their mark in Check Configuration', async () => {
    panel = createPanel({ env: { RELAY365_RELAY_NETWORKS: ENV_NETWORKS } });
    panel.fx.store.sync.servers.add(plainServer({ name: 'internal', port: await freePort() }));
    const agent = await signedIn(panel, 'editor@example.com', { updateSettings: true });
    const page = visibleText((await agent.post('/servers/1/check')).text);
    expect(page).toContain('⚠ allowed network: 10.0.0.0/8 is wider than a /16');
  });
});

/**
 * doctor's database checks: with PostgreSQL the first step names the server
 * and fails when this machine's clock is off the database server's; with
 * SQLite, whose file shares this machine's clock, it adds neither.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { inspectDataFolder, MAX_DATABASE_SKEW_MS } from '../../src/doctor/config-step.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';

let opened: EngineStore | null = null;
afterEach(async () => {
  await opened?.cleanup();
  opened = null;
});

const roomy = async (): Promise<number> => 10 ** 12;

describe.each(ENGINES)('doctor on %s', (engine) => {
  const inspect = async (offsetMs: number) => {
    opened = await openEngineStore(engine);
    const config = { dataDir: opened.dir, secretKey: 'ab'.repeat(32), minFreeSpace: 1 };
    const { checks } = await inspectDataFolder(config, opened.store, roomy, () => Date.now() + offsetMs);
    return checks.filter((c) => c.name === 'database server' || c.name === 'clock against the database server');
  };

  it(engine === 'postgres' ? 'passes a clock that agrees with the server' : 'adds no database checks', async () => {
    const checks = await inspect(0);
    if (engine === 'sqlite') expect(checks).toEqual([]);
    else
      expect(checks.map((c) => [c.name, c.ok])).toEqual([
        ['database server', true],
        ['clock against the database server', true],
      ]);
  });

  it.skipIf(engine === 'sqlite')('fails a clock off the server by more than the limit, saying how far and what to do', async () => {
    const [, clock] = await inspect(MAX_DATABASE_SKEW_MS + 3_000);
    expect(clock).toMatchObject({ ok: false, saw: expect.stringMatching(/^\d+ ms ahead$/), fix: expect.stringContaining('NTP') });
    expect(Number(/^(\d+)/.exec(clock?.saw ?? '')?.[1])).toBeGreaterThan(MAX_DATABASE_SKEW_MS + 2_000);
  });
});

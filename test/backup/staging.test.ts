import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStaging, removeAbandonedStaging } from '../../src/backup/staging.js';
import { endedPid } from '../helpers/relay-process.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('staging folders', () => {
  it('removes the folders that killed backups and restores on this host left, and nothing else', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'relay365-staging-'));
    const ended = await endedPid();
    const killedBackup = `.backup-${hostname()}-${ended}-Ab12Cd`;
    const killedRestore = `.restore-${hostname()}-${ended}-Zz9900`;
    // A backup running now, one on another host sharing the folder, and a folder that is not staging at all.
    const running = path.basename(createStaging(dir, 'backup'));
    const otherHost = `.backup-elsewhere-${ended}-Ab12Cd`;
    const unrelated = '.backup-notes';
    for (const name of [killedBackup, killedRestore, otherHost, unrelated]) {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'relay365.db'), 'half a copy');
    }
    expect(running).toMatch(new RegExp(`^\\.backup-${hostname()}-${process.pid}-`));

    expect(removeAbandonedStaging(dir).sort()).toEqual([killedBackup, killedRestore].sort());
    expect(readdirSync(dir).sort()).toEqual([otherHost, running, unrelated].sort());
  });
});

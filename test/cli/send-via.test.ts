/**
 * `relay365 server add|set --send-via graph` and `--graph-endpoint`: the
 * settings land in the store, `server list --json` shows them, and a value
 * the schema refuses is refused with one line before anything changes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/usage-error.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { runInProcess } from '../helpers/cli.js';

let fx: Fixture;

beforeEach(() => {
  fx = createFixture();
});
afterEach(() => fx.cleanup());

/** Runs a command in this process; resolves with its output lines. */
const run = (command: string, ...args: string[]): Promise<string[]> => runInProcess(fx, command, ...args);

/** `server list --json` as the command line prints it. */
async function listed(): Promise<Array<Record<string, unknown>>> {
  return JSON.parse((await run('server', 'list', '--json')).join('\n')) as Array<Record<string, unknown>>;
}

describe('relay365 server --send-via', () => {
  it('adds a server that sends via Microsoft Graph on a Custom cloud, shown by server list --json', async () => {
    await run(
      'server',
      'add',
      '--name',
      'graph',
      '--method',
      'office365',
      '--cloud',
      'custom',
      '--authority-host',
      'https://login.example',
      '--host',
      'smtp.example',
      '--send-via',
      'graph',
      '--graph-endpoint',
      'https://graph.example',
    );
    expect(await listed()).toEqual([expect.objectContaining({ name: 'graph', sendVia: 'graph', graphEndpoint: 'https://graph.example' })]);
  });

  it('switches a server to Graph and back with server set', async () => {
    await run('server', 'add', '--name', 'o365', '--method', 'office365');
    expect((await listed())[0]).toMatchObject({ sendVia: 'smtp' });
    await run('server', 'set', 'o365', '--send-via', 'graph');
    expect(fx.store.sync.servers.findByName('o365')).toMatchObject({ sendVia: 'graph' });
    await run('server', 'set', 'o365', '--send-via', 'smtp');
    expect((await listed())[0]).toMatchObject({ sendVia: 'smtp' });
  });

  it('refuses a way to send it does not know, changing nothing', async () => {
    await run('server', 'add', '--name', 'o365', '--method', 'office365');
    await expect(run('server', 'set', 'o365', '--send-via', 'rest')).rejects.toBeInstanceOf(UsageError);
    await expect(run('server', 'set', 'o365', '--send-via', 'rest')).rejects.toThrow(/^--send-via "rest" is not valid: /);
    expect(fx.store.sync.servers.findByName('o365')).toMatchObject({ sendVia: 'smtp' });
  });
});

/**
 * `relay365 server add --preset`: a preset fills method, host, port, security
 * and limits for one of Microsoft's endpoints, flags given win, and a name
 * that is no preset is refused with the choices before anything is added.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandUsage } from '../../src/cli/usage.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { runInProcess } from '../helpers/cli.js';
import { runCli } from '../helpers/relay-process.js';

let fx: Fixture;

beforeEach(() => {
  fx = createFixture();
});
afterEach(() => fx.cleanup());

/** Runs a command in this process; resolves with its output lines. */
const run = (command: string, ...args: string[]): Promise<string[]> => runInProcess(fx, command, ...args);

const server = (name: string) => fx.store.sync.servers.findByName(name);

describe('relay365 server add --preset', () => {
  it('adds a High Volume Email server: application sign-in on smtp-hve.office365.com:587 tls with its limits', async () => {
    expect(await run('server', 'add', '--name', 'bulk', '--preset', 'hve')).toEqual(['added email server bulk (default)']);
    expect(server('bulk')).toMatchObject({
      method: 'office365',
      signInMode: 'application',
      sendVia: 'smtp',
      host: 'smtp-hve.office365.com',
      port: 587,
      secure: 'tls',
      maxConnections: 3,
      messagesPerMinute: 100,
      recipientsPerDay: 100_000,
    });
  });

  it('adds an Azure Communication Services server: a password server on smtp.azurecomm.net:587 tls, one a minute', async () => {
    await run('server', 'add', '--name', 'acs', '--preset', 'acs', '--username', 'contoso-acs.9e4a6f21.5b2d7c1e');
    expect(server('acs')).toMatchObject({
      method: 'password',
      host: 'smtp.azurecomm.net',
      port: 587,
      secure: 'tls',
      username: 'contoso-acs.9e4a6f21.5b2d7c1e',
      maxConnections: 1,
      messagesPerMinute: 1,
      recipientsPerDay: 2_400,
    });
  });

  it('adds an Exchange Online server on the cloud’s SMTP host with the preset', async () => {
    await run('server', 'add', '--name', 'gov', '--preset', 'office365', '--cloud', 'usgov');
    expect(server('gov')).toMatchObject({
      method: 'office365',
      host: 'smtp.office365.us',
      port: 587,
      secure: 'tls',
      messagesPerMinute: 30,
    });
  });

  it('lets flags win over the preset', async () => {
    await run(
      'server',
      'add',
      '--name',
      'acs-eu',
      '--preset',
      'acs',
      '--host',
      'smtp.eu.azurecomm.net',
      '--port',
      '465',
      '--secure',
      'ssl',
      '--messages-per-minute',
      '20',
    );
    expect(server('acs-eu')).toMatchObject({
      method: 'password',
      host: 'smtp.eu.azurecomm.net',
      port: 465,
      secure: 'ssl',
      messagesPerMinute: 20,
      maxConnections: 1,
    });
  });

  it('refuses a name that is no preset, naming the choices, and adds nothing', async () => {
    await expect(run('server', 'add', '--name', 'gmail', '--preset', 'gmail')).rejects.toEqual(
      new UsageError('--preset "gmail" is not valid: choose one of office365, hve, acs'),
    );
    expect(fx.store.sync.servers.list()).toEqual([]);
  });

  it('refuses High Volume Email with --send-via graph, which HVE does not take, and adds nothing', async () => {
    await expect(run('server', 'add', '--name', 'hve', '--preset', 'hve', '--send-via', 'graph')).rejects.toEqual(
      new UsageError(
        '--preset hve with --send-via graph: High Volume Email takes mail only over SMTP: keep Send Via smtp, or choose no preset to send via Microsoft Graph.',
      ),
    );
    expect(fx.store.sync.servers.list()).toEqual([]);
  });

  it('is refused by the command line with exit code 2 and shown in the usage', async () => {
    const env = { ...process.env, RELAY365_DATA_DIR: fx.dir, RELAY365_SECRET_KEY: 'ab'.repeat(32), RELAY365_LOG_LEVEL: 'error' };
    expect(await runCli(['server', 'add', '--name', 'x', '--preset', 'HVE'], env)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'relay365: --preset "HVE" is not valid: choose one of office365, hve, acs\n',
    });
    expect(commandUsage('server')).toContain('relay365 server add --name N [--preset office365|hve|acs]');
    expect(fx.store.sync.servers.list()).toEqual([]);
  });
});

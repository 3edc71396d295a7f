import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/auth/passwords.js';
import { runCommand } from '../../src/cli/commands.js';
import { commandUsage } from '../../src/cli/usage.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { runInProcess } from '../helpers/cli.js';
import { runCli } from '../helpers/relay-process.js';
import { relayUserArrivesBeforeRemoval } from '../helpers/removal-race.js';

const ENV_NETWORKS = '127.0.0.0/8,::1/128';
const FILE_PASSWORD = 'Printer-Pass-2024!';

let fx: Fixture;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  fx = createFixture({ RELAY365_RELAY_NETWORKS: ENV_NETWORKS });
  env = {
    ...process.env,
    RELAY365_DATA_DIR: fx.dir,
    RELAY365_SECRET_KEY: 'ab'.repeat(32),
    RELAY365_RELAY_NETWORKS: ENV_NETWORKS,
    RELAY365_LOG_LEVEL: 'error',
  };
  fx.store.sync.servers.add(plainServer({ name: 'office365' }));
  fx.store.sync.servers.add(plainServer({ name: 'backup', host: '127.0.0.2' }));
});
afterEach(() => fx.cleanup());

/** Runs a command in this process; resolves with its output lines. */
const run = (command: string, ...args: string[]): Promise<string[]> => runInProcess(fx, command, ...args);

function passwordFile(text: string): string {
  const file = path.join(fx.dir, 'relay-password');
  writeFileSync(file, text);
  return file;
}

/** The database and its write-ahead log, as bytes. */
function databaseBytes(): Buffer {
  const read = (file: string): Buffer => {
    try {
      return readFileSync(path.join(fx.dir, file));
    } catch {
      return Buffer.alloc(0);
    }
  };
  return Buffer.concat([read('relay365.db'), read('relay365.db-wal')]);
}

const user = (name: string) => fx.store.sync.relayUsers.findByName(name)!;
const hashOf = (name: string): string => fx.store.sync.relayUsers.passwordHash(user(name).id)!;

describe('relay365 relay-user', () => {
  it('generates a password, prints it once as the last line and stores only its scrypt hash', async () => {
    const added = await runCli(['relay-user', 'add', '--name', 'scanner', '--server', 'office365'], env);
    expect(added.code).toBe(0);
    const lines = added.stdout.trimEnd().split('\n');
    const password = lines.at(-1)!;
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(lines.slice(0, -1).join('\n')).toMatch(/added relay user scanner for email server office365[\s\S]*only this once/);

    expect(hashOf('scanner')).toMatch(/^scrypt\$/);
    expect(await verifyPassword(password, hashOf('scanner'))).toBe(true);
    expect(databaseBytes().includes(Buffer.from(password))).toBe(false);

    const [text, json] = await Promise.all([runCli(['relay-user', 'list'], env), runCli(['relay-user', 'list', '--json'], env)]);
    expect(text).toMatchObject({ code: 0, stdout: 'scanner: server office365, any sender, last used never\n' });
    expect(JSON.parse(json.stdout)).toEqual([
      { name: 'scanner', server: 'office365', allowFrom: [], disabled: false, lastUsedAt: null, createdAt: expect.any(String) },
    ]);
    for (const out of [text.stdout, json.stdout]) {
      expect(out).not.toContain(password);
      expect(out).not.toContain('scrypt');
    }
  });

  it('adds a user with a password from a file and an allowed From list, printing no password', async () => {
    const file = passwordFile(`${FILE_PASSWORD}\n`);
    const added = await runCli(
      [
        'relay-user',
        'add',
        '--name',
        'erp',
        '--server',
        'backup',
        '--password-file',
        file,
        '--allow-from',
        'ERP@contoso.test,@fabrikam.test',
      ],
      env,
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      /^added relay user erp for email server backup, from erp@contoso.test, @fabrikam.test\ndevice settings:\n/,
    );
    expect(added.stdout).not.toContain(FILE_PASSWORD);
    expect(added.stdout).not.toContain('only this once');
    expect(user('erp')).toMatchObject({
      serverId: fx.store.sync.servers.findByName('backup')!.id,
      allowFrom: ['erp@contoso.test', '@fabrikam.test'],
    });
    expect(await verifyPassword(FILE_PASSWORD, hashOf('erp'))).toBe(true);
    expect(databaseBytes().includes(Buffer.from(FILE_PASSWORD))).toBe(false);
  });

  it('prints the settings the device enters, from the listener settings, before the password on the last line', async () => {
    const added = await runCli(['relay-user', 'add', '--name', 'printer1', '--server', 'office365'], {
      ...env,
      RELAY365_SMTP_LISTEN: '0.0.0.0:2525',
      RELAY365_SMTPS_LISTEN: '0.0.0.0:4465',
      RELAY365_SMTP_PUBLIC_HOST: 'relay.contoso.test',
      RELAY365_SMTP_PUBLIC_PORTS: '587,25',
      RELAY365_SMTPS_PUBLIC_PORTS: '465',
    });
    expect(added.code).toBe(0);
    const lines = added.stdout.trimEnd().split('\n');
    expect(lines.slice(0, -1)).toEqual([
      'added relay user printer1 for email server office365, any sender',
      'device settings:',
      '  SMTP server: relay.contoso.test',
      '  Port: 587 or 25',
      '  Security: STARTTLS',
      '  Or: port 465 with security SSL/TLS (implicit TLS)',
      '  Authentication: on (PLAIN or LOGIN)',
      '  Username: printer1',
      "  Password: the relay user's password",
      'its password is shown only this once, on the next line; enter it in the device now:',
    ]);
    expect(await verifyPassword(lines.at(-1)!, hashOf('printer1'))).toBe(true);
  });

  it('says in the device settings when only this machine can reach the listener', async () => {
    const lines: string[] = [];
    const args = ['add', '--name', 'local', '--server', 'office365', '--password-file', passwordFile(FILE_PASSWORD)];
    await runCommand(fx.store, 'relay-user', args, (line) => lines.push(line), {
      ...fx.config,
      smtpListen: { host: '127.0.0.1', port: 2525 },
    });
    expect(lines).toEqual([
      'added relay user local for email server office365, any sender',
      'device settings:',
      '  SMTP server: localhost',
      '  Port: 2525',
      '  Security: STARTTLS',
      '  Authentication: on (PLAIN or LOGIN)',
      '  Username: local',
      "  Password: the relay user's password",
      '  note: Only this machine can reach relay365: RELAY365_SMTP_LISTEN (127.0.0.1) listens on loopback. For devices on the network, set it to 0.0.0.0:2525 or to an address of this machine.',
    ]);
  });

  it('changes server, allowed From, disabled and password in one set', async () => {
    await run('relay-user', 'add', '--name', 'scanner', '--server', 'office365', '--allow-from', '@contoso.test');
    const file = passwordFile(FILE_PASSWORD);
    const result = await runCli(
      [
        'relay-user',
        'set',
        'scanner',
        '--server',
        'backup',
        '--allow-from',
        'scans@fabrikam.test',
        '--disabled',
        'true',
        '--password-file',
        file,
      ],
      env,
    );
    expect(result).toMatchObject({
      code: 0,
      stdout: 'updated relay user scanner: server backup, from scans@fabrikam.test, disabled, new password\n',
    });
    expect(user('scanner')).toMatchObject({
      serverId: fx.store.sync.servers.findByName('backup')!.id,
      allowFrom: ['scans@fabrikam.test'],
      disabled: true,
    });
    expect(await verifyPassword(FILE_PASSWORD, hashOf('scanner'))).toBe(true);
    expect(await run('relay-user', 'list')).toEqual(['scanner (disabled): server backup, from scans@fabrikam.test, last used never']);
  });

  it("clears the allowed From list with --allow-from '' and enables the user again", async () => {
    await run('relay-user', 'add', '--name', 'scanner', '--server', 'office365', '--allow-from', '@contoso.test');
    await run('relay-user', 'set', 'scanner', '--disabled', 'true');
    const hash = hashOf('scanner');
    expect(await run('relay-user', 'set', 'scanner', '--allow-from', '', '--disabled', 'false')).toEqual([
      'updated relay user scanner: any sender, enabled',
    ]);
    expect(user('scanner')).toMatchObject({ allowFrom: [], disabled: false });
    expect(hashOf('scanner')).toBe(hash);
  });

  it('lists the last login time and the user is gone after remove', async () => {
    await run('relay-user', 'add', '--name', 'scanner', '--server', 'office365');
    fx.store.sync.relayUsers.touch(user('scanner').id, Date.parse('2025-03-04T05:06:07Z'));
    expect(await run('relay-user', 'list')).toEqual(['scanner: server office365, any sender, last used 2025-03-04 05:06:07 UTC']);
    const removed = await runCli(['relay-user', 'remove', 'scanner'], env);
    expect(removed).toMatchObject({ code: 0, stdout: 'removed relay user scanner\n' });
    expect(fx.store.sync.relayUsers.list()).toEqual([]);
    expect(await run('relay-user', 'list', '--json')).toEqual(['[]']);
  });

  it.each([
    [['add', '--name', 'Scanner', '--server', 'office365'], 'a relay user named "Scanner" exists already'],
    [
      ['add', '--name', 'bad name', '--server', 'office365'],
      '--name "bad name" is not valid: Use letters, digits and . _ @ + - only (no spaces).',
    ],
    [
      ['add', '--name', 'x', '--server', 'nowhere'],
      '--server "nowhere" is not valid: no email server has that name (see relay365 server list)',
    ],
    [['add', '--server', 'office365'], '--name is required, e.g. relay365 relay-user add --name scanner --server office365'],
    [
      ['add', '--name', 'x', '--server', 'office365', '--allow-from', 'anyone'],
      '--allow-from "anyone" is not valid: "anyone" is neither an address nor an @domain.',
    ],
    [['add', 'x', '--server', 'office365'], 'unexpected argument "x": give values after their --flag'],
    [['set', 'scanner'], 'nothing to change: give --server, --allow-from, --password-file or --disabled'],
    [['set', 'scanner', '--disabled', 'yes'], '--disabled "yes" is not valid: use true or false'],
    [['set', 'nobody', '--disabled', 'true'], 'no relay user named "nobody" (see relay365 relay-user list)'],
    [['remove'], 'say which one, e.g. relay365 relay-user remove scanner'],
    [['list', '--all'], "Unknown option '--all': use --json"],
    [['rename'], 'unknown command "relay-user rename": use relay-user add, list, set or remove'],
  ])('refuses relay-user %j', async (args, message) => {
    await run('relay-user', 'add', '--name', 'scanner', '--server', 'office365');
    await expect(run('relay-user', ...args)).rejects.toEqual(new UsageError(message));
  });

  it.each([
    ['short\n', 'A relay password has at least 12 characters.'],
    ['twelve chars\tand a tab', 'A relay password cannot contain control characters.'],
  ])('refuses a password file holding %j without showing it', async (content, reason) => {
    const file = passwordFile(content);
    await expect(run('relay-user', 'add', '--name', 'x', '--server', 'office365', '--password-file', file)).rejects.toEqual(
      new UsageError(`--password-file ${JSON.stringify(file)} is not valid: ${reason}`),
    );
    expect(fx.store.sync.relayUsers.list()).toEqual([]);
  });

  it('exits with code 2, one line naming the known flags for an unknown one, then the relay-user usage', async () => {
    expect(await runCli(['relay-user', 'add', '--name', 'x', '--server', 'office365', '--colour', 'red'], env)).toEqual({
      code: 2,
      stdout: '',
      stderr: `relay365: Unknown option '--colour': use --name, --server, --password-file, --allow-from\n\n${commandUsage('relay-user')}`,
    });
  });
});

describe('relay365 network', () => {
  it('adds, lists and removes IPv4 and IPv6 networks beside the environment rules', async () => {
    const added = await runCli(['network', 'add', '--cidr', '2001:DB8:10::/48', '--server', 'backup'], env);
    expect(added).toMatchObject({ code: 0, stdout: 'added network 2001:db8:10::/48 routed to email server backup\n' });
    expect(await run('network', 'add', '--cidr', '192.168.10.0/24', '--server', 'office365')).toEqual([
      'added network 192.168.10.0/24 routed to email server office365',
    ]);

    const listed = await runCli(['network', 'list'], env);
    expect(listed).toMatchObject({
      code: 0,
      stdout: [
        '2001:db8:10::/48 routed to backup',
        '192.168.10.0/24 routed to office365',
        '127.0.0.0/8 routed to the default server (office365), from RELAY365_RELAY_NETWORKS',
        '::1/128 routed to the default server (office365), from RELAY365_RELAY_NETWORKS',
        '',
      ].join('\n'),
    });
    expect(JSON.parse((await run('network', 'list', '--json')).join('\n'))).toEqual([
      { cidr: '2001:db8:10::/48', server: 'backup', source: 'stored', createdAt: expect.any(String) },
      { cidr: '192.168.10.0/24', server: 'office365', source: 'stored', createdAt: expect.any(String) },
      { cidr: '127.0.0.0/8', server: 'office365', source: 'environment', createdAt: null },
      { cidr: '::1/128', server: 'office365', source: 'environment', createdAt: null },
    ]);

    const removed = await runCli(['network', 'remove', '--cidr', '2001:db8:10::/48'], env);
    expect(removed).toMatchObject({ code: 0, stdout: 'removed network 2001:db8:10::/48\n' });
    expect(await run('network', 'remove', '--cidr', '192.168.10.0/24')).toEqual(['removed network 192.168.10.0/24']);
    expect(fx.store.sync.networks.list()).toEqual([]);
  });

  it('refuses to remove an environment rule, pointing at RELAY365_RELAY_NETWORKS', async () => {
    const result = await runCli(['network', 'remove', '--cidr', '::1/128'], env);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'relay365: network ::1/128 comes from RELAY365_RELAY_NETWORKS: change that variable and restart relay365 to remove it\n',
    });
  });

  it('exits with code 2 and one line for a bad CIDR', async () => {
    const result = await runCli(['network', 'add', '--cidr', '10.0.0.0/33', '--server', 'office365'], env);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'relay365: --cidr "10.0.0.0/33" is not valid: "10.0.0.0/33" has a bad prefix length: use /0 to /32.\n',
    });
  });

  it('says when a stored rule shadows or uncovers an environment rule', async () => {
    expect(await run('network', 'add', '--cidr', '127.0.0.0/8', '--server', 'backup')).toEqual([
      'added network 127.0.0.0/8 routed to email server backup',
      'note: RELAY365_RELAY_NETWORKS has 127.0.0.0/8 too; this stored rule takes precedence',
    ]);
    expect(await run('network', 'remove', '--cidr', '127.0.0.0/8')).toEqual([
      'removed network 127.0.0.0/8',
      'note: RELAY365_RELAY_NETWORKS still allows 127.0.0.0/8, routed to the default server',
    ]);
  });

  it('refuses /0 and networks wider than a /8 or /32 without --force, saying why and how to force', async () => {
    const refused = await runCli(['network', 'add', '--cidr', '0.0.0.0/0', '--server', 'office365'], env);
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'relay365: 0.0.0.0/0 covers every IPv4 address: anyone in that range could send mail as your tenant through relay365 without a password, so a network wider than a /8 is refused unless forced; add --force if you mean it\n',
    });
    await expect(run('network', 'add', '--cidr', '::/0', '--server', 'office365')).rejects.toThrow(
      /^::\/0 covers every IPv6 address: .* wider than a \/32 is refused unless forced; add --force if you mean it$/,
    );
    await expect(run('network', 'add', '--cidr', '10.0.0.0/7', '--server', 'office365')).rejects.toThrow(
      /^10\.0\.0\.0\/7 covers 33,554,432 addresses: anyone in that range could send mail as your tenant/,
    );
    await expect(run('network', 'add', '--cidr', '2001:db8::/31', '--server', 'office365')).rejects.toThrow(/covers 2\^97 addresses/);
    expect(fx.store.sync.networks.list()).toEqual([]);

    const forced = await runCli(['network', 'add', '--cidr', '0.0.0.0/0', '--server', 'office365', '--force'], env);
    expect(forced.code).toBe(0);
    expect(forced.stdout.split('\n')).toEqual([
      'added network 0.0.0.0/0 routed to email server office365',
      'warning: 0.0.0.0/0 is wider than a /16: anyone among its 4,294,967,296 addresses can send mail as your tenant without a password',
      '',
    ]);
    expect(fx.store.sync.networks.list().map((r) => r.cidr)).toEqual(['0.0.0.0/0']);
  });

  it('adds a /8 without --force but warns that it is wider than a /16; a /16 and a /48 pass quietly', async () => {
    expect(await run('network', 'add', '--cidr', '10.0.0.0/8', '--server', 'office365')).toEqual([
      'added network 10.0.0.0/8 routed to email server office365',
      'warning: 10.0.0.0/8 is wider than a /16: anyone among its 16,777,216 addresses can send mail as your tenant without a password',
    ]);
    expect(await run('network', 'add', '--cidr', '2001:db8::/32', '--server', 'office365')).toEqual([
      'added network 2001:db8::/32 routed to email server office365',
      'warning: 2001:db8::/32 is wider than a /48: anyone among its 2^96 addresses can send mail as your tenant without a password',
    ]);
    expect(await run('network', 'add', '--cidr', '172.16.0.0/16', '--server', 'office365')).toEqual([
      'added network 172.16.0.0/16 routed to email server office365',
    ]);
    expect(await run('network', 'add', '--cidr', '2001:db8:1::/48', '--server', 'office365')).toEqual([
      'added network 2001:db8:1::/48 routed to email server office365',
    ]);
  });

  it('says where to add a network when there is none', async () => {
    const lines: string[] = [];
    await runCommand(fx.store, 'network', ['list'], (line) => lines.push(line), { ...fx.config, relayNetworks: [] });
    expect(lines).toEqual([
      'no allowed networks (RELAY365_RELAY_NETWORKS is empty); add one with relay365 network add --cidr CIDR --server NAME',
    ]);
  });

  it.each([
    [
      ['add', '--cidr', '10.1.0.0/16', '--server', 'backup'],
      'network 10.1.0.0/16 is stored already, routed to office365; remove it first to route it elsewhere',
    ],
    [
      ['add', '--cidr', 'lan', '--server', 'office365'],
      '--cidr "lan" is not valid: "lan" is not a network: use a CIDR such as 192.168.10.0/24 or 2001:db8::/48.',
    ],
    [
      ['add', '--cidr', '2001:db8::/129', '--server', 'office365'],
      '--cidr "2001:db8::/129" is not valid: "2001:db8::/129" has a bad prefix length: use /0 to /128.',
    ],
    [['add', '--cidr', '10.2.0.0/16'], '--server is required, e.g. relay365 network add --cidr 192.168.10.0/24 --server office365'],
    [['remove', '--cidr', '10.9.0.0/16'], 'no stored network 10.9.0.0/16 (see relay365 network list)'],
    [['remove'], '--cidr is required, e.g. relay365 network remove --cidr 192.168.10.0/24'],
    [['remove', '10.1.0.0/16'], 'unexpected argument "10.1.0.0/16": give values after their --flag'],
  ])('refuses network %j', async (args, message) => {
    await run('network', 'add', '--cidr', '10.1.0.0/16', '--server', 'office365');
    await expect(run('network', ...args)).rejects.toEqual(new UsageError(message));
  });
});

describe('relay365 server remove', () => {
  it('refuses while relay users or networks route to the server, naming them', async () => {
    await run('relay-user', 'add', '--name', 'scanner', '--server', 'backup');
    await run('network', 'add', '--cidr', '10.1.0.0/16', '--server', 'backup');
    const refused = await runCli(['server', 'remove', 'backup'], env);
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'relay365: backup is used by relay user(s) scanner and network(s) 10.1.0.0/16; move them to another server (relay-user set NAME --server OTHER) or remove them first\n',
    });
    expect(fx.store.sync.servers.findByName('backup')).toBeDefined();

    await run('relay-user', 'set', 'scanner', '--server', 'office365');
    await run('network', 'remove', '--cidr', '10.1.0.0/16');
    expect(await run('server', 'remove', 'backup')).toEqual(['removed email server backup']);
  });

  it('refuses in one line (exit 2) a relay user added just before the removal runs, not with a database error', async () => {
    relayUserArrivesBeforeRemoval(fx.store, 'late-scanner');
    await expect(run('server', 'remove', 'backup')).rejects.toEqual(
      new UsageError(
        'backup is used by relay user(s) late-scanner; move them to another server (relay-user set NAME --server OTHER) or remove them first',
      ),
    );
    expect(fx.store.sync.servers.findByName('backup')).toBeDefined();
  });
});

describe('relay365 help', () => {
  it('lists the relay-user and network commands', async () => {
    const help = await runCli(['help'], env);
    expect(help.code).toBe(0);
    for (const command of [
      'relay-user add',
      'relay-user list',
      'relay-user set',
      'relay-user remove',
      'network add',
      'network list',
      'network remove',
    ]) {
      expect(help.stdout).toContain(`relay365 ${command}`);
    }
  });
});

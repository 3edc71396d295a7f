/**
 * The command line's adds and renames when another relay365 instance on the
 * same store takes the name between the command's look-up and its insert: the
 * same one-line usage error (exit code 2) as for a name taken earlier, never
 * the database's own error.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import { runCommand } from '../../src/cli/commands.js';
import { UsageError } from '../../src/cli/usage-error.js';
import type { Store } from '../../src/store/index.js';
import { ENGINES, openAnotherInstance, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer } from '../helpers/fixture.js';
import { takenBeforeWrite } from '../helpers/unique-race.js';

const cidr = (text: string): Cidr => parseCidr(text) as Cidr;

describe.each(ENGINES)('commands racing another instance (%s)', (engine) => {
  let es: EngineStore;
  let other: Store;
  beforeEach(async () => {
    es = await openEngineStore(engine);
    other = await openAnotherInstance(es, 'other');
  });
  afterEach(async () => {
    await other.close();
    await es.cleanup();
  });

  /** `relay365 COMMAND ARGS…` on the first instance's store. */
  const run = (command: string, ...args: string[]): Promise<void> => runCommand(es.store, command, args, () => undefined);
  const refused = async (command: Promise<void>, message: string): Promise<void> => {
    await expect(command).rejects.toThrow(UsageError);
    await expect(command).rejects.toThrow(message);
  };

  it('refuses `server add` of a name taken meanwhile', async () => {
    takenBeforeWrite(es.store.servers, 'add', () => other.servers.add(plainServer({ name: 'smarthost' })));
    await refused(
      run('server', 'add', '--name', 'smarthost', '--method', 'none', '--secure', 'none', '--host', '127.0.0.1', '--port', '25'),
      'an email server named "smarthost" exists already',
    );
    expect(await es.store.servers.list()).toHaveLength(1);
  });

  it('refuses `server set --name` to a name taken meanwhile', async () => {
    const server = await es.store.servers.add(plainServer({ name: 'first' }));
    takenBeforeWrite(es.store.servers, 'update', () => other.servers.add(plainServer({ name: 'second' })));
    await refused(run('server', 'set', 'first', '--name', 'second'), 'an email server named "second" exists already');
    expect((await es.store.servers.get(server.id))?.name).toBe('first');
  });

  it('refuses `network add` of a network stored meanwhile, naming the server it routes to', async () => {
    await es.store.servers.add(plainServer({ name: 'o365' }));
    const theirs = await es.store.servers.add(plainServer({ name: 'smarthost' }));
    takenBeforeWrite(es.store.networks, 'add', () => other.networks.add(cidr('192.168.10.0/24'), theirs.id));
    await refused(
      run('network', 'add', '--cidr', '192.168.10.0/24', '--server', 'o365'),
      'network 192.168.10.0/24 is stored already, routed to smarthost; remove it first to route it elsewhere',
    );
    expect((await es.store.networks.list()).map((r) => r.serverId)).toEqual([theirs.id]);
  });

  it('refuses `api-token add` of a name taken meanwhile', async () => {
    takenBeforeWrite(es.store.apiTokens, 'add', () => other.apiTokens.add({ name: 'provisioning', scope: 'read' }));
    await refused(
      run('api-token', 'add', '--name', 'provisioning', '--scope', 'write'),
      'an API token named "provisioning" exists already',
    );
    expect((await es.store.apiTokens.list()).map((t) => t.scope)).toEqual(['read']);
  });

  it('refuses `relay-user add` of a name taken meanwhile', async () => {
    const server = await es.store.servers.add(plainServer({ name: 'o365' }));
    takenBeforeWrite(es.store.relayUsers, 'add', () =>
      other.relayUsers.add({ name: 'scanner', passwordHash: 'scrypt$unused', serverId: server.id, allowFrom: [] }),
    );
    await refused(run('relay-user', 'add', '--name', 'scanner', '--server', 'o365'), 'a relay user named "scanner" exists already');
    expect(await es.store.relayUsers.list()).toHaveLength(1);
  });
});

/**
 * `relay365 relay-user add|list|set|remove`: the SMTP AUTH accounts legacy
 * apps log in with. `add` prints the settings the device enters; a password
 * is either read from a file or generated and shown once; only its scrypt
 * hash is stored, and no command prints either again.
 */
import { hashPassword } from '../auth/passwords.js';
import { addRelayUser } from '../relay/add-relay-user.js';
import { deviceSettingLines, deviceSettings, type DeviceListen } from '../relay/device-settings.js';
import { allowFromList, relayPassword, relayUserName } from '../store/access-schemas.js';
import type { StoreSlice } from '../store/index.js';
import type { RelayUser, RelayUserChanges } from '../store/relay-users.js';
import { formatTimeOrNever } from '../time-format.js';
import { booleanFlag, flagValue, noPositionals, onePositional, readFlagFile, requireFlag, serverFlag, type Print } from './flags.js';
import { JSON_FLAG, NO_FLAGS, subcommand, subcommandGroup, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

/** What every `relay-user` sub-command works with; `config` says where devices connect (printed by `add`). */
export interface RelayUserContext {
  store: StoreSlice<{ relayUsers: 'add' | 'findByName' | 'list' | 'remove' | 'update'; servers: 'findByName' | 'list' }>;
  print: Print;
  config: DeviceListen;
}

const ADD_FLAGS = {
  name: { type: 'string' },
  server: { type: 'string' },
  'password-file': { type: 'string' },
  'allow-from': { type: 'string' },
} as const;
const SET_FLAGS = {
  server: { type: 'string' },
  'allow-from': { type: 'string' },
  'password-file': { type: 'string' },
  disabled: { type: 'string' },
} as const;

const senders = (allowFrom: readonly string[]): string => (allowFrom.length ? `from ${allowFrom.join(', ')}` : 'any sender');
const isoOrNull = (at: number | null): string | null => (at === null ? null : new Date(at).toISOString());

async function findRelayUser(store: StoreSlice<{ relayUsers: 'findByName' }>, name: string): Promise<RelayUser> {
  const user = await store.relayUsers.findByName(name);
  if (!user) throw new UsageError(`no relay user named ${JSON.stringify(name)} (see relay365 relay-user list)`);
  return user;
}

function passwordFromFile(file: string): string {
  return flagValue('password-file', readFlagFile('password-file', file), relayPassword, JSON.stringify(file));
}

async function add({ store, print, config }: RelayUserContext, { values, positionals }: ParsedFlags<typeof ADD_FLAGS>): Promise<void> {
  noPositionals(positionals);
  const example = 'relay365 relay-user add --name scanner --server office365';
  const name = flagValue('name', requireFlag('name', values.name, example), relayUserName);
  const server = await serverFlag(store, requireFlag('server', values.server, example));
  const allowFrom = values['allow-from'] === undefined ? [] : flagValue('allow-from', values['allow-from'], allowFromList);
  const given = values['password-file'] === undefined ? null : passwordFromFile(values['password-file']);
  const added = await addRelayUser(store, { name, serverId: server.id, allowFrom, password: given });
  if (!added) throw new UsageError(`a relay user named ${JSON.stringify(name)} exists already`);
  const { user, generated } = added;
  print(`added relay user ${user.name} for email server ${server.name}, ${senders(user.allowFrom)}`);
  const device = deviceSettings({ listen: config, login: user.name });
  print('device settings:');
  for (const { label, value } of deviceSettingLines(device)) print(`  ${label}: ${value}`);
  for (const note of device.notes) print(`  note: ${note}`);
  if (generated === null) return;
  print('its password is shown only this once, on the next line; enter it in the device now:');
  print(generated);
}

async function list({ store, print }: RelayUserContext, { values, positionals }: ParsedFlags<typeof JSON_FLAG>): Promise<void> {
  noPositionals(positionals);
  const servers = new Map((await store.servers.list()).map((s) => [s.id, s.name]));
  const users = await store.relayUsers.list();
  if (values.json) {
    const rows = users.map((u) => ({
      name: u.name,
      server: servers.get(u.serverId) ?? null,
      allowFrom: u.allowFrom,
      disabled: u.disabled,
      lastUsedAt: isoOrNull(u.lastUsedAt),
      createdAt: isoOrNull(u.createdAt),
    }));
    print(JSON.stringify(rows, null, 2));
    return;
  }
  if (users.length === 0) print('no relay users; add one with relay365 relay-user add --name NAME --server SERVER');
  for (const u of users) {
    print(
      `${u.name}${u.disabled ? ' (disabled)' : ''}: server ${servers.get(u.serverId) ?? '?'}, ${senders(u.allowFrom)}, last used ${formatTimeOrNever(u.lastUsedAt)}`,
    );
  }
}

async function set({ store, print }: RelayUserContext, { values, positionals }: ParsedFlags<typeof SET_FLAGS>): Promise<void> {
  const name = onePositional(positionals, 'relay365 relay-user set scanner --disabled true');
  const user = await findRelayUser(store, name);
  const changes: RelayUserChanges = {};
  const done: string[] = [];
  if (values.server !== undefined) {
    const server = await serverFlag(store, values.server);
    changes.serverId = server.id;
    done.push(`server ${server.name}`);
  }
  if (values['allow-from'] !== undefined) {
    // An empty list lifts the restriction: the user may send as anyone.
    changes.allowFrom = flagValue('allow-from', values['allow-from'], allowFromList);
    done.push(senders(changes.allowFrom));
  }
  if (values.disabled !== undefined) {
    changes.disabled = booleanFlag('disabled', values.disabled);
    done.push(changes.disabled ? 'disabled' : 'enabled');
  }
  if (values['password-file'] !== undefined) {
    changes.passwordHash = await hashPassword(passwordFromFile(values['password-file']));
    done.push('new password');
  }
  if (done.length === 0) throw new UsageError('nothing to change: give --server, --allow-from, --password-file or --disabled');
  await store.relayUsers.update(user.id, changes);
  print(`updated relay user ${user.name}: ${done.join(', ')}`);
}

async function remove({ store, print }: RelayUserContext, { positionals }: ParsedFlags<typeof NO_FLAGS>): Promise<void> {
  const user = await findRelayUser(store, onePositional(positionals, 'relay365 relay-user remove scanner'));
  await store.relayUsers.remove(user.id);
  print(`removed relay user ${user.name}`);
}

/** `relay-user add|list|set|remove`; a handler throws UsageError on bad input. */
export const RELAY_USER_COMMAND = subcommandGroup<RelayUserContext>('relay-user', {
  add: subcommand(ADD_FLAGS, add),
  list: subcommand(JSON_FLAG, list),
  set: subcommand(SET_FLAGS, set),
  remove: subcommand(NO_FLAGS, remove),
});

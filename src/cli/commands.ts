/**
 * `relay365 server …`: manage email servers in the same store the running
 * relay uses; secrets are read from files and never printed. Also the table
 * of every command that works on the store (`queue …`, `relay-user …`,
 * `network …`, `doctor`, …), each from its module.
 */
import { CLOUD_LABELS } from '../auth/clouds.js';
import { loadConfig, type Config } from '../config.js';
import type { DeviceListen } from '../relay/device-settings.js';
import type { Store, StoreSlice } from '../store/index.js';
import type { MessageStatus } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import { unlessTaken } from '../store/unique-violation.js';
import { formatTime } from '../time-format.js';
import { BACKUP_COMMANDS } from './backup-commands.js';
import { STORE_COPY_COMMAND } from './store-commands.js';
import { CLUSTER_COMMAND } from './cluster-commands.js';
import { DOCTOR_COMMAND } from './doctor-command.js';
import { API_TOKEN_COMMAND } from './api-token-commands.js';
import type { Print } from './flags.js';
import { NETWORK_COMMAND } from './network-commands.js';
import { QUEUE_COMMAND } from './queue-commands.js';
import { REFUSED_COMMAND } from './refused-commands.js';
import { SEND_TEST_COMMAND } from './send-test-command.js';
import { RELAY_USER_COMMAND } from './relay-user-commands.js';
import { flagsToSettings, presetFlag, SERVER_FLAGS, withDefaults } from './server-options.js';
import { JSON_FLAG, subcommand, subcommandGroup, type Command, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

const STATUS_LABELS = { not_authorized: 'Not Authorized', authorized: 'Authorized', error: 'Error' } as const;

/** What the configuration tells the commands: RELAY365_RELAY_NETWORKS, the listener settings, the key and the disk floor. */
type CommandConfig = Pick<Config, 'relayNetworks'> & DeviceListen & Partial<Pick<Config, 'secretKey' | 'minFreeSpace'>>;

/** What a command works with: each command's module takes the part it uses. */
interface CommandContext {
  store: Store;
  print: Print;
  note: Print;
  config: CommandConfig;
}

/** What every `server` sub-command works with. */
interface ServerContext {
  /** The servers it manages, their queue counts, and the removal (with the bodies of the mail it fails). */
  store: StoreSlice<{ servers: 'add' | 'findByName' | 'list' | 'update'; queue: 'countsByStatus' }> &
    Pick<Store, 'removeServer' | 'dataDir'>;
  print: Print;
}

const SERVER_FLAG_SPEC: Record<string, { type: 'string' | 'boolean' }> = Object.fromEntries([
  ...SERVER_FLAGS.map((f) => [f, { type: 'string' as const }]),
  ['default', { type: 'boolean' as const }],
]);
/** `server add` also takes a preset for the Microsoft endpoint (server-presets.ts). */
const ADD_FLAG_SPEC: Record<string, { type: 'string' | 'boolean' }> = { ...SERVER_FLAG_SPEC, preset: { type: 'string' } };
const REMOVE_FLAGS = { 'drop-queued': { type: 'boolean' } } as const;

async function findServer(store: StoreSlice<{ servers: 'findByName' }>, name: string | undefined): Promise<EmailServer> {
  if (!name) throw new UsageError('name the email server, e.g. relay365 server set office365 --port 587');
  const server = await store.servers.findByName(name);
  if (!server) throw new UsageError(`no email server named ${JSON.stringify(name)} (see relay365 server list)`);
  return server;
}

function serverNameTaken(name: string): never {
  throw new UsageError(`an email server named ${JSON.stringify(name)} exists already`);
}

/** The client certificate's public facts for `server list`; it signs in instead of the secret. */
function certificateFacts(s: EmailServer): string {
  if (!s.hasClientCertificate) return '';
  const expires = s.clientCertificateExpiresAt === null ? '' : `, expires ${formatTime(s.clientCertificateExpiresAt)}`;
  return `, certificate SHA-256 ${s.clientCertificateThumbprint ?? '-'}${expires} (signs in instead of the secret)`;
}

/** One line per fact, for `server list`; never a secret, only whether it is set. */
export function describeServer(s: EmailServer, counts: Record<MessageStatus, number>): string[] {
  const status =
    s.status === 'authorized'
      ? `Authorized${s.authorizedAccount ? ` as ${s.authorizedAccount}` : ''}${s.tokenRefreshedAt ? `, token refreshed ${formatTime(s.tokenRefreshedAt)}` : ''}`
      : STATUS_LABELS[s.status];
  const lines = [`${s.name}${s.isDefault ? ' (default)' : ''}: ${s.method} ${s.secure} ${s.host}:${s.port} — ${status}`];
  if (s.method === 'office365') {
    lines.push(
      `  sign-in ${s.signInMode === 'authorize' ? 'Authorize Account' : 'Application'}, cloud ${CLOUD_LABELS[s.cloud]}, tenant ${s.tenantId ?? '-'}, client ${s.clientId ?? '-'}, secret ${s.hasClientSecret ? 'set' : 'not set'}${s.clientSecretExpires ? ` (expires ${s.clientSecretExpires})` : ''}${certificateFacts(s)}, mailbox ${s.mailbox ?? '-'}`,
    );
  }
  lines.push(
    `  limits ${s.maxConnections} connections, ${s.messagesPerMinute}/minute, ${s.recipientsPerDay} recipients/day; queue ${counts.queued + counts.deferred} waiting, ${counts.held} held, ${counts.failed} failed`,
    `  From Address Handling ${s.fromHandling}${s.sendAs.length ? `, Send As ${s.sendAs.join(', ')}` : ''}`,
  );
  if (s.status !== 'authorized' && (s.statusCode || s.statusMessage)) {
    lines.push(`  problem: ${s.statusMessage ?? s.statusCode}`);
    if (s.statusHint) lines.push(`  fix: ${s.statusHint}`);
  }
  return lines;
}

async function add({ store, print }: ServerContext, { values }: ParsedFlags<typeof ADD_FLAG_SPEC>): Promise<void> {
  const preset = typeof values.preset === 'string' ? presetFlag(values.preset) : undefined;
  const settings = withDefaults(flagsToSettings(values), preset);
  if (await store.servers.findByName(settings.name)) serverNameTaken(settings.name);
  const server = (await unlessTaken(store.servers.add(settings, values.default === true))) ?? serverNameTaken(settings.name);
  print(`added email server ${server.name}${server.isDefault ? ' (default)' : ''}`);
}

async function set({ store, print }: ServerContext, { values, positionals }: ParsedFlags<typeof SERVER_FLAG_SPEC>): Promise<void> {
  const server = await findServer(store, positionals[0]);
  const changes = flagsToSettings(values);
  if (Object.keys(changes).length === 0 && values.default !== true)
    throw new UsageError('nothing to change: give at least one --option value');
  if (changes.name && changes.name.toLowerCase() !== server.name.toLowerCase() && (await store.servers.findByName(changes.name))) {
    serverNameTaken(changes.name);
  }
  // Only a new name can be taken by another command or request after the look-up.
  if (!(await unlessTaken(store.servers.update(server.id, changes, values.default === true)))) serverNameTaken(changes.name ?? server.name);
  print(`updated email server ${changes.name ?? server.name}`);
}

async function list({ store, print }: ServerContext, { values }: ParsedFlags<typeof JSON_FLAG>): Promise<void> {
  const servers = await store.servers.list();
  if (values.json) {
    const withQueues = [];
    for (const s of servers) withQueues.push({ ...s, queue: await store.queue.countsByStatus(s.id) });
    print(JSON.stringify(withQueues, null, 2));
    return;
  }
  if (servers.length === 0) print('no email servers; add one with relay365 server add --name NAME ...');
  for (const s of servers) for (const line of describeServer(s, await store.queue.countsByStatus(s.id))) print(line);
}

async function remove({ store, print }: ServerContext, { positionals, values }: ParsedFlags<typeof REMOVE_FLAGS>): Promise<void> {
  const server = await findServer(store, positionals[0]);
  // The removal's own transaction decides every refusal and fails waiting mail (with an event naming it).
  const outcome = await store.removeServer(server.id, {
    dropQueued: values['drop-queued'] === true,
    by: 'the command line',
    now: Date.now(),
  });
  if (outcome.kind === 'in-use') {
    const { relayUsers, networks } = outcome;
    const using = [
      ...(relayUsers.length ? [`relay user(s) ${relayUsers.join(', ')}`] : []),
      ...(networks.length ? [`network(s) ${networks.join(', ')}`] : []),
    ];
    throw new UsageError(
      `${server.name} is used by ${using.join(' and ')}; move them to another server (relay-user set NAME --server OTHER) or remove them first`,
    );
  }
  if (outcome.kind === 'in-flight') {
    throw new UsageError(`${server.name} is delivering ${outcome.sending} message(s) right now; try again in a moment`);
  }
  if (outcome.kind === 'waiting') {
    throw new UsageError(
      `${server.name} still has ${outcome.waiting} message(s) waiting; deliver them first or add --drop-queued to fail them`,
    );
  }
  const dropped = outcome.failed.length;
  print(`removed email server ${server.name}${dropped ? ` and failed ${dropped} waiting message(s)` : ''}`);
}

/** `server add|list|set|remove`; a handler throws UsageError on bad input. */
export const SERVER_COMMAND = subcommandGroup<ServerContext>('server', {
  add: subcommand(ADD_FLAG_SPEC, add),
  list: subcommand(JSON_FLAG, list),
  set: subcommand(SERVER_FLAG_SPEC, set),
  remove: subcommand(REMOVE_FLAGS, remove),
});

/** The commands that work on the store, in the order `relay365 help` lists them. */
export const STORE_COMMANDS: readonly Command<CommandContext>[] = [
  SERVER_COMMAND,
  QUEUE_COMMAND,
  REFUSED_COMMAND,
  RELAY_USER_COMMAND,
  NETWORK_COMMAND,
  SEND_TEST_COMMAND,
  API_TOKEN_COMMAND,
  DOCTOR_COMMAND,
  CLUSTER_COMMAND,
];

/**
 * The commands relay365 knows besides `start`, `init` and `help`; `backup`, `restore` (runBackupCommand) and
 * `store` (runStoreCommand) run without opening the store.
 */
export const COMMANDS: readonly string[] = [...STORE_COMMANDS.map((c) => c.name), ...BACKUP_COMMANDS, STORE_COPY_COMMAND.name];

/**
 * Runs one of STORE_COMMANDS; rejects with UsageError on bad input
 * (and `doctor` with DoctorFoundProblems when a check failed, after printing its report).
 * `config.relayNetworks` (RELAY365_RELAY_NETWORKS) is listed by `network list`, and `relay-user add` prints the
 * device settings from the listener settings; when omitted, the built-in defaults without networks.
 * `note` takes remarks about the output (a list cut at its limit); relay365 writes them to stderr.
 */
export async function runCommand(
  store: Store,
  command: string,
  args: string[],
  print: Print,
  config: CommandConfig = loadConfig({ RELAY365_RELAY_NETWORKS: '' }),
  note: Print = print,
): Promise<void> {
  const found = STORE_COMMANDS.find((c) => c.name === command);
  if (found === undefined) throw new UsageError(`unknown command "${command}"`);
  await found.run({ store, print, note, config }, args);
}

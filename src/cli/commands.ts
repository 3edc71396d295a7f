/**
 * `relay365 server …` and `relay365 queue …`: manage email servers and look
 * at the queue in the same store the running relay uses. Secrets are read from
 * files and never printed. Also dispatches the relay access commands
 * (`relay-user …`, `network …`) to their modules.
 */
import { CLOUD_LABELS } from '../auth/clouds.js';
import { loadConfig, type Config } from '../config.js';
import type { DeviceListen } from '../relay/device-settings.js';
import { removeServerAndSpool } from '../relay/remove-server.js';
import type { Store } from '../store/index.js';
import type { MessageStatus } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import { formatTime } from '../time-format.js';
import { BACKUP_COMMANDS } from './backup-commands.js';
import { doctorCommand } from './doctor-command.js';
import { apiTokenCommand } from './api-token-commands.js';
import { parseFlags, unknownSubcommand, type Print } from './flags.js';
import { networkCommand } from './network-commands.js';
import { queueCommand } from './queue-commands.js';
import { refusedCommand } from './refused-commands.js';
import { sendTestCommand } from './send-test-command.js';
import { relayUserCommand } from './relay-user-commands.js';
import { flagsToSettings, SERVER_FLAGS, withDefaults } from './server-options.js';
import { UsageError } from './usage-error.js';

const STATUS_LABELS = { not_authorized: 'Not Authorized', authorized: 'Authorized', error: 'Error' } as const;

const serverFlagSpec = (): Record<string, { type: 'string' | 'boolean' }> =>
  Object.fromEntries([...SERVER_FLAGS.map((f) => [f, { type: 'string' as const }]), ['default', { type: 'boolean' as const }]]);

function findServer(store: Store, name: string | undefined): EmailServer {
  if (!name) throw new UsageError('name the email server, e.g. relay365 server set office365 --port 587');
  const server = store.servers.findByName(name);
  if (!server) throw new UsageError(`no email server named ${JSON.stringify(name)} (see relay365 server list)`);
  return server;
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
      `  sign-in ${s.signInMode === 'authorize' ? 'Authorize Account' : 'Application'}, cloud ${CLOUD_LABELS[s.cloud]}, tenant ${s.tenantId ?? '-'}, client ${s.clientId ?? '-'}, secret ${s.hasClientSecret ? 'set' : 'not set'}${s.clientSecretExpires ? ` (expires ${s.clientSecretExpires})` : ''}, mailbox ${s.mailbox ?? '-'}`,
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

async function serverCommand(store: Store, args: string[], print: Print): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add': {
      const { values } = parseFlags(rest, serverFlagSpec());
      const settings = withDefaults(flagsToSettings(values));
      if (store.servers.findByName(settings.name))
        throw new UsageError(`an email server named ${JSON.stringify(settings.name)} exists already`);
      const server = store.servers.add(settings, values.default === true);
      print(`added email server ${server.name}${server.isDefault ? ' (default)' : ''}`);
      return;
    }
    case 'set': {
      const { values, positionals } = parseFlags(rest, serverFlagSpec());
      const server = findServer(store, positionals[0]);
      const changes = flagsToSettings(values);
      if (Object.keys(changes).length === 0 && values.default !== true)
        throw new UsageError('nothing to change: give at least one --option value');
      if (changes.name && changes.name.toLowerCase() !== server.name.toLowerCase() && store.servers.findByName(changes.name)) {
        throw new UsageError(`an email server named ${JSON.stringify(changes.name)} exists already`);
      }
      store.servers.update(server.id, changes, values.default === true);
      print(`updated email server ${changes.name ?? server.name}`);
      return;
    }
    case 'list': {
      const { values } = parseFlags(rest, { json: { type: 'boolean' } });
      const list = store.servers.list();
      if (values.json) {
        print(
          JSON.stringify(
            list.map((s) => ({ ...s, queue: store.queue.countsByStatus(s.id) })),
            null,
            2,
          ),
        );
        return;
      }
      if (list.length === 0) print('no email servers; add one with relay365 server add --name NAME ...');
      for (const s of list) for (const line of describeServer(s, store.queue.countsByStatus(s.id))) print(line);
      return;
    }
    case 'remove': {
      const { positionals, values } = parseFlags(rest, { 'drop-queued': { type: 'boolean' } });
      const server = findServer(store, positionals[0]);
      // Relay users and network rules reference the server; SQLite would refuse the delete.
      const users = store.relayUsers.namesForServer(server.id);
      const networks = store.networks.cidrsForServer(server.id);
      if (users.length > 0 || networks.length > 0) {
        const using = [
          ...(users.length ? [`relay user(s) ${users.join(', ')}`] : []),
          ...(networks.length ? [`network(s) ${networks.join(', ')}`] : []),
        ];
        throw new UsageError(
          `${server.name} is used by ${using.join(' and ')}; move them to another server (relay-user set NAME --server OTHER) or remove them first`,
        );
      }
      // Waiting mail is failed (with an event naming the removal) in the removal's own transaction.
      const outcome = await removeServerAndSpool(store, server.id, {
        dropQueued: values['drop-queued'] === true,
        by: 'the command line',
        now: Date.now(),
      });
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
      return;
    }
    default:
      throw unknownSubcommand('server', sub, ['add', 'list', 'set', 'remove']);
  }
}

/** The commands relay365 knows besides `start`, `init` and `help`; `backup` and `restore` run without a store (runBackupCommand). */
export const COMMANDS: readonly string[] = [
  'server',
  'queue',
  'refused',
  'relay-user',
  'network',
  'api-token',
  'send-test',
  'doctor',
  ...BACKUP_COMMANDS,
];

/**
 * Runs `server …`, `queue …`, `relay-user …`, `network …` or `doctor`; rejects with UsageError on bad input
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
  config: Pick<Config, 'relayNetworks'> & DeviceListen & Partial<Pick<Config, 'secretKey' | 'minFreeSpace'>> = loadConfig({
    RELAY365_RELAY_NETWORKS: '',
  }),
  note: Print = print,
): Promise<void> {
  if (command === 'server') return serverCommand(store, args, print);
  if (command === 'queue') return queueCommand(store, args, print, note);
  if (command === 'refused') return refusedCommand(store, args, print, note);
  if (command === 'api-token') return apiTokenCommand(store, args, print);
  if (command === 'send-test') return sendTestCommand(store, args, print);
  if (command === 'relay-user') return relayUserCommand(store, args, print, config);
  if (command === 'network') return networkCommand(store, config.relayNetworks, args, print);
  if (command === 'doctor') return doctorCommand(store, config, args, print);
  throw new UsageError(`unknown command "${command}"`);
}

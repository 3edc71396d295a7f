/**
 * `relay365 queue list|show|retry|delete`: the queue and the relay log from
 * the command line, over the same store the running relay uses. A retry makes
 * mail due now (the relay picks it up within seconds); a delete removes the
 * record and its body, as the panel's Delete does.
 */
import { hintForSmtpReply } from '../auth/hints.js';
import type { Store, StoreSlice } from '../store/index.js';
import type { MessageStatus, QueuedMessage } from '../store/queue.js';
import { formatTime } from '../time-format.js';
import { noPositionals, onePositional, serverFlag, type Print } from './flags.js';
import { JSON_FLAG, NO_FLAGS, subcommand, subcommandGroup, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

const MESSAGE_STATUSES: readonly MessageStatus[] = ['queued', 'deferred', 'sending', 'held', 'delivered', 'failed'];
/** The most `queue list` shows at once: the list is held in memory whole. */
export const MAX_QUEUE_LIST = 100_000;
const DEFAULT_QUEUE_LIST = 100;
const BY = 'the command line';

/** What every `queue` sub-command works with; `note` takes remarks about the output (relay365 writes them to stderr). */
export interface QueueContext {
  store: StoreSlice<{
    queue: 'addEvent' | 'countsByStatus' | 'events' | 'get' | 'list' | 'recipients' | 'remove' | 'retryNow' | 'retryWaiting';
    servers: 'findByName' | 'get';
  }> &
    Pick<Store, 'dataDir'>;
  print: Print;
  note: Print;
}

const LIST_FLAGS = {
  json: { type: 'boolean' },
  server: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
} as const;
const RETRY_FLAGS = { server: { type: 'string' }, held: { type: 'boolean' } } as const;

/** `--limit N`: a positive whole number; above MAX_QUEUE_LIST it is capped, with a note. */
function listLimit(value: string | undefined, note: Print): number {
  if (value === undefined) return DEFAULT_QUEUE_LIST;
  if (!/^[1-9]\d*$/.test(value))
    throw new UsageError(`--limit ${JSON.stringify(value)} is not valid: a whole number of 1 or more, e.g. --limit 500`);
  if (Number(value) <= MAX_QUEUE_LIST) return Number(value);
  note(`--limit ${value} is more than queue list shows at once; showing at most ${MAX_QUEUE_LIST}`);
  return MAX_QUEUE_LIST;
}

async function findMessage(store: StoreSlice<{ queue: 'get' }>, id: string): Promise<QueuedMessage> {
  const message = await store.queue.get(id);
  if (!message) throw new UsageError(`no message with queue ID ${JSON.stringify(id)} (see relay365 queue list)`);
  return message;
}

async function list({ store, print, note }: QueueContext, { values, positionals }: ParsedFlags<typeof LIST_FLAGS>): Promise<void> {
  noPositionals(positionals);
  const { server: serverName, status } = values;
  const server = serverName ? await serverFlag(store, serverName) : undefined;
  if (status && !MESSAGE_STATUSES.includes(status as MessageStatus)) {
    throw new UsageError(`--status ${JSON.stringify(status)} is not valid: choose one of ${MESSAGE_STATUSES.join(', ')}`);
  }
  const limit = listLimit(values.limit, note);
  const messages = await store.queue.list({ serverId: server?.id, status: status as MessageStatus | undefined, limit });
  if (values.json) {
    const withRecipients = [];
    for (const m of messages) withRecipients.push({ ...m, recipients: await store.queue.recipients(m.id) });
    print(JSON.stringify(withRecipients, null, 2));
  } else {
    if (messages.length === 0) print('the queue is empty');
    for (const m of messages) {
      const rcpts = (await store.queue.recipients(m.id)).map((r) => r.address);
      print(
        `${m.id} ${formatTime(m.receivedAt)} ${m.status.padEnd(9)} ${m.mailFrom || '<>'} -> ${rcpts.join(', ')} (${m.size} bytes, ${m.attempts} attempt(s))${m.lastReply ? ` | ${m.lastReply}` : ''}`,
      );
    }
  }
  const counts = await store.queue.countsByStatus(server?.id);
  const total = status ? counts[status as MessageStatus] : Object.values(counts).reduce((a, b) => a + b, 0);
  if (total > messages.length) {
    const more = total <= MAX_QUEUE_LIST ? `use --limit ${total} to see them all` : 'use --limit, --server or --status to see others';
    note(`showing the first ${messages.length} of ${total} (newest first); ${more}`);
  }
}

async function show({ store, print }: QueueContext, { values, positionals }: ParsedFlags<typeof JSON_FLAG>): Promise<void> {
  const message = await findMessage(store, onePositional(positionals, 'relay365 queue show MXC4B99K09DB1DFEC812'));
  const recipients = await store.queue.recipients(message.id);
  const events = await store.queue.events(message.id);
  const hint = message.lastReply ? hintForSmtpReply(message.lastReply) : null;
  const server = message.serverId === null ? null : ((await store.servers.get(message.serverId))?.name ?? null);
  if (values.json) {
    print(JSON.stringify({ ...message, server, recipients, events, hint }, null, 2));
    return;
  }
  print(`${message.id}: ${message.status}, ${message.attempts} attempt(s), ${message.size} bytes, email server ${server ?? '-'}`);
  print(
    `  received ${formatTime(message.receivedAt)} from ${message.clientAddress ?? '-'} (${message.route ?? '-'}${message.relayUser ? `, relay user ${message.relayUser}` : ''})`,
  );
  print(`  from ${message.mailFrom || '<>'}${message.subject ? `, subject ${JSON.stringify(message.subject)}` : ''}`);
  for (const r of recipients) print(`  to ${r.address}: ${r.status}${r.reply ? ` | ${r.reply}` : ''}`);
  if (message.status === 'queued' || message.status === 'deferred')
    print(`  next attempt ${formatTime(message.nextAttemptAt)}, gives up ${formatTime(message.expiresAt)}`);
  if (message.lastReply) print(`  last reply: ${message.lastReply}`);
  if (hint) print(`  meaning: ${hint.meaning}\n  fix: ${hint.fix}`);
  print('  events:');
  for (const e of events) print(`    ${formatTime(e.at)} ${e.kind}${e.detail ? `: ${e.detail}` : ''}`);
}

async function retry({ store, print }: QueueContext, { values, positionals }: ParsedFlags<typeof RETRY_FLAGS>): Promise<void> {
  const [id] = positionals;
  const now = Date.now();
  if (id !== undefined) {
    noPositionals(positionals.slice(1));
    if (values.server !== undefined || values.held) throw new UsageError('give a queue ID, or --server and/or --held, not both');
    const message = await findMessage(store, id);
    if (!(await store.queue.retryNow(message.id, now))) {
      throw new UsageError(`message ${message.id} is ${message.status}: only queued, deferred or held mail can be retried`);
    }
    await store.queue.addEvent(message.id, message.serverId, 'released', `retried by ${BY}`, now);
    print(`message ${message.id} is due now; the running relay sends it within a few seconds`);
    return;
  }
  if (values.server === undefined && !values.held) {
    throw new UsageError('say what to retry: relay365 queue retry ID, --server SERVER (its deferred and held mail) or --held');
  }
  const server = values.server === undefined ? undefined : await serverFlag(store, values.server);
  const count = await store.queue.retryWaiting({ serverId: server?.id, heldOnly: values.held === true }, BY, now);
  const which = `${values.held ? 'held' : 'deferred and held'} message(s)${server ? ` of ${server.name}` : ''}`;
  print(count === 0 ? `no ${which} to retry` : `${count} ${which} due now; the running relay sends them within a few seconds`);
}

async function remove({ store, print }: QueueContext, { positionals }: ParsedFlags<typeof NO_FLAGS>): Promise<void> {
  const message = await findMessage(store, onePositional(positionals, 'relay365 queue delete MXC4B99K09DB1DFEC812'));
  if (!(await store.queue.remove(message.id, Date.now()))) {
    throw new UsageError(`message ${message.id} is being delivered right now; try again in a moment`);
  }
  print(`deleted message ${message.id} (it was ${message.status})`);
}

/** `queue list|show|retry|delete`; a handler throws UsageError on bad input. */
export const QUEUE_COMMAND = subcommandGroup<QueueContext>('queue', {
  list: subcommand(LIST_FLAGS, list),
  show: subcommand(JSON_FLAG, show),
  retry: subcommand(RETRY_FLAGS, retry),
  delete: subcommand(NO_FLAGS, remove),
});

/**
 * `relay365 refused list`: the SMTP sessions and transactions relay365
 * refused, most recently seen first, from the store the running relay writes
 * them to: client, reason, what it was told, how often, and what to do.
 */
import { REFUSAL_REASON_KEYS, refusalLabel, refusalOut, type RefusalReason } from '../relay/refusals.js';
import type { StoreSlice } from '../store/index.js';
import { REFUSAL_ROW_CAP } from '../store/refusals.js';
import { formatTime } from '../time-format.js';
import { noPositionals, type Print } from './flags.js';
import { subcommand, subcommandGroup, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

const DEFAULT_LIMIT = 100;

/** What `refused list` works with; `note` takes remarks about the output (relay365 writes them to stderr). */
export interface RefusedContext {
  store: StoreSlice<{ refusals: 'list' }>;
  print: Print;
  note: Print;
}

const LIST_FLAGS = {
  client: { type: 'string' },
  reason: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** `--limit N`: a whole number from 1; more than the store keeps is capped there. */
function limitFlag(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  if (!/^[1-9]\d*$/.test(value)) {
    throw new UsageError(`--limit ${JSON.stringify(value)} is not valid: a whole number of 1 or more, e.g. --limit 500`);
  }
  return Math.min(Number(value), REFUSAL_ROW_CAP);
}

function reasonFlag(value: string | undefined): RefusalReason | undefined {
  if (value === undefined) return undefined;
  if (!REFUSAL_REASON_KEYS.includes(value as RefusalReason)) {
    throw new UsageError(`--reason ${JSON.stringify(value)} is not valid: choose one of ${REFUSAL_REASON_KEYS.join(', ')}`);
  }
  return value as RefusalReason;
}

function clientFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const client = value.trim().toLowerCase();
  if (client === '' || client.length > 64) {
    throw new UsageError(`--client ${JSON.stringify(value)} is not valid: an address or its start, e.g. --client 192.168.10.7`);
  }
  return client;
}

async function list({ store, print, note }: RefusedContext, { values, positionals }: ParsedFlags<typeof LIST_FLAGS>): Promise<void> {
  noPositionals(positionals);
  const filter = { client: clientFlag(values.client), reason: reasonFlag(values.reason) };
  const limit = limitFlag(values.limit);
  // One more than asked for tells whether there are more.
  const rows = await store.refusals.list({ ...filter, limit: limit + 1 });
  const shown = rows.slice(0, limit);
  if (values.json) {
    print(JSON.stringify(shown.map(refusalOut), null, 2));
  } else {
    if (shown.length === 0) print(filter.client || filter.reason ? 'no refusals match' : 'nothing has been refused');
    for (const r of shown) {
      const times = r.count > 1 ? ` (${r.count} times since ${formatTime(r.firstAt)})` : '';
      const user = r.username ? ` | username ${r.username}` : '';
      print(`${formatTime(r.lastAt)} ${r.client} ${refusalLabel(r.reason)}${times}: ${r.detail}${user}`);
      if (r.hint) print(`  fix: ${r.hint}`);
    }
  }
  if (rows.length > limit) note(`showing the ${limit} most recent; use --limit to see more`);
}

/** `refused list`; its handler throws UsageError on bad input. */
export const REFUSED_COMMAND = subcommandGroup<RefusedContext>('refused', { list: subcommand(LIST_FLAGS, list) });

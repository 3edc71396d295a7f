/**
 * `relay365 network add|list|remove`: the allowed networks whose clients may
 * relay without SMTP AUTH. Stored rules route to the email server they name;
 * the rules from RELAY365_RELAY_NETWORKS route to the default server and are
 * listed beside them (they are in force too) but change only with the
 * variable.
 */
import type { Cidr } from '../cidr.js';
import { cidr as cidrSchema, tooWideToAllow, wideNetworkWarning } from '../store/access-schemas.js';
import type { StoreSlice } from '../store/index.js';
import { unlessTaken } from '../store/unique-violation.js';
import type { Config } from '../config.js';
import { flagValue, noPositionals, requireFlag, serverFlag, type Print } from './flags.js';
import { JSON_FLAG, subcommand, subcommandGroup, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

const ENV = 'RELAY365_RELAY_NETWORKS';

/** What every `network` sub-command works with; `config.relayNetworks` is RELAY365_RELAY_NETWORKS as parsed. */
export interface NetworkContext {
  store: StoreSlice<{ networks: 'add' | 'findByCidr' | 'list' | 'remove'; servers: 'findByName' | 'get' | 'getDefault' | 'list' }>;
  print: Print;
  config: Pick<Config, 'relayNetworks'>;
}

const ADD_FLAGS = { cidr: { type: 'string' }, server: { type: 'string' }, force: { type: 'boolean' } } as const;
const REMOVE_FLAGS = { cidr: { type: 'string' } } as const;

/** One entry of `network list --json`. */
interface NetworkRow {
  cidr: string;
  /** The email server's name; for environment rules the default server, null while there is none. */
  server: string | null;
  source: 'stored' | 'environment';
  /** ISO time; null for environment rules. */
  createdAt: string | null;
}

const cidrFlag = (value: string | undefined, example: string): Cidr => flagValue('cidr', requireFlag('cidr', value, example), cidrSchema);

async function add({ store, print, config }: NetworkContext, { values, positionals }: ParsedFlags<typeof ADD_FLAGS>): Promise<void> {
  const example = 'relay365 network add --cidr 192.168.10.0/24 --server office365';
  noPositionals(positionals);
  const cidr = cidrFlag(values.cidr, example);
  const server = await serverFlag(store, requireFlag('server', values.server, example));
  const tooWide = tooWideToAllow(cidr);
  if (tooWide !== null && !values.force) throw new UsageError(`${tooWide}; add --force if you mean it`);
  const existing = await store.networks.findByCidr(cidr);
  const rule = existing ? null : await unlessTaken(store.networks.add(cidr, server.id));
  if (!rule) {
    // Stored before the look-up, or by another command, panel or API request between the look-up and the insert.
    const stored = existing ?? (await store.networks.findByCidr(cidr));
    const owner = (stored && (await store.servers.get(stored.serverId))?.name) ?? '?';
    throw new UsageError(`network ${cidr.text} is stored already, routed to ${owner}; remove it first to route it elsewhere`);
  }
  print(`added network ${cidr.text} routed to email server ${server.name}`);
  const wide = wideNetworkWarning(cidr);
  if (wide !== null) print(`warning: ${wide}`);
  // The relay prefers a stored rule over the environment's for the same network.
  if (config.relayNetworks.some((c) => c.text === cidr.text)) print(`note: ${ENV} has ${cidr.text} too; this stored rule takes precedence`);
}

async function rows(
  store: StoreSlice<{ networks: 'list'; servers: 'getDefault' | 'list' }>,
  environment: readonly Cidr[],
): Promise<NetworkRow[]> {
  const servers = new Map((await store.servers.list()).map((s) => [s.id, s.name]));
  const stored = (await store.networks.list()).map((rule): NetworkRow => ({
    cidr: rule.cidr,
    server: servers.get(rule.serverId) ?? null,
    source: 'stored',
    createdAt: new Date(rule.createdAt).toISOString(),
  }));
  const defaultServer = (await store.servers.getDefault())?.name ?? null;
  const fromEnv = environment.map((c): NetworkRow => ({ cidr: c.text, server: defaultServer, source: 'environment', createdAt: null }));
  return [...stored, ...fromEnv];
}

async function list({ store, print, config }: NetworkContext, { values, positionals }: ParsedFlags<typeof JSON_FLAG>): Promise<void> {
  noPositionals(positionals);
  const all = await rows(store, config.relayNetworks);
  if (values.json) {
    print(JSON.stringify(all, null, 2));
    return;
  }
  if (all.length === 0) print(`no allowed networks (${ENV} is empty); add one with relay365 network add --cidr CIDR --server NAME`);
  for (const row of all) {
    print(
      row.source === 'stored'
        ? `${row.cidr} routed to ${row.server ?? '?'}`
        : `${row.cidr} routed to the default server (${row.server ?? 'none yet'}), from ${ENV}`,
    );
  }
}

async function remove({ store, print, config }: NetworkContext, { values, positionals }: ParsedFlags<typeof REMOVE_FLAGS>): Promise<void> {
  noPositionals(positionals);
  const cidr = cidrFlag(values.cidr, 'relay365 network remove --cidr 192.168.10.0/24');
  const inEnvironment = config.relayNetworks.some((c) => c.text === cidr.text);
  if (await store.networks.remove(cidr)) {
    print(`removed network ${cidr.text}`);
    if (inEnvironment) print(`note: ${ENV} still allows ${cidr.text}, routed to the default server`);
    return;
  }
  if (inEnvironment) throw new UsageError(`network ${cidr.text} comes from ${ENV}: change that variable and restart relay365 to remove it`);
  throw new UsageError(`no stored network ${cidr.text} (see relay365 network list)`);
}

/** `network add|list|remove`; a handler throws UsageError on bad input. */
export const NETWORK_COMMAND = subcommandGroup<NetworkContext>('network', {
  add: subcommand(ADD_FLAGS, add),
  list: subcommand(JSON_FLAG, list),
  remove: subcommand(REMOVE_FLAGS, remove),
});

/**
 * `relay365 network add|list|remove`: the allowed networks whose clients may
 * relay without SMTP AUTH. Stored rules route to the email server they name;
 * the rules from RELAY365_RELAY_NETWORKS route to the default server and are
 * listed beside them (they are in force too) but change only with the
 * variable.
 */
import { cidr as cidrSchema, tooWideToAllow, wideNetworkWarning, type Cidr } from '../store/access-schemas.js';
import type { Store } from '../store/index.js';
import { flagValue, noPositionals, parseFlags, requireFlag, serverFlag, unknownSubcommand, type Print } from './flags.js';
import { UsageError } from './usage-error.js';

const ENV = 'RELAY365_RELAY_NETWORKS';

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

function add(store: Store, environment: readonly Cidr[], args: string[], print: Print): void {
  const example = 'relay365 network add --cidr 192.168.10.0/24 --server office365';
  const { values, positionals } = parseFlags(args, { cidr: { type: 'string' }, server: { type: 'string' }, force: { type: 'boolean' } });
  noPositionals(positionals);
  const cidr = cidrFlag(values.cidr, example);
  const server = serverFlag(store, requireFlag('server', values.server, example));
  const tooWide = tooWideToAllow(cidr);
  if (tooWide !== null && !values.force) throw new UsageError(`${tooWide}; add --force if you mean it`);
  const existing = store.networks.findByCidr(cidr);
  if (existing) {
    const owner = store.servers.get(existing.serverId)?.name ?? '?';
    throw new UsageError(`network ${cidr.text} is stored already, routed to ${owner}; remove it first to route it elsewhere`);
  }
  store.networks.add(cidr, server.id);
  print(`added network ${cidr.text} routed to email server ${server.name}`);
  const wide = wideNetworkWarning(cidr);
  if (wide !== null) print(`warning: ${wide}`);
  // The relay prefers a stored rule over the environment's for the same network.
  if (environment.some((c) => c.text === cidr.text)) print(`note: ${ENV} has ${cidr.text} too; this stored rule takes precedence`);
}

function rows(store: Store, environment: readonly Cidr[]): NetworkRow[] {
  const servers = new Map(store.servers.list().map((s) => [s.id, s.name]));
  const stored = store.networks.list().map((rule): NetworkRow => ({
    cidr: rule.cidr,
    server: servers.get(rule.serverId) ?? null,
    source: 'stored',
    createdAt: new Date(rule.createdAt).toISOString(),
  }));
  const defaultServer = store.servers.getDefault()?.name ?? null;
  const fromEnv = environment.map((c): NetworkRow => ({ cidr: c.text, server: defaultServer, source: 'environment', createdAt: null }));
  return [...stored, ...fromEnv];
}

function list(store: Store, environment: readonly Cidr[], args: string[], print: Print): void {
  const { values, positionals } = parseFlags(args, { json: { type: 'boolean' } });
  noPositionals(positionals);
  const all = rows(store, environment);
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

function remove(store: Store, environment: readonly Cidr[], args: string[], print: Print): void {
  const { values, positionals } = parseFlags(args, { cidr: { type: 'string' } });
  noPositionals(positionals);
  const cidr = cidrFlag(values.cidr, 'relay365 network remove --cidr 192.168.10.0/24');
  const inEnvironment = environment.some((c) => c.text === cidr.text);
  if (store.networks.remove(cidr)) {
    print(`removed network ${cidr.text}`);
    if (inEnvironment) print(`note: ${ENV} still allows ${cidr.text}, routed to the default server`);
    return;
  }
  if (inEnvironment) throw new UsageError(`network ${cidr.text} comes from ${ENV}: change that variable and restart relay365 to remove it`);
  throw new UsageError(`no stored network ${cidr.text} (see relay365 network list)`);
}

/** Runs `network add|list|remove`; `environment` is RELAY365_RELAY_NETWORKS as parsed. Throws UsageError on bad input. */
export function networkCommand(store: Store, environment: readonly Cidr[], args: string[], print: Print): void {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
      return add(store, environment, rest, print);
    case 'list':
      return list(store, environment, rest, print);
    case 'remove':
      return remove(store, environment, rest, print);
    default:
      throw unknownSubcommand('network', sub, ['add', 'list', 'remove']);
  }
}

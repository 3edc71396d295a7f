/**
 * Who may relay, and to which email server (PRODUCT.md: no open relay).
 *
 * A client that logged in as a relay user goes to that user's server. Any
 * other client goes to the server of the most specific allowed network that
 * contains its address: the stored rules, and RELAY365_RELAY_NETWORKS routed
 * to the default server. A client that matches nothing may not relay.
 */
import { networkMatcher, parseCidr, type NetworkMatcher } from '../cidr.js';
import type { Config } from '../config.js';
import type { StoreSlice } from '../store/index.js';

/** The relay user a session logged in as (smtp-server keeps it as `session.user`). */
export interface SessionUser {
  id: number;
  name: string;
}

export interface Route {
  /** Null when the route leads to the default server and there is none yet. */
  serverId: number | null;
  /** For the relay log: `relay user scanner`, `network 10.1.0.0/16`. */
  label: string;
  relayUser: { id: number; name: string; allowFrom: string[] } | null;
}

export interface Access {
  /** The route for a client at `address`, logged in as `user` or not; null when it may not relay. */
  route(address: string, user: SessionUser | null): Promise<Route | null>;
  /**
   * Whether `address` may relay without logging in, at once, from the rules read last (the
   * connection gate counts a connection before anything else runs). Rules older than
   * RULES_CACHE_MS are read again in the background; until the first read, only
   * RELAY365_RELAY_NETWORKS counts.
   */
  inAllowedNetwork(address: string): boolean;
}

/** Rules (and, in the listener, email servers) are re-read this often, so CLI and panel edits take effect without a restart. */
export const RULES_CACHE_MS = 1_000;

interface Rule {
  matcher: NetworkMatcher;
  /** null: the default server at the time of the match. */
  serverId: number | null;
  label: string;
}

/** Creates the access check over the store's relay users and networks. */
export function createAccess({
  config,
  store,
}: {
  config: Pick<Config, 'relayNetworks'>;
  store: StoreSlice<{ networks: 'list'; relayUsers: 'get'; servers: 'getDefault' }>;
}): Access {
  const fromEnvironment: Rule[] = config.relayNetworks.map((cidr) => ({
    matcher: networkMatcher(cidr),
    serverId: null,
    label: `network ${cidr.text} (RELAY365_RELAY_NETWORKS)`,
  }));
  const bySpecificity = (rules: Rule[]): Rule[] => rules.sort((a, b) => b.matcher.cidr.prefix - a.matcher.cidr.prefix);
  /** The stored rules and the environment's, most specific first (a stored rule wins a tie). */
  const readRules = async (): Promise<Rule[]> => {
    // Stored CIDRs were validated on the way in; one that no longer parses is skipped, not fatal.
    const stored = (await store.networks.list()).flatMap((rule): Rule[] => {
      const cidr = parseCidr(rule.cidr);
      return typeof cidr === 'string' ? [] : [{ matcher: networkMatcher(cidr), serverId: rule.serverId, label: `network ${rule.cidr}` }];
    });
    return bySpecificity([...stored, ...fromEnvironment]);
  };
  let cache: { rules: Rule[]; defaultId: number | null; at: number } | null = null;
  const current = async (): Promise<{ rules: Rule[]; defaultId: number | null }> => {
    const t = performance.now();
    if (!cache || t - cache.at > RULES_CACHE_MS) {
      const rules = await readRules();
      cache = { rules, defaultId: (await store.servers.getDefault())?.id ?? null, at: t };
      gateRules = { rules, at: t };
    }
    return cache;
  };
  /** The rules the connection gate, which cannot wait, reads: as read last, the environment's until the first read. */
  let gateRules = { rules: bySpecificity([...fromEnvironment]), at: -Infinity };
  let reading: Promise<unknown> | null = null;
  /** Reads the gate's rules again in the background unless a read is under way; a failed read keeps the last rules. */
  const refreshGate = (): void => {
    const at = performance.now();
    reading ??= readRules()
      .then((rules) => (gateRules = { rules, at }))
      .catch(() => undefined)
      .finally(() => (reading = null));
  };
  refreshGate();

  return {
    async route(address, user) {
      if (user) {
        const relayUser = await store.relayUsers.get(user.id);
        if (!relayUser || relayUser.disabled) return null;
        return {
          serverId: relayUser.serverId,
          label: `relay user ${relayUser.name}`,
          relayUser: { id: relayUser.id, name: relayUser.name, allowFrom: relayUser.allowFrom },
        };
      }
      const { rules, defaultId } = await current();
      const rule = rules.find((r) => r.matcher.matches(address));
      if (!rule) return null;
      return { serverId: rule.serverId ?? defaultId, label: rule.label, relayUser: null };
    },
    inAllowedNetwork(address) {
      if (performance.now() - gateRules.at > RULES_CACHE_MS) refreshGate();
      return gateRules.rules.some((r) => r.matcher.matches(address));
    },
  };
}

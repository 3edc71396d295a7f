/**
 * The allowed networks as the doctor's first step sees them: a warning for
 * each rule, stored or from RELAY365_RELAY_NETWORKS, wider than a /16 (IPv4)
 * or a /48 (IPv6). Such a rule is in force and the relay works, so it warns
 * without failing the step.
 */
import { parseCidr, type Cidr } from '../cidr.js';
import { wideNetworkWarning } from '../store/access-schemas.js';
import type { NetworkRule } from '../store/networks.js';
import type { Check } from './report.js';

const ENV = 'RELAY365_RELAY_NETWORKS';

/** One warning check per wide rule; none when every rule is narrow. */
export function wideNetworkChecks(environment: readonly Cidr[], stored: readonly NetworkRule[]): Check[] {
  const fromStore = stored.flatMap((rule) => {
    const cidr = parseCidr(rule.cidr);
    return typeof cidr === 'string' ? [] : [{ cidr, fix: 'narrow it on the Networks page or with relay365 network' }];
  });
  const fromEnvironment = environment.map((cidr) => ({ cidr, fix: `it comes from ${ENV}: narrow the variable and restart` }));
  return [...fromStore, ...fromEnvironment].flatMap(({ cidr, fix }) => {
    const warning = wideNetworkWarning(cidr);
    return warning === null ? [] : [{ name: 'allowed network', saw: `${warning}; ${fix}`, ok: true, warn: true }];
  });
}

/**
 * The race a server removal must survive: a relay user added (by the command
 * line, another panel tab, the API) after a front end looked at the server and
 * before the removal's transaction starts.
 */
import type { Store } from '../../src/store/index.js';

/** Makes the next removals through `store` find a relay user `name` added to their server just before they run. */
export function relayUserArrivesBeforeRemoval(store: Pick<Store, 'removeServer' | 'relayUsers'>, name: string): void {
  const remove = store.removeServer;
  store.removeServer = async (serverId, options) => {
    await store.relayUsers.add({ name, passwordHash: 'scrypt$unused', serverId, allowFrom: [] });
    return remove(serverId, options);
  };
}

/**
 * Removing an email server from the panel or the command line: the store
 * fails its waiting mail and deletes the server in one transaction, then the
 * failed messages' spool files are deleted. Should the process stop between
 * the two, start-up recovery deletes the files (no live record points at them).
 */
import { dataFolder } from '../data-folder.js';
import type { Store } from '../store/index.js';
import type { RemoveServerOptions, RemoveServerOutcome } from '../store/server-removal.js';
import { createSpool } from './spool.js';

/** Removes the server (see `Store.removeServer`) and the spool files of the mail it failed. */
export async function removeServerAndSpool(
  store: Pick<Store, 'removeServer' | 'dataDir'>,
  serverId: number,
  options: RemoveServerOptions,
): Promise<RemoveServerOutcome> {
  const outcome = store.removeServer(serverId, options);
  if (outcome.kind === 'removed' && outcome.failed.length > 0) {
    // The same folder the relay spools to (createRelay: `{dataDir}/spool`).
    const spool = createSpool(dataFolder(store.dataDir).spool);
    for (const id of outcome.failed) await spool.remove(id);
  }
  return outcome;
}

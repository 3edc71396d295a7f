/**
 * MSAL cache plugin: loads the server's serialized token cache from the store
 * before MSAL reads it and saves it (sealed) after MSAL changed it, so refresh
 * tokens survive restarts and every rotated refresh token is kept.
 */
import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import type { StoreRepos } from '../store/index.js';

/** The token cache repository the plugin reads and writes. */
export type TokenCacheStore = Pick<StoreRepos['tokenCaches'], 'load' | 'save'>;

/** Creates the cache plugin for one email server. */
export function createCachePlugin(repo: TokenCacheStore, serverId: number): ICachePlugin {
  return {
    async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
      const serialized = await repo.load(serverId);
      if (serialized !== null) context.tokenCache.deserialize(serialized);
    },
    async afterCacheAccess(context: TokenCacheContext): Promise<void> {
      if (context.cacheHasChanged) await repo.save(serverId, context.tokenCache.serialize());
    },
  };
}

/**
 * MSAL cache plugin: loads the server's serialized token cache from the store
 * before MSAL reads it and saves it (sealed) after MSAL changed it, so refresh
 * tokens survive restarts and every rotated refresh token is kept.
 */
import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import type { TokenCacheRepo } from '../store/token-caches.js';

/** Creates the cache plugin for one email server. */
export function createCachePlugin(repo: TokenCacheRepo, serverId: number): ICachePlugin {
  return {
    async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
      const serialized = repo.load(serverId);
      if (serialized !== null) context.tokenCache.deserialize(serialized);
    },
    async afterCacheAccess(context: TokenCacheContext): Promise<void> {
      if (context.cacheHasChanged) repo.save(serverId, context.tokenCache.serialize());
    },
  };
}

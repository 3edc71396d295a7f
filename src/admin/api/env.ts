/**
 * The API's Hono environment and dependencies. The API shares the panel's
 * listener but none of its sessions: only an API token (Bearer) authorizes it.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import type { Operations } from '../../ops/index.js';
import type { ApiToken } from '../../store/api-tokens.js';
import type { Store } from '../../store/index.js';
import type { AdminRelay } from '../env.js';

export interface ApiDeps {
  config: Config;
  store: Store;
  relay: AdminRelay;
  log: Logger;
  now: () => number;
  /** Readiness for GET /health; without it only the process is reported alive. */
  ops?: Operations;
}

/** The dependencies of one group of API routes: the API's, with the store narrowed to the slice the group uses. */
export type ApiRouteDeps<S> = Omit<ApiDeps, 'store'> & { store: S };

export interface ApiEnv {
  Bindings: Partial<HttpBindings>;
  Variables: {
    /** The token that authorized this request. */
    apiToken: ApiToken;
  };
}

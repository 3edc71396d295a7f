/**
 * The Cluster page under /cluster: read-only, for any signed-in user.
 */
import { Hono } from 'hono';
import type { StoreSlice } from '../../store/index.js';
import type { AdminEnv } from '../env.js';
import { ClusterPage } from '../views/cluster.js';

export interface ClusterRouteOptions {
  store: StoreSlice<{ instances: 'list'; database: 'facts' }>;
  /** This instance's id (RELAY365_INSTANCE_ID). */
  instanceId: string;
  now: () => number;
}

/** Routes under /cluster. */
export function clusterRoutes({ store, instanceId, now }: ClusterRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.get('/', async (c) => {
    const [members, facts] = await Promise.all([store.instances.list(), store.database.facts()]);
    return c.render(<ClusterPage members={members} self={instanceId} engine={facts.engine} now={now()} />, { title: 'Cluster' });
  });
  return app;
}

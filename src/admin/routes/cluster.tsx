/**
 * The Cluster page under /cluster: read-only, for any signed-in user.
 */
import { Hono } from 'hono';
import { holdingsOf } from '../../cluster/holdings.js';
import type { StoreSlice } from '../../store/index.js';
import type { AdminEnv } from '../env.js';
import { ClusterPage } from '../views/cluster.js';

export interface ClusterRouteOptions {
  store: StoreSlice<{ instances: 'list'; leases: 'list'; database: 'facts' }>;
  /** This instance's id (RELAY365_INSTANCE_ID). */
  instanceId: string;
  now: () => number;
}

/** Routes under /cluster. */
export function clusterRoutes({ store, instanceId, now }: ClusterRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.get('/', async (c) => {
    const [members, leases, facts] = await Promise.all([store.instances.list(), store.leases.list(), store.database.facts()]);
    const at = now();
    return c.render(<ClusterPage members={members} holdings={holdingsOf(leases, at)} self={instanceId} engine={facts.engine} now={at} />, {
      title: 'Cluster',
    });
  });
  return app;
}

/**
 * The operations endpoints' dependencies, wired once for the panel: the
 * readiness checks over the store and the relay's listener, and the metrics
 * with the sampler that reads the store when /metrics is scraped.
 */
import type { Config } from '../config.js';
import type { FreeSpaceProbe } from '../relay/free-space.js';
import type { Relay } from '../relay/index.js';
import { createHealth, type Health, type HealthOptions } from './health.js';
import type { Metrics } from '../metrics.js';
import { createStoreSampler, type StoreSampler, type StoreSamplerOptions } from './store-sample.js';

export interface Operations {
  health: Health;
  metrics: Metrics;
  sample: StoreSampler;
}

export interface OperationsOptions {
  config: Pick<Config, 'dataDir' | 'minFreeSpace'>;
  /** What readiness and the metrics sampler read. */
  store: HealthOptions['store'] & StoreSamplerOptions['store'];
  relay: Pick<Relay, 'listening'>;
  metrics: Metrics;
  now?: () => number;
  /** Free bytes in the data folder; statfs unless a test injects one. */
  freeSpace?: FreeSpaceProbe;
}

/** Builds health and metrics sampling over one relay and its store. */
export function createOperations({ config, store, relay, metrics, now = Date.now, freeSpace }: OperationsOptions): Operations {
  return {
    health: createHealth({
      store,
      dataDir: config.dataDir,
      minFreeSpace: config.minFreeSpace,
      listening: () => relay.listening(),
      freeSpace,
      now,
    }),
    metrics,
    sample: createStoreSampler({ store, now }),
  };
}

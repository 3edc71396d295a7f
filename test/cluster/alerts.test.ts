/**
 * The alerts run on one instance of a cluster at a time: a second instance
 * evaluating at the same moment sends no notice of its own, and takes the
 * alerts over once the first stops. On both engines.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAlerts, type Alerts } from '../../src/alerts/engine.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import type { Store } from '../../src/store/index.js';
import { ENGINES, openAnotherInstance, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let opened: EngineStore | null = null;
let receiver: WebhookReceiver | null = null;
const stores: Store[] = [];
afterEach(async () => {
  await receiver?.close();
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await opened?.cleanup();
  opened = null;
});

describe.each(ENGINES)('alerts in a cluster (%s)', (engine) => {
  it('notifies once from one instance, and from the other once the first stopped', async () => {
    receiver = await startWebhookReceiver('/hooks/cluster');
    opened = await openEngineStore(engine);
    const other = await openAnotherInstance(opened, 'relay-b');
    stores.push(other);
    const config = loadConfig({ RELAY365_DATA_DIR: opened.dir, RELAY365_SECRET_KEY: 'ab'.repeat(32) });
    const alertsOn = (store: Store): Alerts =>
      createAlerts({ config, store, relay: { enqueueAlert: () => Promise.reject(new Error('no alert mail here')) }, log: silentLogger });
    const [a, b] = [alertsOn(opened.store), alertsOn(other)];
    await opened.store.alerts.saveSettings({ webhookUrl: receiver.url }, Date.now());
    // Five failed logins lock the address out: a condition that fires an alert.
    for (let i = 0; i < 5; i++) await opened.store.lockouts.recordFailure('203.0.113.9', 'scanner', Date.now());
    await Promise.all([a.evaluateNow(), b.evaluateNow(), a.evaluateNow(), b.evaluateNow()]);
    expect(receiver.posts.map((p) => p.status)).toEqual(['firing']);

    // The lockout of another address: only the instance running the alerts notices it, until it stops.
    for (let i = 0; i < 5; i++) await opened.store.lockouts.recordFailure('203.0.113.10', 'scanner', Date.now());
    const holder = (await opened.store.leases.list()).find((l) => l.name === 'job:alerts')?.holder;
    const [running, waiting] = holder === 'relay365' ? [a, b] : [b, a];
    await waiting.evaluateNow();
    expect(receiver.posts).toHaveLength(1);
    await running.stop();
    await waiting.evaluateNow();
    expect(receiver.posts.map((p) => p.status)).toEqual(['firing', 'firing']);
  });
});

/**
 * The alerts engine: every half minute it reads a snapshot of the store,
 * computes the conditions that hold, and keeps one alert per condition key in
 * the store. A new condition fires once; while it lasts it is repeated every
 * `repeatMinutes` (secret expiry warnings only once); when it ends a resolved
 * notice goes out once, unless a condition about the same problem took its
 * place (the 7-day secret expiry alert replaces the 30-day one). Each channel
 * (webhook, email) keeps its own record of what it was told, so a channel
 * that failed is retried at the next evaluation and a restart neither repeats
 * nor forgets a notice. In a cluster one instance at a time evaluates and
 * notifies (ALERTS_LEASE).
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { ALERT_CHANNELS, type AlertChannel, type AlertContent, type AlertRecord } from '../store/alerts.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import { alertChannels, configuredChannels, type AlertChannels } from './channels.js';
import { evaluate } from './conditions.js';
import { chooseAlertServer, sendAlertEmail, type AlertMailer } from './email.js';
import type { Notice } from './notice.js';
import { readSnapshot, type SnapshotStore } from './snapshot.js';
import { postWebhook, WEBHOOK_TIMEOUT_MS } from './webhook.js';

/** How often the conditions are evaluated. */
export const EVALUATE_EVERY_MS = 30_000;
/**
 * The alerts run on one instance of a cluster at a time: each evaluation renews this lease
 * (src/store/leases.ts), and another instance takes over once three evaluations were missed.
 */
export const ALERTS_LEASE = 'job:alerts';
/** A resolved notice that could not be delivered is retried this long, then given up. */
const RESOLVED_RETRY_MS = 24 * 60 * 60_000;

export interface AlertsOptions {
  config: Config;
  /** The alerts it records and notifies, and what their conditions read. */
  store: StoreSlice<{
    servers: 'list';
    alerts:
      | 'fire'
      | 'refresh'
      | 'resolve'
      | 'prune'
      | 'open'
      | 'resolvedPending'
      | 'markNotified'
      | 'markResolvedNotified'
      | 'settings'
      | 'webhookUrl';
    leases: 'acquire' | 'release';
  }> &
    SnapshotStore;
  relay: AlertMailer;
  log: Logger;
  now?: () => number;
  intervalMs?: number;
  webhookTimeoutMs?: number;
}

/** An alert that fires now, as the dashboard and the Alerts page show it. */
export interface ActiveAlert extends Omit<AlertContent, 'repeats'> {
  since: number;
}

/** An open alert record as the pages show it. */
export function toActiveAlert(a: AlertRecord): ActiveAlert {
  return {
    key: a.key,
    severity: a.severity,
    title: a.title,
    server: a.server,
    code: a.code,
    fix: a.fix,
    detail: a.detail,
    since: a.firedAt,
  };
}

/** What one channel did with the test notice. */
export interface ChannelResult {
  channel: AlertChannel;
  configured: boolean;
  ok: boolean;
  /** What happened, in words for the admin (never the webhook URL). */
  message: string;
}

export interface Alerts {
  /** Evaluates now and then every `intervalMs`. */
  start(): void;
  /** Stops the timer and waits for a running evaluation. */
  stop(): Promise<void>;
  /** Evaluates once (after any evaluation already running) and sends what is due. */
  evaluateNow(): Promise<void>;
  /** The alerts that fire now, oldest first. */
  active(): Promise<ActiveAlert[]>;
  /** Sends a test notice on every configured channel; resolves with each channel's result. */
  sendTest(): Promise<ChannelResult[]>;
}

const sameContent = (a: AlertContent, b: AlertContent): boolean =>
  a.severity === b.severity &&
  a.title === b.title &&
  a.server === b.server &&
  a.code === b.code &&
  a.fix === b.fix &&
  a.detail === b.detail &&
  a.repeats === b.repeats;

/** Builds the engine; nothing runs until `start()` or `evaluateNow()`. */
export function createAlerts({
  config,
  store,
  relay,
  log,
  now = Date.now,
  intervalMs = EVALUATE_EVERY_MS,
  webhookTimeoutMs = WEBHOOK_TIMEOUT_MS,
}: AlertsOptions): Alerts {
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<void> = Promise.resolve();
  let busy = false;

  /** The email server alert mail goes through, or null when there is none. */
  const alertServer = async (): Promise<EmailServer | null> =>
    chooseAlertServer(await store.servers.list(), (await store.alerts.settings()).emailServerId, await store.alerts.heldByServer());

  /** Sends one notice on one channel; false (logged) when it did not go. */
  const deliver = async (channel: AlertChannel, channels: AlertChannels, notice: Notice): Promise<boolean> => {
    const fields = { channel, alertKey: notice.alert.key, notice: notice.kind };
    try {
      if (channel === 'webhook') {
        await postWebhook(channels.webhookUrl as string, notice, config.publicUrl, webhookTimeoutMs);
        log.info('alert notice posted to the webhook', fields);
      } else {
        const server = await alertServer();
        if (!server) throw new Error('there is no email server to send alert mail through');
        const queueId = await sendAlertEmail(relay, server, channels.emails, notice, config.publicUrl);
        log.info('alert email queued', { ...fields, queueId, server: server.name });
      }
      return true;
    } catch (err) {
      log.warn('alert notice not delivered; retried at the next evaluation', { ...fields, error: (err as Error).message });
      return false;
    }
  };

  const notify = async (t: number): Promise<void> => {
    const channels = await alertChannels(config, store.alerts);
    const repeatMs = (await store.alerts.settings()).repeatMinutes * 60_000;
    // One failed webhook post is enough for this round: the others would wait for the same timeout.
    const down = new Set<AlertChannel>();
    const send = async (channel: AlertChannel, notice: Notice): Promise<boolean> => {
      if (down.has(channel)) return false;
      const ok = await deliver(channel, channels, notice);
      if (!ok) down.add(channel);
      return ok;
    };
    for (const alert of await store.alerts.open()) {
      for (const channel of configuredChannels(channels)) {
        const last = alert.notified[channel];
        if (last !== null && (!alert.repeats || t - last < repeatMs)) continue;
        const notice: Notice = { kind: last === null ? 'firing' : 'repeat', alert, since: alert.firedAt, resolvedAt: null };
        if (await send(channel, notice)) await store.alerts.markNotified(alert.id, channel, t);
      }
    }
    for (const alert of await store.alerts.resolvedPending(t - RESOLVED_RETRY_MS)) {
      for (const channel of configuredChannels(channels)) {
        if (alert.notified[channel] === null || alert.resolvedNotified[channel] !== null) continue;
        const notice: Notice = { kind: 'resolved', alert, since: alert.firedAt, resolvedAt: alert.resolvedAt };
        if (await send(channel, notice)) await store.alerts.markResolvedNotified(alert.id, channel, t);
      }
    }
  };

  const evaluateOnce = async (): Promise<void> => {
    const t = now();
    // Another instance runs the alerts (and sends their notices): its evaluation covers this one.
    if ((await store.leases.acquire(ALERTS_LEASE, t, t + 3 * intervalMs, false)) !== null) return;
    const settings = await store.alerts.settings();
    const conditions = evaluate(await readSnapshot(store, t), settings, t);
    const replaced = new Set(conditions.flatMap((c) => c.replaces ?? []));
    const open = new Map<string, AlertRecord>((await store.alerts.open()).map((a) => [a.key, a]));
    for (const condition of conditions) {
      const existing = open.get(condition.key);
      open.delete(condition.key);
      if (existing) {
        if (!sameContent(existing, condition)) await store.alerts.refresh(existing.id, condition);
        continue;
      }
      await store.alerts.fire(condition, t);
      log.warn(`alert: ${condition.title}`, {
        alert: true,
        alertKey: condition.key,
        severity: condition.severity,
        server: condition.server ?? undefined,
        code: condition.code ?? undefined,
        fix: condition.fix ?? undefined,
      });
    }
    for (const ended of open.values()) {
      await store.alerts.resolve(ended.id, t);
      if (replaced.has(ended.key)) {
        // The problem lasts under another alert (a nearer secret expiry threshold): saying it resolved would be wrong.
        for (const channel of ALERT_CHANNELS) await store.alerts.markResolvedNotified(ended.id, channel, t);
        log.info(`alert replaced: ${ended.title}`, { alertKey: ended.key, server: ended.server ?? undefined });
        continue;
      }
      log.info(`alert resolved: ${ended.title}`, { alertKey: ended.key, server: ended.server ?? undefined });
    }
    await store.alerts.prune(t);
    await notify(t);
  };

  const evaluateNow = (): Promise<void> => {
    const run = chain.then(evaluateOnce);
    chain = run.catch(() => undefined);
    return run;
  };

  const tick = (): void => {
    if (busy) return;
    busy = true;
    evaluateNow()
      .catch((err: unknown) => log.error('alert evaluation failed', { alert: true, error: (err as Error).message }))
      .finally(() => {
        busy = false;
      });
  };

  const sendTest = async (): Promise<ChannelResult[]> => {
    const t = now();
    const channels = await alertChannels(config, store.alerts);
    const notice: Notice = {
      kind: 'test',
      alert: {
        key: 'test',
        severity: 'warning',
        title: 'Test alert from relay365',
        server: null,
        code: null,
        fix: null,
        detail: 'Sent with Send test alert on the Alerts page.',
        repeats: false,
      },
      since: t,
      resolvedAt: null,
    };
    const results: ChannelResult[] = [];
    if (!channels.webhookUrl) {
      results.push({ channel: 'webhook', configured: false, ok: false, message: 'No webhook URL is set.' });
    } else {
      try {
        await postWebhook(channels.webhookUrl, notice, config.publicUrl, webhookTimeoutMs);
        results.push({ channel: 'webhook', configured: true, ok: true, message: 'The webhook accepted the test notice.' });
      } catch (err) {
        results.push({ channel: 'webhook', configured: true, ok: false, message: `Not delivered: ${(err as Error).message}.` });
      }
    }
    if (channels.emails.length === 0) {
      results.push({ channel: 'email', configured: false, ok: false, message: 'No admin email address is set.' });
    } else {
      const server = await alertServer();
      if (!server) {
        results.push({ channel: 'email', configured: true, ok: false, message: 'There is no email server to send alert mail through.' });
      } else {
        try {
          const queueId = await sendAlertEmail(relay, server, channels.emails, notice, config.publicUrl);
          results.push({
            channel: 'email',
            configured: true,
            ok: true,
            message: `Queued as ${queueId} through ${server.name} to ${channels.emails.join(', ')}; the relay log shows its delivery.`,
          });
        } catch (err) {
          results.push({ channel: 'email', configured: true, ok: false, message: `Not queued: ${(err as Error).message}.` });
        }
      }
    }
    const outcome = Object.fromEntries(results.filter((r) => r.configured).map((r) => [r.channel, r.ok ? 'ok' : r.message]));
    if (results.every((r) => !r.configured)) {
      log.warn('test alert not sent: no alert channel is set (set a webhook URL or admin email addresses on the Alerts page)');
    } else if (results.some((r) => r.ok)) {
      log.info('test alert sent', outcome);
    } else {
      log.warn('test alert not delivered on any channel', outcome);
    }
    return results;
  };

  return {
    start() {
      if (timer) return;
      timer = setInterval(tick, intervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await chain;
      // Another instance takes the alerts over at its next evaluation.
      await store.leases.release(ALERTS_LEASE, now()).catch((err: unknown) => {
        log.warn('could not give back the alerts to the other instances', { error: (err as Error).message });
      });
    },
    evaluateNow,
    active: async () => (await store.alerts.open()).map(toActiveAlert),
    sendTest,
  };
}

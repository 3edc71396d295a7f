/**
 * Check Configuration: POST /servers/:id/check runs the `relay365 doctor`
 * steps for that email server and answers with its page showing the result,
 * the server's status included: an authorization error the check found shows
 * there at once. The check sends no mail and changes no setting, so answering
 * the POST with the page (instead of a redirect) is safe: a reload only
 * checks again.
 */
import { Hono } from 'hono';
import type { Config } from '../../config.js';
import { runDoctor, type DoctorStore } from '../../doctor/run.js';
import type { Logger } from '../../log.js';
import type { AdminEnv } from '../env.js';
import { requirePermission } from '../middleware/require-permission.js';
import { renderServerPage, serverNotFound, serverParam, type ServerViewOptions } from './server-view.js';

export interface CheckConfigRouteOptions extends ServerViewOptions {
  /** The server page's reads and the doctor's. */
  store: ServerViewOptions['store'] & DoctorStore;
  config: Pick<Config, 'dataDir' | 'secretKey' | 'minFreeSpace' | 'relayNetworks'>;
  log: Logger;
}

/** POST /servers/:id/check, mounted under /servers. */
export function checkConfigRoutes(options: CheckConfigRouteOptions): Hono<AdminEnv> {
  const { store, config, log, now } = options;
  const app = new Hono<AdminEnv>();
  app.post('/:id{[0-9]+}/check', requirePermission('updateSettings'), async (c) => {
    const server = await serverParam(c, store);
    if (!server) return serverNotFound(c);
    const report = await runDoctor({ config, store, server, now, log });
    const diagnosis = report.servers[0] ?? null;
    const failedSteps = diagnosis?.steps.filter((s) => s.status === 'fail').map((s) => s.id) ?? [];
    log.info('configuration checked', { server: server.name, ok: report.ok, failed: failedSteps, by: c.var.user?.email });
    return renderServerPage(c, options, (await store.servers.get(server.id)) ?? server, undefined, 200, diagnosis);
  });
  return app;
}

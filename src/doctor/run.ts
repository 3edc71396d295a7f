/**
 * `relay365 doctor`: runs the five steps for each email server in order and
 * collects the report. A server that sends via Microsoft Graph has its
 * network step check the Graph endpoint and a Graph step instead of the SMTP
 * session. A step that cannot run because an earlier one failed
 * is skipped (blocked), so that each broken thing fails exactly its own step;
 * a step that does not apply (no token for a password server) is skipped too,
 * without counting against the result. An authorization error the token step
 * finds shows in the server's status at once, as a failed delivery would show it.
 */
import { graphEndpoint } from '../auth/clouds.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { FreeSpaceProbe } from '../relay/free-space.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import { clockStep } from './clock-step.js';
import { configStep, inspectDataFolder, missingSettings, type FolderConfig, type FolderStore } from './config-step.js';
import { wideNetworkChecks } from './network-rules.js';
import { networkStep } from './network-step.js';
import { graphNetworkStep } from './graph-network-step.js';
import { graphStep } from './graph-step.js';
import { failed, skipped, type DoctorReport, type DoctorStep, type ServerDiagnosis, type StepId } from './report.js';
import { smtpStep, type SmtpStepStore } from './smtp-step.js';
import { tokenStep, type TokenOutcome, type TokenStepStore } from './token-step.js';

/** How long any one network wait (DNS, connect, a reply, an HTTP answer) may take. */
export const DEFAULT_STEP_TIMEOUT_MS = 15_000;

/** What the doctor reads from the store (and the one thing it writes: a server's status). */
export type DoctorStore = StoreSlice<{ servers: 'list' | 'setStatus'; networks: 'list' }> & FolderStore & TokenStepStore & SmtpStepStore;

export interface DoctorOptions {
  /** The data folder's settings, and RELAY365_RELAY_NETWORKS (step 1 warns about wide allowed networks). */
  config: FolderConfig & Pick<Config, 'relayNetworks'>;
  /** The servers and networks it checks, and what each step reads; the servers' status it sets. */
  store: DoctorStore;
  /** One server to check; all email servers when omitted. */
  server?: EmailServer;
  /** The local clock the clock step compares (injectable to test a skew). */
  now?: () => number;
  log: Logger;
  timeoutMs?: number;
  freeSpaceProbe?: FreeSpaceProbe;
}

/** Runs one step; a step that throws fails with the error's message instead of ending the whole check. */
async function guarded<T extends { step: DoctorStep }>(id: StepId, run: () => Promise<T>, unusable: Omit<T, 'step'>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const message = (err as Error).message;
    const step = failed(
      id,
      `the check could not run: ${message}`,
      [],
      'The check could not run',
      'Correct the setting named in the message, then check again.',
    );
    return { ...unusable, step } as T;
  }
}

/**
 * Puts what the token step learnt into the server's status at once, as a failed delivery does
 * (src/relay/outcomes.ts): a refusal only an admin can fix reads Not Authorized (Authorize Account)
 * or as an error, with its fix; a token for a server that showed a token error reads Authorized again.
 */
async function showTokenStatus(
  server: EmailServer,
  outcome: TokenOutcome,
  store: StoreSlice<{ servers: 'setStatus' }>,
  log: Logger,
): Promise<void> {
  const error = outcome.refusal;
  try {
    if (error) {
      // Microsoft's answers only: not the network, nor relay365's own codes for a server not set up yet.
      if (error.aadsts === null || error.action !== 'hold') return;
      const status = server.signInMode === 'authorize' ? 'not_authorized' : 'error';
      const hint = error.hint ? `${error.hint.meaning}. ${error.hint.fix}` : null;
      await store.servers.setStatus(server.id, { status, code: error.code, message: error.message, hint });
      log.warn('the check found an authorization error; the email server shows it', { server: server.name, code: error.code });
    } else if (outcome.token && /^AADSTS\d+$/.test(server.statusCode ?? '')) {
      await store.servers.setStatus(server.id, { status: 'authorized' });
      log.info('the check got a token; the email server reads Authorized again', { server: server.name });
    }
  } catch (err) {
    // The report still says what the check found; step 1 names a database that takes no writes.
    log.warn('cannot record the checked status of the email server', { server: server.name, error: (err as Error).message });
  }
}

/** Where a server that sends via Graph reaches it, or null while a Custom cloud has no Graph Endpoint. */
function graphEndpointOrNull(server: EmailServer): string | null {
  try {
    return graphEndpoint(server);
  } catch {
    return null;
  }
}

/** Runs steps 2–5 for one server after step 1. */
async function diagnose(
  server: EmailServer,
  first: DoctorStep,
  secretsReadable: boolean,
  options: Required<Pick<DoctorOptions, 'now' | 'timeoutMs'>> & DoctorOptions,
): Promise<DoctorStep[]> {
  const { store, log, now, timeoutMs } = options;
  const office365 = server.method === 'office365';
  const viaGraph = office365 && server.sendVia === 'graph';
  const settingsOk = missingSettings(server).length === 0;
  const blockedBySettings = 'not run: settings are missing (step 1)';
  // With a key that opens no secret, a token or login would fail for that reason alone, not the tenant's.
  const blockedByKey = 'not run: the encryption key does not open the stored secrets (step 1)';

  let clock: DoctorStep;
  let identityReachable = false;
  if (!office365) clock = skipped('clock', `does not apply: ${server.method} servers need no Microsoft sign-in`, false);
  else if (!settingsOk) clock = skipped('clock', blockedBySettings, true);
  else {
    const outcome = await guarded('clock', () => clockStep(server, now, timeoutMs), { reachable: false });
    clock = outcome.step;
    identityReachable = outcome.reachable;
  }

  // Without its settings a Custom cloud has no Graph endpoint to reach.
  const network =
    viaGraph && !settingsOk
      ? { ready: false, step: skipped('network', blockedBySettings, true) }
      : await guarded('network', () => (viaGraph ? graphNetworkStep : networkStep)(server, now, timeoutMs), { ready: false });

  let token: DoctorStep;
  let accessToken = null;
  if (!office365) token = skipped('token', `does not apply: method ${server.method} signs in without a token`, false);
  else if (!settingsOk) token = skipped('token', blockedBySettings, true);
  else if (!secretsReadable) token = skipped('token', blockedByKey, true);
  else if (!identityReachable) token = skipped('token', 'not run: the identity platform could not be reached (step 2)', true);
  else {
    const outcome = await guarded('token', () => tokenStep(server, store, log, now), { token: null });
    token = outcome.step;
    accessToken = outcome.token;
    await showTokenStatus(server, outcome, store, log);
  }

  const last: StepId = viaGraph ? 'graph' : 'smtp';
  let sending: DoctorStep;
  if (!network.ready) sending = skipped(last, 'not run: the server could not be reached safely (step 3)', true);
  else if (!secretsReadable && server.method === 'password') sending = skipped(last, blockedByKey, true);
  else if (office365 && accessToken === null) sending = skipped(last, 'not run: there is no usable token (step 4)', true);
  else if (viaGraph && accessToken) {
    const bearer = accessToken;
    sending = (await guarded(last, async () => ({ step: await graphStep(server, bearer, timeoutMs) }), {})).step;
  } else sending = (await guarded(last, async () => ({ step: await smtpStep(server, accessToken, store, timeoutMs) }), {})).step;

  return [first, clock, network.step, token, sending];
}

/** Checks `options.server`, or every email server; the report says what each step saw. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const servers = options.server ? [options.server] : await options.store.servers.list();
  const findings = await inspectDataFolder(options.config, options.store, options.freeSpaceProbe);
  const networkWarnings = wideNetworkChecks(options.config.relayNetworks, await options.store.networks.list());
  const diagnoses: ServerDiagnosis[] = [];
  for (const server of servers) {
    const first = configStep(findings, server, networkWarnings);
    const steps = await diagnose(server, first, findings.secretsReadable, { ...options, now, timeoutMs });
    diagnoses.push({
      server: {
        id: server.id,
        name: server.name,
        method: server.method,
        host: server.host,
        port: server.port,
        secure: server.secure,
        sendVia: server.sendVia,
        graphEndpoint: server.method === 'office365' && server.sendVia === 'graph' ? graphEndpointOrNull(server) : null,
      },
      ok: steps.every((s) => s.status !== 'fail'),
      steps,
    });
  }
  return { ok: diagnoses.length > 0 && diagnoses.every((d) => d.ok), checkedAt: new Date(now()).toISOString(), servers: diagnoses };
}

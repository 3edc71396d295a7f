/**
 * The shape of a `relay365 doctor` diagnosis, shared by the CLI (text and
 * `--json`) and the panel's Check Configuration: per email server five steps
 * in a fixed order, each passed, failed or skipped, with what it saw, the
 * facts it compared and, on failure, the problem and its fix. The fifth step
 * is an SMTP session, or Microsoft Graph for a server that sends via Graph.
 */

/** The steps, in the order they run: five per server, the last `smtp` or `graph`. */
export type StepId = 'config' | 'clock' | 'network' | 'token' | 'smtp' | 'graph';

export type StepStatus = 'pass' | 'fail' | 'skip';

export const STEP_TITLES: Readonly<Record<StepId, string>> = {
  config: 'Configuration and data folder',
  clock: 'Clock',
  network: 'Network and TLS',
  token: 'Token',
  smtp: 'SMTP session',
  graph: 'Microsoft Graph',
};

/** One compared fact: what the step saw and, where there is one, what it needs. */
export interface Check {
  name: string;
  saw: string;
  want?: string;
  ok: boolean;
  /** Passed, but the admin should look at it (a wide allowed network); never set on a failed check. */
  warn?: boolean;
}

export interface DoctorStep {
  id: StepId;
  title: string;
  status: StepStatus;
  /** One short line on what the step saw, or why it did not run. */
  saw: string;
  checks: Check[];
  /** For a skip: true when an earlier failure kept the step from running (false: it does not apply). */
  blocked?: boolean;
  /** On failure: what is wrong, in a few words. */
  problem?: string;
  /** On failure: what the admin does about it. */
  fix?: string;
}

export interface ServerDiagnosis {
  server: {
    id: number;
    name: string;
    method: string;
    host: string;
    port: number;
    secure: string;
    /** How an office365 server sends: `smtp`, or `graph` (then `graphEndpoint` is where). */
    sendVia: string;
    graphEndpoint: string | null;
  };
  /** True when no step failed. */
  ok: boolean;
  steps: DoctorStep[];
}

export interface DoctorReport {
  ok: boolean;
  checkedAt: string;
  servers: ServerDiagnosis[];
}

/** A step that ran and passed. */
export function passed(id: StepId, saw: string, checks: Check[] = []): DoctorStep {
  return { id, title: STEP_TITLES[id], status: 'pass', saw, checks };
}

/** A step that ran and failed, with the problem and its fix. */
export function failed(id: StepId, saw: string, checks: Check[], problem: string, fix: string): DoctorStep {
  return { id, title: STEP_TITLES[id], status: 'fail', saw, checks, problem, fix };
}

/** A step that did not run: `blocked` when an earlier step's failure kept it from running. */
export function skipped(id: StepId, why: string, blocked: boolean): DoctorStep {
  return { id, title: STEP_TITLES[id], status: 'skip', saw: why, checks: [], blocked };
}

/** A step's outcome from its checks: passed when all are ok, else failed with the problem and fix given. */
export function fromChecks(id: StepId, saw: string, checks: Check[], problem: string, fix: string): DoctorStep {
  return checks.every((c) => c.ok) ? passed(id, saw, checks) : failed(id, saw, checks, problem, fix);
}

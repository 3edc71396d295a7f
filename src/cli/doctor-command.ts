/**
 * `relay365 doctor [SERVER] [--json]`: the command-line side of src/doctor.
 * Without SERVER every email server is checked. The text says per step what
 * it saw and how to fix a failure; `--json` prints the report object. Either
 * way the exit code is 0 only when no step failed.
 */
import type { Config } from '../config.js';
import { formatReport } from '../doctor/format.js';
import { runDoctor, type DoctorStore } from '../doctor/run.js';
import { silentLogger } from '../log.js';
import type { Store, StoreSlice } from '../store/index.js';
import type { Print } from './flags.js';
import { command, JSON_FLAG, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

/** The doctor ran and found a problem: relay365 exits with code 1 after printing the report. */
export class DoctorFoundProblems extends Error {}

/** What the doctor reads besides the store (the data folder is the store's). */
export type DoctorCommandConfig = Partial<Pick<Config, 'secretKey' | 'minFreeSpace' | 'relayNetworks'>>;

/** What `doctor` works with. */
export interface DoctorContext {
  /** What the doctor reads (and a server's status it sets), the server by name, and the data folder. */
  store: DoctorStore & StoreSlice<{ servers: 'findByName' }> & Pick<Store, 'dataDir'>;
  print: Print;
  config: DoctorCommandConfig;
}

/** Runs the checks and prints the report; rejects with DoctorFoundProblems when a step failed. */
async function doctor({ store, print, config }: DoctorContext, { values, positionals }: ParsedFlags<typeof JSON_FLAG>): Promise<void> {
  if (positionals.length > 1) throw new UsageError(`doctor checks one email server or all of them, not ${positionals.join(' and ')}`);
  const [name] = positionals;
  const server = name === undefined ? undefined : await store.servers.findByName(name);
  if (name !== undefined && !server) throw new UsageError(`no email server named ${JSON.stringify(name)} (see relay365 server list)`);
  const report = await runDoctor({
    config: {
      dataDir: store.dataDir,
      secretKey: config.secretKey ?? null,
      minFreeSpace: config.minFreeSpace ?? 0,
      relayNetworks: config.relayNetworks ?? [],
    },
    store,
    server,
    log: silentLogger,
  });
  print(values.json ? JSON.stringify(report, null, 2) : formatReport(report).join('\n'));
  if (report.ok) return;
  const failures = report.servers.flatMap((s) => s.steps).filter((s) => s.status === 'fail').length;
  throw new DoctorFoundProblems(
    report.servers.length === 0
      ? 'doctor: there is no email server to check'
      : `doctor: ${failures} step${failures === 1 ? '' : 's'} failed (see above)`,
  );
}

/** `relay365 doctor [SERVER] [--json]`. */
export const DOCTOR_COMMAND = command('doctor', JSON_FLAG, doctor);

/**
 * What the doctor tests share: a fresh data folder with one Office 365 email
 * server pointed at the Microsoft 365 emulator (Custom cloud), and a run of the
 * doctor over it with a short network timeout.
 */
import { silentLogger } from '../../src/log.js';
import { runDoctor } from '../../src/doctor/run.js';
import type { DoctorReport, DoctorStep, StepId } from '../../src/doctor/report.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { startEmulator, type Emulator, type SigningKey } from '../emulator/index.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { emulatorServer } from '../helpers/office365.js';

export interface DoctorContext {
  emu: Emulator;
  fx: Fixture;
  serverId: number;
  /** Runs the doctor; `secretKey` replaces the key the fixture's store was sealed with (RELAY365_SECRET_KEY). */
  run(options?: { now?: () => number; secretKey?: string }): Promise<DoctorReport>;
  close(): Promise<void>;
}

/** Starts the emulator and a data folder holding one server (`overrides` change its settings). */
export async function startDoctorContext(signingKey: SigningKey, overrides: Partial<ServerSettings> = {}): Promise<DoctorContext> {
  const emu = await startEmulator({ signingKey });
  const fx = createFixture();
  const { id } = fx.store.sync.servers.add(emulatorServer(emu, overrides));
  return {
    emu,
    fx,
    serverId: id,
    run: (options = {}) =>
      runDoctor({
        config: options.secretKey === undefined ? fx.config : { ...fx.config, secretKey: options.secretKey },
        store: fx.store,
        log: silentLogger,
        timeoutMs: 5_000,
        ...(options.now ? { now: options.now } : {}),
      }),
    async close() {
      await emu.close();
      fx.cleanup();
    },
  };
}

/** The statuses of one server's steps, by id. */
export function statuses(report: DoctorReport, index = 0): Record<StepId, string> {
  const steps = report.servers[index]?.steps ?? [];
  return Object.fromEntries(steps.map((s) => [s.id, s.status])) as Record<StepId, string>;
}

/** One step of the first server. */
export function step(report: DoctorReport, id: StepId): DoctorStep {
  const found = report.servers[0]?.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id} in the report`);
  return found;
}

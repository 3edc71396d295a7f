/**
 * The setup the emulator's own tests share: one signing key per test file, a
 * fresh seeded emulator per test on a clock the test moves, and an MSAL client
 * for the seeded app.
 */
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import { afterEach, beforeAll, beforeEach } from 'vitest';
import {
  assertEmulatorTrusted,
  createSigningKey,
  SEED,
  startEmulator,
  type Emulator,
  type EmulatorOptions,
  type SigningKey,
} from './index.js';

export interface EmulatorContext {
  /** This test's emulator. */
  emu: Emulator;
  /** The emulator's clock (ms); tests move it forward. */
  clock: number;
}

/** Registers the hooks; the returned context holds the current test's emulator. */
export function emulatorPerTest(options: Omit<EmulatorOptions, 'now' | 'signingKey'> = {}): EmulatorContext {
  const context = { clock: 0 } as EmulatorContext;
  let signingKey: SigningKey;
  beforeAll(async () => {
    assertEmulatorTrusted();
    signingKey = await createSigningKey();
  });
  beforeEach(async () => {
    context.clock = Date.now();
    context.emu = await startEmulator({ ...options, now: () => context.clock, signingKey });
  });
  afterEach(async () => {
    await context.emu.close();
  });
  return context;
}

/** An MSAL confidential client for the seeded app and tenant, pointed at `emu`. */
export function seededMsal(emu: Emulator, overrides: Partial<Configuration['auth']> = {}): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: SEED.clientId,
      clientSecret: SEED.clientSecret,
      authority: emu.identity.authority(SEED.tenantId),
      knownAuthorities: [emu.knownAuthority],
      ...overrides,
    },
  });
}

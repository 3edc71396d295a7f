/**
 * The Microsoft 365 emulator in one call: a directory (seeded with the default
 * tenant unless one is given), the identity platform on https://localhost:PORT
 * and Exchange Online SMTP submission on localhost:PORT, all on loopback.
 * Clients must trust `certs/ca.pem` (NODE_EXTRA_CA_CERTS) and use `localhost`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDirectory, type Directory } from './directory.js';
import { startExchange, type ExchangeEmulator, type ExchangeSettings } from './exchange.js';
import { startIdentity, type IdentityEmulator, type IdentitySettings } from './identity.js';
import type { SigningKey } from './jwt.js';
import { seedDefault } from './seed.js';

export { createDirectory, Directory, generateSecretValue } from './directory.js';
export type { AppRegistration, ClientSecret, Mailbox, Tenant } from './directory.js';
export { SEED, seedDefault } from './seed.js';
export { startIdentity } from './identity.js';
export type {
  AuthorizeRequestRecord,
  AuthorizeUrlInput,
  IdentityEmulator,
  IdentityFault,
  IdentityOptions,
  IdentitySettings,
  TokenRequestRecord,
} from './identity.js';
export { AuthorizePageError, completeAuthorize } from './complete-authorize.js';
export type { CompleteAuthorizeOptions } from './complete-authorize.js';
export { CONSENT_FOR_ORGANIZATION_LABEL } from './authorize-pages.js';
export type { ConsentGrant, RevokeConsentInput } from './consent.js';
export type { AuthorizationCode } from './authorization-codes.js';
export { startExchange } from './exchange.js';
export type { ExchangeEmulator, ExchangeOptions, ExchangeSettings, ReceivedMessage, SmtpFault } from './exchange.js';
export { exchangeReplies, parseReply } from './exchange-replies.js';
export { EXCHANGE_APP_RESOURCE, EXCHANGE_DELEGATED_RESOURCE } from './tokens.js';
export { msalAuthorityMetadata } from './discovery.js';
export { createSigningKey } from './jwt.js';
export type { SigningKey } from './jwt.js';

/** Path of the test CA that clients must trust (`NODE_EXTRA_CA_CERTS`). */
export const EMULATOR_CA_PATH = fileURLToPath(new URL('./certs/ca.pem', import.meta.url));

/**
 * Throws, naming the fix, unless this process trusts the emulator's CA: Node reads
 * NODE_EXTRA_CA_CERTS once at start-up, so it cannot be set from inside a test.
 */
export function assertEmulatorTrusted(): void {
  const configured = process.env['NODE_EXTRA_CA_CERTS'];
  const ca = readFileSync(EMULATOR_CA_PATH, 'utf8').trim();
  let bundle = '';
  try {
    bundle = configured ? readFileSync(configured, 'utf8') : '';
  } catch {
    bundle = '';
  }
  if (!bundle.includes(ca)) {
    throw new Error(`The emulator's CA is not trusted: run with NODE_EXTRA_CA_CERTS=${EMULATOR_CA_PATH}`);
  }
}

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** State to serve; default a new directory with {@link seedDefault} applied. */
  directory?: Directory;
  /** Clock (epoch ms) shared by both servers; default Date.now. */
  now?: () => number;
  identityPort?: number;
  smtpPort?: number;
  identity?: Partial<IdentitySettings>;
  exchange?: Partial<ExchangeSettings>;
  /** Identity signing key to reuse (see {@link createSigningKey}); default a new one. */
  signingKey?: SigningKey;
}

/** A running emulator. */
export interface Emulator {
  directory: Directory;
  identity: IdentityEmulator;
  exchange: ExchangeEmulator;
  /** `https://localhost:PORT`: the `Authority Host` of the Custom cloud. */
  authorityHost: string;
  /** `localhost:PORT`, for MSAL's `knownAuthorities`. */
  knownAuthority: string;
  smtpHost: 'localhost';
  smtpPort: number;
  /** Stops both servers, ending every open connection. */
  close(): Promise<void>;
}

/** Starts directory, identity platform and Exchange together; the fixture tests use. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const now = options.now ?? ((): number => Date.now());
  const directory = options.directory ?? createDirectory();
  if (!options.directory) seedDefault(directory, { now: now() });
  const identity = await startIdentity({
    directory,
    now,
    port: options.identityPort,
    settings: options.identity,
    signingKey: options.signingKey,
  });
  let exchange: ExchangeEmulator;
  try {
    exchange = await startExchange({ directory, identity, port: options.smtpPort, settings: options.exchange });
  } catch (err) {
    await identity.close();
    throw err;
  }
  return {
    directory,
    identity,
    exchange,
    authorityHost: identity.authorityHost,
    knownAuthority: identity.knownAuthority,
    smtpHost: 'localhost',
    smtpPort: exchange.port,
    close: async () => {
      await Promise.all([exchange.close(), identity.close()]);
    },
  };
}

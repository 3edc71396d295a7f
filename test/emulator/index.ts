/**
 * The Microsoft 365 emulator in one call: a directory (seeded with the default
 * tenant unless one is given), the identity platform on https://localhost:PORT,
 * Exchange Online SMTP submission on localhost:PORT and Microsoft Graph's mail
 * API on https://localhost:PORT, all on loopback. Exchange and Graph count each
 * mailbox's daily recipients together.
 * Clients must trust `certs/ca.pem` (NODE_EXTRA_CA_CERTS) and use `localhost`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDirectory, type Directory } from './directory.js';
import { startExchange, type ExchangeEmulator, type ExchangeSettings } from './exchange.js';
import { startGraph, type GraphEmulator, type GraphSettings } from './graph.js';
import { startIdentity, type IdentityEmulator, type IdentitySettings } from './identity.js';
import type { SigningKey } from './jwt.js';
import { MailboxLimits } from './mailbox-limits.js';
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
export { EXCHANGE_APP_RESOURCE, EXCHANGE_DELEGATED_RESOURCE, GRAPH_APP_ID, GRAPH_RESOURCE } from './tokens.js';
export { startGraph } from './graph.js';
export type {
  GraphAttachment,
  GraphDraft,
  GraphEmulator,
  GraphFault,
  GraphMessage,
  GraphOptions,
  GraphRequestRecord,
  GraphRoute,
  GraphSettings,
  GraphUploadSession,
} from './graph.js';
export { JWT_BEARER_ASSERTION } from './client-assertion.js';
export { createTestCertificate } from './certificates.js';
export type { CertificateCredential, TestCertificate, TestCertificateOptions } from './certificates.js';
export type { AppRoleAssignment, ManagementScope, ServicePrincipalAuthorization } from './exchange-rbac.js';
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
  /** Clock (epoch ms) shared by the servers; default Date.now. */
  now?: () => number;
  identityPort?: number;
  smtpPort?: number;
  graphPort?: number;
  identity?: Partial<IdentitySettings>;
  exchange?: Partial<ExchangeSettings>;
  graph?: Partial<GraphSettings>;
  /** Identity signing key to reuse (see {@link createSigningKey}); default a new one. */
  signingKey?: SigningKey;
}

/** A running emulator. */
export interface Emulator {
  directory: Directory;
  identity: IdentityEmulator;
  exchange: ExchangeEmulator;
  graph: GraphEmulator;
  /**
   * `https://localhost:PORT`: the `Graph Endpoint` of the Custom cloud; `${graphUrl}/.default`
   * and `${graphUrl}/Mail.Send` are scopes the identity emulator accepts for Graph.
   */
  graphUrl: string;
  /** `https://localhost:PORT`: the `Authority Host` of the Custom cloud. */
  authorityHost: string;
  /** `localhost:PORT`, for MSAL's `knownAuthorities`. */
  knownAuthority: string;
  smtpHost: 'localhost';
  smtpPort: number;
  /** Stops the servers, ending every open connection. */
  close(): Promise<void>;
}

/** Starts directory, identity platform, Exchange and Graph together; the fixture tests use. */
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
  const mailboxLimits = new MailboxLimits(now);
  let exchange: ExchangeEmulator;
  let graph: GraphEmulator;
  try {
    exchange = await startExchange({ directory, identity, port: options.smtpPort, settings: options.exchange, mailboxLimits });
  } catch (err) {
    await identity.close();
    throw err;
  }
  try {
    graph = await startGraph({ directory, identity, mailboxLimits, port: options.graphPort, settings: options.graph });
  } catch (err) {
    await Promise.all([exchange.close(), identity.close()]);
    throw err;
  }
  return {
    directory,
    identity,
    exchange,
    graph,
    graphUrl: graph.graphUrl,
    authorityHost: identity.authorityHost,
    knownAuthority: identity.knownAuthority,
    smtpHost: 'localhost',
    smtpPort: exchange.port,
    close: async () => {
      await Promise.all([graph.close(), exchange.close(), identity.close()]);
    },
  };
}

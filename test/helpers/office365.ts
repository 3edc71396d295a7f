/**
 * An Office 365 email server pointed at the Microsoft 365 emulator through
 * the Custom cloud, as an admin would configure it for a sovereign cloud
 * (SMTP by default; its Graph Endpoint is the emulator's Graph).
 */
import type { Emulator } from '../emulator/index.js';
import { SEED } from '../emulator/index.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { plainServer } from './fixture.js';

/** Application sign-in settings for the seeded tenant, app and mailbox. */
export function emulatorServer(emu: Emulator, overrides: Partial<ServerSettings> = {}): ServerSettings {
  return plainServer({
    name: 'o365',
    method: 'office365',
    signInMode: 'application',
    secure: 'tls',
    host: emu.smtpHost,
    port: emu.smtpPort,
    tenantId: SEED.tenantId,
    clientId: SEED.clientId,
    clientSecret: SEED.clientSecret,
    cloud: 'custom',
    authorityHost: emu.authorityHost,
    smtpResource: 'https://outlook.office365.com',
    // Used only when a test sets sendVia: 'graph'.
    graphEndpoint: emu.graphUrl,
    mailbox: SEED.mailbox,
    messagesPerMinute: 100_000,
    ...overrides,
  });
}

/**
 * The email server the demo starts with, shared by `npm run demo` and the
 * browser test that tries the demo as a new user would: an office365 server
 * in Authorize Account mode that reaches the emulator through the Custom
 * cloud, with both the SMTP Resource and the Graph Endpoint, so that Office
 * 365 Send Via can be switched in the panel and nothing else needs setting.
 */
import { SEED } from '../emulator/index.js';
import { emulatorServer } from '../helpers/office365.js';
import type { Stack } from './stack.js';

export const DEMO_SERVER_NAME = 'Office 365 (emulator)';

/** Adds the demo server (step 1 of the admin guide done); steps 2-3 are the emulator's seed. Returns its id. */
export function addDemoServer({ fx, emu, relay }: Stack): number {
  // The organization's consent covers Mail.ReadWrite too, as an admin who sends large mail via Graph grants it:
  // a delegated Graph token then carries it, and messages over 3 MB can go through a draft.
  const consented = emu.directory.getApp(SEED.tenantId, SEED.clientId).graphDelegatedConsented;
  if (!consented.includes('Mail.ReadWrite')) consented.push('Mail.ReadWrite');
  const { id } = fx.store.sync.servers.add(
    emulatorServer(emu, {
      name: DEMO_SERVER_NAME,
      signInMode: 'authorize',
      smtpResource: 'https://outlook.office.com',
      graphEndpoint: emu.graphUrl,
      mailbox: null,
      messagesPerMinute: 30,
    }),
  );
  relay.settingsChanged();
  return id;
}

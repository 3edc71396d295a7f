/**
 * `npm run demo`: relay365 (relay + admin panel) in front of the Microsoft 365
 * emulator, on http://localhost:8025 (the emulator's seeded redirect URI), so
 * the four steps of the admin guide can be clicked through by hand.
 */
import { createLogger } from '../../src/log.js';
import { SEED } from '../emulator/index.js';
import { emulatorServer } from '../helpers/office365.js';
import { startStack } from './stack.js';

const adminEmail = process.env['RELAY365_ADMIN_EMAIL'] ?? 'admin@contoso.test';
const adminPassword = process.env['RELAY365_ADMIN_PASSWORD'] ?? 'relay365-demo-password';
const stack = await startStack({
  adminEmail,
  adminPassword,
  adminPort: Number(process.env['DEMO_PORT'] ?? 8025),
  log: createLogger('info'),
});

// Step 1 of the admin guide done already: an office365 server in Authorize Account mode,
// reaching the emulator through the Custom cloud. Steps 2-3 are the emulator's seed.
stack.fx.store.servers.add(
  emulatorServer(stack.emu, {
    name: 'Office 365 (emulator)',
    signInMode: 'authorize',
    smtpResource: 'https://outlook.office.com',
    mailbox: null,
    messagesPerMinute: 30,
  }),
);
stack.relay.settingsChanged();

process.stdout.write(`
relay365 demo
  admin panel     ${stack.baseUrl}  (sign in as ${adminEmail} / ${adminPassword})
  relay SMTP      127.0.0.1:${stack.smtpPort}
An office365 server "Office 365 (emulator)" is set up: open it and click Authorize Account,
pick ${SEED.mailbox} and accept. Then send a test email or point an app at the relay SMTP port.
Microsoft 365 emulator (your browser will warn about its self-signed certificate: accept it once)
  Server Host     ${stack.emu.smtpHost}   Server Port ${stack.emu.smtpPort}   Use Secure Connection tls
  Office 365 Cloud Custom: Authority Host ${stack.emu.authorityHost}, SMTP Resource https://outlook.office.com
  Tenant ID       ${SEED.tenantId}
  Client ID       ${SEED.clientId}
  Client Secret   ${SEED.clientSecret}
  account         ${SEED.mailbox}
Ctrl+C stops everything.
`);

const stop = (): void => {
  stack.close().finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

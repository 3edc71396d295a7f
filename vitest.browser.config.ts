import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Browser tests (`npm run test:browser`): the admin panel in Debian's Chromium against the
// Microsoft 365 emulator. The emulator's CA is set before vitest forks its workers, as in
// vitest.config.ts, so MSAL and nodemailer in the relay trust it.
process.env.NODE_EXTRA_CA_CERTS = fileURLToPath(new URL('./test/emulator/certs/ca.pem', import.meta.url));

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});

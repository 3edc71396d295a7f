import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The emulator's test CA: read by Node at process start, so it is set here,
// before vitest forks its workers (MSAL and nodemailer both honour it).
process.env.NODE_EXTRA_CA_CERTS = fileURLToPath(new URL('./test/emulator/certs/ca.pem', import.meta.url));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/browser/**', 'node_modules/**'],
    pool: 'forks',
    globalSetup: ['test/postgres-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});

/**
 * The listener's answers to MAIL FROM and RCPT TO for the addresses relay365's
 * sides took differently before the one address grammar (test/helpers/addresses.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDRESS_CASES } from '../helpers/addresses.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { startTestListener, type TestListener } from '../helpers/listener.js';
import { connectRaw } from '../helpers/smtp-client.js';

let fx: Fixture;
let listener: TestListener;

beforeAll(async () => {
  fx = createFixture();
  fx.store.sync.servers.add(plainServer());
  listener = await startTestListener(fx);
});
afterAll(async () => {
  await listener.close();
  fx.cleanup();
});

describe('listener addresses', () => {
  it.each(ADDRESS_CASES.map((c) => [c.address, c.now, c.sender ?? c.now] as const))(
    'answers MAIL FROM and RCPT TO for %j: taken %s (as a sender: %s)',
    async (address, now, sender) => {
      const c = await connectRaw(listener.port);
      try {
        expect(await c.command('EHLO client.test')).toMatch(/^250/);
        expect(await c.command(`MAIL FROM:<${address}> SMTPUTF8`)).toMatch(sender ? /^250 / : /^501 5\.1\.7 /);
        expect(await c.command('RSET')).toMatch(/^250/);
        expect(await c.command('MAIL FROM:<app@example.test>')).toMatch(/^250 /);
        expect(await c.command(`RCPT TO:<${address}>`)).toMatch(now ? /^250 / : /^501 5\.1\.3 /);
      } finally {
        c.close();
      }
    },
  );

  it('takes the null sender', async () => {
    const c = await connectRaw(listener.port);
    try {
      await c.command('EHLO client.test');
      expect(await c.command('MAIL FROM:<>')).toMatch(/^250 /);
    } finally {
      c.close();
    }
  });
});

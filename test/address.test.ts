import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { checkEmail } from '../src/admin/accounts.js';
import { addressSchema, isAddress, isEnvelopeSender, isDomainEntry } from '../src/address.js';
import { ALERT_SETTINGS } from '../src/alerts/settings-schema.js';
import { loadConfig } from '../src/config.js';
import { testEmailSchema } from '../src/relay/test-message.js';
import { allowFromList } from '../src/store/access-schemas.js';
import { validateServerFields } from '../src/store/server-validation.js';
import { ADDRESS_CASES } from './helpers/addresses.js';

/** smtp-address-parser, a well-kept RFC 5321 parser, as the reference the grammar is held against. */
const { parse } = createRequire(import.meta.url)('smtp-address-parser') as {
  parse(address: string): { localPart: { DotString?: string }; domainPart: { DomainName?: string } };
};
const parserTakes = (address: string): boolean => {
  try {
    const parsed = parse(address);
    return parsed.localPart.DotString !== undefined && parsed.domainPart.DomainName !== undefined;
  } catch {
    return false;
  }
};

/** What each side of relay365 answers for `address` now. */
const sides = (address: string) => ({
  listenerGrammar: isAddress(address),
  mailbox: Object.keys(validateServerFields({ mailbox: address })).length === 0,
  sendAs: Object.keys(validateServerFields({ sendAs: [address] })).length === 0,
  allowFrom: allowFromList.safeParse(address).success,
  config: (() => {
    try {
      loadConfig({ RELAY365_ALERT_EMAIL: address });
      return true;
    } catch {
      return false;
    }
  })(),
  alerts: ALERT_SETTINGS.emails.schema.safeParse(address).success,
  panelAccount: checkEmail(address) === undefined,
  testEmail: testEmailSchema.safeParse({ to: address }).success,
});

describe('one address grammar', () => {
  it.each(ADDRESS_CASES.map((c) => [c.address, c.before.join(', ') || 'no side', c.now] as const))(
    '%j (before: %s) is taken everywhere now: %s',
    (address, _before, now) => {
      const answers = sides(address);
      expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((side) => [side, now])));
    },
  );

  it.each(ADDRESS_CASES.map((c) => [c.address, c.sender ?? c.now] as const))(
    '%j is an envelope sender: %s (machine names too, as cron jobs send)',
    (address, sender) => {
      expect(isEnvelopeSender(address)).toBe(sender);
    },
  );

  it('agrees with smtp-address-parser on Dot-string addresses at domain names', () => {
    const extra = [
      'a@b.cc',
      'a@x.123',
      'a@1.2.3.4',
      `a@${'b'.repeat(63)}.com`,
      'a b@x.test',
      'a@x y.test',
      'a',
      'a@',
      '@x.test',
      'a@b@c.test',
    ];
    for (const address of [...ADDRESS_CASES.map((c) => c.address), ...extra]) {
      const unseen = /[\p{Cc}\p{Cf}\p{Z}]/u.test(address.replace(/ /g, ''));
      expect({ address, takes: isAddress(address) }).toEqual({ address, takes: parserTakes(address) && !unseen });
    }
  });

  it('is narrower than RFC 5321 where relay365 chose to be', () => {
    for (const address of [
      '"john doe"@contoso.com',
      'user@[10.0.0.1]',
      'user@[IPv6:2001:db8::1]',
      'a\u200b@contoso.com',
      'a\u00a0b@contoso.com',
    ]) {
      expect({
        address,
        parser: (() => {
          try {
            parse(address);
            return true;
          } catch {
            return false;
          }
        })(),
        ours: isAddress(address),
      }).toEqual({
        address,
        parser: true,
        ours: false,
      });
    }
  });

  it('refuses an address longer than a path may be (254 octets)', () => {
    const domain = `${'d'.repeat(60)}.${'e'.repeat(60)}.com`;
    const local = 254 - 1 - domain.length;
    expect(isAddress(`${'x'.repeat(local)}@${domain}`)).toBe(true);
    expect(isAddress(`${'x'.repeat(local + 1)}@${domain}`)).toBe(false);
    // Octets, not characters: each ü takes two.
    expect(isAddress(`${'ü'.repeat(local / 2)}@${domain}`)).toBe(true);
    expect(isAddress(`${'ü'.repeat(local / 2 + 1)}@${domain}`)).toBe(false);
  });

  it('says what an @domain entry is', () => {
    expect(['@contoso.com', '@bücher.example', '@Sub.Contoso.Com'].map(isDomainEntry)).toEqual([true, true, true]);
    expect(['@b', '@b_c.example', '@[10.0.0.1]', 'a@contoso.com', 'contoso.com', '@contoso.com.'].map(isDomainEntry)).toEqual(
      Array(6).fill(false),
    );
  });

  it('reads a typed address trimmed and answers with the caller’s message', () => {
    const schema = addressSchema('Enter an email address such as admin@contoso.com.');
    expect(schema.parse('  ops@contoso.com\n')).toBe('ops@contoso.com');
    expect(schema.safeParse('ops@contoso').error?.issues[0]?.message).toBe('Enter an email address such as admin@contoso.com.');
    expect(schema.safeParse(42).error?.issues[0]?.message).toBe('Enter an email address such as admin@contoso.com.');
  });
});

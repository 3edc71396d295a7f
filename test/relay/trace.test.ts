/** Queue IDs: time-ordered, upper-case base 36 and hex, unique across refills of the random pool. */
import { describe, expect, it } from 'vitest';
import { newQueueId, randomHex } from '../../src/relay/trace.js';

describe('queue IDs', () => {
  it('starts with the time and ends with 48 random bits, and never repeats across many refills of the pool', () => {
    const at = Date.UTC(2026, 11, 6);
    const ids = Array.from({ length: 5000 }, () => newQueueId(at));
    for (const id of ids) expect(id).toMatch(new RegExp(`^${at.toString(36).toUpperCase()}[0-9A-F]{12}$`));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives random bytes of any length as hex, also across the end of the pool', () => {
    const seen = Array.from({ length: 1000 }, (_, i) => randomHex(1 + (i % 17)));
    seen.forEach((hex, i) => expect(hex).toMatch(new RegExp(`^[0-9a-f]{${2 * (1 + (i % 17))}}$`)));
    expect(new Set(seen.filter((hex) => hex.length === 34)).size).toBe(seen.filter((hex) => hex.length === 34).length);
  });
});

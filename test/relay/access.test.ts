import { describe, expect, it } from 'vitest';
import { mayRelay } from '../../src/relay/access.js';

describe('mayRelay', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.5', false],
    ['192.168.1.20', false],
    ['::ffff:192.168.1.20', false],
    ['2001:db8::1', false],
    ['', false],
  ])('%s may relay: %s', (address, allowed) => {
    expect(mayRelay(address)).toBe(allowed);
  });
});

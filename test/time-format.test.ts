import { describe, expect, it } from 'vitest';
import { formatTime, formatTimeOrNever } from '../src/time-format.js';

describe('formatTime', () => {
  it('writes a time as ISO 8601 in UTC to the second, the same for milliseconds and a Date', () => {
    expect(formatTime(Date.parse('2026-12-06T17:31:05.987Z'))).toBe('2026-12-06 17:31:05 UTC');
    expect(formatTime(new Date('2035-01-01T00:00:00Z'))).toBe('2035-01-01 00:00:00 UTC');
  });

  it('says never for a time that has not come', () => {
    expect(formatTimeOrNever(null)).toBe('never');
    expect(formatTimeOrNever(0)).toBe('1970-01-01 00:00:00 UTC');
  });
});

import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSecretBox, loadSecretKey } from '../../src/store/secret-box.js';

describe('secret box', () => {
  it('round-trips a value and never stores it in the clear', () => {
    const box = createSecretBox(Buffer.alloc(32, 7));
    const sealed = box.seal('client-secret-value');
    expect(sealed.includes(Buffer.from('client-secret-value'))).toBe(false);
    expect(box.open(sealed)).toBe('client-secret-value');
  });

  it('refuses a value sealed with another key or altered', () => {
    const sealed = createSecretBox(Buffer.alloc(32, 1)).seal('x');
    expect(() => createSecretBox(Buffer.alloc(32, 2)).open(sealed)).toThrow(/RELAY365_SECRET_KEY/);
    sealed.writeUInt8(sealed.readUInt8(sealed.length - 1) ^ 1, sealed.length - 1);
    expect(() => createSecretBox(Buffer.alloc(32, 1)).open(sealed)).toThrow();
  });

  it('generates data/secret.key once, mode 0600', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay365-key-'));
    const first = loadSecretKey(dir, null);
    const second = loadSecretKey(dir, null);
    expect(first.equals(second)).toBe(true);
    expect(statSync(path.join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'secret.key'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('uses RELAY365_SECRET_KEY when given', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay365-key-'));
    expect(loadSecretKey(dir, 'ab'.repeat(32)).toString('hex')).toBe('ab'.repeat(32));
  });
});

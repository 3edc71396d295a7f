/**
 * Telling a wrong key from the right one: by the check value sealed with the
 * first key, or, in a database from before it, by any sealed secret.
 * SQLite-specific: the check works on the SQLite handle and reads the database
 * file itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { holdsSealedValues, recordKeyCheck, testSecretKey, testSecretKeyOf } from '../../src/store/key-check.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { plainServer } from '../helpers/fixture.js';

const RIGHT = createSecretBox(Buffer.from('ab'.repeat(32), 'hex'));
const WRONG = createSecretBox(Buffer.from('cd'.repeat(32), 'hex'));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-key-check-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('key check', () => {
  it('accepts any key while nothing is sealed', async () => {
    const store = createStore(dir, RIGHT);
    expect(testSecretKey(store.db, WRONG)).toBe('untested');
    expect(holdsSealedValues(path.join(dir, 'relay365.db'))).toBe(false);
    await store.close();
  });

  it('tells the wrong key from the right one by the check value alone', async () => {
    const store = createStore(dir, RIGHT);
    recordKeyCheck(store.db, RIGHT);
    expect(testSecretKey(store.db, RIGHT)).toBe('opens');
    expect(testSecretKey(store.db, WRONG)).toBe('wrong');
    await store.close();
    expect(holdsSealedValues(path.join(dir, 'relay365.db'))).toBe(true);
    expect(testSecretKeyOf(path.join(dir, 'relay365.db'), WRONG)).toBe('wrong');
  });

  it('tells them apart by a sealed secret in a database without a check value', async () => {
    const store = createStore(dir, RIGHT);
    await store.servers.add(plainServer({ method: 'password', username: 'relay', password: 'a password of some length' }));
    expect(testSecretKey(store.db, RIGHT)).toBe('opens');
    expect(testSecretKey(store.db, WRONG)).toBe('wrong');
    await store.close();
  });

  it('keeps the first check value when another key records one', async () => {
    const store = createStore(dir, RIGHT);
    recordKeyCheck(store.db, RIGHT);
    recordKeyCheck(store.db, WRONG);
    expect(testSecretKey(store.db, RIGHT)).toBe('opens');
    await store.close();
  });
});

/**
 * Telling a wrong key from the right one: by the check value sealed with the
 * first key, or, in a database from before it, by any sealed secret.
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
  it('accepts any key while nothing is sealed', () => {
    const store = createStore(dir, RIGHT);
    expect(testSecretKey(store.db, WRONG)).toBe('untested');
    expect(holdsSealedValues(path.join(dir, 'relay365.db'))).toBe(false);
    void store.close();
  });

  it('tells the wrong key from the right one by the check value alone', () => {
    const store = createStore(dir, RIGHT);
    recordKeyCheck(store.db, RIGHT);
    expect(testSecretKey(store.db, RIGHT)).toBe('opens');
    expect(testSecretKey(store.db, WRONG)).toBe('wrong');
    void store.close();
    expect(holdsSealedValues(path.join(dir, 'relay365.db'))).toBe(true);
    expect(testSecretKeyOf(path.join(dir, 'relay365.db'), WRONG)).toBe('wrong');
  });

  it('tells them apart by a sealed secret in a database without a check value', () => {
    const store = createStore(dir, RIGHT);
    store.sync.servers.add(plainServer({ method: 'password', username: 'relay', password: 'a password of some length' }));
    expect(testSecretKey(store.db, RIGHT)).toBe('opens');
    expect(testSecretKey(store.db, WRONG)).toBe('wrong');
    void store.close();
  });

  it('keeps the first check value when another key records one', () => {
    const store = createStore(dir, RIGHT);
    recordKeyCheck(store.db, RIGHT);
    recordKeyCheck(store.db, WRONG);
    expect(testSecretKey(store.db, RIGHT)).toBe('opens');
    void store.close();
  });
});

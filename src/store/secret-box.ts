/**
 * Encryption at rest for client secrets, passwords and the MSAL token cache:
 * AES-256-GCM with a random 96-bit nonce per value. The key comes from
 * RELAY365_SECRET_KEY or from `{dataDir}/secret.key`, generated once (mode 0600)
 * by the commands that set a data folder up (`start`, `init`); the others only read it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dataFolder } from '../data-folder.js';

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretBox {
  seal(plain: string): Buffer;
  /** Throws when the value was sealed with another key or was altered. */
  open(sealed: Buffer): string;
}

/** Derives the 32-byte key: 64 hex digits are used as is, any other text is hashed. */
function keyFromText(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  return createHash('sha256').update(trimmed, 'utf8').digest();
}

/** Returns the configured key, or the one in `{dataDir}/secret.key`; null when there is neither. Never writes a key. */
export function readSecretKey(dataDir: string, configured: string | null): Buffer | null {
  if (configured !== null) return keyFromText(configured);
  const file = dataFolder(dataDir).secretKey;
  return existsSync(file) ? keyFromText(readFileSync(file, 'utf8')) : null;
}

/** Returns the configured key, or reads (creating it on first use) `{dataDir}/secret.key`. */
export function loadSecretKey(dataDir: string, configured: string | null): Buffer {
  if (configured !== null) return keyFromText(configured);
  const file = dataFolder(dataDir).secretKey;
  if (!existsSync(file)) {
    // 'wx' fails if another process created it meanwhile; then we read theirs.
    try {
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return keyFromText(readFileSync(file, 'utf8'));
}

/** Creates a SecretBox bound to a 32-byte key. */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  return {
    seal(plain) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]);
    },
    open(sealed) {
      if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
        throw new Error('encrypted value has an unknown format');
      }
      const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
      const tag = sealed.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('encrypted value cannot be read with this secret key (was RELAY365_SECRET_KEY changed?)');
      }
    },
  };
}

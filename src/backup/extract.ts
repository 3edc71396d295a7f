/**
 * Reads a backup archive into a staging folder, trusting nothing in it: the
 * manifest must come first; every further entry must be a plain file with a
 * name relay365 keeps in its data folder (no absolute path, no `..`, no
 * link of any kind), listed in the manifest once, with the size and SHA-256
 * the manifest gives. Sizes are compared before a byte is written, no file
 * grows past its manifest size, and node-tar's decompression-ratio guard stays
 * on, so a small archive cannot fill the disk. The first problem stops the
 * reading, and the archive is refused as a whole.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { BackupError } from './backup-error.js';
import { SPOOL_DIR } from '../data-folder.js';
import { isDataFileName, MANIFEST_FILE } from './layout.js';
import { parseManifest, type Manifest, type ManifestFile } from './manifest.js';

/** A manifest larger than this is not one relay365 wrote (an earlier version's lists about 150 bytes per waiting message). */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
/**
 * The archive is read in small pieces: node-tar counts compressed bytes as they
 * are fed in, so the ratio guard stops a bomb after at most about a thousand
 * times this much output.
 */
const READ_CHUNK_BYTES = 16 * 1024;

/** Why an entry cannot be restored, or null when its name and type are acceptable. */
function entryProblem(entry: ReadEntry): string | null {
  const name = JSON.stringify(entry.path);
  if (path.posix.isAbsolute(entry.path) || /^[A-Za-z]:/.test(entry.path)) return `entry ${name} has an absolute path`;
  if (entry.path.split(/[\\/]/).includes('..')) return `entry ${name} points outside the data folder (..)`;
  if (entry.type !== 'File') return `entry ${name} is a ${entry.type}, not a plain file`;
  if (entry.path !== MANIFEST_FILE && !isDataFileName(entry.path)) return `entry ${name} is not a file relay365 keeps in its data folder`;
  return null;
}

/** Why the parser gave up, in the admin's words; node-tar's own message is kept in brackets. */
function parseFailure(err: Error): string {
  // node-tar aborts with this message when its maxDecompressionRatio (1000 by default) is exceeded.
  if (/decompression ratio/.test(err.message))
    return `it unpacks to more than a thousand times its size, which no relay365 backup does (${err.message})`;
  return `it is not a readable relay365 backup (${err.message})`;
}

/** Extracts `archive` into the empty folder `dir` and returns its manifest; throws BackupError when the archive fails a check. */
export async function extractArchive(archive: string, dir: string): Promise<Manifest> {
  // Set inside the parser's callbacks (the casts keep TypeScript from narrowing them to null).
  let manifest = null as Manifest | null;
  let problem = null as string | null;
  const expected = new Map<string, ManifestFile>();
  const seen = new Set<string>();
  const writes: Promise<void>[] = [];
  const outs: WriteStream[] = [];
  // maxDecompressionRatio is left at node-tar's default (1000): gzip of real mail and SQLite pages stays far below it.
  const parser = new Parser({ strict: true, onReadEntry: (entry) => onEntry(entry) });
  const input = createReadStream(archive, { highWaterMark: READ_CHUNK_BYTES });
  let stopReading = (): void => undefined;
  const refuse = (why: string): void => {
    if (problem !== null) return;
    problem = why;
    stopReading();
  };

  const readManifest = (entry: ReadEntry): void => {
    if (entry.size > MAX_MANIFEST_BYTES) return refuse('its manifest is too large');
    const chunks: Buffer[] = [];
    entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    entry.on('end', () => {
      try {
        manifest = parseManifest(Buffer.concat(chunks).toString('utf8'));
        for (const file of manifest.files) expected.set(file.path, file);
      } catch (err) {
        refuse((err as Error).message);
      }
    });
  };

  const writeFile = (entry: ReadEntry, want: ManifestFile): void => {
    // The tar header says how much follows: a size the manifest does not give is refused before a byte is written.
    if (entry.size !== want.size) {
      refuse(`${entry.path} is ${entry.size} bytes in the archive but ${want.size} in its manifest: the archive was changed or damaged`);
      return void entry.resume();
    }
    if (entry.path.startsWith(`${SPOOL_DIR}/`)) mkdirSync(path.join(dir, SPOOL_DIR), { recursive: true, mode: 0o700 });
    const file = path.join(dir, entry.path);
    const out = createWriteStream(file, { flags: 'wx', mode: 0o600, flush: true });
    outs.push(out);
    const hash = createHash('sha256');
    let size = 0;
    let overgrown = false;
    entry.on('data', (chunk: Buffer) => {
      if (overgrown) return;
      // node-tar ends an entry at its header's size; this keeps the manifest's limit should it ever not.
      if (size + chunk.length > want.size) {
        overgrown = true;
        out.destroy();
        refuse(`${entry.path} grows past its size in the manifest (${want.size} bytes): the archive was changed or damaged`);
        return;
      }
      hash.update(chunk);
      size += chunk.length;
      if (!out.write(chunk)) {
        entry.pause();
        out.once('drain', () => entry.resume());
      }
    });
    entry.on('end', () => out.end());
    writes.push(
      new Promise<void>((resolve, reject) => {
        out.on('error', reject);
        out.on('close', resolve);
      }).then(
        () => {
          if (overgrown) return rm(file, { force: true });
          if (size !== want.size || hash.digest('hex') !== want.sha256)
            refuse(`${entry.path} does not match its checksum in the manifest: the archive was changed or damaged`);
        },
        // A full disk (ENOSPC) or a file size limit (EFBIG) refuses the restore; it must not end the process.
        (err: NodeJS.ErrnoException) => refuse(`${entry.path} cannot be written (${err.code ?? err.message})`),
      ),
    );
  };

  const onEntry = (entry: ReadEntry): void => {
    const why = problem === null ? entryProblem(entry) : null;
    if (why !== null) refuse(why);
    if (problem !== null) return void entry.resume();
    if (manifest === null && seen.size === 0) {
      seen.add(entry.path);
      if (entry.path !== MANIFEST_FILE) refuse(`it does not start with ${MANIFEST_FILE}: not a relay365 backup`);
      else readManifest(entry);
      return void entry.resume();
    }
    const want = expected.get(entry.path);
    if (want === undefined || seen.has(entry.path)) {
      refuse(`entry ${JSON.stringify(entry.path)} is ${want === undefined ? 'not listed in the manifest' : 'in the archive twice'}`);
      return void entry.resume();
    }
    seen.add(entry.path);
    writeFile(entry, want);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      // A refusal stops reading at once: nothing after the first problem is decompressed or written.
      stopReading = () => {
        input.destroy();
        parser.abort(new Error('refused'));
        resolve();
      };
      input.on('error', reject);
      parser.on('error', reject);
      parser.on('end', resolve);
      input.pipe(parser);
    });
    if (problem === null) await Promise.all(writes);
  } catch (err) {
    problem ??= parseFailure(err as Error);
  }
  if (problem !== null) {
    // A refused or broken archive may leave an entry unfinished: close what is open.
    for (const out of outs) out.destroy();
    await Promise.allSettled(writes);
    throw new BackupError(`${archive} was refused: ${problem}`);
  }
  if (manifest === null) throw new BackupError(`${archive} is not a relay365 backup: it has no ${MANIFEST_FILE}`);
  const missing = [...expected.keys()].filter((name) => !seen.has(name));
  if (missing.length > 0) throw new BackupError(`${archive} was refused: ${missing[0]} is in the manifest but not in the archive`);
  return manifest;
}

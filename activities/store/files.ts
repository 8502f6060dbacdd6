/**
 * File primitives of the directory backends (envelopes and snapshots): per-directory serialisation within the process,
 * atomic file replacement, and directory fsync.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from './errors';
import { compare, isEnvelopeId } from './identity';

/** Per-connection-directory promise chains, shared by every instance in the process. */
const chains = new Map<string, Promise<void>>();

export async function serialised<T>(lockKey: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(lockKey) ?? Promise.resolve();
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => done);
  chains.set(lockKey, tail);
  try {
    await previous;
    return await fn();
  } finally {
    release();
    if (chains.get(lockKey) === tail) chains.delete(lockKey);
  }
}

export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms cannot open or fsync a directory; the rename is still atomic there.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'ENOTSUP'].includes(errnoCode(err) ?? '')) throw err;
  } finally {
    await handle?.close();
  }
}

/** Temp file in the same directory, fsync, rename over the target. Never leaves the temp file behind. */
export async function writeFileAtomic(dir: string, name: string, data: string | Buffer): Promise<void> {
  const temp = path.join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temp, 'wx', 0o644);
    await handle.writeFile(data, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, path.join(dir, name));
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** `<envelopeId>.json` names of a directory listing as IDs, in ID order; anything else is skipped. */
export function idsOfJsonFiles(names: string[]): string[] {
  return names
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .filter(isEnvelopeId)
    .sort(compare);
}

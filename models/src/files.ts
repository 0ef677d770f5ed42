/** File helpers for the model cache: streaming sha256, atomic writes, and a per-process hash memo. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, rm, stat, writeFile } from 'node:fs/promises';

export function sha256Bytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Hashing a 67 MB model takes ~0.1 s: remember results while size and mtime are unchanged. */
const memo = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/** sha256 of a file, or undefined when it does not exist. */
export async function cachedSha256(path: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const known = memo.get(path);
  if (known && known.size === info.size && known.mtimeMs === info.mtimeMs) return known.sha256;
  const sha256 = await sha256File(path);
  memo.set(path, { size: info.size, mtimeMs: info.mtimeMs, sha256 });
  return sha256;
}

/** A unique sibling temp name: same directory, so the final rename is atomic. */
export function tempPathFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Readers never see a half-written model: write a temp file, then rename over the target. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

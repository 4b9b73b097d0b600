// Content addressing for images: every blob is named by the sha256 of its bytes, written
// sha256:<hex> as a digest, and as <hex> (or <hex>.json) as a file name.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const sha256 = () => crypto.createHash('sha256');
export const SHA256_RE = /^sha256:[0-9a-f]{64}$/;
export const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** A sha256 digest as images write it. */
export type Digest = `sha256:${string}`;

/** The hex a sha256 reference names: a digest (sha256:<hex>), or a blob's file name as the
 * two image formats write it (<hex>, <hex>.json, blobs/sha256/<hex>, with or without a
 * directory before it). Undefined when it names none; a Digest (one this code computed)
 * always names one. */
export function hexOf(ref: Digest): string;
export function hexOf(ref: string): string | undefined;
export function hexOf(ref: string): string | undefined {
  const m = /^sha256:([0-9a-f]{64})$|(?:^|\/)(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(ref);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** A pass-through that hashes what flows by. */
export const tap = (hash: crypto.Hash) =>
  new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });

export async function hashFile(file: string): Promise<Digest> {
  const h = sha256();
  await pipeline(fs.createReadStream(file), tap(h), new PassThrough().resume());
  return `sha256:${h.digest('hex')}`;
}

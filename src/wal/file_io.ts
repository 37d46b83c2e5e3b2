// Owns the WAL's low-level file operations: positional full writes, zero-filling, directory fsync.
import { type FileHandle, open } from "node:fs/promises";
import { ZERO_CHUNK_BYTES } from "./limits.js";

/** Writes all of buf at position (a positional write may be short; loop until done). */
export async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`short write at ${position + done}`);
    done += bytesWritten;
  }
}

const ZEROS = Buffer.alloc(ZERO_CHUNK_BYTES);

/** Writes zeros over [from, to): real blocks, unlike a sparse truncate(), so later fdatasyncs stay cheap. */
export async function writeZeros(fh: FileHandle, from: number, to: number): Promise<void> {
  for (let off = from; off < to; off += ZEROS.length) {
    await writeFully(fh, ZEROS.subarray(0, Math.min(ZEROS.length, to - off)), off);
  }
}

/** Makes the file's size `size` with zeros beyond `keep`; preallocates them when asked. */
export async function resetTail(
  fh: FileHandle,
  keep: number,
  size: number,
  preallocate: boolean,
): Promise<void> {
  await fh.truncate(keep);
  if (preallocate && size > keep) await writeZeros(fh, keep, size);
}

/** fsync a directory so a create, rename or unlink in it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// Owns how a member explains the failure that stops it: a full disk is named as such (with the data dir), whichever
// layer noticed it (the WAL sees ENOSPC; the backend library may only report EIO).
import { statfs } from "node:fs/promises";

/** Free space below this on the data dir's file system counts as a full disk. */
export const FULL_DISK_BYTES = 1024 * 1024;

export interface FatalExplanation {
  /** The error as logged: etcd's `write <path>: no space left on device` for a full disk, else the error's text. */
  error: string;
  /** Whether the disk was found full. */
  diskFull: boolean;
}

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Explains err; `freeBytes` is injectable for tests. */
export async function explainFatal(
  err: unknown,
  dataDir: string,
  freeBytes: (dir: string) => Promise<number> = diskFree,
): Promise<FatalExplanation> {
  const text = errText(err);
  const code = (err as { code?: unknown } | null)?.code;
  let full = code === "ENOSPC" || /no space left/i.test(text);
  if (!full && (code === "EIO" || /input\/output error/i.test(text))) {
    full = await freeBytes(dataDir).then(
      (n) => n < FULL_DISK_BYTES,
      () => false,
    );
  }
  if (!full) return { error: String(err), diskFull: false };
  return { error: `write ${dataDir}: no space left on device (${text})`, diskFull: true };
}

async function diskFree(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

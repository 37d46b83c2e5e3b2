// Owns segment file names: "<seq>-<index>.wal" in 16 hex digits each (etcd's %016x-%016x.wal), and listing them.
import { readdir } from "node:fs/promises";

export interface SegmentName {
  /** Position of the segment in the log, consecutive from the oldest kept segment. */
  seq: bigint;
  /**
   * The first live index the segment holds: every live entry at or above it was written in this segment or
   * a later one, and every entry below it was live when the segment was cut.
   */
  index: bigint;
  file: string;
}

const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
export const TMP_SUFFIX = ".tmp";

export function segmentFileName(seq: bigint, index: bigint): string {
  return `${seq.toString(16).padStart(16, "0")}-${index.toString(16).padStart(16, "0")}.wal`;
}

export function parseSegmentName(file: string): SegmentName | undefined {
  const m = NAME.exec(file);
  if (m === null) return undefined;
  return { seq: BigInt(`0x${m[1]}`), index: BigInt(`0x${m[2]}`), file };
}

/** Segments in dir sorted by seq, and the leftover files a crash can leave (preallocated .tmp files). */
export async function listSegments(dir: string): Promise<{ segments: SegmentName[]; tmpFiles: string[] }> {
  const files = await readdir(dir);
  const segments: SegmentName[] = [];
  const tmpFiles: string[] = [];
  for (const f of files) {
    const s = parseSegmentName(f);
    if (s !== undefined) segments.push(s);
    else if (f.endsWith(TMP_SUFFIX)) tmpFiles.push(f);
  }
  segments.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  return { segments, tmpFiles };
}

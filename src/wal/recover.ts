// Owns open-time recovery: read every segment, verify every CRC and the links between segments, replay the
// records, and repair a torn tail of the last segment so appends continue cleanly.
import { open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { decodeCrc, PayloadError } from "./codec.js";
import { encodeSegmentHeader, HEADER_TYPES } from "./encode.js";
import { WalCorruptError, WalError } from "./errors.js";
import { fsyncDir, resetTail, writeFully } from "./file_io.js";
import type { WalLimits } from "./limits.js";
import { LiveLogError } from "./live_log.js";
import { decodeRecord, isZero } from "./record.js";
import { Replay, type WalState } from "./replay.js";
import { listSegments, type SegmentName } from "./segment_name.js";

/** Where appends continue in the last segment. */
export interface Tail {
  offset: number;
  crc: number;
  /** End of the segment's header records: a cut never leaves a segment holding only a header. */
  headerEnd: number;
}

export interface Recovered {
  state: WalState;
  segments: SegmentName[];
  tail: Tail;
  /** True when the last segment had a torn or damaged tail that was cut off (or a header rewritten). */
  repaired: boolean;
}

interface Scan {
  /** End of the last valid record. */
  end: number;
  crc: number;
  /** End of the header records, or 0 if the scan stopped inside the header. */
  headerEnd: number;
  /** Why the scan stopped early (last segment only; elsewhere it throws). */
  torn?: string;
}

export async function recover(dir: string, limits: WalLimits): Promise<Recovered> {
  const { segments, tmpFiles } = await listSegments(dir);
  if (segments.length === 0) throw new WalError("WAL_NOT_FOUND", `wal: no segments in ${dir}`);
  for (const f of tmpFiles) await unlink(join(dir, f)); // preallocated, never renamed: nothing in them
  for (let i = 1; i < segments.length; i++) {
    const [a, b] = [segments[i - 1]!, segments[i]!];
    if (b.seq !== a.seq + 1n) throw new WalCorruptError(b.file, 0, `segment sequence jumps from ${a.file}`);
  }
  const replay = new Replay(segments[0]!.index);
  let link: number | undefined; // the crc the next segment must start from; unknown for the oldest kept one
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    const buf = await readFile(join(dir, seg.file));
    const scan = scanSegment(buf, seg.file, replay, link, last, limits.maxRecordBytes);
    if (!last) {
      link = scan.crc;
      continue;
    }
    if (scan.headerEnd === 0 && link === undefined) {
      // Its header is the only copy of the metadata and the state before it: nothing to rebuild it from.
      const why = scan.torn ?? "short";
      throw new WalCorruptError(seg.file, scan.end, `header of the oldest segment is damaged: ${why}`);
    }
    const state = finish(replay, seg.file, scan.end); // validate everything before changing any file
    const tail = await repairTail(dir, seg, buf, scan, replay, link, limits);
    return { state, segments, tail, repaired: scan.torn !== undefined || scan.headerEnd === 0 };
  }
  throw new Error("unreachable");
}

function scanSegment(
  buf: Uint8Array,
  file: string,
  replay: Replay,
  link: number | undefined,
  last: boolean,
  maxRecordBytes: number,
): Scan {
  let off = 0;
  let seed: number | undefined;
  let headerEnd = 0;
  for (let n = 0; ; n++) {
    const d = decodeRecord(buf, off, seed, maxRecordBytes);
    if (d.kind === "end") {
      if (n === 0 && !last) throw new WalCorruptError(file, off, "segment is empty");
      return { end: off, crc: seed ?? 0, headerEnd };
    }
    if (d.kind === "bad") {
      if (last) return { end: off, crc: seed ?? 0, headerEnd, torn: d.reason };
      throw new WalCorruptError(file, off, d.reason);
    }
    const expected = HEADER_TYPES[n];
    if (expected !== undefined && d.type !== expected) {
      throw new WalCorruptError(file, off, `header record ${n} has type ${d.type}, expected ${expected}`);
    }
    if (n === 0) {
      const prev = decodeCrc(d.payload);
      if (link !== undefined && prev !== link) {
        throw new WalCorruptError(file, off, "segment does not continue the previous segment's crc chain");
      }
    } else {
      try {
        replay.apply(d.type, d.payload);
      } catch (err) {
        if (err instanceof PayloadError || err instanceof LiveLogError) {
          throw new WalCorruptError(file, off, err.message);
        }
        throw err;
      }
    }
    seed = d.crc;
    off = d.end;
    if (n === HEADER_TYPES.length - 1) headerEnd = off;
  }
}

/**
 * Makes the last segment end exactly after its last valid record, zeros after it, so a later open cannot
 * mistake stale bytes for records. A header cut short (only possible by damage after its fsync) is rewritten
 * from the state it restates: the state at the end of the previous segment (link is that segment's last crc).
 */
async function repairTail(
  dir: string,
  seg: SegmentName,
  buf: Uint8Array,
  scan: Scan,
  replay: Replay,
  link: number | undefined,
  limits: WalLimits,
): Promise<Tail> {
  const headerTorn = scan.headerEnd === 0;
  const size = Math.max(limits.segmentBytes, buf.length);
  const clean =
    !headerTorn && isZero(buf, scan.end, buf.length) && (buf.length >= size || !limits.preallocate);
  if (clean) return { offset: scan.end, crc: scan.crc, headerEnd: scan.headerEnd };
  const fh = await open(join(dir, seg.file), "r+");
  try {
    let tail: Tail = { offset: scan.end, crc: scan.crc, headerEnd: scan.headerEnd };
    if (headerTorn) {
      const h = encodeSegmentHeader(link!, replay.metadata!, replay.hardState, replay.snapshot);
      await resetTail(fh, 0, size, limits.preallocate);
      await writeFully(fh, h.bytes, 0);
      tail = { offset: h.bytes.length, crc: h.crc, headerEnd: h.bytes.length };
    } else {
      await resetTail(fh, scan.end, size, limits.preallocate);
    }
    await fh.datasync();
    await fsyncDir(dir);
    return tail;
  } finally {
    await fh.close();
  }
}

function finish(replay: Replay, file: string, offset: number): WalState {
  try {
    return replay.finish();
  } catch (err) {
    if (err instanceof LiveLogError) throw new WalCorruptError(file, offset, err.message);
    throw err;
  }
}

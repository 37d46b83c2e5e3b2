// Owns the simulated application: a hash chain over applied entries plus the count of applied proposals.
import { assert } from "../assert.js";
import type { Entry } from "../types.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A client proposal's payload: "p<id>". */
export function proposalData(id: number): Uint8Array {
  return enc.encode(`p${id}`);
}

/** The proposal id in a Normal entry's data, or undefined (leader no-op, other payload). */
export function proposalId(data: Uint8Array): number | undefined {
  if (data.length < 2 || data[0] !== 0x70) return undefined;
  return Number(dec.decode(data.subarray(1)));
}

export function readCtx(id: number): Uint8Array {
  return enc.encode(`r${id}`);
}

export function readId(ctx: Uint8Array): number | undefined {
  if (ctx.length < 2 || ctx[0] !== 0x72) return undefined;
  return Number(dec.decode(ctx.subarray(1)));
}

/** 32-bit FNV-1a over bytes, continuing from h. */
export function fnv(h: number, data: Uint8Array): number {
  let x = h >>> 0;
  for (let i = 0; i < data.length; i++) x = Math.imul(x ^ data[i]!, 0x01000193) >>> 0;
  return x;
}

export const FNV_SEED = 0x811c9dc5;

/** Identity of an entry's payload (type and data), for log-matching and apply checks. */
export function entryHash(e: Entry): number {
  return fnv(e.type === "ConfChange" ? 0x2545f491 : FNV_SEED, e.data);
}

/**
 * The state after applying entries 1..applied: two 32-bit hash lanes chained over every entry's
 * (index, type, data). Two nodes at the same applied index must hold the same state.
 */
export class StateMachine {
  applied = 0n;
  h1 = FNV_SEED;
  h2 = 0x9e3779b9;
  proposals = 0;

  apply(e: Entry): void {
    assert(e.index === this.applied + 1n, () => `apply index ${e.index} after applied ${this.applied}`);
    const eh = entryHash(e);
    this.h1 = Math.imul(this.h1 ^ eh, 0x01000193) >>> 0;
    this.h2 = (Math.imul(this.h2 ^ (eh >>> 7), 0x85ebca6b) + Number(e.index & 0xffffn)) >>> 0;
    if (e.type === "Normal" && proposalId(e.data) !== undefined) this.proposals++;
    this.applied = e.index;
  }

  /** A printable digest of the whole state (applied index included). */
  digest(): string {
    return `${this.applied}:${this.h1.toString(16)}.${this.h2.toString(16)}:${this.proposals}`;
  }

  encode(): Uint8Array {
    return enc.encode(this.digest());
  }

  static decode(data: Uint8Array): StateMachine {
    const sm = new StateMachine();
    if (data.length === 0) return sm;
    const [applied, hashes, proposals] = dec.decode(data).split(":");
    const [h1, h2] = (hashes ?? "").split(".");
    assert(
      applied !== undefined && h1 && h2 && proposals,
      () => `bad state machine snapshot ${dec.decode(data)}`,
    );
    sm.applied = BigInt(applied);
    sm.h1 = Number.parseInt(h1, 16);
    sm.h2 = Number.parseInt(h2, 16);
    sm.proposals = Number(proposals);
    return sm;
  }
}

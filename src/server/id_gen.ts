// Owns request-ID generation: unique per member across restarts (member prefix + time + counter), like etcd's idutil.

const SUFFIX_BITS = 48n;
const SUFFIX_MASK = (1n << SUFFIX_BITS) - 1n;

export class IdGenerator {
  private readonly prefix: bigint;
  private suffix: bigint;

  constructor(memberId: bigint, nowMs: number) {
    // The low 16 bits of the member ID keep members apart; a millisecond clock in the next 40 bits keeps
    // restarts apart; the low 8 bits count within a millisecond and carry into the clock bits.
    this.prefix = (memberId & 0xffffn) << SUFFIX_BITS;
    this.suffix = (BigInt(nowMs) << 8n) & SUFFIX_MASK;
  }

  next(): bigint {
    this.suffix = (this.suffix + 1n) & SUFFIX_MASK;
    return this.prefix | this.suffix;
  }
}

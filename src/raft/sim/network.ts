// Owns the simulated network's faults: per-message drop, duplication and delay (hence reordering), and partitions.
import type { Rand } from "../rand.js";
import type { NodeId } from "../types.js";

export interface NetFaults {
  /** Probability that one send is lost. */
  dropRate: number;
  /** Probability that one send is delivered twice (each copy with its own delay). */
  dupRate: number;
  /** Every copy takes minDelay + int(jitter) virtual time units. */
  minDelay: number;
  jitter: number;
  /** Probability that a copy is slow: it takes up to slowDelay more units, so later sends overtake it. */
  slowRate: number;
  slowDelay: number;
}

export const RELIABLE: NetFaults = {
  dropRate: 0,
  dupRate: 0,
  minDelay: 1,
  jitter: 3,
  slowRate: 0,
  slowDelay: 0,
};

export class Network {
  faults: NetFaults;
  private readonly rand: Rand;
  /** Directed links that are cut, as "from>to". */
  private readonly cut = new Set<string>();

  constructor(rand: Rand, faults: NetFaults) {
    this.rand = rand;
    this.faults = faults;
  }

  /** Cut every link from a node in `a` to a node in `b`, and back unless oneWay. */
  partition(a: readonly NodeId[], b: readonly NodeId[], oneWay = false): void {
    for (const x of a) {
      for (const y of b) {
        if (x === y) continue;
        this.cut.add(key(x, y));
        if (!oneWay) this.cut.add(key(y, x));
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }

  canSend(from: NodeId, to: NodeId): boolean {
    return this.cut.size === 0 || !this.cut.has(key(from, to));
  }

  /** The delays of the copies of one message sent now from `from` to `to`; empty when it is lost. */
  route(from: NodeId, to: NodeId): number[] {
    if (!this.canSend(from, to)) return [];
    const f = this.faults;
    if (f.dropRate > 0 && this.rand.chance(f.dropRate)) return [];
    const copies = f.dupRate > 0 && this.rand.chance(f.dupRate) ? 2 : 1;
    const delays: number[] = [];
    for (let i = 0; i < copies; i++) {
      let d = f.minDelay + (f.jitter > 0 ? this.rand.int(f.jitter) : 0);
      if (f.slowRate > 0 && this.rand.chance(f.slowRate)) d += this.rand.int(f.slowDelay + 1);
      delays.push(d);
    }
    return delays;
  }

  describe(): string {
    return this.cut.size === 0 ? "healed" : [...this.cut].sort().join(" ");
  }
}

function key(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

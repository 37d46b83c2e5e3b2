// Owns latency samples: exact percentiles (nearest rank over a sorted copy) and the p50/p90/p99/max metric rows.
import type { Metric } from "./types.js";

export class Samples {
  private buf = new Float64Array(1024);
  private sorted: Float64Array | undefined;
  count = 0;

  add(v: number): void {
    if (this.count === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.count++] = v;
    this.sorted = undefined;
  }

  /** Nearest-rank percentile, q in [0, 100]; NaN when empty. */
  percentile(q: number): number {
    if (this.count === 0) return Number.NaN;
    this.sorted ??= this.buf.slice(0, this.count).sort();
    const rank = Math.min(this.count, Math.max(1, Math.ceil((q / 100) * this.count)));
    return this.sorted[rank - 1]!;
  }

  /** A copy of the samples, in insertion order. */
  values(): Float64Array {
    return this.buf.slice(0, this.count);
  }

  max(): number {
    return this.percentile(100);
  }
}

/** `prefix p50/p90/p99/max` in ms (lower is better); `qs` picks which percentiles. */
export function latencyMetrics(prefix: string, s: Samples, qs: number[] = [50, 90, 99]): Metric[] {
  const rows: Metric[] = qs.map((q) => ({
    name: `${prefix} p${q}`,
    value: s.percentile(q),
    unit: "ms",
    better: "lower",
  }));
  rows.push({ name: `${prefix} max`, value: s.max(), unit: "ms", better: "lower" });
  return rows;
}

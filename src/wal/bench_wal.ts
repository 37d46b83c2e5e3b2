// Owns a micro-benchmark of the WAL hot path: save() latency and throughput, one fdatasync per call.
// Run: npm run build && node dist/wal/bench_wal.js [parent-dir]   (default: os.tmpdir(); results depend on the disk)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "../raft/types.js";
import { Wal } from "./wal.js";

const ENTRY_BYTES = 256;

async function run(label: string, calls: number, perCall: number): Promise<void> {
  const dir = await mkdtemp(join(process.argv[2] ?? tmpdir(), "etcd-ts-wal-bench-"));
  try {
    const wal = await Wal.create(join(dir, "wal"), new Uint8Array(16));
    const data = new Uint8Array(ENTRY_BYTES).fill(7);
    let index = 0n;
    const batch = (): Entry[] =>
      Array.from({ length: perCall }, () => ({ term: 1n, index: ++index, type: "Normal" as const, data }));
    for (let i = 0; i < 50; i++) await wal.save({ term: 1n, vote: 1n, commit: index }, batch()); // warm-up
    const lat: number[] = [];
    const start = performance.now();
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await wal.save({ term: 1n, vote: 1n, commit: index }, batch());
      lat.push(performance.now() - t);
    }
    const secs = (performance.now() - start) / 1000;
    await wal.close();
    lat.sort((a, b) => a - b);
    const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!.toFixed(3);
    console.log(
      `${label}: ${calls} calls x ${perCall} entries of ${ENTRY_BYTES} B: ` +
        `${(calls / secs).toFixed(0)} calls/s, ${((calls * perCall) / secs).toFixed(0)} entries/s, ` +
        `${((calls * perCall * ENTRY_BYTES) / secs / 1e6).toFixed(1)} MB/s payload, ` +
        `latency ms p50 ${pct(0.5)} p99 ${pct(0.99)} max ${pct(1)}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await run("single", 2000, 1);
await run("batched", 500, 64);
await run("large batch", 100, 1024);

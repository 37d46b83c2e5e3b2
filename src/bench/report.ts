// Owns the printed comparison: machine and version header, and one table with a column per server and the
// first/second ratio, with the metrics in the order the benchmark produced them.
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { dirname } from "node:path";
import { fmtLoad, type TargetResult } from "./runner.js";

export function machineHeader(etcdBin: string, etcdTsEntry: string): string[] {
  const etcdVersion = tryRun(etcdBin, ["--version"]).match(/etcd Version: (\S+)/)?.[1] ?? "unknown";
  const repo = dirname(etcdTsEntry);
  const commit = tryRun("git", ["-C", repo, "rev-parse", "--short", "HEAD"]).trim() || "unknown";
  const dirty = tryRun("git", ["-C", repo, "status", "--porcelain", "--", "src"]).trim()
    ? " (+ uncommitted)"
    : "";
  return [
    `date: ${new Date().toISOString()}`,
    `machine: nproc ${cpus().length} (${cpus()[0]?.model.trim() ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `node ${process.version}; etcd ${etcdVersion} (${etcdBin}); etcd-ts ${commit}${dirty} (${etcdTsEntry})`,
  ];
}

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { stdio: ["ignore", "pipe", "ignore"] }).toString();
  } catch {
    return "";
  }
}

/**
 * A Markdown table (readable as plain text): metric | unit | per server the median over rounds | the ratio of
 * the first two servers' medians | with several rounds, every round's value per server ("a / b / c").
 */
export function comparisonTable(results: TargetResult[]): string[] {
  const labels = [...new Set(results.map((r) => r.label))];
  const runs = labels.map((l) => results.filter((r) => r.label === l));
  const rounds = Math.max(...runs.map((r) => r.length));
  const ratio = labels.length === 2;
  const head = ["metric", "unit", ...labels.map((l) => (rounds > 1 ? `${l} median` : l))];
  if (ratio) head.push(`${labels[0]} / ${labels[1]}`);
  if (rounds > 1) head.push(...labels.map((l) => `${l}, each round`));
  const loads = runs.map((rs) =>
    rs.map((r) => (rounds > 1 ? r.loadBefore[0]!.toFixed(2) : fmtLoad(r.loadBefore))),
  );
  const loadRow = [
    rounds > 1 ? "load avg 1 m before" : "load avg 1/5/15 m before",
    "",
    ...runs.map((rs, i) => (rounds > 1 ? fmt(median(rs.map((r) => r.loadBefore[0]!))!) : loads[i]![0]!)),
  ];
  if (ratio) loadRow.push("");
  if (rounds > 1) loadRow.push(...loads.map((l) => l.join(" / ")));
  const rows: string[][] = [head, loadRow];
  const names: string[] = [];
  for (const r of results) for (const m of r.metrics) if (!names.includes(m.name)) names.push(m.name);
  const notes: string[] = [];
  for (const name of names) {
    const values = runs.map((rs) => rs.map((r) => r.metrics.find((m) => m.name === name)));
    const unit = values.flat().find((m) => m)?.unit ?? "";
    const medians = values.map((ms) => median(ms.flatMap((m) => (m ? [m.value] : []))));
    const row = [name, unit, ...medians.map((v) => (v === undefined ? "—" : fmt(v)))];
    if (ratio) {
      const [a, b] = medians;
      row.push(
        a !== undefined && b !== undefined && b !== 0 && Number.isFinite(a / b)
          ? `${(a / b).toFixed(2)}×`
          : "",
      );
    }
    if (rounds > 1) row.push(...values.map((ms) => ms.map((m) => (m ? fmt(m.value) : "—")).join(" / ")));
    rows.push(row);
    values.forEach((ms, i) => {
      ms.forEach((m, round) => {
        if (m?.note) notes.push(`- ${labels[i]} round ${round + 1}, ${name}: ${m.note}`);
      });
    });
  }
  for (const r of results) if (r.error) notes.push(`- ${r.label} round ${r.round} FAILED: ${r.error}`);
  for (const r of results) if (r.skipped) notes.push(`- ${r.label} round ${r.round} SKIPPED: ${r.skipped}`);
  const widths = head.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]): string =>
    `| ${r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(" | ")} |`;
  const sep = `| ${widths.map((w, c) => (c < 2 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(head), sep, ...rows.slice(1).map(line), ...notes];
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : v.toFixed(2);
}

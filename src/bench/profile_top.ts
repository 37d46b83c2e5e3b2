// Owns `node dist/bench/profile_top.js <file.cpuprofile> [n]`: the top functions of a V8 CPU profile (from
// `--cpu-prof-dir`) by self time and by inclusive time, as file:function, to find etcd-ts's hot spots.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const [file, nArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: profile_top <file.cpuprofile> [n]\n");
  process.exit(2);
}
const n = Number(nArg ?? 25);
const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
const msPerSample = (p.endTime - p.startTime) / 1000 / Math.max(1, p.samples.length);
const byId = new Map(p.nodes.map((node) => [node.id, node]));

/** "src/mvcc/store.ts:put:120" style: dist/…/x.js becomes src/…/x.ts; node internals keep their URL. */
function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const path = url.replace(/^file:\/\//, "");
  const file = path.includes("/node_modules/")
    ? path.replace(/^.*\/node_modules\//, "")
    : path.replace(/^.*\/dist\/(.*)\.js$/, "src/$1.ts");
  return `${file || "(native)"}:${functionName || "(anonymous)"}:${lineNumber + 1}`;
}

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
/** Walks the call tree; a function counts once per stack for inclusive time even if recursive. */
function walk(id: number, onStack: Set<string>): number {
  const node = byId.get(id)!;
  const key = label(node);
  let total = node.hitCount ?? 0;
  self.set(key, (self.get(key) ?? 0) + total);
  const added = !onStack.has(key);
  if (added) onStack.add(key);
  for (const c of node.children ?? []) total += walk(c, onStack);
  if (added) {
    onStack.delete(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + total);
  }
  return total;
}
const total = walk(p.nodes[0]!.id, new Set());

const out: string[] = [];
const print = (title: string, m: Map<string, number>, filter: (k: string) => boolean): void => {
  out.push("", title);
  [...m.entries()]
    .filter(([k]) => filter(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .forEach(([k, v]) => {
      const pct = ((v / total) * 100).toFixed(1).padStart(5);
      out.push(`${pct}%  ${(v * msPerSample).toFixed(0).padStart(7)} ms  ${k}`);
    });
};
out.push(`${file}: ${(total * msPerSample).toFixed(0)} ms sampled`);
print("self time (all)", self, () => true);
print("inclusive time (etcd-ts src/ only)", inclusive, (k) => k.startsWith("src/"));
process.stdout.write(`${out.join("\n")}\n`);

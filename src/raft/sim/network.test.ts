// Specifies the simulated network (drops, duplicates, delays, partitions) and the virtual-time event queue.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rand } from "../rand.js";
import { EventQueue } from "./events.js";
import { type NetFaults, Network, RELIABLE } from "./network.js";

const net = (faults: Partial<NetFaults> = {}, seed = 1): Network =>
  new Network(new Rand(seed), { ...RELIABLE, ...faults });

test("a reliable network delivers every message once, within minDelay + jitter", () => {
  const n = net({ minDelay: 2, jitter: 5 });
  for (let i = 0; i < 1000; i++) {
    const d = n.route(1n, 2n);
    assert.equal(d.length, 1);
    assert.ok(d[0]! >= 2 && d[0]! < 7, `delay ${d[0]}`);
  }
});

test("dropRate 1 loses everything; dupRate 1 delivers two copies with their own delays", () => {
  assert.deepEqual(net({ dropRate: 1 }).route(1n, 2n), []);
  const n = net({ dupRate: 1, jitter: 1000 });
  const copies = Array.from({ length: 100 }, () => n.route(1n, 2n));
  assert.ok(copies.every((d) => d.length === 2));
  assert.ok(
    copies.some(([a, b]) => a !== b),
    "copies should not always arrive together",
  );
});

test("slow messages are delayed by up to slowDelay more, so later sends overtake them", () => {
  const n = net({ minDelay: 1, jitter: 1, slowRate: 1, slowDelay: 50 });
  const delays = Array.from({ length: 500 }, () => n.route(1n, 2n)[0]!);
  assert.ok(delays.every((d) => d >= 1 && d <= 51));
  assert.ok(new Set(delays).size > 20, "slow delays should vary (reordering)");
});

test("a symmetric partition cuts both directions between the sides, not within a side", () => {
  const n = net();
  n.partition([1n, 2n], [3n]);
  assert.equal(n.canSend(1n, 3n), false);
  assert.equal(n.canSend(3n, 2n), false);
  assert.equal(n.canSend(1n, 2n), true);
  assert.deepEqual(n.route(3n, 1n), []);
  assert.equal(n.partitioned, true);
  n.heal();
  assert.equal(n.partitioned, false);
  assert.equal(n.canSend(3n, 1n), true);
  assert.equal(n.route(3n, 1n).length, 1);
});

test("a one-way partition cuts only from the first side to the second", () => {
  const n = net();
  n.partition([1n], [2n, 3n], true);
  assert.equal(n.canSend(1n, 2n), false);
  assert.equal(n.canSend(1n, 3n), false);
  assert.equal(n.canSend(2n, 1n), true);
  assert.equal(n.canSend(3n, 1n), true);
  assert.equal(n.describe(), "1>2 1>3");
});

test("the same seed makes the same routing decisions", () => {
  const f: Partial<NetFaults> = { dropRate: 0.2, dupRate: 0.2, jitter: 9, slowRate: 0.3, slowDelay: 40 };
  const run = (): number[][] => {
    const n = net(f, 42);
    return Array.from({ length: 200 }, () => n.route(1n, 2n));
  };
  assert.deepEqual(run(), run());
});

test("the event queue pops by virtual time, and in push order at equal times", () => {
  const q = new EventQueue<string>();
  q.push(5, "c");
  q.push(1, "a");
  q.push(5, "d");
  q.push(3, "b");
  q.push(1, "a2");
  const out: string[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(`${e.at}${e.ev}`);
  assert.deepEqual(out, ["1a", "1a2", "3b", "5c", "5d"]);
  assert.equal(q.size, 0);
});

test("the event queue stays ordered under random pushes and pops", () => {
  const r = new Rand(7);
  const q = new EventQueue<number>();
  let last = -1;
  for (let i = 0; i < 5000; i++) {
    if (r.chance(0.6)) q.push(last + 1 + r.int(100), i);
    else {
      const e = q.pop();
      if (e !== undefined) {
        assert.ok(e.at >= last);
        last = e.at;
      }
    }
  }
});

// Owns the fault schedule of the fault phase: node crashes and restarts, network partitions (symmetric, one-way) and heals.
import type { NodeId } from "../types.js";
import { TICK } from "./knobs.js";
import type { World } from "./world.js";

export class Nemesis {
  private readonly w: World;

  constructor(w: World) {
    this.w = w;
  }

  /** One tick's worth of faults. */
  step(): void {
    const { rand, knobs } = this.w;
    // Crashes land between ticks, when Readies are in flight, not only at tick boundaries.
    if (rand.chance(knobs.crashRate)) this.w.at(1 + rand.int(TICK - 1), () => this.crashSomeone());
    const down = [...this.w.nodes.values()].filter((n) => n.state === "down");
    if (down.length > 0 && rand.chance(knobs.restartRate)) this.w.restart(rand.pick(down));
    if (this.w.net.partitioned) {
      if (rand.chance(knobs.healRate)) {
        this.w.net.heal();
        this.w.trace?.("HEAL network");
      }
    } else if (rand.chance(knobs.partitionRate)) {
      this.partition();
    }
  }

  /** Prefer a node caught between a Ready's write and its sync, then the leader, then anyone. */
  private crashSomeone(): void {
    const { rand } = this.w;
    const up = this.w.upNodes();
    if (up.length === 0 || this.w.healing) return;
    const unsynced = up.filter((n) => n.disk.unsynced > 0);
    const leader = this.w.leader();
    if (unsynced.length > 0 && rand.chance(0.5)) this.w.crash(rand.pick(unsynced));
    else if (leader !== undefined && rand.chance(0.3)) this.w.crash(leader);
    else this.w.crash(rand.pick(up));
  }

  private partition(): void {
    const { rand, net } = this.w;
    const ids = [...this.w.nodes.values()].filter((n) => n.state !== "stopped").map((n) => n.id);
    if (ids.length < 2) return;
    const leader = this.w.leader();
    const victim = leader !== undefined && rand.chance(0.5) ? leader.id : rand.pick(ids);
    const others = ids.filter((id) => id !== victim);
    let what: string;
    switch (rand.int(5)) {
      case 0:
        net.partition([victim], others);
        what = `isolate n${victim}`;
        break;
      case 1: {
        const side: NodeId[] = [];
        for (const id of ids) if (rand.chance(0.5)) side.push(id);
        const rest = ids.filter((id) => !side.includes(id));
        net.partition(side, rest);
        what = `split {${side.map((x) => `n${x}`)}} | {${rest.map((x) => `n${x}`)}}`;
        break;
      }
      case 2:
        net.partition([victim], others, true);
        what = `n${victim} cannot send (one-way)`;
        break;
      case 3:
        net.partition(others, [victim], true);
        what = `n${victim} cannot receive (one-way)`;
        break;
      default: {
        const to = rand.pick(others);
        net.partition([victim], [to], rand.chance(0.5));
        what = `cut link n${victim}-n${to}`;
      }
    }
    this.w.stats.partitions++;
    this.w.trace?.(`PARTITION ${what}: ${net.describe()}`);
  }
}

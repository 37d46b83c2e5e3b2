// Owns choosing an instance of a discovered service. Pickers read the discovery's snapshot at each pick, so
// an instance is never picked once its delete has been processed.
import type { Discovery } from "./discover.js";
import type { Instance } from "./instance.js";

export interface Picker {
  /** An instance, or undefined if none is registered. */
  pick(): Instance | undefined;
}

/** Each instance in turn (by id order); new and removed instances take effect at the next pick. */
export function roundRobin(discovery: Discovery): Picker {
  let next = 0;
  return {
    pick() {
      const all = discovery.instances();
      if (all.length === 0) return undefined;
      const i = next % all.length;
      next = i + 1;
      return all[i];
    },
  };
}

/** A uniformly random instance; `rand` returns a number in [0, 1) (default `Math.random`). */
export function random(discovery: Discovery, rand: () => number = Math.random): Picker {
  return {
    pick() {
      const all = discovery.instances();
      if (all.length === 0) return undefined;
      return all[Math.min(all.length - 1, Math.floor(rand() * all.length))];
    },
  };
}

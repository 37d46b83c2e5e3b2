// Owns the ConfChange payload encoding and the rule that turns a ConfChange into the next ConfState.
import { assert } from "./assert.js";
import type { ConfChange, ConfChangeType, ConfState } from "./types.js";

const TYPES: readonly ConfChangeType[] = ["AddNode", "RemoveNode", "UpdateNode", "AddLearnerNode"];

/** Layout: type (u8) | nodeId (u64 BE) | context bytes. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(9 + cc.context.length);
  const view = new DataView(out.buffer);
  out[0] = TYPES.indexOf(cc.type);
  view.setBigUint64(1, cc.nodeId);
  out.set(cc.context, 9);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  assert(data.length >= 9, () => `conf change too short: ${data.length} bytes`);
  const type = TYPES[data[0]!];
  assert(type !== undefined, () => `unknown conf change type ${data[0]}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { type, nodeId: view.getBigUint64(1), context: data.slice(9) };
}

/**
 * Apply one single-step change. Changes that would leave no voters are refused (the caller keeps
 * the old configuration), as etcd refuses to remove the last voter.
 */
export function nextConfState(cs: ConfState, cc: ConfChange): ConfState {
  const voters = cs.voters.filter((id) => id !== cc.nodeId);
  const learners = cs.learners.filter((id) => id !== cc.nodeId);
  switch (cc.type) {
    case "AddNode":
      voters.push(cc.nodeId);
      break;
    case "AddLearnerNode":
      learners.push(cc.nodeId);
      break;
    case "RemoveNode":
      break;
    case "UpdateNode":
      return { voters: [...cs.voters], learners: [...cs.learners] };
    default: {
      const never: never = cc.type;
      throw new Error(`unknown conf change ${never}`);
    }
  }
  if (voters.length === 0) return { voters: [...cs.voters], learners: [...cs.learners] };
  return { voters, learners };
}

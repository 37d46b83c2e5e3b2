// Owns the simulator's human-readable trace: one line per step (deliveries, crashes, partitions, elections, commits).
import type { ConfChange, ConfState, Entry, Message } from "../types.js";
import { TICK } from "./knobs.js";

export type TraceFn = (line: string) => void;

/** Virtual time as ticks with one decimal, as every trace line and violation message shows it. */
export function fmtTime(now: number): string {
  return (now / TICK).toFixed(1);
}

export function fmtEntries(ents: readonly Entry[]): string {
  if (ents.length === 0) return "[]";
  const a = ents[0]!;
  const b = ents[ents.length - 1]!;
  return ents.length === 1 ? `[${a.index}@${a.term}]` : `[${a.index}@${a.term}..${b.index}@${b.term}]`;
}

export function fmtMsg(m: Message): string {
  const head = `${m.type} n${m.from}->n${m.to} t${m.term}`;
  switch (m.type) {
    case "MsgApp":
      return `${head} after ${m.index}@${m.logTerm} ${fmtEntries(m.entries)} commit ${m.commit}`;
    case "MsgAppResp":
      return `${head} ${m.reject ? `REJECT ${m.index} hint ${m.rejectHint}@${m.logTerm}` : `ack ${m.index}`}`;
    case "MsgVote":
    case "MsgPreVote":
      return `${head} last ${m.index}@${m.logTerm}`;
    case "MsgVoteResp":
    case "MsgPreVoteResp":
      return `${head} ${m.reject ? "rejected" : "granted"}`;
    case "MsgHeartbeat":
    case "MsgHeartbeatResp":
      return `${head} commit ${m.commit}${m.context && m.context.length > 0 ? " +ctx" : ""}`;
    case "MsgSnap":
      return `${head} snapshot ${m.snapshot?.metadata.index}@${m.snapshot?.metadata.term}`;
    case "MsgProp":
      return `${head} ${m.entries.length} entries`;
    case "MsgReadIndex":
    case "MsgReadIndexResp":
      return `${head} index ${m.index}`;
    default:
      return head;
  }
}

export function fmtConfChange(cc: ConfChange): string {
  return `${cc.type} n${cc.nodeId}`;
}

export function fmtConfState(cs: ConfState): string {
  const v = cs.voters.map((x) => `n${x}`).join(",");
  const l = cs.learners.map((x) => `n${x}`).join(",");
  return l ? `voters {${v}} learners {${l}}` : `voters {${v}}`;
}

// Owns the scenario-script interpreter: runs testdata/*.txt command scripts against a test Network.
import { ProposalDroppedError } from "../raft.js";
import type { ReadOnlyOption } from "../read_only.js";
import type { ConfChangeType, MessageType, NodeId } from "../types.js";
import { dec } from "./fixtures.js";
import { Network, type NetworkOptions, type TestNode } from "./network.js";

/**
 * A script is one command per line; `#` starts a comment. In expectations `<ids>` is `*` (every live
 * node) or a comma list `1,2`; process-ready, deliver, stabilize and drop-inflight take space-separated
 * ids (every node if none). Commands:
 *
 *   cluster <n> [prevote] [checkquorum] [lease] [stepdown] [noforward] [bootstrap] [election=10]
 *               [heartbeat=1] [maxmsg=N] [inflight=N] [maxuncommitted=N] [learners=4,5] [seed=N]
 *   campaign <id> | tick <id> [n] | tick-all [n] | propose <id> <value> | propose-dropped <id> <value>
 *   process-ready [ids] | deliver [ids] | stabilize [ids] | drop-inflight [ids] | clear-trace
 *   isolate <id> | partition <ids> | <ids> ... | cut <a> <b> | drop <from> <to> | drop-type <MsgType> | heal
 *   crash <id> | restart <id> | add-node <id> | compact <id> [index] | transfer-leader <id> <to>
 *   read-index <id> <ctx> | add-learner <via> <id> | add-voter <via> <id> | remove <via> <id>
 *   expect leader <id[,id]> | expect state <ids> <State> | expect lead <ids> <id|leader>
 *   expect term|commit|first-index|snapshot <ids> <n>
 *   expect applied <ids> <values..|-> | expect log <ids> [@first] <terms..> | expect read-states <id> <ctx@i..|->
 *   expect voters|learners <ids> <ids..|-> | expect progress <leader> <id> <State> [match=N]
 *   expect sent|not-sent <MsgType> <from|*> <to|*> [count]
 */
export class ScenarioError extends Error {
  override name = "ScenarioError";
}

type Handler = (args: string[], s: State) => void;

interface State {
  net?: Network;
}

const net = (s: State): Network => {
  if (!s.net) throw new Error("no cluster yet: start the script with `cluster <n>`");
  return s.net;
};

const id = (tok: string | undefined): NodeId => {
  if (tok === undefined || !/^\d+$/.test(tok)) throw new Error(`expected a node id, got ${tok}`);
  return BigInt(tok);
};

const count = (tok: string | undefined, dflt: number): number => (tok === undefined ? dflt : Number(tok));

/** `*` = every live node; `1,2` or a single id. */
function nodes(s: State, tok: string | undefined): TestNode[] {
  if (tok === "*") return net(s).live();
  return (tok ?? "").split(",").map((t) => net(s).node(id(t)));
}

const idList = (args: string[]): NodeId[] | undefined => (args.length === 0 ? undefined : args.map(id));

function check(what: string, got: string, want: string): void {
  if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`);
}

function clusterOptions(args: string[]): NetworkOptions {
  const o: NetworkOptions = {};
  for (const a of args) {
    const [k, v] = a.split("=") as [string, string | undefined];
    const num = Number(v);
    switch (k) {
      case "prevote":
        o.preVote = true;
        break;
      case "checkquorum":
        o.checkQuorum = true;
        break;
      case "lease":
        o.readOnlyOption = "LeaseBased" satisfies ReadOnlyOption;
        o.checkQuorum = true;
        break;
      case "stepdown":
        o.stepDownOnRemoval = true;
        break;
      case "noforward":
        o.disableProposalForwarding = true;
        break;
      case "bootstrap":
        o.bootstrap = "entries";
        break;
      case "election":
        o.electionTick = num;
        break;
      case "heartbeat":
        o.heartbeatTick = num;
        break;
      case "maxmsg":
        o.maxSizePerMsg = num;
        break;
      case "inflight":
        o.maxInflightMsgs = num;
        break;
      case "maxuncommitted":
        o.maxUncommittedEntriesSize = num;
        break;
      case "learners":
        o.learners = (v ?? "").split(",").map(id);
        break;
      case "seed":
        o.seed = num;
        break;
      default:
        throw new Error(`unknown cluster option ${a}`);
    }
  }
  return o;
}

function confChange(type: ConfChangeType): Handler {
  return ([via, target], s) => {
    const n = net(s);
    if (!n.nodes.has(id(target))) n.addNode(id(target));
    n.proposeConfChange(id(via), { type, nodeId: id(target) });
  };
}

const commands: Record<string, Handler> = {
  cluster: ([size, ...opts], s) => {
    const o = clusterOptions(opts);
    const learners = o.learners ?? [];
    const voters = Array.from({ length: count(size, 3) }, (_, i) => BigInt(i + 1)).filter(
      (v) => !learners.includes(v),
    );
    s.net = new Network(voters, o);
  },
  campaign: ([n], s) => net(s).campaign(id(n)),
  tick: ([n, times], s) => net(s).tick(id(n), count(times, 1)),
  "tick-all": ([times], s) => net(s).tickAll(count(times, 1)),
  propose: ([n, value], s) => net(s).propose(id(n), value ?? ""),
  "propose-dropped": ([n, value], s) => {
    try {
      net(s).propose(id(n), value ?? "");
    } catch (err) {
      if (err instanceof ProposalDroppedError) return;
      throw err;
    }
    throw new Error("the proposal was accepted");
  },
  "process-ready": (args, s) => {
    for (const n of args.length
      ? args.map(id)
      : net(s)
          .live()
          .map((x) => x.id))
      net(s).processReady(n);
  },
  deliver: (args, s) => {
    const only = idList(args);
    net(s).deliver((m) => !only || only.includes(m.to));
  },
  "drop-inflight": (args, s) => {
    const only = idList(args);
    const n = net(s);
    n.inflight = n.inflight.filter((m) => only !== undefined && !only.includes(m.to));
  },
  stabilize: (args, s) => net(s).stabilize(idList(args)),
  "clear-trace": (_a, s) => {
    net(s).trace = [];
  },
  isolate: ([n], s) => net(s).isolate(id(n)),
  partition: (args, s) => {
    const groups = args
      .join(" ")
      .split("|")
      .map((g) => g.trim().split(/\s+/).filter(Boolean).map(id));
    net(s).partition(...groups);
  },
  cut: ([a, b], s) => net(s).cut(id(a), id(b)),
  drop: ([from, to], s) => net(s).drop(id(from), id(to)),
  "drop-type": ([type], s) => net(s).dropIf((m) => m.type === type),
  heal: (_a, s) => net(s).heal(),
  crash: ([n], s) => net(s).crash(id(n)),
  restart: ([n], s) => net(s).restart(id(n)),
  "add-node": ([n], s) => {
    net(s).addNode(id(n));
  },
  compact: ([n, index], s) => net(s).compact(id(n), index === undefined ? undefined : BigInt(index)),
  "transfer-leader": ([n, to], s) => net(s).node(id(n)).rn.transferLeader(id(to)),
  "read-index": ([n, ctx], s) => net(s).readIndex(id(n), ctx ?? ""),
  "add-learner": confChange("AddLearnerNode"),
  "add-voter": confChange("AddNode"),
  remove: confChange("RemoveNode"),
  expect: ([what, ...rest], s) => {
    const e = expectations[what ?? ""];
    if (!e) throw new Error(`unknown expectation ${what}`);
    e(rest, s);
  },
};

/** For each listed node, compare f(node) with the rest of the line. */
function perNode(f: (n: TestNode) => string): Handler {
  return ([who, ...want], s) => {
    for (const n of nodes(s, who)) check(`node ${n.id}`, f(n), want.join(" "));
  };
}

const ids = (xs: NodeId[]): string => (xs.length === 0 ? "-" : xs.join(" "));

function sentMatching(s: State, [type, from, to]: string[]) {
  return net(s).trace.filter(
    (m) =>
      m.type === (type as MessageType) &&
      (from === "*" || m.from === id(from)) &&
      (to === undefined || to === "*" || m.to === id(to)),
  );
}

const expectations: Record<string, Handler> = {
  leader: ([who], s) => {
    const l = net(s).leader();
    const allowed = (who ?? "").split(",").map((t) => String(id(t)));
    const got = l ? String(l.id) : "none";
    if (!allowed.includes(got)) check("leader", got, allowed.join(" or "));
  },
  state: perNode((n) => n.raft.state),
  term: perNode((n) => String(n.raft.term)),
  lead: ([who, want], s) => {
    // `leader` stands for whoever currently leads.
    const target = want === "leader" ? String(net(s).leader()?.id ?? "none") : (want ?? "");
    for (const n of nodes(s, who)) check(`node ${n.id} lead`, String(n.raft.lead), target);
  },
  commit: perNode((n) => String(n.raft.raftLog.committed)),
  "first-index": perNode((n) => String(n.raft.raftLog.firstIndex())),
  snapshot: perNode((n) => String(n.storage.snapshot().metadata.index)),
  applied: perNode((n) => (n.values.length === 0 ? "-" : n.valueList().join(" "))),
  voters: perNode((n) => ids(n.raft.trk.voters)),
  learners: perNode((n) => ids(n.raft.trk.learners)),
  log: ([who, ...want], s) => {
    for (const n of nodes(s, who)) {
      const log = n.raft.raftLog;
      const terms = log.allEntries().map((e) => String(e.term));
      const first = want[0]?.startsWith("@") ? `@${log.firstIndex()} ` : "";
      check(`node ${n.id} log terms`, `${first}${terms.join(" ")}`.trim(), want.join(" "));
    }
  },
  "read-states": ([who, ...want], s) => {
    const n = net(s).node(id(who));
    const got = n.readStates.map((rs) => `${dec(rs.requestCtx)}@${rs.index}`);
    n.readStates = [];
    check(`node ${n.id} read states`, got.length === 0 ? "-" : got.join(" "), want.join(" "));
  },
  progress: ([leader, follower, state, match], s) => {
    const pr = net(s).node(id(leader)).raft.trk.progress.get(id(follower));
    if (!pr) throw new Error(`leader ${leader} has no progress for ${follower}`);
    check(`progress of ${follower}`, pr.state, state ?? "");
    if (match) check(`match of ${follower}`, `match=${pr.match}`, match);
  },
  sent: (args, s) => {
    const got = sentMatching(s, args).length;
    if (args[3] === undefined ? got === 0 : got !== Number(args[3])) {
      throw new Error(`${args.slice(0, 3).join(" ")}: expected ${args[3] ?? "some"} sent, got ${got}`);
    }
  },
  "not-sent": (args, s) =>
    check(args.slice(0, 3).join(" "), `${sentMatching(s, args).length} sent`, "0 sent"),
};

/** Run a script; on the first failing line throw a ScenarioError naming it, with the cluster's state. */
export function runScenario(name: string, text: string): void {
  const state: State = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const [cmd, ...args] = line.split(/\s+/) as [string, ...string[]];
    try {
      const h = commands[cmd];
      if (!h) throw new Error(`unknown command ${cmd}`);
      h(args, state);
    } catch (err) {
      const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      const dump = state.net ? `\ncluster:\n${state.net.describe()}` : "";
      throw new ScenarioError(`${name}:${i + 1}: ${line}\n  ${why}${dump}`);
    }
  }
}

// Owns the v3electionpb.Election gRPC service (etcd's v3election): Campaign, Proclaim, Leader, Resign and the
// Observe stream, with etcd's request checks and session-lease side effects.
import type { ServerWritableStream } from "@grpc/grpc-js";
import type { ElectionServer, LeaderKey, LeaderRequest, LeaderResponse } from "../../proto/index.js";
import { type RecipeBackend, RecipeError, sessionLease } from "../../server/concurrency.js";
import { campaign, leader, observe, proclaim, resign } from "../../server/election.js";
import { credentialsOf } from "./credentials.js";
import { drained } from "./drained.js";
import { callSignal, type RecipeBackends, recipeError, recipeUnary } from "./recipe_call.js";

export const ERR_MISSING_LEADER_KEY = '"leader" field must be provided';

function required(leader: LeaderKey | undefined): LeaderKey {
  if (!leader) throw new RecipeError(ERR_MISSING_LEADER_KEY);
  return leader;
}

export function electionService(backends: RecipeBackends): ElectionServer {
  return {
    campaign: recipeUnary((req, signal, cred) =>
      campaign(backends(cred), req.name, req.lease, req.value, signal),
    ),
    proclaim: recipeUnary(async (req, _signal, cred) => {
      const b = backends(cred);
      const l = required(req.leader);
      // etcd resumes the election in a session on the leader's lease: lease 0 grants a fresh one and the
      // proclaimed value is put with it.
      const lease = await sessionLease(b, l.lease);
      return { header: await proclaim(b, l.key, l.rev, lease, req.value) };
    }),
    leader: recipeUnary((req, _signal, cred) => leader(backends(cred), req.name)),
    resign: recipeUnary(async (req, _signal, cred) => {
      const b = backends(cred);
      const l = required(req.leader);
      await sessionLease(b, l.lease);
      return { header: await resign(b, l.key, l.rev) };
    }),
    observe: (call) => {
      void serveObserve(backends(credentialsOf(call)), call);
    },
  };
}

/** Streams leader changes until the client goes away; the next one is taken only after the last was written. */
async function serveObserve(
  b: RecipeBackend,
  call: ServerWritableStream<LeaderRequest, LeaderResponse>,
): Promise<void> {
  const { signal, release } = callSignal(call);
  try {
    for await (const st of observe(b, call.request.name, signal)) {
      if (!call.write({ header: st.header, kv: st.kv })) await drained(call, signal);
    }
    if (!signal.aborted) call.end();
  } catch (err) {
    if (!signal.aborted) call.emit("error", recipeError(err));
  } finally {
    release();
  }
}

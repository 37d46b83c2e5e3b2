// Owns the etcdserverpb.KV gRPC service: validates requests (etcd's pre-raft checks) and calls the server.
import type { KVServer } from "../../proto/index.js";
import type { EtcdServer } from "../../server/server.js";
import { credentialsOf } from "./credentials.js";
import { unary } from "./unary.js";
import { checkDeleteRange, checkPut, checkRange, checkTxn } from "./validate.js";

export function kvService(server: EtcdServer): KVServer {
  return {
    range: unary(async (req, call) => {
      checkRange(req);
      return server.range(req, credentialsOf(call));
    }),
    put: unary(async (req, call) => {
      checkPut(req);
      return server.put(req, credentialsOf(call));
    }),
    deleteRange: unary(async (req, call) => {
      checkDeleteRange(req);
      return server.deleteRange(req, credentialsOf(call));
    }),
    txn: unary(async (req, call) => {
      checkTxn(req, server.cfg.maxTxnOps);
      return server.txn(req, credentialsOf(call));
    }),
    compact: unary(async (req, call) => server.compact(req, credentialsOf(call))),
  };
}

// Owns the etcdserverpb.KV gRPC service: validates requests (etcd's pre-raft checks) and calls the server.
import type { KVServer } from "../../proto/index.js";
import type { EtcdServer } from "../../server/server.js";
import { unary } from "./unary.js";
import { checkDeleteRange, checkPut, checkRange, checkTxn } from "./validate.js";

export function kvService(server: EtcdServer): KVServer {
  return {
    range: unary(async (req) => {
      checkRange(req);
      return server.range(req);
    }),
    put: unary(async (req) => {
      checkPut(req);
      return server.put(req);
    }),
    deleteRange: unary(async (req) => {
      checkDeleteRange(req);
      return server.deleteRange(req);
    }),
    txn: unary(async (req) => {
      checkTxn(req, server.cfg.maxTxnOps);
      return server.txn(req);
    }),
    compact: unary(async (req) => server.compact(req)),
  };
}

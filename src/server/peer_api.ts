// Owns the member's peer port routes: /raft/* (the transport), and etcd's peer HTTP API for what does not go
// through raft — GET /members, POST /members/promote/<id>, POST /leases, POST /leases/internal, GET /version.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Member } from "../membership/cluster.js";
import {
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
} from "../proto/index.js";
import { PEER_PATH_PREFIX, type PeerRequestHandler } from "../transport/index.js";
import { ServerError } from "./errors.js";
import {
  CLUSTER_ID_HEADER,
  membersToJson,
  PEER_LEASES_INTERNAL_PATH,
  PEER_LEASES_PATH,
  PEER_MEMBERS_PATH,
  PEER_PROMOTE_PATH,
  PEER_VERSION_PATH,
} from "./peer_client.js";

/** Largest request body the peer API reads (a lease request is a few bytes). */
export const MAX_PEER_API_BODY_BYTES = 64 * 1024;

export interface PeerApiHost {
  clusterId: bigint;
  raftHandler(): PeerRequestHandler;
  members(): Member[];
  /** Renew on this member (the leader); throws LeaseNotFound, NotLeader, … */
  leaseRenewLocal(id: bigint): Promise<bigint>;
  leaseTimeToLiveLocal(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse>;
  promoteLocal(id: bigint): Promise<Member[]>;
  versions(): { etcdserver: string; etcdcluster: string };
  logger: { warn(o: object, msg: string): void };
}

export function peerApiHandler(host: PeerApiHost): PeerRequestHandler {
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (path.startsWith(PEER_PATH_PREFIX)) return host.raftHandler()(req, res);
    res.setHeader(CLUSTER_ID_HEADER, host.clusterId.toString(16));
    void route(host, path, req, res).catch((err: unknown) => {
      host.logger.warn({ path, error: String(err) }, "peer API request failed");
      if (!res.headersSent) reply(res, 500, String(err));
      else res.destroy();
    });
  };
}

async function route(
  host: PeerApiHost,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (path === PEER_MEMBERS_PATH) {
    if (req.method !== "GET") return reply(res, 405, "Method Not Allowed");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(membersToJson(host.members()));
    return;
  }
  if (path === PEER_VERSION_PATH) {
    if (req.method !== "GET") return reply(res, 405, "Method Not Allowed");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(host.versions()));
    return;
  }
  if (req.method !== "POST")
    return reply(res, path.startsWith("/members") || path.startsWith("/leases") ? 405 : 404, "");
  if (path.startsWith(PEER_PROMOTE_PATH)) {
    const hex = path.slice(PEER_PROMOTE_PATH.length);
    if (!/^[0-9a-f]{1,16}$/i.test(hex)) return reply(res, 400, `member ${hex} not found in cluster`);
    try {
      const members = await host.promoteLocal(BigInt(`0x${hex}`));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(membersToJson(members));
    } catch (err) {
      replyError(res, err);
    }
    return;
  }
  if (path === PEER_LEASES_PATH || path === PEER_LEASES_INTERNAL_PATH) {
    const body = await readBody(req);
    if (body === undefined) return reply(res, 400, "error reading body");
    try {
      let out: Uint8Array;
      if (path === PEER_LEASES_PATH) {
        const r = LeaseKeepAliveRequest.decode(body);
        const ttl = await host.leaseRenewLocal(r.ID);
        out = LeaseKeepAliveResponse.encode({ ID: r.ID, TTL: ttl }).finish();
      } else {
        const r = LeaseTimeToLiveRequest.decode(body);
        out = LeaseTimeToLiveResponse.encode(await host.leaseTimeToLiveLocal(r)).finish();
      }
      res.writeHead(200, { "content-type": "application/protobuf" });
      res.end(Buffer.from(out));
    } catch (err) {
      replyError(res, err);
    }
    return;
  }
  reply(res, 404, "404 page not found");
}

/** The kind of a ServerError travels as the body, so the forwarding member rethrows the same error. */
function replyError(res: ServerResponse, err: unknown): void {
  const kind = (err as { kind?: unknown } | null)?.kind;
  if (err instanceof ServerError || (err instanceof Error && err.name === "LeaseError")) {
    const status = kind === "LeaseNotFound" || kind === "MemberNotFound" ? 404 : 412;
    reply(res, status, String(kind));
    return;
  }
  reply(res, 500, err instanceof Error ? err.message : String(err));
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_PEER_API_BODY_BYTES) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

// Owns the member's requests to other members' peer ports outside raft: fetch the member list (joining an
// existing cluster), forward lease renewals and TimeToLive to the leader, forward MemberPromote to the leader.
import http from "node:http";
import https from "node:https";
import type { Member } from "../membership/cluster.js";
import {
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
} from "../proto/index.js";
import type { PeerTlsOptions } from "../transport/index.js";

export const PEER_MEMBERS_PATH = "/members";
export const PEER_PROMOTE_PATH = "/members/promote/";
export const PEER_LEASES_PATH = "/leases";
export const PEER_LEASES_INTERNAL_PATH = "/leases/internal";
export const PEER_VERSION_PATH = "/version";
export const CLUSTER_ID_HEADER = "x-etcd-cluster-id";
/** Largest peer API response body we read (a member list or a TimeToLive with its keys). */
export const MAX_PEER_RESPONSE_BYTES = 16 * 1024 * 1024;

/** A peer answered with an error status. */
export class PeerHttpError extends Error {
  override name = "PeerHttpError";
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`peer answered ${status}: ${body}`);
  }
}

export interface PeerResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request to a peer URL; rejects on connection errors and after timeoutMs. */
export function peerRequest(
  baseUrl: string,
  path: string,
  opts: {
    method: "GET" | "POST";
    body?: Uint8Array;
    timeoutMs: number;
    clusterId?: bigint;
    /** For https:// peer URLs: the member's peer certificate and CA (--peer-*). */
    tls?: PeerTlsOptions;
  },
): Promise<PeerResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, baseUrl);
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (opts.clusterId !== undefined) headers[CLUSTER_ID_HEADER] = opts.clusterId.toString(16);
    const common = { method: opts.method, headers, agent: false as const, timeout: opts.timeoutMs };
    const { clientCertAuth: _listenerOnly, ...secure } = opts.tls ?? {};
    const req =
      url.protocol === "https:" ? https.request(url, { ...common, ...secure }) : http.request(url, common);
    const timer = setTimeout(
      () => req.destroy(new Error(`peer request timed out after ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    req.on("timeout", () => req.destroy(new Error("peer request timed out")));
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_PEER_RESPONSE_BYTES) req.destroy(new Error("peer response too large"));
        else chunks.push(c);
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.end(opts.body === undefined ? undefined : Buffer.from(opts.body));
  });
}

// ---- member list (etcd's GET /members: JSON, IDs as uint64 numbers) ----------------------------------

interface MemberJson {
  id: string;
  peerURLs: string[];
  name?: string;
  clientURLs?: string[];
  isLearner?: boolean;
}

/** etcd's JSON of its member list: the ID as a plain uint64 number, empty fields left out. */
export function membersToJson(members: readonly Member[]): string {
  const items = members.map((m) => {
    // etcd's field order: id, then RaftAttributes (peerURLs, isLearner), then Attributes (name, clientURLs).
    const rest: Omit<MemberJson, "id"> = { peerURLs: m.peerURLs };
    if (m.isLearner) rest.isLearner = true;
    if (m.name !== "") rest.name = m.name;
    if (m.clientURLs.length > 0) rest.clientURLs = m.clientURLs;
    // JSON.stringify cannot write a 64-bit number exactly: splice the ID in as digits.
    return `{"id":${m.id.toString()},${JSON.stringify(rest).slice(1)}`;
  });
  return `[${items.join(",")}]`;
}

export function membersFromJson(text: string): Member[] {
  // Keep 64-bit IDs exact: quote them before JSON.parse.
  const arr = JSON.parse(text.replace(/"id":\s*(\d+)/g, '"id":"$1"')) as MemberJson[];
  if (!Array.isArray(arr)) throw new Error("member list is not an array");
  return arr.map((j) => ({
    id: BigInt(j.id),
    name: j.name ?? "",
    peerURLs: j.peerURLs ?? [],
    clientURLs: j.clientURLs ?? [],
    isLearner: j.isLearner ?? false,
  }));
}

/** GET /members from the first peer that answers: its cluster ID and member list. */
export async function fetchClusterFromPeers(
  urls: readonly string[],
  timeoutMs: number,
  log: { warn(o: object, msg: string): void },
  tls?: PeerTlsOptions,
): Promise<{ clusterId: bigint; members: Member[] }> {
  for (const u of urls) {
    try {
      const res = await peerRequest(u, PEER_MEMBERS_PATH, { method: "GET", timeoutMs, tls });
      if (res.status !== 200) throw new PeerHttpError(res.status, res.body.toString());
      const cid = res.headers[CLUSTER_ID_HEADER];
      if (typeof cid !== "string" || !/^[0-9a-f]{1,16}$/i.test(cid)) throw new Error("bad cluster ID header");
      return { clusterId: BigInt(`0x${cid}`), members: membersFromJson(res.body.toString()) };
    } catch (err) {
      log.warn({ "remote-peer-url": u, error: String(err) }, "failed to get cluster response");
    }
  }
  throw new Error("could not retrieve cluster information from the given URLs");
}

// ---- lease forwarding ---------------------------------------------------------------------------

/** Renews a lease on the leader; PeerHttpError 404 = lease not found. */
export async function renewOnPeer(
  url: string,
  id: bigint,
  timeoutMs: number,
  tls?: PeerTlsOptions,
): Promise<bigint> {
  const body = LeaseKeepAliveRequest.encode({ ID: id }).finish();
  const res = await peerRequest(url, PEER_LEASES_PATH, { method: "POST", body, timeoutMs, tls });
  if (res.status !== 200) throw new PeerHttpError(res.status, res.body.toString());
  return LeaseKeepAliveResponse.decode(res.body).TTL;
}

/** A lease's TimeToLive from the leader; PeerHttpError 404 = lease not found. */
export async function timeToLiveOnPeer(
  url: string,
  req: LeaseTimeToLiveRequest,
  timeoutMs: number,
  tls?: PeerTlsOptions,
): Promise<LeaseTimeToLiveResponse> {
  const body = LeaseTimeToLiveRequest.encode(req).finish();
  const res = await peerRequest(url, PEER_LEASES_INTERNAL_PATH, { method: "POST", body, timeoutMs, tls });
  if (res.status !== 200) throw new PeerHttpError(res.status, res.body.toString());
  return LeaseTimeToLiveResponse.decode(res.body);
}

/** Asks the leader to promote a learner; the answer is the member list, or the error kind it refused with. */
export async function promoteOnPeer(
  url: string,
  id: bigint,
  timeoutMs: number,
  tls?: PeerTlsOptions,
): Promise<Member[]> {
  const path = `${PEER_PROMOTE_PATH}${id.toString(16)}`;
  const res = await peerRequest(url, path, { method: "POST", timeoutMs, tls });
  if (res.status !== 200) throw new PeerHttpError(res.status, res.body.toString());
  return membersFromJson(res.body.toString());
}

// Owns the HTTP/1.1 plumbing of the peer port: paths, headers, plain-or-TLS requests and the peer listener.
//
// A stream is one long-lived `POST /raft/stream` per direction (chunked body of frames, see frame.ts);
// the receiver answers 200 with headers only and never writes a body. A snapshot is one
// `POST /raft/snapshot`; the receiver answers 204 once it has taken the whole body. Both carry:
//   X-Etcd-Cluster-ID (hex), X-Server-From (hex sender id), X-Raft-To (hex receiver id),
//   X-Etcd-Ts-Peer-Protocol (PEER_PROTOCOL_VERSION).
// Refusals follow etcd's rafthttp: 412 "cluster ID mismatch" / "to field mismatch", 410 for a removed
// member, 404 "error sender not found" for an unknown one.
import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type tls from "node:tls";
import type { NodeId } from "../raft/types.js";

export const PEER_PATH_PREFIX = "/raft/";
export const STREAM_PATH = "/raft/stream";
export const SNAPSHOT_PATH = "/raft/snapshot";
export const PEER_PROTOCOL_VERSION = "1";

export const H_CLUSTER_ID = "x-etcd-cluster-id";
export const H_FROM = "x-server-from";
export const H_TO = "x-raft-to";
export const H_PROTOCOL = "x-etcd-ts-peer-protocol";

export const ERR_CLUSTER_MISMATCH = "cluster ID mismatch";
export const ERR_TO_MISMATCH = "to field mismatch";
export const ERR_MEMBER_REMOVED = "the member has been permanently removed from the cluster";
export const ERR_SENDER_NOT_FOUND = "error sender not found";
export const ERR_PROTOCOL = "incompatible peer protocol version";

/** Peer TLS (etcd's --peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth). */
export interface PeerTlsOptions extends tls.SecureContextOptions {
  /** Listener: require and verify a client certificate from every peer (--peer-client-cert-auth). */
  clientCertAuth?: boolean;
  /** Dialer: verify the peer's server certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Dialer: name to verify the peer's certificate against (default: the URL's host). */
  servername?: string;
}

export type PeerRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A peer answered with an error status; `status` and `body` are what it said. */
export class PeerRefusedError extends Error {
  override name = "PeerRefusedError";
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`peer refused: ${status} ${body}`);
  }
}

export const idHex = (id: bigint): string => id.toString(16);

/** A member or cluster ID from a hex header; undefined when absent or malformed. */
export function parseIdHeader(v: string | string[] | undefined): bigint | undefined {
  if (typeof v !== "string" || !/^[0-9a-f]{1,16}$/i.test(v)) return undefined;
  return BigInt(`0x${v}`);
}

export function peerHeaders(clusterId: bigint, from: NodeId, to: NodeId): Record<string, string> {
  return {
    [H_CLUSTER_ID]: idHex(clusterId),
    [H_FROM]: idHex(from),
    [H_TO]: idHex(to),
    [H_PROTOCOL]: PEER_PROTOCOL_VERSION,
    "content-type": "application/octet-stream",
  };
}

/** Opens a POST to base URL + path on a connection of its own (plain for http:, TLS for https:). */
export function peerPost(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  tlsOpts: PeerTlsOptions | undefined,
  opts: { timeoutMs?: number } = {},
): ClientRequest {
  const url = new URL(path, baseUrl);
  const common = { method: "POST", headers, agent: false as const, timeout: opts.timeoutMs };
  if (url.protocol === "http:") return http.request(url, common);
  if (url.protocol !== "https:") throw new Error(`unsupported peer URL scheme ${url.protocol} in ${baseUrl}`);
  const { clientCertAuth: _ignored, ...secure } = tlsOpts ?? {};
  return https.request(url, { ...common, ...secure });
}

/**
 * A listener for the peer port serving handler, TLS when tlsOpts is given. Request timeouts are off:
 * a stream is one request that lasts as long as the connection (Node's default would cut it at 300 s).
 */
export function createPeerServer(
  handler: PeerRequestHandler,
  tlsOpts?: PeerTlsOptions,
): http.Server | https.Server {
  const server =
    tlsOpts === undefined
      ? http.createServer(handler)
      : https.createServer(
          {
            ...tlsOpts,
            requestCert: tlsOpts.clientCertAuth === true,
            rejectUnauthorized: tlsOpts.clientCertAuth === true,
          },
          handler,
        );
  server.requestTimeout = 0;
  server.timeout = 0;
  return server;
}

/** Reads at most limit bytes of a (small, error) response body as text. */
export async function readSmallBody(res: IncomingMessage, limit = 4096): Promise<string> {
  let text = "";
  try {
    for await (const chunk of res) {
      text += String(chunk);
      if (text.length >= limit) break;
    }
  } catch {
    // the body is only for the log; a cut-off one is fine
  }
  return text.trim().slice(0, limit);
}

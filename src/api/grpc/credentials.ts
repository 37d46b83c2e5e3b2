// Owns reading a client's credentials: etcd's `token` metadata key (clientv3 sends it), else `authorization` (the
// gateway and swagger clients), the first value as sent; without either, the CN of the verified client
// certificate when the listener has --client-cert-auth (etcd's AuthInfoFromTLS).
import type { Metadata } from "@grpc/grpc-js";
import { type Credentials, NO_TOKEN } from "../../server/auth_ops.js";
import { hasVerifiedPeers, verifiedPeerCertificate } from "../listen.js";

export const TOKEN_KEY = "token";
export const AUTHORIZATION_KEY = "authorization";

export function credentialsOf(call: { metadata: Metadata; getPeer?(): string }): Credentials {
  const md = call.metadata;
  const v = md.get(TOKEN_KEY)[0] ?? md.get(AUTHORIZATION_KEY)[0];
  if (v !== undefined) return { token: typeof v === "string" ? v : v.toString("utf8") };
  if (!hasVerifiedPeers()) return NO_TOKEN; // the usual case: no --client-cert-auth listener has a client now
  const cn = call.getPeer ? verifiedPeerCertificate(call.getPeer())?.subject?.CN : undefined;
  // A certificate may carry several CNs; Go's Subject.CommonName is the last one.
  const name = Array.isArray(cn) ? cn.at(-1) : cn;
  return name === undefined ? NO_TOKEN : { token: undefined, commonName: name };
}

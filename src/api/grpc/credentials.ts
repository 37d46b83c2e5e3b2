// Owns reading a client's credentials from gRPC metadata: etcd's `token` key (clientv3 sends it), else
// `authorization` (the gateway and swagger clients), the first value as sent.
import type { Metadata } from "@grpc/grpc-js";
import { type Credentials, NO_TOKEN } from "../../server/auth_ops.js";

export const TOKEN_KEY = "token";
export const AUTHORIZATION_KEY = "authorization";

export function credentialsOf(call: { metadata: Metadata }): Credentials {
  const md = call.metadata;
  const v = md.get(TOKEN_KEY)[0] ?? md.get(AUTHORIZATION_KEY)[0];
  if (v === undefined) return NO_TOKEN;
  return { token: typeof v === "string" ? v : v.toString("utf8") };
}

// Owns the adjustments to grpc-js that make its transport-level errors read as grpc-go's (what etcd sends).
import { createRequire } from "node:module";

interface StreamDecoderClass {
  prototype: { write(data: Buffer): Buffer[]; __etcdCompat?: true };
}

/** grpc-js 1.14's text, and grpc-go's (etcd: ResourceExhausted "grpc: received message larger than max (N vs. M)"). */
const GRPC_JS_TOO_LARGE = /^Received message larger than max \((\d+) vs (\d+)\)$/;
export const tooLargeMessage = (size: number, max: number): string =>
  `grpc: received message larger than max (${size} vs. ${max})`;

/**
 * grpc-js raises an oversized message from its stream decoder before any interceptor can see it, so the
 * message is rewritten there. Idempotent; if a grpc-js upgrade moves the decoder this does nothing and the
 * wire test on --max-request-bytes fails.
 */
export function installGrpcCompat(): void {
  const require = createRequire(import.meta.url);
  let mod: { StreamDecoder?: StreamDecoderClass };
  try {
    mod = require("@grpc/grpc-js/build/src/stream-decoder.js") as typeof mod;
  } catch {
    return;
  }
  const proto = mod.StreamDecoder?.prototype;
  if (!proto || proto.__etcdCompat) return;
  const write = proto.write;
  proto.write = function (this: unknown, data: Buffer): Buffer[] {
    try {
      return write.call(this, data);
    } catch (err) {
      const m = err instanceof Error ? GRPC_JS_TOO_LARGE.exec(err.message) : null;
      if (m) throw new Error(tooLargeMessage(Number(m[1]), Number(m[2])));
      throw err;
    }
  };
  proto.__etcdCompat = true;
}

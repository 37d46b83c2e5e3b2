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
  installPreframedWrites();
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

/**
 * Several responses of one stream already framed as gRPC messages (5-byte prefix each), written with one
 * HTTP/2 write. grpc-js frames every message it is given; a server call whose serializeMessage is patched
 * (installPreframedWrites) passes these bytes through unchanged, so N watch responses cost one write instead of
 * N — the same bytes on the wire as N separate messages.
 */
export class PreframedMessages {
  constructor(readonly bytes: Buffer) {}
}

interface ServerCallClass {
  prototype: { serializeMessage(value: unknown): Buffer; __etcdPreframed?: true };
}

let preframed = false;

/** Whether grpc-js was patched to take PreframedMessages (false if its internals moved: write one by one). */
export function preframedWritesSupported(): boolean {
  return preframed;
}

/** Teaches grpc-js's server call to pass PreframedMessages through. Idempotent; does nothing if grpc-js changed. */
export function installPreframedWrites(): void {
  const require = createRequire(import.meta.url);
  let mod: { BaseServerInterceptingCall?: ServerCallClass };
  try {
    mod = require("@grpc/grpc-js/build/src/server-interceptors.js") as typeof mod;
  } catch {
    return;
  }
  const proto = mod.BaseServerInterceptingCall?.prototype;
  if (!proto || typeof proto.serializeMessage !== "function") return;
  if (!proto.__etcdPreframed) {
    const serialize = proto.serializeMessage;
    proto.serializeMessage = function (this: unknown, value: unknown): Buffer {
      if (value instanceof PreframedMessages) return value.bytes;
      return serialize.call(this, value);
    };
    proto.__etcdPreframed = true;
  }
  preframed = true;
}

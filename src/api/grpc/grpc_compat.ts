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
  installUnknownMethodText();
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

const UNIMPLEMENTED = 12;
const RESOURCE_EXHAUSTED = 8;

/**
 * grpc-go's answer (etcd's) for a path no handler serves: UNIMPLEMENTED "unknown method M for service S" when S is
 * served, "unknown service S" when not, and RESOURCE_EXHAUSTED "malformed method name" for a path without a
 * service part. grpc-go splits at the last "/".
 */
export function unknownPathStatus(
  path: string,
  serviceKnown: (service: string) => boolean,
): { code: number; details: string } {
  const sm = path.startsWith("/") ? path.slice(1) : path;
  const pos = sm.lastIndexOf("/");
  if (pos === -1)
    return { code: RESOURCE_EXHAUSTED, details: `malformed method name: ${JSON.stringify(path)}` };
  const service = sm.slice(0, pos);
  const method = sm.slice(pos + 1);
  return serviceKnown(service)
    ? { code: UNIMPLEMENTED, details: `unknown method ${method} for service ${service}` }
    : { code: UNIMPLEMENTED, details: `unknown service ${service}` };
}

type Handler = (call: { emit(e: string, v: unknown): void }, cb?: (e: unknown, v: null) => void) => void;
interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  originalName?: string;
}
interface ServerClass {
  prototype: {
    addService(service: Record<string, MethodDef>, impl: Record<string, unknown>): void;
    _respondWithError(err: { code?: number; details?: string }, ...rest: unknown[]): void;
    handlers?: Map<string, unknown>;
    __etcdUnknown?: true;
  };
}

const GRPC_JS_UNIMPLEMENTED = "The server does not implement the method ";

/**
 * grpc-js answers a method it has no handler for with "The server does not implement the method /svc/M"; grpc-go
 * (etcd) says "unknown method M for service svc", or "unknown service svc". Methods a service leaves out (e.g.
 * Maintenance.Downgrade, which etcd 3.4 does not serve) get grpc-go's text too. Idempotent; does nothing if
 * grpc-js's internals moved (the test of these texts then fails).
 */
export function installUnknownMethodText(): void {
  const require = createRequire(import.meta.url);
  let mod: { Server?: ServerClass };
  try {
    mod = require("@grpc/grpc-js/build/src/server.js") as typeof mod;
  } catch {
    return;
  }
  const proto = mod.Server?.prototype;
  if (!proto || proto.__etcdUnknown) return;
  if (typeof proto.addService !== "function" || typeof proto._respondWithError !== "function") return;
  const addService = proto.addService;
  proto.addService = function (this: unknown, service, impl) {
    const full: Record<string, unknown> = { ...impl };
    for (const [name, def] of Object.entries(service)) {
      if (full[name] !== undefined || (def.originalName && full[def.originalName] !== undefined)) continue;
      const status = unknownPathStatus(def.path, () => true);
      const handler: Handler = def.responseStream
        ? (call) => call.emit("error", status)
        : (_call, cb) => cb?.(status, null);
      full[name] = handler;
    }
    addService.call(this, service, full);
  };
  const respondWithError = proto._respondWithError;
  proto._respondWithError = function (this: { handlers?: Map<string, unknown> }, err, ...rest) {
    const details = err.details;
    if (err.code === UNIMPLEMENTED && details?.startsWith(GRPC_JS_UNIMPLEMENTED)) {
      const path = details.slice(GRPC_JS_UNIMPLEMENTED.length);
      const paths = [...(this.handlers?.keys() ?? [])];
      err = { ...err, ...unknownPathStatus(path, (svc) => paths.some((k) => k.startsWith(`/${svc}/`))) };
    }
    respondWithError.call(this, err, ...rest);
  };
  proto.__etcdUnknown = true;
}

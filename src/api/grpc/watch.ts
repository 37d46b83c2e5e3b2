// Owns the etcdserverpb.Watch gRPC service (etcd's v3rpc watchServer): each bidirectional call is one mvcc
// WatchStream; requests (create / cancel / progress) are parsed here, responses get the cluster header, and
// back-pressure runs both ways: write() returning false parks watchers until 'drain', and a stream with too
// many unsent control responses stops reading requests until it drains.

import { type ServerDuplexStream, status as Status } from "@grpc/grpc-js";
import type { WatchableStore, WatchStream } from "../../mvcc/index.js";
import {
  type ResponseHeader,
  type WatchCreateRequest,
  WatchCreateRequest_FilterType,
  type WatchRequest,
  type WatchResponse,
  type WatchServer,
  WatchService,
} from "../../proto/index.js";
import type { Credentials } from "../../server/auth_ops.js";
import { credentialsOf } from "./credentials.js";
import { toWire as toWireError } from "./errors.js";
import { PreframedMessages, preframedWritesSupported } from "./grpc_compat.js";
import {
  approxSize,
  frameWatchResponses,
  GRPC_OVERHEAD_BYTES,
  serializeWatchResponse,
  toWire,
} from "./watch_wire.js";

/**
 * Bytes of responses a stream hands to grpc-js before it stops taking more (its watchers are parked until
 * the socket takes them). grpc-js's own limit counts messages (16), and a catching-up response can hold up
 * to about 1 MiB, so bytes are what keeps a slow client from holding much of the server's memory.
 */
export const MAX_STREAM_PENDING_BYTES = 1024 * 1024;
/** Responses queued on one stream before its watchers are parked (etcd's per-stream channel holds 128). */
export const MAX_STREAM_PENDING_MSGS = 128;
/** Responses of one stream are written together up to about this many bytes per HTTP/2 write. */
export const MAX_WRITE_BATCH_BYTES = 256 * 1024;

export interface WatchServiceDeps {
  watchable: WatchableStore;
  /** The response header for a revision: cluster_id, member_id, the revision, the current raft_term. */
  header(revision: bigint): ResponseHeader;
  /** --max-request-bytes: a fragment=true watcher's responses are cut at this plus 512 KiB, as etcd does. */
  maxRequestBytes: number;
  /**
   * Auth: may the stream's caller watch this range? Undefined at once when nothing needs checking, else a
   * promise of the refusal (undefined when allowed). Absent: every watch is allowed.
   */
  authorizeWatch?(cred: Credentials, key: Uint8Array, rangeEnd: Uint8Array): Promise<unknown> | undefined;
}

/** The Watch service definition with the shared-encoding response serializer (same bytes as generated). */
export const FastWatchService: typeof WatchService = {
  ...WatchService,
  watch: { ...WatchService.watch, responseSerialize: serializeWatchResponse },
};

export function watchService(deps: WatchServiceDeps): WatchServer {
  const shared = { ...deps, header: headerPerTurn(deps.header) };
  return { watch: (call) => serveWatch(shared, call) };
}

/**
 * One header object per revision within a turn of the event loop: the 100s of responses one write sends
 * share it (and so its encoding). Not kept longer, so a later raft term is never missed.
 */
function headerPerTurn(header: (revision: bigint) => ResponseHeader): (revision: bigint) => ResponseHeader {
  let last: ResponseHeader | undefined;
  let lastRev = 0n;
  const forget = (): void => {
    last = undefined;
  };
  return (revision) => {
    if (last === undefined || revision !== lastRev) {
      if (last === undefined) queueMicrotask(forget);
      last = header(revision);
      lastRev = revision;
    }
    return last;
  };
}

function serveWatch(deps: WatchServiceDeps, call: ServerDuplexStream<WatchRequest, WatchResponse>): void {
  const fragmentBytes = deps.maxRequestBytes + GRPC_OVERHEAD_BYTES;
  let blocked = false; // refusing responses until the buffers below drain
  let pendingBytes = 0; // handed to write(), not yet written out
  let pendingMsgs = 0;
  let done = false;
  const unblock = (): void => {
    if (!blocked || done) return;
    if (pendingBytes > MAX_STREAM_PENDING_BYTES / 2 || pendingMsgs > MAX_STREAM_PENDING_MSGS / 2) return;
    blocked = false;
    stream.resume();
    if (call.isPaused() && stream.acceptingRequests) call.resume();
  };
  // Responses taken in one turn of the event loop (say, one event for each of this stream's watchers of a key)
  // leave as one HTTP/2 write of several gRPC messages: grpc-js's per-write cost was most of a watch's CPU.
  let queue: WatchResponse[] = [];
  let queueBytes = 0;
  let flushQueued = false;
  const flush = (): void => {
    flushQueued = false;
    const msgs = queue;
    const bytes = queueBytes;
    queue = [];
    queueBytes = 0;
    if (done || msgs.length === 0) return;
    const written = (): void => {
      pendingBytes -= bytes;
      pendingMsgs -= msgs.length;
      unblock();
    };
    if (msgs.length === 1) call.write(msgs[0]!, written);
    else if (preframedWritesSupported()) {
      call.write(new PreframedMessages(frameWatchResponses(msgs)) as unknown as WatchResponse, written);
    } else {
      for (let i = 0; i < msgs.length; i++) call.write(msgs[i]!, i === msgs.length - 1 ? written : undefined);
    }
  };
  const stream = deps.watchable.newStream((resp) => {
    if (done) return true; // the call is gone: drop
    if (blocked) return false;
    // A response is taken whole (all its fragments) even if it crosses a limit; the next one is refused.
    for (const msg of toWire(resp, deps.header, fragmentBytes)) {
      const size = approxSize(msg);
      pendingBytes += size;
      pendingMsgs++;
      // grpc-js's write() turns false after 16 queued messages; like etcd (128 per stream) we keep taking
      // responses up to our own bounds and only then park watchers.
      queue.push(msg);
      queueBytes += size;
      if (queueBytes >= MAX_WRITE_BATCH_BYTES) flush();
      else if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
    }
    if (pendingBytes >= MAX_STREAM_PENDING_BYTES || pendingMsgs >= MAX_STREAM_PENDING_MSGS) blocked = true;
    return true;
  });

  call.on("drain", unblock);
  const cred = credentialsOf(call);
  // While a create waits for its permission check, later requests wait behind it: they apply in order.
  let checking: Promise<void> | undefined;
  call.on("data", (req: WatchRequest) => {
    const handle = (): Promise<void> | undefined => handleRequest(deps, cred, stream, req);
    if (checking) {
      const mine: Promise<void> = checking.then(handle).then(() => {
        if (checking === mine) checking = undefined;
      });
      checking = mine;
      return;
    }
    const p = handle();
    if (p) {
      const mine: Promise<void> = p.then(() => {
        if (checking === mine) checking = undefined;
      });
      checking = mine;
    }
    if (!stream.acceptingRequests) call.pause();
  });
  // The client closing its side does not end the stream: etcd keeps sending events until the call ends.
  call.on("end", () => undefined);
  const finish = (): void => {
    if (done) return;
    done = true;
    stream.close();
  };
  call.on("cancelled", finish);
  call.on("error", finish);
  call.on("close", finish);
}

/** Go's grpc code names, for cancel reasons in the form etcd sends ("rpc error: code = … desc = …"). */
const GO_CODE_NAMES: Record<number, string> = {
  [Status.CANCELLED]: "Canceled",
  [Status.UNKNOWN]: "Unknown",
  [Status.INVALID_ARGUMENT]: "InvalidArgument",
  [Status.DEADLINE_EXCEEDED]: "DeadlineExceeded",
  [Status.NOT_FOUND]: "NotFound",
  [Status.PERMISSION_DENIED]: "PermissionDenied",
  [Status.RESOURCE_EXHAUSTED]: "ResourceExhausted",
  [Status.FAILED_PRECONDITION]: "FailedPrecondition",
  [Status.OUT_OF_RANGE]: "OutOfRange",
  [Status.UNAVAILABLE]: "Unavailable",
  [Status.UNAUTHENTICATED]: "Unauthenticated",
};

/** etcd 3.4.23 refuses a watch without permission with the gRPC error's text as the cancel reason. */
export function authCancelReason(err: unknown): string {
  const w = toWireError(err);
  return `rpc error: code = ${GO_CODE_NAMES[w.code] ?? "Unknown"} desc = ${w.message}`;
}

/** Handles one request; a create that must wait for its permission check returns the wait. */
function handleRequest(
  deps: WatchServiceDeps,
  cred: Credentials,
  stream: WatchStream,
  req: WatchRequest,
): Promise<void> | undefined {
  const u = req.requestUnion;
  switch (u?.$case) {
    case "createRequest": {
      const c = u.value;
      const check = deps.authorizeWatch?.(cred, c.key, c.rangeEnd);
      if (check) {
        return check.then((refusal) => {
          if (refusal === undefined) createWatch(stream, c);
          else stream.refuse(authCancelReason(refusal));
        });
      }
      createWatch(stream, c);
      return;
    }
    case "cancelRequest":
      stream.cancel(u.value.watchId);
      return;
    case "progressRequest":
      stream.requestProgress();
      return;
    case undefined:
      return; // etcd ignores a request of no (or an unknown) kind and keeps the stream
    default:
      assertNever(u);
  }
}

function createWatch(stream: WatchStream, c: WatchCreateRequest): void {
  stream.watch({
    key: c.key,
    rangeEnd: c.rangeEnd,
    startRevision: c.startRevision,
    watchId: c.watchId,
    noPut: c.filters.includes(WatchCreateRequest_FilterType.NOPUT),
    noDelete: c.filters.includes(WatchCreateRequest_FilterType.NODELETE),
    prevKv: c.prevKv,
    progressNotify: c.progressNotify,
    fragment: c.fragment,
  });
}

function assertNever(x: never): never {
  throw new Error(`unexpected watch request ${JSON.stringify(x)}`);
}

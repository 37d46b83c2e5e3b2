// Owns the transport module's public surface: what the server imports to talk to its peers.
export { CodecError, decodeMessage, encodeMessage } from "./codec.js";
export { MAX_BATCH_BYTES, MAX_BATCH_MSGS, MAX_FRAME_BYTES } from "./frame.js";
export {
  createPeerServer,
  PEER_PATH_PREFIX,
  PeerRefusedError,
  type PeerRequestHandler,
  type PeerTlsOptions,
} from "./http.js";
export {
  backoffDelay,
  DEFAULT_TIMING,
  type PeerStats,
  type TransportLogger,
  type TransportTiming,
} from "./options.js";
export { MAX_PEER_QUEUE_BYTES, MAX_PEER_QUEUE_MSGS } from "./queue.js";
export { SNAPSHOT_CHUNK_BYTES, type SnapshotHandler } from "./snapshot.js";
export { Transport, type TransportOptions } from "./transport.js";

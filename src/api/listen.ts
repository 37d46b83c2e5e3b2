// Owns the client port: one listener that serves gRPC (HTTP/2) and HTTP/1.1 by sniffing the first bytes, over
// TLS on an https:// listener (then only TLS is accepted, as etcd) or in plain text on an http:// one.
import type { Server as HttpServer } from "node:http";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import {
  createServer as createTlsServer,
  type PeerCertificate,
  type SecureContextOptions,
  type TLSSocket,
} from "node:tls";
import type { ConnectionInjector } from "@grpc/grpc-js";
import { admitH2 } from "./h2_authority.js";

/** The HTTP/2 connection preface every gRPC client sends first. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** A client that sends nothing for this long is disconnected before it is classified. */
export const SNIFF_TIMEOUT_MS = 10_000;

export interface ListenTargets {
  grpc: ConnectionInjector;
  /** HTTP/1.1 handler (gateway, /health, /metrics, /version); without it, such connections are closed. */
  http?: HttpServer;
  /** TLS for every connection of this listener; plain text when absent. */
  tls?: ListenTls;
}

export interface ListenTls {
  /** Certificate, key, CA, ciphers and versions at start. */
  initial: SecureContextOptions;
  /**
   * Called for each new connection: new options when the certificate files changed, else undefined (etcd reads
   * its certificate again for every connection, so it rotates without a restart).
   */
  refresh(): Promise<SecureContextOptions | undefined>;
  /** Require a client certificate verified against the trusted CAs. */
  requestCert: boolean;
  /** Runs once the handshake is done; throwing refuses the connection (etcd's CRL check). */
  check?(socket: TLSSocket): Promise<void>;
  /** A connection refused by TLS (etcd logs "rejected connection"). */
  onRejected?(remoteAddr: string, err: Error): void;
  /** --client-cert-auth: a call without a token acts as the user named by its certificate's CN. */
  certIdentity?: boolean;
}

/**
 * Verified client certificates of open TLS connections, by the peer address gRPC reports (`call.getPeer()`).
 * Auth takes the user name from the certificate's CN (etcd's --client-cert-auth identity); grpc-js's own
 * getAuthContext() cannot see it when a connection goes through the :authority filter (h2_authority.ts).
 */
const verifiedPeers = new Map<string, PeerCertificate | "ambiguous">();

/**
 * The verified client certificate of the connection a call came on (`call.getPeer()`), if any. Only listeners
 * with `certIdentity` record them. Two open connections with the same remote address (possible only when one
 * process serves several listeners, each seeing the same client port) give none: identity must not be guessed.
 */
export function verifiedPeerCertificate(peer: string): PeerCertificate | undefined {
  if (verifiedPeers.size === 0) return undefined;
  const c = verifiedPeers.get(peer);
  return c === "ambiguous" ? undefined : c;
}

/** Whether any --client-cert-auth connection is open (else no call can carry a certificate identity). */
export const hasVerifiedPeers = (): boolean => verifiedPeers.size > 0;

function rememberPeer(socket: TLSSocket): void {
  const cert = socket.getPeerCertificate();
  if (!socket.authorized || !cert?.raw) return;
  // grpc-js's getPeer(): address and port, no brackets even for IPv6.
  const key = `${socket.remoteAddress}:${socket.remotePort}`;
  verifiedPeers.set(key, verifiedPeers.has(key) ? "ambiguous" : cert);
  socket.once("close", () => verifiedPeers.delete(key));
}

/** What a TLS listener offers by ALPN: gRPC needs h2; HTTP/1.1 serves /health, /version and the gateway. */
const ALPN = ["h2", "http/1.1"];

/** Decide what a connection speaks from its first bytes: "h2", "http1", or undefined if not sure yet. */
export function classify(head: Buffer): "h2" | "http1" | undefined {
  const n = Math.min(head.length, H2_PREFACE.length);
  if (head.subarray(0, n).equals(H2_PREFACE.subarray(0, n)))
    return n === H2_PREFACE.length ? "h2" : undefined;
  return "http1";
}

export function createClientListener(targets: ListenTargets): NetServer {
  const { tls } = targets;
  if (tls) return createTlsListener(tls, targets);
  return createServer({ noDelay: true, pauseOnConnect: false }, (socket) => sniff(socket, targets));
}

/**
 * TCP connections go through a (never listening) TLS server, which does the handshake and client-certificate
 * verification; the decrypted stream is then sniffed like a plain one.
 */
function createTlsListener(tls: ListenTls, targets: ListenTargets): NetServer {
  const remote = (s: Socket): string => `${s.remoteAddress}:${s.remotePort}`;
  const secure = createTlsServer(
    {
      ...tls.initial,
      requestCert: tls.requestCert,
      rejectUnauthorized: false,
      ALPNProtocols: ALPN,
      handshakeTimeout: SNIFF_TIMEOUT_MS,
    },
    (socket) => {
      // Verified here rather than by Node, which would end the connection without saying why.
      if (tls.requestCert && !socket.authorized) {
        const none = Object.keys(socket.getPeerCertificate() ?? {}).length === 0;
        const why = none
          ? "tls: client didn't provide a certificate"
          : `tls: failed to verify client certificate: ${String(socket.authorizationError)}`;
        tls.onRejected?.(remote(socket), new Error(why));
        socket.destroy();
        return;
      }
      const check = tls.check ? tls.check(socket) : Promise.resolve();
      check.then(
        () => {
          if (tls.certIdentity) rememberPeer(socket);
          sniff(socket, targets);
        },
        (err: unknown) => {
          tls.onRejected?.(remote(socket), err as Error);
          socket.destroy();
        },
      );
    },
  );
  secure.on("tlsClientError", (err, socket) => tls.onRejected?.(remote(socket), err));
  return createServer({ noDelay: true, pauseOnConnect: true }, (raw) => {
    raw.on("error", () => raw.destroy());
    tls.refresh().then(
      (next) => {
        if (next) secure.setSecureContext(next);
        if (!raw.destroyed) secure.emit("connection", raw);
      },
      (err: unknown) => {
        tls.onRejected?.(remote(raw), err as Error);
        raw.destroy();
      },
    );
  });
}

function sniff(socket: Socket, targets: ListenTargets): void {
  let head = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS);
  const onError = (): void => {
    clearTimeout(timer);
  };
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const kind = classify(head);
    if (kind === undefined) return;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("error", onError);
    socket.pause();
    socket.unshift(head);
    if (kind === "h2") {
      // Go clients may send a URL as :authority, which Node's HTTP/2 refuses: see h2_authority.ts.
      admitH2(socket, (conn) => targets.grpc.injectConnection(conn));
    } else if (targets.http) {
      targets.http.emit("connection", socket);
      socket.resume();
    } else {
      socket.destroy();
    }
  };
  socket.on("data", onData);
  socket.on("error", onError);
}

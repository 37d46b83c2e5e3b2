// Owns the client port: one listener that serves gRPC (HTTP/2) and HTTP/1.1 by sniffing the first bytes.
import type { Server as HttpServer } from "node:http";
import { createServer, type Server as NetServer, type Socket } from "node:net";
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
}

/** Decide what a connection speaks from its first bytes: "h2", "http1", or undefined if not sure yet. */
export function classify(head: Buffer): "h2" | "http1" | undefined {
  const n = Math.min(head.length, H2_PREFACE.length);
  if (head.subarray(0, n).equals(H2_PREFACE.subarray(0, n)))
    return n === H2_PREFACE.length ? "h2" : undefined;
  return "http1";
}

export function createClientListener(targets: ListenTargets): NetServer {
  const server = createServer({ noDelay: true, pauseOnConnect: false }, (socket) => sniff(socket, targets));
  return server;
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

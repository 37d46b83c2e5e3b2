// Owns a long-lived bidirectional stream that survives failures: opens it on a connected endpoint, and after a
// transient failure reconnects with backoff (elsewhere, if the endpoint was demoted). Watch and keepalive use it.
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { backoffMs, type Caller, type Method, sleep } from "./call.js";
import type { Endpoint } from "./endpoints.js";
import { type EtcdError, UnavailableError } from "./errors.js";

export interface StreamHooks<Res> {
  /** Whether the stream is still needed (else it is not reopened). */
  wanted(): boolean;
  /** A new call is open: (re)send whatever the server must know. */
  opened(): void;
  message(res: Res): void;
  /** The call broke; per-call state must be forgotten (a reconnect follows unless halted). */
  broken(): void;
  /** A permanent error (clientv3's halt errors): report it to the users of the stream. */
  halted(err: EtcdError): void;
}

export class ReconnectingStream<Req, Res> {
  private call: ClientDuplexStream<Req, Res> | undefined;
  private endpoint: Endpoint | undefined;
  private connecting = false;
  private attempt = 0;
  private paused = false;

  constructor(
    private readonly caller: Caller,
    private readonly method: Method<Req, Res>,
    private readonly opts: { requireLeader?: boolean; baseMs: number; maxMs: number },
    private readonly hooks: StreamHooks<Res>,
  ) {}

  get isOpen(): boolean {
    return this.call !== undefined;
  }

  /** Opens the stream if it is wanted and neither open nor opening. */
  ensure(): void {
    if (this.connecting || this.call || this.caller.closed || !this.hooks.wanted()) return;
    this.connecting = true;
    void this.connectLoop();
  }

  /** The stream works (a response arrived): the next failure reconnects without backoff. */
  healthy(): void {
    this.attempt = 0;
  }

  write(req: Req): void {
    this.call?.write(req);
  }

  pause(): void {
    if (this.paused || !this.call) return;
    this.paused = true;
    this.call.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.call?.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Replaces the current call with a new one (after a backoff if this keeps happening). */
  restart(): void {
    const c = this.call;
    if (!c) return;
    this.forget();
    c.cancel();
    this.ensure();
  }

  /** Cancels the current call; the stream reopens only on the next `ensure()`. */
  close(): void {
    const c = this.call;
    this.forget();
    c?.cancel();
  }

  private async connectLoop(): Promise<void> {
    try {
      while (!this.caller.closed && this.hooks.wanted()) {
        if (this.attempt > 0) {
          try {
            await sleep(
              backoffMs(this.attempt - 1, this.opts.baseMs, this.opts.maxMs),
              this.caller.closeSignal,
            );
          } catch {
            return;
          }
          if (!this.hooks.wanted()) return;
        }
        this.attempt++;
        try {
          const { call, endpoint } = await this.caller.openStream(this.method, {
            requireLeader: this.opts.requireLeader,
          });
          this.attach(call, endpoint);
          return;
        } catch (e) {
          const { action, error } = this.caller.streamFailed(undefined, e);
          if (this.caller.closed) return;
          if (action === "halt") return this.hooks.halted(error);
        }
      }
    } finally {
      this.connecting = false;
    }
  }

  private attach(call: ClientDuplexStream<Req, Res>, endpoint: Endpoint): void {
    this.call = call;
    this.endpoint = endpoint;
    this.paused = false;
    call.on("data", (r: Res) => {
      if (call === this.call) this.hooks.message(r);
    });
    call.on("error", (e: unknown) => this.onBroken(call, e));
    // 'status' follows 'error' for a failed call; an OK status means the server ended the stream cleanly.
    call.on("status", (st: { code: number }) => {
      if (st.code === 0) this.onBroken(call, new UnavailableError("etcd client: stream ended by the server"));
    });
    if (this.hooks.wanted()) this.hooks.opened();
    else this.close();
  }

  private forget(): void {
    if (!this.call) return;
    this.call = undefined;
    this.paused = false;
    this.hooks.broken();
  }

  private onBroken(call: ClientDuplexStream<Req, Res>, err: unknown): void {
    if (call !== this.call) return;
    this.forget();
    if (this.caller.closed) return;
    const { action, error } = this.caller.streamFailed(this.endpoint, err);
    if (action === "halt") this.hooks.halted(error);
    else this.ensure();
  }
}

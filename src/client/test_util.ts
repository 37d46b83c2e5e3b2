// Owns what the client's process tests share: the server they run against (etcd-ts, or a real etcd with
// ETCD_TS_CLIENT_TEST_TARGET=etcd), restarts on the same port, and bounded waits on events.
import { rmSync } from "node:fs";
import { freePort, type ServerProcess, startServer } from "../testing/server_process.js";

/** `etcd` runs the client tests against /usr/bin/etcd instead of etcd-ts. */
export const TARGET = process.env.ETCD_TS_CLIENT_TEST_TARGET === "etcd" ? "etcd" : "etcd-ts";
const BINARY = TARGET === "etcd" ? "/usr/bin/etcd" : undefined;

/** Generous bound for anything a test waits on. */
export const WAIT_MS = 20_000;

/** A single-member server on 127.0.0.1 that can be killed and restarted on the same ports and data dir. */
export class TestServer {
  private constructor(
    public proc: ServerProcess,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = []): Promise<TestServer> {
    const clientPort = await freePort();
    const peerPort = await freePort();
    const proc = await startServer({ binary: BINARY, clientPort, peerPort, extraArgs });
    return new TestServer(proc, clientPort, peerPort, proc.dataDir, extraArgs);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  /** SIGKILL, keeping the data dir. */
  kill(): Promise<void> {
    return this.proc.kill();
  }

  /** Starts again on the same ports, with the same data dir unless `dataDir` is given. */
  async restart(opts: { dataDir?: string; clientPort?: number } = {}): Promise<ServerProcess> {
    this.proc = await startServer({
      binary: BINARY,
      dataDir: opts.dataDir ?? this.dataDir,
      clientPort: opts.clientPort ?? this.clientPort,
      peerPort: this.peerPort,
      extraArgs: this.extraArgs,
    });
    return this.proc;
  }

  /** Stops the process (if running) and removes its data dirs. */
  async dispose(): Promise<void> {
    await this.proc.kill();
    this.proc.cleanup();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Resolves with `p`, or rejects if it takes longer than `ms`. */
export async function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** Polls `cond` every 20 ms until true; rejects after `ms`. For state with no event to wait on. */
export async function until(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const stop = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > stop) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Takes the next `n` items of an async iterator (within the wait bound). */
export async function take<T>(it: AsyncIterator<T>, n: number, what = `${n} items`): Promise<T[]> {
  const out: T[] = [];
  await within(
    (async () => {
      while (out.length < n) {
        const r = await it.next();
        if (r.done) throw new Error(`iteration ended after ${out.length} of ${what}`);
        out.push(r.value);
      }
    })(),
    what,
  );
  return out;
}

export const str = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString() : "");

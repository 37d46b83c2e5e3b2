// Owns long-running etcdctl processes in wire tests (`etcdctl lock`, `etcdctl elect`): start, wait for output,
// signal, and make sure none outlives its test.
import { type ChildProcess, spawn } from "node:child_process";
import { ETCDCTL } from "./etcdctl.js";
import { cleanEnv } from "./server_process.js";

/** Generous: etcdctl's start and a few round trips on a loaded 2-core CI machine. */
export const CTL_OUTPUT_DEADLINE_MS = 20_000;

export interface CtlProcess {
  proc: ChildProcess;
  /** stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with stdout once it matches `re`; fails after the deadline or if etcdctl exits first. */
  waitFor(re: RegExp, deadlineMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** SIGTERM (etcdctl lock/elect then unlock/resign) and wait for the exit. */
  stop(): Promise<number | string>;
  /** SIGKILL unless already gone. */
  kill(): Promise<void>;
}

const live = new Set<CtlProcess>();

export function startCtl(endpoint: string, args: string[]): CtlProcess {
  const proc = spawn(ETCDCTL, [`--endpoints=${endpoint}`, ...args], {
    env: { ...cleanEnv(), ETCDCTL_API: "3" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    proc.once("exit", (code, signal) => {
      live.delete(ctl);
      for (const l of listeners) l();
      resolve(code ?? signal ?? -1);
    });
  });
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const ctl: CtlProcess = {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re, deadlineMs = CTL_OUTPUT_DEADLINE_MS) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (re.test(out)) done(() => resolve(out));
          else if (!running()) done(() => reject(new Error(`etcdctl exited before ${re}: ${out} ${err}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no ${re} from etcdctl ${args.join(" ")}: ${out} ${err}`))),
          deadlineMs,
        );
        const done = (f: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      }),
    stop: async () => {
      if (running()) proc.kill("SIGTERM");
      return exited;
    },
    kill: async () => {
      if (running()) proc.kill("SIGKILL");
      await exited;
    },
  };
  live.add(ctl);
  return ctl;
}

/** SIGKILLs every etcdctl a test left running (call from after/afterEach). */
export async function killAllCtl(): Promise<void> {
  await Promise.all([...live].map((c) => c.kill()));
}

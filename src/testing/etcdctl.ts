// Owns running Debian's etcdctl against a test server and capturing its output.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cleanEnv } from "./server_process.js";

export const ETCDCTL = process.env.ETCDCTL_BIN ?? "/usr/bin/etcdctl";
export const hasEtcdctl = (): boolean => existsSync(ETCDCTL);
export const ETCD = process.env.ETCD_BIN ?? "/usr/bin/etcd";
export const hasEtcd = (): boolean => existsSync(ETCD);

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes (for `-w protobuf`). */
  stdoutBytes: Buffer;
}

export function etcdctl(endpoint: string, args: string[], input?: string): Promise<CtlResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(ETCDCTL, [`--endpoints=${endpoint}`, ...args], {
      env: { ...cleanEnv(), ETCDCTL_API: "3" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => {
      out.push(d);
    });
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    p.on("error", reject);
    p.on("close", (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout: stdoutBytes.toString(), stderr, stdoutBytes });
    });
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
  });
}

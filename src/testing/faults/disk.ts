// Owns the full-disk fault: a small tmpfs mounted as one member's data dir, filled to the last byte by a filler
// file and freed again. Needs root (mount); `mountSupport()` says why not when it cannot.
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FILLER = "filler";
const CHUNK = Buffer.alloc(1 << 20, 0x5a);

/** Undefined if a tmpfs can be mounted here, else why not (for a test's `skip`). */
export function mountSupport(): string | undefined {
  if (process.platform !== "linux") return `mount -t tmpfs needs Linux (this is ${process.platform})`;
  const dir = mkdtempSync(join(tmpdir(), "faults-mount-probe-"));
  try {
    mountTmpfs(dir, 1);
    unmount(dir);
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`;
  } finally {
    rmdirSync(dir);
  }
}

/** Mounts a tmpfs of `sizeMb` MiB on `dir` (mode 0700, as etcd wants its data dir). */
export function mountTmpfs(dir: string, sizeMb: number): void {
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0700`, "tmpfs", dir], { stdio: "pipe" });
}

/** Unmounts `dir` (lazily: a process may still hold files there); a dir not mounted is fine. */
export function unmount(dir: string): void {
  try {
    execFileSync("umount", ["-l", dir], { stdio: "pipe" });
  } catch {
    // Not mounted (any more).
  }
}

/** Fills the file system of `dir` with a filler file until it is full; returns the bytes written. */
export function fillDisk(dir: string): number {
  const fd = openSync(join(dir, FILLER), "a");
  let written = 0;
  try {
    for (;;) written += writeSync(fd, CHUNK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
  // The last partial chunk: write byte by byte-ish until nothing fits.
  const small = Buffer.alloc(512, 0x5a);
  const fd2 = openSync(join(dir, FILLER), "a");
  try {
    for (;;) written += writeSync(fd2, small);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd2);
  }
  return written;
}

/** Removes the filler file. */
export function freeDisk(dir: string): void {
  rmSync(join(dir, FILLER), { force: true });
}

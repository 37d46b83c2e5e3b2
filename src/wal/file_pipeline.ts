// Owns preparing the next segment ahead of time: a preallocated "<n>.tmp" file, so a cut does not wait on zeroing.
import { type FileHandle, open, unlink } from "node:fs/promises";
import { join } from "node:path";
import { writeZeros } from "./file_io.js";
import { TMP_SUFFIX } from "./segment_name.js";

export interface TmpFile {
  path: string;
  fh: FileHandle;
}

/** Like etcd's filePipeline: one file is always being prepared in the background; take() hands it over. */
export class FilePipeline {
  private pending: Promise<TmpFile> | undefined;
  private count = 0;

  constructor(
    private readonly dir: string,
    private readonly size: number,
    private readonly preallocate: boolean,
  ) {}

  /** Starts preparing the next file if none is. */
  start(): void {
    if (this.pending !== undefined) return;
    const p = this.allocate(join(this.dir, `${this.count++ % 2}${TMP_SUFFIX}`));
    p.catch(() => {}); // a failure surfaces in take(); never as an unhandled rejection
    this.pending = p;
  }

  /** The prepared file (waiting for it if needed); starts preparing the one after. */
  async take(): Promise<TmpFile> {
    this.start();
    const p = this.pending!;
    this.pending = undefined;
    const file = await p;
    this.start();
    return file;
  }

  /** Waits for the file being prepared and deletes it. */
  async close(): Promise<void> {
    const p = this.pending;
    this.pending = undefined;
    if (p === undefined) return;
    const file = await p.catch(() => undefined);
    if (file === undefined) return;
    await file.fh.close();
    await unlink(file.path).catch(() => {});
  }

  private async allocate(path: string): Promise<TmpFile> {
    const fh = await open(path, "w+");
    try {
      if (this.preallocate) await writeZeros(fh, 0, this.size);
      return { path, fh };
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }
}

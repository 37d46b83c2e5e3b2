// Owns waiting, event-driven, for N things to happen (events, created watchers) with a deadline, noting when the last one did.

export class Countdown {
  private resolveDone: (() => void) | undefined;
  private readonly done: Promise<void>;
  /** performance.now() of the tick that reached zero. */
  lastAt = 0;

  constructor(public remaining: number) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    if (remaining <= 0) this.resolveDone!();
  }

  tick(now: number, n = 1): void {
    if (this.remaining <= 0) return;
    this.remaining -= n;
    if (this.remaining <= 0) {
      this.lastAt = now;
      this.resolveDone!();
    }
  }

  /** True if it reached zero within `timeoutMs`, false on timeout. */
  async wait(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const ok = await Promise.race([this.done.then(() => true), timeout]);
    clearTimeout(timer);
    return ok;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

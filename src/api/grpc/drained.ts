// Owns waiting for a server stream's back-pressure to clear: the streaming RPCs that write in a loop (Snapshot,
// Election.Observe) wait here before their next message.

/** Resolves when `call` emits "drain" or `signal` aborts, whichever comes first. */
export function drained(
  call: { once(e: "drain", f: () => void): unknown; off(e: "drain", f: () => void): unknown },
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done);
  });
}

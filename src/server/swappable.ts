// Owns stable references to stores that a snapshot restore rebuilds (the KV store and the lessor): long-lived
// holders (the watchable store, lease operations) keep one reference while the object behind it is replaced.

export class Swappable<T extends object> {
  private target: T;
  /** Forwards every property read and method call to the current target. */
  readonly ref: T;

  constructor(initial: T) {
    this.target = initial;
    const bound = new WeakMap<object, Map<PropertyKey, unknown>>();
    this.ref = new Proxy(initial, {
      get: (_t, p) => {
        const t = this.target;
        const v: unknown = Reflect.get(t, p, t);
        if (typeof v !== "function") return v;
        // Bind once per (target, method) so hot paths do not allocate a closure per call.
        let m = bound.get(t);
        if (!m) {
          m = new Map();
          bound.set(t, m);
        }
        let f = m.get(p);
        if (!f) {
          f = (v as (...a: unknown[]) => unknown).bind(t);
          m.set(p, f);
        }
        return f;
      },
      set: (_t, p, v) => Reflect.set(this.target, p, v),
    });
  }

  get current(): T {
    return this.target;
  }

  set(next: T): void {
    this.target = next;
  }
}

// Owns the service-discovery data model: an Instance, its key `<service>/<id>`, and its stored JSON value
// (the layout of etcd's naming/endpoints: `{"Op":0,"Addr":…,"Metadata":…}`, so Go resolvers can read it).

/** One running instance of a service. */
export interface Instance {
  /** Unique within the service; the last segment of its key. */
  id: string;
  /** Where to reach it, e.g. "10.0.0.1:8080". */
  addr: string;
  metadata?: unknown;
}

/** The key of `id` under `service`. */
export function instanceKey(service: string, id: string): string {
  return `${service}/${id}`;
}

/** The stored value (endpoints.Endpoint plus the add Op, as etcd's naming manager writes it). */
export function encodeInstance(i: Instance): string {
  return JSON.stringify({ Op: 0, Addr: i.addr, Metadata: i.metadata ?? null });
}

/** The instance stored at `key` (under `<service>/`), or undefined if the value is not a valid endpoint. */
export function decodeInstance(service: string, key: string, value: Uint8Array): Instance | undefined {
  try {
    const v = JSON.parse(Buffer.from(value).toString()) as {
      Op?: number;
      Addr?: unknown;
      Metadata?: unknown;
    };
    if (typeof v.Addr !== "string" || (v.Op ?? 0) !== 0) return undefined;
    const id = key.slice(service.length + 1);
    return v.Metadata === null || v.Metadata === undefined
      ? { id, addr: v.Addr }
      : { id, addr: v.Addr, metadata: v.Metadata };
  } catch {
    return undefined;
  }
}

// Owns reading the HTTP/1.1 requests a client sends on one connection, as the bytes pass through a proxy: each
// request's line and X-Server-From, and enough body framing (Content-Length, chunked) to find the next request.

/** What a request on a peer connection says about it. */
export interface PeerRequest {
  method: string;
  path: string;
  /** Lower-case hex member id without leading zeros, from X-Server-From; undefined when absent. */
  from: string | undefined;
}

/** Member ids as etcd prints them: lower-case hex, no leading zeros. */
export function normalizeId(hex: string): string | undefined {
  if (!/^[0-9a-f]{1,16}$/i.test(hex)) return undefined;
  return BigInt(`0x${hex}`).toString(16);
}

interface Head {
  req: PeerRequest;
  /** Body length, or "chunked". */
  body: number | "chunked";
}

function parseHead(head: string): Head {
  const lines = head.split("\r\n");
  const [method = "", path = ""] = lines[0]!.split(" ");
  let from: string | undefined;
  let body: number | "chunked" = 0;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "x-server-from") from = normalizeId(value);
    else if (name === "transfer-encoding" && /chunked\s*$/i.test(value)) body = "chunked";
    else if (name === "content-length" && body !== "chunked") body = Number(value) || 0;
  }
  return { req: { method, path, from }, body };
}

/** Parses the request line and X-Server-From from the start of a connection; undefined until the headers end. */
export function parsePeerRequest(head: Buffer): PeerRequest | undefined {
  const end = head.indexOf("\r\n\r\n");
  return end < 0 ? undefined : parseHead(head.subarray(0, end).toString("latin1")).req;
}

type State = "head" | "body" | "chunk-size" | "chunk-data" | "trailer" | "opaque";
const EMPTY = Buffer.alloc(0);

/**
 * Follows the client side of one HTTP/1.1 connection. `feed` every byte in order; it returns the requests whose
 * headers completed. It gives up ("opaque": TLS, a head longer than `maxHead`) and then returns nothing more.
 */
export class RequestScanner {
  private state: State = "head";
  /** An incomplete head or line carried over between feeds. */
  private partial: Buffer = EMPTY;
  private remaining = 0;
  private started = false;

  constructor(private readonly maxHead: number) {}

  get opaque(): boolean {
    return this.state === "opaque";
  }

  feed(data: Buffer): PeerRequest[] {
    const out: PeerRequest[] = [];
    // 0x16 starts a TLS handshake: nothing we can read.
    if (!this.started && data.length > 0) {
      this.started = true;
      if (data[0] === 0x16) this.state = "opaque";
    }
    let i = 0;
    while (i < data.length && this.state !== "opaque") {
      if (this.state === "body" || this.state === "chunk-data") {
        const n = Math.min(this.remaining, data.length - i);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = this.state === "body" ? "head" : "chunk-size";
        continue;
      }
      // head: up to a blank line; chunk-size and trailer: one line at a time.
      const sep = this.state === "head" ? "\r\n\r\n" : "\r\n";
      const joined =
        this.partial.length > 0 ? Buffer.concat([this.partial, data.subarray(i)]) : data.subarray(i);
      const end = joined.indexOf(sep);
      if (end < 0) {
        if (joined.length > this.maxHead) this.state = "opaque";
        else this.partial = Buffer.from(joined);
        return out;
      }
      i += end + sep.length - this.partial.length;
      this.partial = EMPTY;
      const text = joined.subarray(0, end).toString("latin1");
      this.step(text, out);
    }
    return out;
  }

  private step(text: string, out: PeerRequest[]): void {
    switch (this.state) {
      case "head": {
        // A stray CRLF between requests is allowed (RFC 9112 §2.2).
        const head = text.replace(/^(\r\n)+/, "");
        if (head === "") return;
        const h = parseHead(head);
        out.push(h.req);
        if (h.body === "chunked") this.state = "chunk-size";
        else if (h.body > 0) {
          this.state = "body";
          this.remaining = h.body;
        }
        return;
      }
      case "chunk-size": {
        const size = Number.parseInt(text.split(";")[0]!.trim(), 16);
        if (!Number.isFinite(size)) this.state = "opaque";
        else if (size === 0) this.state = "trailer";
        else {
          this.state = "chunk-data";
          this.remaining = size + 2; // the data and its CRLF
        }
        return;
      }
      case "trailer":
        if (text === "") this.state = "head";
        return;
      case "body":
      case "chunk-data":
      case "opaque":
        return;
      default: {
        const never: never = this.state;
        throw new Error(`scanner state ${never}`);
      }
    }
  }
}

// Owns a minimal HPACK (RFC 7541) for rewriting request headers on the client port: a full decoder (static and
// dynamic tables, Huffman) and an encoder that writes every field as a literal without indexing, so the server
// side's dynamic table is never used and stays in step whatever the client's encoder did.

/** Decoding failed: the block does not follow RFC 7541. */
export class HpackError extends Error {
  override name = "HpackError";
}

export type HeaderField = [name: string, value: string];

/** RFC 7541 Appendix A. */
const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/**
 * Code lengths of the canonical Huffman code of RFC 7541 Appendix B, symbols 0..255 then EOS (256), as
 * base-36 digits. The codes themselves follow from the lengths (canonical order: by length, then symbol).
 */
const HUFFMAN_LENGTHS =
  "dnsssssssoussussssssssusssssssss6aacd68baa8b8666555666666678f6ca" +
  "d67777777777777777777777878djde6f56565666577666567655677777fbeds" +
  "kmkkmmmnmnnnnnonoomnonnnnlmnmnnomlkmmnnlnmmolmnnllmlnmnnkmmmnmmn" +
  "qqkjmnmpqqqrrqopjlqrrqrollqqsrrrkoklmllnmmppooqnqrqqrrrrrsrrrrrq" +
  "u";

export const HUFFMAN_CODE_LENGTHS: readonly number[] = [...HUFFMAN_LENGTHS].map((c) =>
  Number.parseInt(c, 36),
);

interface HuffmanTables {
  /** Per length L: the first canonical code of that length, how many codes, where its symbols start. */
  first: number[];
  count: number[];
  offset: number[];
  symbols: number[];
  maxLen: number;
}

function buildTables(lengths: readonly number[]): HuffmanTables {
  const maxLen = Math.max(...lengths);
  const count = new Array<number>(maxLen + 1).fill(0);
  for (const l of lengths) count[l]!++;
  const first = new Array<number>(maxLen + 1).fill(0);
  const offset = new Array<number>(maxLen + 1).fill(0);
  // Canonical codes: the first code of length l follows the last code of length l - 1, shifted left.
  let code = 0;
  let off = 0;
  for (let l = 1; l <= maxLen; l++) {
    first[l] = code;
    offset[l] = off;
    off += count[l]!;
    code = (code + count[l]!) * 2;
  }
  const symbols = lengths
    .map((l, sym) => ({ l, sym }))
    .sort((a, b) => a.l - b.l || a.sym - b.sym)
    .map((x) => x.sym);
  return { first, count, offset, symbols, maxLen };
}

let tables: HuffmanTables | undefined;

/** The canonical code of a symbol (for tests against RFC 7541's table). */
export function huffmanCode(sym: number): { code: number; bits: number } {
  tables ??= buildTables(HUFFMAN_CODE_LENGTHS);
  const bits = HUFFMAN_CODE_LENGTHS[sym]!;
  const rank = tables.symbols.indexOf(sym) - tables.offset[bits]!;
  return { code: tables.first[bits]! + rank, bits };
}

export function huffmanDecode(data: Uint8Array): string {
  tables ??= buildTables(HUFFMAN_CODE_LENGTHS);
  const t = tables;
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of data) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      if (len > t.maxLen) throw new HpackError("invalid Huffman code");
      const idx = code - t.first[len]!;
      if (t.count[len]! > 0 && idx >= 0 && idx < t.count[len]!) {
        const sym = t.symbols[t.offset[len]! + idx]!;
        if (sym === 256) throw new HpackError("EOS in Huffman string");
        out.push(sym);
        code = 0;
        len = 0;
      }
    }
  }
  // Padding: at most 7 bits, all ones (the EOS prefix).
  if (len > 7 || code !== 2 ** len - 1) throw new HpackError("invalid Huffman padding");
  return Buffer.from(out).toString("latin1");
}

/** Most bytes the decoder's dynamic table may hold (the SETTINGS_HEADER_TABLE_SIZE we accept). */
export const MAX_DYNAMIC_TABLE_BYTES = 64 * 1024;

export class HpackDecoder {
  private dynamic: HeaderField[] = [];
  private size = 0;
  private maxSize = 4096;

  decode(block: Uint8Array): HeaderField[] {
    const out: HeaderField[] = [];
    let pos = 0;
    const int = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      if (pos >= block.length) throw new HpackError("truncated integer");
      let v = block[pos++]! & mask;
      if (v < mask) return v;
      let m = 0;
      for (;;) {
        if (pos >= block.length) throw new HpackError("truncated integer");
        const b = block[pos++]!;
        v += (b & 0x7f) * 2 ** m;
        m += 7;
        if ((b & 0x80) === 0) return v;
        if (m > 28) throw new HpackError("integer too large");
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new HpackError("truncated string");
      const huffman = (block[pos]! & 0x80) !== 0;
      const n = int(7);
      if (pos + n > block.length) throw new HpackError("truncated string");
      const raw = block.subarray(pos, pos + n);
      pos += n;
      return huffman ? huffmanDecode(raw) : Buffer.from(raw).toString("latin1");
    };
    const lookup = (i: number): HeaderField => {
      if (i >= 1 && i <= STATIC_TABLE.length) return STATIC_TABLE[i - 1]!;
      const d = this.dynamic[i - STATIC_TABLE.length - 1];
      if (!d) throw new HpackError(`invalid header index ${i}`);
      return d;
    };
    while (pos < block.length) {
      const b = block[pos]!;
      if (b & 0x80) {
        out.push(lookup(int(7)));
      } else if (b & 0x40) {
        const i = int(6);
        const name = i === 0 ? str() : lookup(i)[0];
        const f: HeaderField = [name, str()];
        out.push(f);
        this.insert(f);
      } else if (b & 0x20) {
        const n = int(5);
        if (n > MAX_DYNAMIC_TABLE_BYTES) throw new HpackError("dynamic table size too large");
        this.maxSize = n;
        this.evict();
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const i = int(4);
        const name = i === 0 ? str() : lookup(i)[0];
        out.push([name, str()]);
      }
    }
    return out;
  }

  private insert(f: HeaderField): void {
    this.dynamic.unshift(f);
    this.size += f[0].length + f[1].length + 32;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.dynamic.length > 0) {
      const f = this.dynamic.pop()!;
      this.size -= f[0].length + f[1].length + 32;
    }
  }
}

/** Every field as a literal without indexing, with a literal name, no Huffman. */
export function encodeLiteral(fields: readonly HeaderField[]): Buffer {
  const parts: Buffer[] = [];
  const int = (first: number, prefixBits: number, v: number): void => {
    const max = (1 << prefixBits) - 1;
    if (v < max) {
      parts.push(Buffer.from([first | v]));
      return;
    }
    const bytes = [first | max];
    let rest = v - max;
    while (rest >= 128) {
      bytes.push((rest % 128) | 0x80);
      rest = Math.floor(rest / 128);
    }
    bytes.push(rest);
    parts.push(Buffer.from(bytes));
  };
  const str = (s: string): void => {
    const b = Buffer.from(s, "latin1");
    int(0, 7, b.length);
    parts.push(b);
  };
  for (const [name, value] of fields) {
    parts.push(Buffer.from([0]));
    str(name);
    str(value);
  }
  return Buffer.concat(parts);
}

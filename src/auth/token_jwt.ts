// Owns etcd's "jwt" tokens (auth/jwt.go on jwt-go): claims {exp, revision, username} signed with the configured
// method (RS/PS/ES/HS 256/384/512) via node:crypto. Stateless: any member with the key verifies them.
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  timingSafeEqual,
  verify,
} from "node:crypto";
import { readFileSync } from "node:fs";

/** etcd's DefaultTTL for JWT tokens. */
export const DEFAULT_JWT_TTL_MS = 5 * 60_000;

type Family = "RS" | "PS" | "ES" | "HS";
const METHODS: Record<string, { family: Family; hash: "sha256" | "sha384" | "sha512" }> = {};
for (const family of ["RS", "PS", "ES", "HS"] as const)
  for (const bits of ["256", "384", "512"] as const) METHODS[family + bits] = { family, hash: `sha${bits}` };

export interface JwtOptions {
  signMethod: string;
  /** PEM contents. */
  publicKey?: Buffer;
  privateKey?: Buffer;
  ttlMs: number;
}

export class JwtConfigError extends Error {
  override name = "JwtConfigError";
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString("base64url");

export class JwtTokenProvider {
  private readonly family: Family;
  private readonly hash: "sha256" | "sha384" | "sha512";
  private readonly signKey: KeyObject | Buffer | undefined;
  private readonly verifyKey: KeyObject | Buffer;
  readonly method: string;

  constructor(
    private readonly opts: JwtOptions,
    private readonly now: () => number = Date.now,
  ) {
    const m = METHODS[opts.signMethod];
    if (!m) throw new JwtConfigError("auth: invalid auth signature method");
    this.method = opts.signMethod;
    this.family = m.family;
    this.hash = m.hash;
    if (m.family === "HS") {
      if (!opts.privateKey || opts.privateKey.length === 0)
        throw new JwtConfigError("auth: missing key data");
      this.signKey = opts.privateKey;
      this.verifyKey = opts.privateKey;
      return;
    }
    if (opts.privateKey) {
      const k = createPrivateKey(opts.privateKey);
      this.signKey = k;
      this.verifyKey = createPublicKey(k);
    } else if (opts.publicKey) {
      // etcd: a public key alone verifies tokens but cannot issue them.
      this.verifyKey = createPublicKey(opts.publicKey);
    } else {
      throw new JwtConfigError("auth: missing key data");
    }
    const type = (this.verifyKey as KeyObject).asymmetricKeyType;
    if ((m.family === "ES") !== (type === "ec"))
      throw new JwtConfigError(`auth: key type ${type} does not match ${opts.signMethod}`);
  }

  /** A token for `username` at auth revision `revision`, expiring after the TTL. */
  assign(username: string, revision: bigint): string {
    if (!this.signKey) throw new JwtConfigError("auth: token signing attempted with verify-only key");
    // Go marshals maps with sorted keys: the same JSON etcd's jwt-go produces.
    const header = b64url(JSON.stringify({ alg: this.method, typ: "JWT" }));
    const exp = Math.floor((this.now() + this.opts.ttlMs) / 1000);
    const claims = b64url(`{"exp":${exp},"revision":${revision},"username":${JSON.stringify(username)}}`);
    const input = `${header}.${claims}`;
    return `${input}.${b64url(this.signature(input))}`;
  }

  /** The token's user and revision, or undefined if it is malformed, badly signed or expired. */
  info(token: string): { username: string; revision: bigint } | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    try {
      const header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8")) as { alg?: unknown };
      if (header.alg !== this.method) return undefined;
      if (!this.check(`${parts[0]}.${parts[1]}`, Buffer.from(parts[2]!, "base64url"))) return undefined;
      const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as Record<
        string,
        unknown
      >;
      const nowSec = this.now() / 1000;
      if (typeof claims.exp === "number" && nowSec > claims.exp) return undefined;
      if (typeof claims.nbf === "number" && nowSec < claims.nbf) return undefined;
      if (typeof claims.username !== "string" || typeof claims.revision !== "number") return undefined;
      return { username: claims.username, revision: BigInt(Math.trunc(claims.revision)) };
    } catch {
      return undefined;
    }
  }

  private signature(input: string): Buffer {
    const data = Buffer.from(input);
    switch (this.family) {
      case "HS":
        return createHmac(this.hash, this.signKey as Buffer)
          .update(data)
          .digest();
      case "RS":
        return sign(this.hash, data, this.signKey as KeyObject);
      case "PS":
        return sign(this.hash, data, {
          key: this.signKey as KeyObject,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        });
      case "ES":
        return sign(this.hash, data, { key: this.signKey as KeyObject, dsaEncoding: "ieee-p1363" });
    }
  }

  private check(input: string, sig: Buffer): boolean {
    const data = Buffer.from(input);
    switch (this.family) {
      case "HS": {
        const want = createHmac(this.hash, this.verifyKey as Buffer)
          .update(data)
          .digest();
        return want.length === sig.length && timingSafeEqual(want, sig);
      }
      case "RS":
        return verify(this.hash, data, this.verifyKey as KeyObject, sig);
      case "PS":
        return verify(
          this.hash,
          data,
          {
            key: this.verifyKey as KeyObject,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_AUTO,
          },
          sig,
        );
      case "ES":
        return verify(this.hash, data, { key: this.verifyKey as KeyObject, dsaEncoding: "ieee-p1363" }, sig);
    }
  }
}

/** Reads a key file named in --auth-token options. */
export function readKeyFile(path: string): Buffer {
  return readFileSync(path);
}

// Specifies tokens and passwords: simple tokens (shape, sliding TTL, invalidation), JWTs as etcd's jwt-go makes
// them (claims, algorithms, expiry, verify-only keys), --auth-token parsing, and bcrypt hashes compatible with
// the ones etcd 3.4 stores.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { checkPassword, hashPassword } from "./password.js";
import { newTokenProvider, parseDurationMs } from "./token.js";
import { JwtTokenProvider } from "./token_jwt.js";
import { SimpleTokenProvider, simpleTokenIndex } from "./token_simple.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "etcd-ts-token-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("simple tokens: 16 letters and the raft index, sliding TTL, dropped per user and on disable", () => {
  let now = 1_000_000;
  const p = new SimpleTokenProvider(300_000, () => now);
  p.enable();
  const prefix = p.genTokenPrefix();
  assert.match(prefix, /^[a-zA-Z]{16}$/);
  const t = p.assign(prefix, 24n, "alice");
  assert.equal(t, `${prefix}.24`);
  assert.equal(simpleTokenIndex(t), 24n);
  assert.equal(simpleTokenIndex("no-dot"), undefined);
  assert.equal(simpleTokenIndex("a.b.c"), undefined);
  assert.equal(simpleTokenIndex("a.x1"), undefined);
  now += 299_000;
  assert.equal(p.info(t), "alice"); // use renews the TTL
  now += 299_000;
  assert.equal(p.info(t), "alice");
  now += 300_000;
  assert.equal(p.info(t), undefined, "expired after a TTL without use");
  const t2 = p.assign(p.genTokenPrefix(), 30n, "alice");
  const t3 = p.assign(p.genTokenPrefix(), 31n, "bob");
  p.invalidateUser("alice");
  assert.equal(p.info(t2), undefined);
  assert.equal(p.info(t3), "bob");
  p.disable();
  assert.equal(p.info(t3), undefined);
});

function keyFiles(type: "rsa" | "ec"): { priv: string; pub: string } {
  const kp =
    type === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const priv = join(dir, `${type}.key`);
  const pub = join(dir, `${type}.pub`);
  writeFileSync(priv, kp.privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(pub, kp.publicKey.export({ type: "spki", format: "pem" }));
  return { priv, pub };
}

test("JWT: jwt-go's header and claims, every family signs and verifies, expiry and tampering refused", () => {
  const rsa = keyFiles("rsa");
  const ec = keyFiles("ec");
  const hmac = join(dir, "hmac.key");
  writeFileSync(hmac, "shared-secret");
  let now = 1_700_000_000_000;
  for (const [method, key] of [
    ["RS256", rsa],
    ["PS384", rsa],
    ["ES256", ec],
    ["HS512", { priv: hmac, pub: "" }],
  ] as const) {
    const opt = `jwt,priv-key=${key.priv},sign-method=${method},ttl=10m`;
    const p = newTokenProvider(opt, 0, () => now);
    assert.equal(p.type, "jwt");
    if (p.type !== "jwt") continue;
    const token = p.jwt.assign("alice", 7n);
    const [h, c] = token.split(".");
    assert.equal(Buffer.from(h!, "base64url").toString(), `{"alg":"${method}","typ":"JWT"}`);
    assert.equal(
      Buffer.from(c!, "base64url").toString(),
      `{"exp":${Math.floor(now / 1000) + 600},"revision":7,"username":"alice"}`,
    );
    assert.deepEqual(p.jwt.info(token), { username: "alice", revision: 7n }, method);
    assert.equal(p.jwt.info(`${token.slice(0, -4)}AAAA`), undefined, `${method}: bad signature`);
    now += 601_000;
    assert.equal(p.jwt.info(token), undefined, `${method}: expired`);
    now -= 601_000;
  }
  // A public key alone verifies but cannot sign (etcd's verify-only mode).
  const signer = new JwtTokenProvider({
    signMethod: "RS256",
    privateKey: readFileSync(rsa.priv),
    ttlMs: 60_000,
  });
  const verifier = newTokenProvider(`jwt,pub-key=${rsa.pub},sign-method=RS256`, 0);
  assert.equal(verifier.type, "jwt");
  if (verifier.type === "jwt") {
    assert.equal(verifier.jwt.info(signer.assign("bob", 3n))?.username, "bob");
    assert.throws(() => verifier.jwt.assign("bob", 3n), /verify-only/);
  }
});

test("--auth-token parsing: simple, jwt options, etcd's errors", () => {
  assert.equal(newTokenProvider("simple", 1000).type, "simple");
  assert.throws(() => newTokenProvider("nope", 1000), /auth: invalid auth options/);
  assert.throws(() => newTokenProvider("jwt,sign-method", 1000), /auth: invalid auth options/);
  assert.throws(
    () => newTokenProvider("jwt,ttl=1m,ttl=2m,sign-method=RS256", 1000),
    /auth: invalid auth options/,
  );
  assert.throws(() => newTokenProvider("jwt,sign-method=XX256", 1000), /invalid auth signature method/);
  assert.throws(() => newTokenProvider("jwt,sign-method=RS256", 1000), /missing key data/);
  assert.equal(parseDurationMs("5m"), 300_000);
  assert.equal(parseDurationMs("1h30m"), 5_400_000);
  assert.equal(parseDurationMs("1.5s"), 1500);
  assert.throws(() => parseDurationMs("5"));
});

test("bcrypt: a hash etcd 3.4 stored verifies; ours are $2a$ with the configured cost", async () => {
  // Made by etcd 3.4.23 (`etcdctl user add 'root:s3cret pw!'`), read from its bbolt file.
  const fromEtcd = Buffer.from("$2a$10$.1FR1t2XNpHU5d0.l0.32u.3Ejg56WFnubdqGarV3JmB2BiXTtSai");
  assert.ok(await checkPassword("s3cret pw!", fromEtcd));
  assert.ok(!(await checkPassword("s3cret pw", fromEtcd)));
  // etcd 3.4 hashes an empty password too.
  assert.ok(
    await checkPassword("", Buffer.from("$2a$10$f/fbiRJw4eUydS0oJp7KEOPGjRONsE8ddk3BtTImSTGGA0GtkDcv6")),
  );
  const h = await hashPassword("pw", 4);
  assert.match(h, /^\$2a\$04\$[./A-Za-z0-9]{53}$/);
  assert.ok(await checkPassword("pw", Buffer.from(h)));
  assert.ok(!(await checkPassword("pw", Buffer.from("not a hash"))));
  assert.ok(!(await checkPassword("pw", Buffer.alloc(0))));
});

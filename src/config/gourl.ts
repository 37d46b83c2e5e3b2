// Owns etcd's URL rules: the parts of Go's url.Parse and net.SplitHostPort etcd relies on, types.NewURLs, and EtcdURL.
import { isIP } from "node:net";
import { goQuote } from "./goparse.js";

/** A URL as etcd sees it: a WHATWG URL that also keeps Go's exact string form and host:port. */
export class EtcdURL extends URL {
  /** Go's url.String(): no trailing slash, scheme lower-cased, port kept even when it is the scheme's default.
   *  This is the form etcd prints, sorts and hashes into member IDs. */
  readonly goString: string;
  /** Go's url.Host: `host:port` exactly as given (`[::1]:2379`, `127.0.0.1:80`). */
  readonly hostPort: string;
  constructor(goString: string, hostPort: string, whatwg: string = goString) {
    super(whatwg);
    this.goString = goString;
    this.hostPort = hostPort;
  }
  /** etcd's form, so String(u) and JSON match what etcd prints (`href` keeps the WHATWG form). */
  override toString(): string {
    return this.goString;
  }
  override toJSON(): string {
    return this.goString;
  }
}

/** etcd's string for any URL: EtcdURL's Go form, else the WHATWG form without a bare trailing slash. */
export function urlString(u: URL): string {
  if (u instanceof EtcdURL) return u.goString;
  return u.pathname === "/" && !u.search && !u.hash ? u.href.slice(0, -1) : u.href;
}

export class GoURLError extends Error {}

interface GoURL {
  scheme: string;
  opaque: string;
  userinfo: string | undefined;
  host: string;
  path: string;
  rawQuery: string;
  forceQuery: boolean;
  fragment: string;
}

const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** Go's url.unescape error checks (we keep the raw text; only the errors matter to etcd). */
function checkEscapes(s: string, host: boolean): void {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "%") {
      if (!isHex(s[i + 1]) || !isHex(s[i + 2]))
        throw new GoURLError(`invalid URL escape ${goQuote(s.slice(i, i + 3))}`);
      // Go allows only %25 (a zone's "%") and non-ASCII escapes in a host.
      if (host && Number.parseInt(s[i + 1]!, 16) < 8 && s.slice(i, i + 3) !== "%25") {
        throw new GoURLError(`invalid URL escape ${goQuote(s.slice(i, i + 3))}`);
      }
      i += 2;
    } else if (host && c.charCodeAt(0) < 0x80 && !/[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]/.test(c)) {
      throw new GoURLError(`invalid character ${goQuote(c)} in host name`);
    }
  }
}

const validOptionalPort = (p: string): boolean => p === "" || (p[0] === ":" && /^[0-9]*$/.test(p.slice(1)));

function parseHost(host: string): string {
  if (host.startsWith("[")) {
    const i = host.lastIndexOf("]");
    if (i < 0) throw new GoURLError("missing ']' in host");
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) throw new GoURLError(`invalid port ${goQuote(colonPort)} after host`);
  } else {
    const i = host.lastIndexOf(":");
    if (i >= 0 && !validOptionalPort(host.slice(i))) {
      throw new GoURLError(`invalid port ${goQuote(host.slice(i))} after host`);
    }
  }
  checkEscapes(host, true);
  return host;
}

/** Go's url.Parse (not via a request). Errors carry Go's `parse "<url>": <reason>` text. */
export function parseGoURL(raw: string): GoURL {
  try {
    return parseInner(raw);
  } catch (e) {
    if (e instanceof GoURLError) throw new GoURLError(`parse ${goQuote(raw)}: ${e.message}`);
    throw e;
  }
}

function parseInner(raw: string): GoURL {
  const hash = raw.indexOf("#");
  const fragment = hash < 0 ? "" : raw.slice(hash + 1);
  let rest = hash < 0 ? raw : raw.slice(0, hash);
  const u: GoURL = {
    scheme: "",
    opaque: "",
    userinfo: undefined,
    host: "",
    path: "",
    rawQuery: "",
    forceQuery: false,
    fragment,
  };
  if ([...raw].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    throw new GoURLError("net/url: invalid control character in URL");
  }
  if (rest === "*") return { ...u, path: "*" };
  const m = /^[A-Za-z][A-Za-z0-9+\-.]*:/.exec(rest);
  if (rest.startsWith(":")) throw new GoURLError("missing protocol scheme");
  if (m) {
    u.scheme = m[0].slice(0, -1).toLowerCase();
    rest = rest.slice(m[0].length);
  }
  if (rest.endsWith("?") && rest.split("?").length === 2) {
    u.forceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf("?");
    if (q >= 0) {
      u.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith("/")) {
    if (u.scheme !== "") return { ...u, opaque: rest };
    const seg = rest.indexOf("/") < 0 ? rest : rest.slice(0, rest.indexOf("/"));
    if (seg.includes(":")) throw new GoURLError("first path segment in URL cannot contain colon");
  }
  if ((u.scheme !== "" || !rest.startsWith("///")) && rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    rest = slash < 0 ? "" : rest.slice(slash);
    const at = authority.lastIndexOf("@");
    u.host = parseHost(at < 0 ? authority : authority.slice(at + 1));
    if (at >= 0) {
      u.userinfo = authority.slice(0, at);
      if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(u.userinfo))
        throw new GoURLError("net/url: invalid userinfo");
      checkEscapes(u.userinfo, false);
    }
  }
  checkEscapes(rest, false);
  u.path = rest;
  checkEscapes(fragment, false);
  return u;
}

/** Go's url.URL.String() for what parseGoURL keeps. */
function goURLString(u: GoURL): string {
  let s = u.scheme ? `${u.scheme}:` : "";
  if (u.opaque) s += u.opaque;
  else {
    if (u.scheme || u.host || u.userinfo !== undefined)
      s += `//${u.userinfo !== undefined ? `${u.userinfo}@` : ""}${u.host}`;
    s += u.path;
  }
  if (u.forceQuery || u.rawQuery) s += `?${u.rawQuery}`;
  if (u.fragment) s += `#${u.fragment}`;
  return s;
}

export interface HostPort {
  host: string;
  port: string;
}

/** net.SplitHostPort; throws with Go's `address <addr>: <reason>` text. */
export function splitHostPort(hostport: string): HostPort {
  const fail = (why: string) => new GoURLError(`address ${hostport}: ${why}`);
  const i = hostport.lastIndexOf(":");
  if (i < 0) throw fail("missing port in address");
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === "[") {
    const end = hostport.indexOf("]");
    if (end < 0) throw fail("missing ']' in address");
    if (end + 1 === hostport.length) throw fail("missing port in address");
    if (end + 1 !== i)
      throw fail(hostport[end + 1] === ":" ? "too many colons in address" : "missing port in address");
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(":")) throw fail("too many colons in address");
  }
  if (hostport.slice(j).includes("[")) throw fail("unexpected '[' in address");
  if (hostport.slice(k).includes("]")) throw fail("unexpected ']' in address");
  return { host, port: hostport.slice(i + 1) };
}

/** etcd's types.NewURLs: trims, checks scheme, host:port and no path; the result is sorted like etcd's. */
export function newURLs(strs: readonly string[]): EtcdURL[] {
  if (strs.length === 0) throw new GoURLError("no valid URLs given");
  const out = strs.map((raw) => {
    const s = raw.trim();
    const u = parseGoURL(s);
    if (!["http", "https", "unix", "unixs"].includes(u.scheme)) {
      throw new GoURLError(`URL scheme must be http, https, unix, or unixs: ${s}`);
    }
    try {
      splitHostPort(u.host);
    } catch {
      throw new GoURLError(`URL address does not have the form "host:port": ${s}`);
    }
    if (u.path !== "") throw new GoURLError(`URL must not contain a path: ${s}`);
    const str = goURLString(u);
    try {
      return new EtcdURL(str, u.host);
    } catch {
      // WHATWG has no empty host ("http://:2380", which Go dials as the local machine); etcd's validation
      // rejects it for listen and advertise URLs, so only other members' --initial-cluster URLs get here.
      if (splitHostPort(u.host).host === "")
        return new EtcdURL(str, u.host, str.replace("://:", "://0.0.0.0:"));
      // Go accepts a few host characters WHATWG rejects (`<`, `>`, `"`); etcd could not listen on them either.
      throw new GoURLError(`URL address does not have the form "host:port": ${s}`);
    }
  });
  return out.sort((a, b) => (a.goString < b.goString ? -1 : a.goString > b.goString ? 1 : 0));
}

/** net.ParseIP, as etcd's checkBindURLs uses it (no zones, no leading-zero octets). */
export const isGoIP = (host: string): boolean => !host.includes("%") && isIP(host) !== 0;

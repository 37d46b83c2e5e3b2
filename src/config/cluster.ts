// Owns --initial-cluster: etcd's types.NewURLsMap parsing and the first-boot checks of etcdserver.VerifyBootstrap.
import { fatalError } from "./errors.js";
import { goQuote, goQuoteList } from "./goparse.js";
import { type EtcdURL, newURLs, urlString } from "./gourl.js";

/** Parses `name1=url1,name1=url2,name2=url3`; a name may repeat to give a member several URLs. */
export function parseInitialCluster(s: string): Map<string, EtcdURL[]> {
  const byName = new Map<string, string[]>();
  for (const item of s.split(",")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    const name = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? "" : item.slice(eq + 1);
    byName.set(name, [...(byName.get(name) ?? []), value]);
  }
  return new Map([...byName].map(([name, urls]) => [name, newURLs(urls)]));
}

/** etcd's URLsMap.String(): sorted `name=url` pairs. */
export function clusterString(m: ReadonlyMap<string, readonly URL[]>): string {
  const pairs: string[] = [];
  for (const [name, urls] of m) for (const u of urls) pairs.push(`${name}=${urlString(u)}`);
  return pairs.sort().join(",");
}

/** The part of a Config the bootstrap checks read. */
export interface BootstrapView {
  readonly name: string;
  readonly initialCluster: ReadonlyMap<string, readonly URL[]>;
  readonly initialAdvertisePeerUrls: readonly URL[];
  readonly initialClusterState: "new" | "existing";
}

/**
 * The checks etcd makes when a member starts without a WAL: its name is in --initial-cluster, its advertised
 * peer URLs match its entry there, and no URL appears twice. Throws ConfigError("fatal") with etcd's text.
 * etcd resolves host names before comparing URLs; this compares them as written.
 */
export function checkInitialCluster(c: BootstrapView): void {
  const dup = hasDuplicateURL(c.initialCluster);
  if (c.initialClusterState === "existing") {
    if (dup) throw fatalError(`initial cluster ${clusterString(c.initialCluster)} has duplicate url`);
    return;
  }
  const mine = c.initialCluster.get(c.name);
  if (mine === undefined) {
    throw fatalError(`couldn't find local name ${goQuote(c.name)} in the initial cluster configuration`);
  }
  const want = mine.map(urlString).sort();
  const have = c.initialAdvertisePeerUrls.map(urlString).sort();
  const mismatch = mismatchReason(have, want);
  if (mismatch !== undefined) {
    const missing = [...new Set(want)].filter((u) => !have.includes(u));
    if (missing.length > 0) {
      const m = missing.map((u) => `${c.name}=${u}`).join(",");
      throw fatalError(
        `--initial-cluster has ${m} but missing from --initial-advertise-peer-urls=${have.join(",")} (${mismatch})`,
      );
    }
    const extra = [...new Set(have)].filter((u) => !want.includes(u));
    const mine = clusterString(new Map([[c.name, c.initialAdvertisePeerUrls]]));
    if (extra.length > 0) {
      throw fatalError(
        `--initial-advertise-peer-urls has ${extra.join(",")} but missing from --initial-cluster=${mine}`,
      );
    }
    throw fatalError(`failed to resolve ${have.join(",")} to match --initial-cluster=${mine} (${mismatch})`);
  }
  if (dup) throw fatalError(`initial cluster ${clusterString(c.initialCluster)} has duplicate url`);
  if (clusterString(c.initialCluster) === "")
    throw fatalError("initial cluster unset and no discovery URL found");
}

/** netutil.URLStringsEqual without name resolution: undefined when equal, else its error text. */
function mismatchReason(a: readonly string[], b: readonly string[]): string | undefined {
  if (a.length !== b.length) return `len(${goQuoteList(a)}) != len(${goQuoteList(b)})`;
  const i = a.findIndex((u, k) => u !== b[k]);
  return i < 0 ? undefined : `resolved urls: ${goQuote(a[i]!)} != ${goQuote(b[i]!)}`;
}

function hasDuplicateURL(m: ReadonlyMap<string, readonly URL[]>): boolean {
  const seen = new Set<string>();
  for (const urls of m.values()) {
    for (const u of urls) {
      const s = urlString(u);
      if (seen.has(s)) return true;
      seen.add(s);
    }
  }
  return false;
}

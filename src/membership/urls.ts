// Owns the validation of a member's peer URLs as etcd's types.NewURLs does it (MemberAdd refuses others).

/** The URLs sorted, or an error text when one is not a valid peer URL (scheme, host:port, no path). */
export function parsePeerURLs(urls: readonly string[]): { urls: string[] } | { error: string } {
  if (urls.length === 0) return { error: "no valid URLs given" };
  const out: string[] = [];
  for (const raw of urls) {
    const s = raw.trim();
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(s);
    if (!m) return { error: `URL scheme must be http, https, unix, or unixs: ${s}` };
    const [, scheme, host, rest] = m;
    if (!["http", "https", "unix", "unixs"].includes(scheme!.toLowerCase())) {
      return { error: `URL scheme must be http, https, unix, or unixs: ${s}` };
    }
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):[0-9]+$/.test(host!)) {
      return { error: `URL address does not have the form "host:port": ${s}` };
    }
    if (rest !== "") return { error: `URL must not contain a path: ${s}` };
    out.push(s);
  }
  return { urls: out.sort() };
}

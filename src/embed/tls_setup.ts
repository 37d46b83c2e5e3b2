// Owns what a member does with its TLS flags at start, in etcd's order and words: auto-TLS certificates, the
// checks of https:// listen URLs, the warnings for http:// ones, and the TLS of each listener and of peer dials.
import { join } from "node:path";
import type { Logger } from "pino";
import type { ListenTls } from "../api/listen.js";
import type { PeerTlsOptions } from "../transport/index.js";
import { selfCert } from "./self_cert.js";
import { describeTls, isEmptyTls, ServerTls, type TlsInfo, type TlsSettings } from "./tls_info.js";

export interface TlsSideConfig extends TlsInfo {
  /** --auto-tls / --peer-auto-tls: a self-signed certificate when none is given. */
  autoTls: boolean;
}

export interface EmbedTlsConfig {
  client: TlsSideConfig;
  peer: TlsSideConfig;
  settings: TlsSettings;
}

export interface MemberTls {
  /** TLS of https:// client listeners (undefined when there are none). */
  client: ListenTls | undefined;
  /** TLS of https:// peer listeners, and what this member presents and trusts when it dials a peer. */
  peer: PeerTlsOptions | undefined;
}

const isSecure = (u: URL): boolean => u.protocol === "https:" || u.protocol === "unixs:";

/** etcd's PeerSelfCert / ClientSelfCert: auto-TLS replaces the whole side, unless certificates were given. */
async function resolveSide(
  side: "client" | "peer",
  c: TlsSideConfig,
  urls: readonly URL[],
  dataDir: string,
  log: Logger,
): Promise<TlsInfo> {
  const { autoTls, ...info } = c;
  if (!autoTls) return info;
  if (!isEmptyTls(info)) {
    log.warn({}, `ignoring ${side} auto TLS since certs given`);
    return info;
  }
  return selfCert(
    join(dataDir, "fixtures", side),
    urls.map((u) => u.host),
    log,
  );
}

/**
 * Everything TLS a member needs before it starts: throws etcd's start-up errors for https:// URLs without a
 * certificate, logs etcd's warnings for http:// URLs with one.
 */
export async function prepareTls(
  cfg: EmbedTlsConfig | undefined,
  urls: { client: readonly URL[]; peer: readonly URL[] },
  dataDir: string,
  log: Logger,
): Promise<MemberTls> {
  const none: TlsSideConfig = {
    certFile: "",
    keyFile: "",
    trustedCaFile: "",
    clientCertAuth: false,
    crlFile: "",
    selfCert: false,
    autoTls: false,
  };
  const settings = cfg?.settings ?? { ciphers: undefined, minVersion: "TLSv1.2", maxVersion: undefined };

  // etcd configures the peer listeners first.
  const peerInfo = await resolveSide("peer", cfg?.peer ?? none, urls.peer, dataDir, log);
  if (!isEmptyTls(peerInfo)) log.info({ "tls-info": describeTls(peerInfo) }, "starting with peer TLS");
  for (const u of urls.peer) {
    if (u.protocol === "http:") warnPlain(u, peerInfo, "peer-url", "--peer-client-cert-auth", log);
    if (isSecure(u) && isEmptyTls(peerInfo)) {
      throw new Error(`cannot listen on TLS for ${u.host}: KeyFile and CertFile are not presented`);
    }
  }
  let peer: PeerTlsOptions | undefined;
  if (!isEmptyTls(peerInfo)) peer = (await ServerTls.open(peerInfo, settings)).peerOptions();

  const clientInfo = await resolveSide("client", cfg?.client ?? none, urls.client, dataDir, log);
  if (!isEmptyTls(clientInfo)) log.info({ "tls-info": describeTls(clientInfo) }, "starting with client TLS");
  for (const u of urls.client) {
    if (u.protocol === "http:") warnPlain(u, clientInfo, "client-url", "--client-cert-auth", log);
    if (isSecure(u) && isEmptyTls(clientInfo)) {
      throw new Error(
        `TLS key/cert (--cert-file, --key-file) must be provided for client url ${urlString(u)} with HTTPS scheme`,
      );
    }
  }
  let client: ListenTls | undefined;
  if (urls.client.some(isSecure)) {
    const st = await ServerTls.open(clientInfo, settings);
    client = {
      initial: st.options,
      refresh: () => st.refresh(),
      requestCert: st.requestCert,
      // etcd's ClientCertAuthEnabled comes from --client-cert-auth only, not from a trusted CA alone.
      certIdentity: clientInfo.clientCertAuth,
      check: (s) => st.checkCrl(s),
      onRejected: (remote, err) =>
        log.warn({ "remote-addr": remote, "server-name": "", error: err.message }, "rejected connection"),
    };
  }
  return { client, peer };
}

function warnPlain(u: URL, info: TlsInfo, key: string, authFlag: string, log: Logger): void {
  if (!isEmptyTls(info)) {
    log.warn(
      { [key]: urlString(u) },
      "scheme is HTTP while key and certificate files are present; ignoring key and certificate files",
    );
  }
  if (info.clientCertAuth) {
    log.warn(
      { [key]: urlString(u) },
      `scheme is HTTP while ${authFlag} is enabled; ignoring client cert auth for this URL`,
    );
  }
}

/** The URL as etcd prints it (no trailing slash for an empty path). */
function urlString(u: URL): string {
  return u.pathname === "/" && !u.href.endsWith("//") ? u.href.replace(/\/$/, "") : u.href;
}

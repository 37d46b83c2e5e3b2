// Owns running a member in-process: the server, its peer listener, its client listeners (gRPC + HTTP/1.1 on one
// port) and shutdown (asked for, or because the member was removed from its cluster).
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { Server as NetServer } from "node:net";
import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ADMIN_CLUSTER_METHODS, ADMIN_MAINTENANCE_METHODS, requireAdmin } from "../api/grpc/admin_guard.js";
import { AuthService34, authService } from "../api/grpc/auth.js";
import { clusterService } from "../api/grpc/cluster.js";
import { electionService } from "../api/grpc/election.js";
import { installGrpcCompat } from "../api/grpc/grpc_compat.js";
import { kvService } from "../api/grpc/kv.js";
import { leaseService } from "../api/grpc/lease.js";
import { lockService } from "../api/grpc/lock.js";
import { maintenanceService } from "../api/grpc/maintenance.js";
import { recipeBackend } from "../api/grpc/recipe_call.js";
import { RequestGuard } from "../api/grpc/require_leader.js";
import { FastWatchService, watchService } from "../api/grpc/watch.js";
import { createClientListener } from "../api/listen.js";
import {
  ClusterService,
  ElectionService,
  KVService,
  LeaseService,
  LockService,
  type MaintenanceServer,
  MaintenanceService,
} from "../proto/index.js";
import { EtcdServer, type ServerConfig } from "../server/server.js";
import { createPeerServer } from "../transport/index.js";
import { type EmbedTlsConfig, prepareTls } from "./tls_setup.js";

/** gRPC receive limit: --max-request-bytes plus etcd's 512 KiB allowance for the envelope. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** etcd's send limit is math.MaxInt32. */
const GRPC_MAX_SEND_BYTES = 2 ** 31 - 1;

export interface EmbedConfig extends Omit<ServerConfig, "logger"> {
  listenClientUrls: URL[];
  /** --listen-peer-urls: where other members reach this one (none: a member without peers). */
  listenPeerUrls?: URL[];
  /** TLS flags of the client and peer sides (none: plain text only). */
  tls?: EmbedTlsConfig;
  logger: Logger;
}

export interface Etcd {
  server: EtcdServer;
  /** The URLs actually bound (port 0 becomes the chosen port). */
  clientUrls: URL[];
  peerUrls: URL[];
  close(): Promise<void>;
  /** Settles once the member has closed, asked to or not (a member removed from its cluster stops itself). */
  closed: Promise<void>;
}

async function listenOn(server: NetServer, url: URL, defaultPort: number): Promise<URL> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(url.port || defaultPort), host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = new URL(url.href);
  if (addr && typeof addr === "object") bound.port = String(addr.port);
  return bound;
}

export async function startEtcd(cfg: EmbedConfig): Promise<Etcd> {
  const log = cfg.logger;
  log.info({ "listen-client-urls": cfg.listenClientUrls.map(String) }, "configuring client listeners");
  for (const url of cfg.listenClientUrls) {
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new Error(`listen-client-urls scheme ${url.protocol} is not supported yet by etcd-ts`);
  }
  for (const url of cfg.listenPeerUrls ?? []) {
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new Error(`listen-peer-urls scheme ${url.protocol} is not supported yet by etcd-ts`);
  }
  const tls = await prepareTls(
    cfg.tls,
    { client: cfg.listenClientUrls, peer: cfg.listenPeerUrls ?? [] },
    cfg.dataDir,
    log,
  );
  log.info(
    { name: cfg.name, "data-dir": cfg.dataDir, "wal-dir": cfg.walDir ?? "" },
    "starting an etcd server",
  );
  const server = await EtcdServer.start({ ...cfg, ...(tls.peer ? { peerTls: tls.peer } : {}), logger: log });

  // Peers must reach us before we can have a leader, so the peer port opens first.
  const peerListeners: NetServer[] = [];
  const peerUrls: URL[] = [];
  for (const url of cfg.listenPeerUrls ?? []) {
    const l = createPeerServer(server.peerRequestHandler(), url.protocol === "https:" ? tls.peer : undefined);
    try {
      peerUrls.push(await listenOn(l, url, 2380));
    } catch (err) {
      for (const other of peerListeners) other.close();
      await server.stop();
      throw err;
    }
    peerListeners.push(l);
    log.info({ address: url.host }, "serving peer traffic");
  }

  installGrpcCompat();
  const grpc = new GrpcServer({
    "grpc.max_receive_message_length": cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    "grpc.max_send_message_length": GRPC_MAX_SEND_BYTES,
  });
  const guard = new RequestGuard({
    leader: () => server.leader,
    isLearner: () => server.isLearner,
    electionMs: cfg.electionMs,
  });
  grpc.addService(KVService, guard.wrap(KVService, kvService(server)));
  grpc.addService(LeaseService, guard.wrap(LeaseService, leaseService(server.lease)));
  const maintenance = maintenanceService(server, cfg.quotaBackendBytes) as MaintenanceServer;
  grpc.addService(
    MaintenanceService,
    guard.wrap(
      MaintenanceService,
      requireAdmin(server.auth, MaintenanceService, maintenance, ADMIN_MAINTENANCE_METHODS, true),
    ),
  );
  grpc.addService(
    ClusterService,
    guard.wrap(
      ClusterService,
      requireAdmin(server.auth, ClusterService, clusterService(server), ADMIN_CLUSTER_METHODS),
    ),
  );
  grpc.addService(AuthService34, guard.wrap(AuthService34, authService(server.auth)));
  grpc.addService(
    FastWatchService,
    guard.wrap(
      FastWatchService,
      watchService({
        watchable: server.watchable,
        header: (rev) => server.header(rev),
        maxRequestBytes: cfg.maxRequestBytes,
        authorizeWatch: (cred, key, rangeEnd) => server.auth.authorizeWatch(cred, key, rangeEnd),
      }),
    ),
  );
  const recipes = recipeBackend(server);
  grpc.addService(LockService, guard.wrap(LockService, lockService(recipes)));
  grpc.addService(ElectionService, guard.wrap(ElectionService, electionService(recipes)));
  const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
  const http: HttpServer = createHttpServer((_req, res) => {
    res.statusCode = 404;
    res.end("404 page not found\n");
  });

  const shutdown = async (): Promise<void> => {
    for (const l of [...listeners, ...peerListeners]) l.close();
    injector.destroy();
    grpc.forceShutdown();
    guard.stop();
    http.closeAllConnections();
    await server.stop();
  };

  // Like etcd, take client connections only once this member has a leader and has published itself,
  // so a client never reaches a member that would answer "etcdserver: no leader" right after a restart.
  const listeners: NetServer[] = [];
  const started = await Promise.race([server.ready.then(() => true), server.done.then(() => false)]);
  if (!started) {
    await shutdown();
    throw new Error("the member stopped before it was ready");
  }
  const clientUrls: URL[] = [];
  for (const url of cfg.listenClientUrls) {
    const l = createClientListener({
      grpc: injector,
      http,
      ...(url.protocol === "https:" ? { tls: tls.client } : {}),
    });
    try {
      clientUrls.push(await listenOn(l, url, 2379));
    } catch (err) {
      // A port that cannot be bound is fatal: release the data dir before reporting it.
      await shutdown();
      throw err;
    }
    listeners.push(l);
  }

  for (const u of clientUrls) {
    if (u.protocol === "https:") log.info({ address: u.host }, "serving client traffic securely");
    else log.info({ address: u.host }, "serving client traffic insecurely; this is strongly discouraged!");
  }
  log.info({}, "ready to serve client requests");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info({ name: cfg.name, "data-dir": cfg.dataDir }, "closing etcd server");
      await shutdown();
      log.info({ name: cfg.name, "data-dir": cfg.dataDir }, "closed etcd server");
    })();
    return closing;
  };
  // A member removed from the cluster stops itself: close its listeners too.
  const closed = server.done.then(() => close());
  return { server, clientUrls, peerUrls, close, closed };
}

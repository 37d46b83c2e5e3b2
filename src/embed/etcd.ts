// Owns running a member in-process: the server, its client listeners (gRPC + HTTP/1.1 on one port) and shutdown.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { Server as NetServer } from "node:net";
import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { clusterService } from "../api/grpc/cluster.js";
import { electionService } from "../api/grpc/election.js";
import { installGrpcCompat } from "../api/grpc/grpc_compat.js";
import { kvService } from "../api/grpc/kv.js";
import { leaseService } from "../api/grpc/lease.js";
import { lockService } from "../api/grpc/lock.js";
import { maintenanceService } from "../api/grpc/maintenance.js";
import { recipeBackend } from "../api/grpc/recipe_call.js";
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

/** gRPC receive limit: --max-request-bytes plus etcd's 512 KiB allowance for the envelope. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** etcd's send limit is math.MaxInt32. */
const GRPC_MAX_SEND_BYTES = 2 ** 31 - 1;

export interface EmbedConfig extends Omit<ServerConfig, "logger"> {
  listenClientUrls: URL[];
  logger: Logger;
}

export interface Etcd {
  server: EtcdServer;
  /** The URLs actually bound (port 0 becomes the chosen port). */
  clientUrls: URL[];
  close(): Promise<void>;
}

export async function startEtcd(cfg: EmbedConfig): Promise<Etcd> {
  const log = cfg.logger;
  log.info({ "listen-client-urls": cfg.listenClientUrls.map(String) }, "configuring client listeners");
  log.info(
    { name: cfg.name, "data-dir": cfg.dataDir, "wal-dir": cfg.walDir ?? "" },
    "starting an etcd server",
  );
  for (const url of cfg.listenClientUrls) {
    if (url.protocol !== "http:")
      throw new Error(`listen-client-urls scheme ${url.protocol} is not supported yet by etcd-ts`);
  }
  const server = await EtcdServer.start({ ...cfg, logger: log });

  installGrpcCompat();
  const grpc = new GrpcServer({
    "grpc.max_receive_message_length": cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    "grpc.max_send_message_length": GRPC_MAX_SEND_BYTES,
  });
  grpc.addService(KVService, kvService(server));
  grpc.addService(LeaseService, leaseService(server.lease));
  grpc.addService(MaintenanceService, maintenanceService(server, cfg.quotaBackendBytes) as MaintenanceServer);
  grpc.addService(ClusterService, clusterService(server) as never);
  grpc.addService(
    FastWatchService,
    watchService({
      watchable: server.watchable,
      header: (rev) => server.header(rev),
      maxRequestBytes: cfg.maxRequestBytes,
    }),
  );
  const recipes = recipeBackend(server);
  grpc.addService(LockService, lockService(recipes));
  grpc.addService(ElectionService, electionService(recipes));
  const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
  const http: HttpServer = createHttpServer((_req, res) => {
    res.statusCode = 404;
    res.end("404 page not found\n");
  });

  // Like etcd, take client connections only once this member has a leader and has published itself,
  // so a client never reaches a member that would answer "etcdserver: no leader" right after a restart.
  await server.ready;
  const listeners: NetServer[] = [];
  const clientUrls: URL[] = [];
  for (const url of cfg.listenClientUrls) {
    const l = createClientListener({ grpc: injector, http });
    const host = url.hostname.replace(/^\[|\]$/g, "");
    try {
      await new Promise<void>((resolve, reject) => {
        l.once("error", reject);
        l.listen(Number(url.port || 2379), host, () => resolve());
      });
    } catch (err) {
      // A port that cannot be bound is fatal: release the data dir before reporting it.
      for (const other of listeners) other.close();
      grpc.forceShutdown();
      await server.stop();
      throw err;
    }
    const addr = l.address();
    const bound = new URL(url.href);
    if (addr && typeof addr === "object") bound.port = String(addr.port);
    listeners.push(l);
    clientUrls.push(bound);
  }

  for (const u of clientUrls) {
    log.info({ address: u.host }, "serving client traffic insecurely; this is strongly discouraged!");
  }
  log.info({}, "ready to serve client requests");

  let closed = false;
  return {
    server,
    clientUrls,
    async close() {
      if (closed) return;
      closed = true;
      log.info({ name: cfg.name, "data-dir": cfg.dataDir }, "closing etcd server");
      for (const l of listeners) l.close();
      injector.destroy();
      grpc.forceShutdown();
      http.closeAllConnections();
      await server.stop();
      log.info({ name: cfg.name, "data-dir": cfg.dataDir }, "closed etcd server");
    },
  };
}

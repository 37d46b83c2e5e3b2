// Owns the server side of auth (etcd's v3_server.go auth methods and authApplierV3): who a request acts as (its
// token, resolved when it is proposed), hashing and password checks before proposing, every auth request
// applied to the AuthStore, and the permission checks the apply loop makes for KV and lease requests.
import {
  AuthError,
  type AuthInfo,
  AuthStore,
  type AuthStoreListener,
  checkPassword,
  hashPassword,
  ROOT_USER,
  simpleTokenIndex,
  type TokenProvider,
} from "../auth/index.js";
import type { Backend } from "../backend/index.js";
import type { Lessor } from "../lease/index.js";
import type {
  AuthDisableResponse,
  AuthEnableResponse,
  AuthenticateRequest,
  AuthenticateResponse,
  AuthRoleAddRequest,
  AuthRoleAddResponse,
  AuthRoleDeleteRequest,
  AuthRoleDeleteResponse,
  AuthRoleGetRequest,
  AuthRoleGetResponse,
  AuthRoleGrantPermissionRequest,
  AuthRoleGrantPermissionResponse,
  AuthRoleListResponse,
  AuthRoleRevokePermissionRequest,
  AuthRoleRevokePermissionResponse,
  AuthUserAddRequest,
  AuthUserAddResponse,
  AuthUserChangePasswordRequest,
  AuthUserChangePasswordResponse,
  AuthUserDeleteRequest,
  AuthUserDeleteResponse,
  AuthUserGetRequest,
  AuthUserGetResponse,
  AuthUserGrantRoleRequest,
  AuthUserGrantRoleResponse,
  AuthUserListResponse,
  AuthUserRevokeRoleRequest,
  AuthUserRevokeRoleResponse,
  InternalRaftRequest,
  RequestOp,
  ResponseHeader,
  TxnRequest,
} from "../proto/index.js";

/** The member itself (lease expiry, publishing): it acts as root, like etcd's AuthStore.WithRoot. */
export const MEMBER: unique symbol = Symbol("member");
/** Who a request comes from: a client's token (undefined when it sent none), or the member itself. */
export type Credentials =
  | {
      readonly token: string | undefined /** CN of a verified client certificate (no token sent). */;
      readonly commonName?: string;
    }
  | typeof MEMBER;
export const NO_TOKEN: Credentials = Object.freeze({ token: undefined });

/** A client call with neither a token nor a certificate identity: it acts as nobody, with nothing to look up. */
export const isAnonymous = (cred: Credentials): boolean =>
  cred !== MEMBER && cred.token === undefined && cred.commonName === undefined;

export interface AuthOpsHooks {
  /** Proposes through raft as `cred`; resolves with the apply result, rejects with the apply error. */
  propose(
    req: Partial<InternalRaftRequest>,
    cred: Credentials,
  ): Promise<{ revision: bigint; resp?: unknown }>;
  /** Waits until this member has applied entry `index`, or rejects after the request timeout. */
  waitApplied(index: bigint): Promise<boolean>;
  /** ReadIndex: this member has applied everything committed before the call. */
  linearizableRead(): Promise<void>;
  header(revision: bigint): ResponseHeader;
  lessor(): Lessor;
  bcryptCost: number;
  logger?: { warn(o: object, msg: string): void; info(o: object, msg: string): void };
}

/** Apply results of auth requests; the API layer adds the header. */
export type AuthApplied =
  | { kind: "none" }
  | { kind: "authenticated"; username: string; revision: bigint; token: string }
  | { kind: "roles"; roles: string[] }
  | { kind: "users"; users: string[] }
  | { kind: "perms"; perm: AuthRoleGetResponse["perm"] };

/** Whether the entry carries an auth request (the apply loop hands those to AuthOps.apply). */
export function isAuthRequest(r: InternalRaftRequest): boolean {
  return (
    r.authEnable !== undefined ||
    r.authDisable !== undefined ||
    r.authStatus !== undefined ||
    r.authenticate !== undefined ||
    r.authUserAdd !== undefined ||
    r.authUserDelete !== undefined ||
    r.authUserGet !== undefined ||
    r.authUserChangePassword !== undefined ||
    r.authUserGrantRole !== undefined ||
    r.authUserRevokeRole !== undefined ||
    r.authUserList !== undefined ||
    r.authRoleList !== undefined ||
    r.authRoleAdd !== undefined ||
    r.authRoleDelete !== undefined ||
    r.authRoleGet !== undefined ||
    r.authRoleGrantPermission !== undefined ||
    r.authRoleRevokePermission !== undefined
  );
}

/** etcd's needAdminPermission: auth management entries checked against root at apply. */
function needAdminPermission(r: InternalRaftRequest): boolean {
  return (
    r.authEnable !== undefined ||
    r.authDisable !== undefined ||
    r.authUserAdd !== undefined ||
    r.authUserDelete !== undefined ||
    r.authUserChangePassword !== undefined ||
    r.authUserGrantRole !== undefined ||
    r.authUserRevokeRole !== undefined ||
    r.authRoleAdd !== undefined ||
    r.authRoleGrantPermission !== undefined ||
    r.authRoleRevokePermission !== undefined ||
    r.authRoleDelete !== undefined ||
    r.authUserList !== undefined ||
    r.authRoleList !== undefined
  );
}

const isOldRevision = (err: unknown): boolean => err instanceof AuthError && err.kind === "AuthOldRevision";

export class AuthOps {
  private storeRef: AuthStore;

  constructor(
    backend: Backend,
    readonly tokens: TokenProvider,
    private readonly hooks: AuthOpsHooks,
  ) {
    this.storeRef = new AuthStore(backend, this.listener());
    if (this.storeRef.enabled && tokens.type === "simple") tokens.simple.enable();
  }

  get store(): AuthStore {
    return this.storeRef;
  }

  /** A snapshot from the leader replaced the backend: reload (etcd's AuthStore.Recover). */
  recover(backend: Backend): void {
    this.storeRef = new AuthStore(backend, this.listener());
    if (this.tokens.type === "simple") {
      if (this.storeRef.enabled) this.tokens.simple.enable();
      else this.tokens.simple.disable();
    }
  }

  private listener(): AuthStoreListener {
    const simple = this.tokens.type === "simple" ? this.tokens.simple : undefined;
    return {
      authEnabled: () => simple?.enable(),
      authDisabled: () => simple?.disable(),
      userInvalidated: (name) => simple?.invalidateUser(name),
    };
  }

  // ---- who is asking ------------------------------------------------------------------------------

  /**
   * etcd's AuthInfoFromCtx: undefined without a token; the member acts as root. A simple token is looked up once
   * this member has applied the entry that issued it (etcd's indexWaiter) and carries the current auth revision;
   * a JWT carries the revision it was issued at. An unknown, expired or malformed token is refused.
   */
  async authInfo(cred: Credentials): Promise<AuthInfo | undefined> {
    if (cred === MEMBER) return { username: ROOT_USER, revision: this.store.revision };
    const token = cred.token;
    // etcd's AuthInfoFromTLS: the certificate names the user, at the current auth revision.
    if (token === undefined)
      return cred.commonName === undefined
        ? undefined
        : { username: cred.commonName, revision: this.store.revision };
    if (this.tokens.type === "jwt") {
      const info = this.tokens.jwt.info(token);
      if (!info) throw this.invalidToken(token);
      return info;
    }
    const index = simpleTokenIndex(token);
    if (index === undefined) throw this.invalidToken(token);
    if (!(await this.hooks.waitApplied(index))) throw this.invalidToken(token);
    const username = this.tokens.simple.info(token);
    if (username === undefined) throw this.invalidToken(token);
    return { username, revision: this.store.revision };
  }

  private invalidToken(token: string): AuthError {
    this.hooks.logger?.warn({ token }, "invalid auth token");
    return new AuthError("InvalidAuthToken");
  }

  /**
   * etcd's isWatchPermitted: read access to the watched range, with the stream's token. Undefined at once when
   * nothing needs checking (auth off, no token), so creates stay synchronous; else a promise of the refusal
   * (undefined when allowed).
   */
  authorizeWatch(cred: Credentials, key: Uint8Array, rangeEnd: Uint8Array): Promise<unknown> | undefined {
    if (cred !== MEMBER && cred.token === undefined && !this.store.enabled) return undefined;
    return this.authInfo(cred).then(
      (ai) => {
        try {
          this.store.isRangePermitted(ai, key, rangeEnd);
          return undefined;
        } catch (err) {
          return err;
        }
      },
      (err: unknown) => err,
    );
  }

  /** The root check of admin-only RPCs made in the API layer (maintenance, membership). */
  async checkAdmin(cred: Credentials): Promise<void> {
    this.store.isAdminPermitted(await this.authInfo(cred));
  }

  /**
   * etcd's doSerialize for reads served without raft: check with the caller's auth info, read, and read again
   * if the auth store moved meanwhile (a permission may have changed).
   */
  async serialized<T>(
    cred: Credentials,
    check: (ai: AuthInfo | undefined) => void,
    read: () => T,
  ): Promise<T> {
    if (isAnonymous(cred)) {
      // The usual call with auth off: check and read without a turn through authInfo.
      check(undefined);
      return read();
    }
    for (;;) {
      const ai = await this.authInfo(cred);
      check(ai);
      const res = read();
      if (ai && ai.revision !== 0n && ai.revision !== this.store.revision) continue;
      return res;
    }
  }

  /**
   * etcd's raftRequest proposes again a request refused for a stale auth revision: a simple token then carries
   * the new revision. A JWT keeps its revision, so a retry could never succeed: the client must authenticate.
   */
  shouldRetry(err: unknown, revisionBefore: bigint): boolean {
    return isOldRevision(err) && this.tokens.type === "simple" && this.store.revision !== revisionBefore;
  }

  private async proposeRetrying(
    req: Partial<InternalRaftRequest>,
    cred: Credentials,
  ): Promise<{ revision: bigint; resp?: unknown }> {
    for (;;) {
      const before = this.store.revision;
      try {
        return await this.hooks.propose(req, cred);
      } catch (err) {
        if (!this.shouldRetry(err, before)) throw err;
      }
    }
  }

  // ---- apply --------------------------------------------------------------------------------------

  /**
   * etcd's authApplierV3 checks for everything but auth requests: KV writes and reads by range permissions,
   * a revoke (or a put attaching a lease) needs write access to every key of the lease.
   */
  checkApply(r: InternalRaftRequest): void {
    const store = this.store;
    if (!store.enabled) return;
    const ai = authInfoOf(r);
    if (r.put) {
      store.isPutPermitted(ai, r.put.key);
      this.checkLeasePuts(ai, r.put.lease);
      if (r.put.prevKv) store.isRangePermitted(ai, r.put.key, new Uint8Array(0));
    } else if (r.deleteRange) {
      store.isDeleteRangePermitted(ai, r.deleteRange.key, r.deleteRange.rangeEnd);
      if (r.deleteRange.prevKv) store.isRangePermitted(ai, r.deleteRange.key, r.deleteRange.rangeEnd);
    } else if (r.range) {
      store.isRangePermitted(ai, r.range.key, r.range.rangeEnd);
    } else if (r.txn) {
      this.checkTxn(ai, r.txn);
    } else if (r.leaseRevoke) {
      this.checkLeasePuts(ai, r.leaseRevoke.ID);
    }
  }

  /** etcd 3.4's checkTxnAuth: compares need read; ops by kind (nested txns are not looked into, as in 3.4). */
  checkTxn(ai: AuthInfo | undefined, t: TxnRequest): void {
    const store = this.store;
    for (const c of t.compare) store.isRangePermitted(ai, c.key, c.rangeEnd);
    const ops = (list: RequestOp[]): void => {
      for (const op of list) {
        const q = op.request;
        if (q?.$case === "requestRange") store.isRangePermitted(ai, q.value.key, q.value.rangeEnd);
        else if (q?.$case === "requestPut") store.isPutPermitted(ai, q.value.key);
        else if (q?.$case === "requestDeleteRange") {
          if (q.value.prevKv) store.isRangePermitted(ai, q.value.key, q.value.rangeEnd);
          store.isDeleteRangePermitted(ai, q.value.key, q.value.rangeEnd);
        }
      }
    };
    ops(t.success);
    ops(t.failure);
  }

  private checkLeasePuts(ai: AuthInfo | undefined, lease: bigint): void {
    if (lease === 0n) return;
    const l = this.hooks.lessor().lookup(lease);
    if (!l) return;
    for (const k of l.sortedKeys()) this.store.isPutPermitted(ai, k);
  }

  /** Applies one auth request at raft index `index` (inside the apply batch); throws the request's error. */
  apply(r: InternalRaftRequest, index: bigint): AuthApplied {
    const store = this.store;
    const ai = authInfoOf(r);
    if (needAdminPermission(r)) store.isAdminPermitted(ai);
    if (r.authEnable) {
      store.authEnable();
      this.hooks.logger?.info({}, "enabled authentication");
      return { kind: "none" };
    }
    if (r.authDisable) {
      const was = store.enabled;
      store.authDisable();
      if (was) this.hooks.logger?.info({}, "disabled authentication");
      return { kind: "none" };
    }
    if (r.authStatus) return { kind: "none" };
    if (r.authenticate) {
      const a = r.authenticate;
      store.checkAuthenticate(a.name);
      const token =
        this.tokens.type === "simple" ? this.tokens.simple.assign(a.simpleToken, index, a.name) : "";
      return { kind: "authenticated", username: a.name, revision: store.revision, token };
    }
    if (r.authUserAdd) {
      const q = r.authUserAdd;
      store.userAdd(q.name, q.hashedPassword, q.options);
      this.hooks.logger?.info({ "user-name": q.name }, "added a user");
      return { kind: "none" };
    }
    if (r.authUserDelete) {
      store.userDelete(r.authUserDelete.name);
      return { kind: "none" };
    }
    if (r.authUserChangePassword) {
      const q = r.authUserChangePassword;
      store.userChangePassword(q.name, q.hashedPassword);
      return { kind: "none" };
    }
    if (r.authUserGrantRole) {
      store.userGrantRole(r.authUserGrantRole.user, r.authUserGrantRole.role);
      return { kind: "none" };
    }
    if (r.authUserRevokeRole) {
      store.userRevokeRole(r.authUserRevokeRole.name, r.authUserRevokeRole.role);
      return { kind: "none" };
    }
    if (r.authUserGet) {
      // The user itself may read its own roles.
      if (store.enabled && ai?.username !== r.authUserGet.name) store.isAdminPermitted(ai);
      return { kind: "roles", roles: store.userGet(r.authUserGet.name) };
    }
    if (r.authUserList) return { kind: "users", users: store.userList() };
    if (r.authRoleAdd) {
      store.roleAdd(r.authRoleAdd.name);
      return { kind: "none" };
    }
    if (r.authRoleDelete) {
      store.roleDelete(r.authRoleDelete.role);
      return { kind: "none" };
    }
    if (r.authRoleGet) {
      // A user holding the role may read it.
      if (store.enabled && !store.hasRole(ai?.username ?? "", r.authRoleGet.role)) store.isAdminPermitted(ai);
      return { kind: "perms", perm: store.roleGet(r.authRoleGet.role) };
    }
    if (r.authRoleList) return { kind: "users", users: store.roleList() };
    if (r.authRoleGrantPermission) {
      store.roleGrantPermission(r.authRoleGrantPermission.name, r.authRoleGrantPermission.perm);
      return { kind: "none" };
    }
    if (r.authRoleRevokePermission) {
      const q = r.authRoleRevokePermission;
      store.roleRevokePermission(q.role, q.key, q.rangeEnd);
      return { kind: "none" };
    }
    throw new Error("etcdserver: unknown auth request");
  }

  // ---- requests (what api/grpc/auth.ts calls) ---------------------------------------------------

  private async simple(
    req: Partial<InternalRaftRequest>,
    cred: Credentials,
    retry = true,
  ): Promise<{ header: ResponseHeader; applied: AuthApplied }> {
    const res = retry ? await this.proposeRetrying(req, cred) : await this.hooks.propose(req, cred);
    return { header: this.hooks.header(res.revision), applied: res.resp as AuthApplied };
  }

  async authEnable(cred: Credentials): Promise<AuthEnableResponse> {
    return { header: (await this.simple({ authEnable: {} }, cred, false)).header };
  }

  async authDisable(cred: Credentials): Promise<AuthDisableResponse> {
    return { header: (await this.simple({ authDisable: {} }, cred)).header };
  }

  /**
   * The password is checked here, off the event loop and before proposing; the entry then only issues the
   * token. If the auth store moved while the password was checked, everything is done again (etcd's OCC loop).
   */
  async authenticate(req: AuthenticateRequest, cred: Credentials): Promise<AuthenticateResponse> {
    await this.hooks.linearizableRead();
    for (;;) {
      const { hash, revision } = this.store.passwordOf(req.name);
      if (!(await checkPassword(req.password, hash))) {
        this.hooks.logger?.info({ "user-name": req.name }, "invalid password");
        throw new AuthError("AuthFailed");
      }
      const simpleToken = this.tokens.type === "simple" ? this.tokens.simple.genTokenPrefix() : "";
      const res = await this.hooks.propose(
        { authenticate: { name: req.name, password: "", simpleToken } },
        cred,
      );
      if (revision !== this.store.revision) continue;
      const a = res.resp as AuthApplied;
      if (a.kind !== "authenticated") throw new Error("authenticate applied without a token");
      const token = this.tokens.type === "jwt" ? this.tokens.jwt.assign(a.username, a.revision) : a.token;
      return { header: this.hooks.header(res.revision), token };
    }
  }

  async userAdd(req: AuthUserAddRequest, cred: Credentials): Promise<AuthUserAddResponse> {
    const noPassword = req.options?.noPassword ?? false;
    // Hashed before proposing (3.5+): the entry carries only the hash, and no member hashes at apply.
    const hashedPassword = noPassword ? "" : await hashPassword(req.password, this.hooks.bcryptCost);
    const authUserAdd = { name: req.name, password: "", options: req.options, hashedPassword };
    return { header: (await this.simple({ authUserAdd }, cred)).header };
  }

  async userDelete(req: AuthUserDeleteRequest, cred: Credentials): Promise<AuthUserDeleteResponse> {
    return { header: (await this.simple({ authUserDelete: req }, cred)).header };
  }

  async userChangePassword(
    req: AuthUserChangePasswordRequest,
    cred: Credentials,
  ): Promise<AuthUserChangePasswordResponse> {
    const hashedPassword = await hashPassword(req.password, this.hooks.bcryptCost);
    const authUserChangePassword = { name: req.name, password: "", hashedPassword };
    return { header: (await this.simple({ authUserChangePassword }, cred)).header };
  }

  async userGrantRole(req: AuthUserGrantRoleRequest, cred: Credentials): Promise<AuthUserGrantRoleResponse> {
    return { header: (await this.simple({ authUserGrantRole: req }, cred)).header };
  }

  async userRevokeRole(
    req: AuthUserRevokeRoleRequest,
    cred: Credentials,
  ): Promise<AuthUserRevokeRoleResponse> {
    return { header: (await this.simple({ authUserRevokeRole: req }, cred)).header };
  }

  async userGet(req: AuthUserGetRequest, cred: Credentials): Promise<AuthUserGetResponse> {
    const r = await this.simple({ authUserGet: req }, cred);
    return { header: r.header, roles: r.applied.kind === "roles" ? r.applied.roles : [] };
  }

  async userList(cred: Credentials): Promise<AuthUserListResponse> {
    const r = await this.simple({ authUserList: {} }, cred);
    return { header: r.header, users: r.applied.kind === "users" ? r.applied.users : [] };
  }

  async roleAdd(req: AuthRoleAddRequest, cred: Credentials): Promise<AuthRoleAddResponse> {
    return { header: (await this.simple({ authRoleAdd: req }, cred)).header };
  }

  async roleDelete(req: AuthRoleDeleteRequest, cred: Credentials): Promise<AuthRoleDeleteResponse> {
    return { header: (await this.simple({ authRoleDelete: req }, cred)).header };
  }

  async roleGet(req: AuthRoleGetRequest, cred: Credentials): Promise<AuthRoleGetResponse> {
    const r = await this.simple({ authRoleGet: req }, cred);
    return { header: r.header, perm: r.applied.kind === "perms" ? r.applied.perm : [] };
  }

  async roleList(cred: Credentials): Promise<AuthRoleListResponse> {
    const r = await this.simple({ authRoleList: {} }, cred);
    return { header: r.header, roles: r.applied.kind === "users" ? r.applied.users : [] };
  }

  async roleGrantPermission(
    req: AuthRoleGrantPermissionRequest,
    cred: Credentials,
  ): Promise<AuthRoleGrantPermissionResponse> {
    return { header: (await this.simple({ authRoleGrantPermission: req }, cred)).header };
  }

  async roleRevokePermission(
    req: AuthRoleRevokePermissionRequest,
    cred: Credentials,
  ): Promise<AuthRoleRevokePermissionResponse> {
    return { header: (await this.simple({ authRoleRevokePermission: req }, cred)).header };
  }
}

/** The user and auth revision an entry was proposed with (etcd's RequestHeader). */
function authInfoOf(r: InternalRaftRequest): AuthInfo | undefined {
  const h = r.header;
  if (!h || (h.username === "" && h.authRevision === 0n)) return undefined;
  return { username: h.username, revision: h.authRevision };
}

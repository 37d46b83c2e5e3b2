// Owns the persisted auth state (etcd's auth/store.go): the enabled flag and auth revision in bucket "auth",
// users in "authUsers" and roles in "authRoles" (authpb encodings), every mutation as etcd applies it, and the
// permission checks made with a request's user and auth revision. Mutations run inside the apply batch.
import type { Backend } from "../backend/index.js";
import { type Permission, Role, User, type UserAddOptions } from "../proto/index.js";
import { AuthError } from "./errors.js";
import { MergedPermissions } from "./range_perm.js";

export const AUTH_BUCKET = "auth";
export const AUTH_USERS_BUCKET = "authUsers";
export const AUTH_ROLES_BUCKET = "authRoles";
const ENABLED_KEY = Buffer.from("authEnabled");
const REVISION_KEY = Buffer.from("authRevision");

export const ROOT_USER = "root";
export const ROOT_ROLE = "root";

/** Who a request acts as: the user and the auth revision its token was checked at (etcd's AuthInfo). */
export interface AuthInfo {
  readonly username: string;
  readonly revision: bigint;
}

/** What the store tells the token providers (so they drop tokens when users or auth go away). */
export interface AuthStoreListener {
  authEnabled(): void;
  authDisabled(): void;
  userInvalidated(name: string): void;
}

const utf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");
const hasRootRole = (u: User): boolean => u.roles.includes(ROOT_ROLE);

export class AuthStore {
  private enabledFlag: boolean;
  private rev: bigint;
  /** Merged permissions by user name, dropped on any change to users or roles (etcd's rangePermCache). */
  private readonly permCache = new Map<string, MergedPermissions>();

  constructor(
    private readonly backend: Backend,
    private readonly listener?: AuthStoreListener,
  ) {
    const flag = backend.bucket(AUTH_BUCKET).get(ENABLED_KEY);
    this.enabledFlag = flag !== undefined && flag.length === 1 && flag[0] === 1;
    const r = backend.bucket(AUTH_BUCKET).get(REVISION_KEY);
    // etcd commits revision 1 when it first creates the store.
    const stored = r && r.length === 8 ? r.readBigUInt64BE(0) : 0n;
    this.rev = stored === 0n ? 1n : stored;
    backend.bucket(AUTH_USERS_BUCKET);
    backend.bucket(AUTH_ROLES_BUCKET);
  }

  get enabled(): boolean {
    return this.enabledFlag;
  }

  get revision(): bigint {
    return this.rev;
  }

  // ---- reads ------------------------------------------------------------------------------------

  user(name: string): User | undefined {
    const v = this.backend.bucket(AUTH_USERS_BUCKET).get(Buffer.from(name, "utf8"));
    return v ? User.decode(v) : undefined;
  }

  role(name: string): Role | undefined {
    const v = this.backend.bucket(AUTH_ROLES_BUCKET).get(Buffer.from(name, "utf8"));
    return v ? Role.decode(v) : undefined;
  }

  /** Users in key order (etcd ranges the bucket over [0x00, 0xff)). */
  private allUsers(): User[] {
    const out: User[] = [];
    for (const { value } of this.backend
      .bucket(AUTH_USERS_BUCKET)
      .scan(Buffer.from([0]), { end: Buffer.from([0xff]) }))
      out.push(User.decode(value));
    return out;
  }

  private allRoles(): Role[] {
    const out: Role[] = [];
    for (const { value } of this.backend
      .bucket(AUTH_ROLES_BUCKET)
      .scan(Buffer.from([0]), { end: Buffer.from([0xff]) }))
      out.push(Role.decode(value));
    return out;
  }

  /** Whether `user` exists and holds `role` (etcd's HasRole). */
  hasRole(user: string, role: string): boolean {
    return this.user(user)?.roles.includes(role) ?? false;
  }

  // ---- permission checks (etcd's isOpPermitted / IsAdminPermitted) --------------------------------

  isRangePermitted(ai: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array): void {
    this.isOpPermitted(ai, key, rangeEnd, "read");
  }

  isPutPermitted(ai: AuthInfo | undefined, key: Uint8Array): void {
    this.isOpPermitted(ai, key, new Uint8Array(0), "write");
  }

  isDeleteRangePermitted(ai: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array): void {
    this.isOpPermitted(ai, key, rangeEnd, "write");
  }

  private isOpPermitted(
    ai: AuthInfo | undefined,
    key: Uint8Array,
    rangeEnd: Uint8Array,
    type: "read" | "write",
  ): void {
    if (!this.enabledFlag) return;
    // Only a request without a user has revision 0.
    if (!ai || ai.revision === 0n) throw new AuthError("UserEmpty");
    if (ai.revision < this.rev) throw new AuthError("AuthOldRevision");
    const u = this.user(ai.username);
    if (!u) throw new AuthError("PermissionDenied");
    if (hasRootRole(u)) return;
    if (!this.mergedPermissions(u).permits(type, key, rangeEnd)) throw new AuthError("PermissionDenied");
  }

  isAdminPermitted(ai: AuthInfo | undefined): void {
    if (!this.enabledFlag) return;
    if (!ai || ai.username === "") throw new AuthError("UserEmpty");
    const u = this.user(ai.username);
    if (!u) throw new AuthError("UserNotFound");
    if (!hasRootRole(u)) throw new AuthError("PermissionDenied");
  }

  private mergedPermissions(u: User): MergedPermissions {
    const name = utf8(u.name);
    let m = this.permCache.get(name);
    if (!m) {
      const perms: Permission[] = [];
      for (const r of u.roles) perms.push(...(this.role(r)?.keyPermission ?? []));
      m = new MergedPermissions(perms);
      this.permCache.set(name, m);
    }
    return m;
  }

  // ---- mutations (apply) --------------------------------------------------------------------------

  private commitRevision(): void {
    this.rev++;
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(this.rev);
    this.backend.bucket(AUTH_BUCKET).put(REVISION_KEY, b);
    this.permCache.clear();
  }

  private putUser(u: User): void {
    this.backend.bucket(AUTH_USERS_BUCKET).put(u.name, User.encode(u).finish());
  }

  private putRole(r: Role): void {
    this.backend.bucket(AUTH_ROLES_BUCKET).put(r.name, Role.encode(r).finish());
  }

  /** Enabling needs user root with role root; enabling again is a no-op (and, as in etcd, no new revision). */
  authEnable(): void {
    if (this.enabledFlag) return;
    const root = this.user(ROOT_USER);
    if (!root) throw new AuthError("RootUserNotExist");
    if (!hasRootRole(root)) throw new AuthError("RootRoleNotExist");
    this.backend.bucket(AUTH_BUCKET).put(ENABLED_KEY, Buffer.from([1]));
    this.enabledFlag = true;
    this.permCache.clear();
    this.listener?.authEnabled();
  }

  authDisable(): void {
    if (!this.enabledFlag) return;
    this.backend.bucket(AUTH_BUCKET).put(ENABLED_KEY, Buffer.from([0]));
    this.commitRevision();
    this.enabledFlag = false;
    this.listener?.authDisabled();
  }

  /** Authenticate at apply: the password was checked before proposing; the user must still exist. */
  checkAuthenticate(name: string): void {
    if (!this.enabledFlag) throw new AuthError("AuthNotEnabled");
    const u = this.user(name);
    if (!u || u.options?.noPassword) throw new AuthError("AuthFailed");
  }

  /**
   * The stored hash and auth revision to check a password against, before proposing (etcd's CheckPassword
   * reads both, then compares outside its lock).
   */
  passwordOf(name: string): { hash: Uint8Array; revision: bigint } {
    if (!this.enabledFlag) throw new AuthError("AuthNotEnabled");
    const u = this.user(name);
    if (!u) throw new AuthError("AuthFailed");
    if (u.options?.noPassword) throw new AuthError("NoPasswordUser");
    return { hash: u.password, revision: this.rev };
  }

  /** `hashed` is the bcrypt hash made by the API layer; empty for a no-password user. */
  userAdd(name: string, hashed: string, options: UserAddOptions | undefined): void {
    if (name.length === 0) throw new AuthError("UserEmpty");
    if (this.user(name)) throw new AuthError("UserAlreadyExist");
    const noPassword = options?.noPassword ?? false;
    this.putUser({
      name: Buffer.from(name, "utf8"),
      password: noPassword ? Buffer.alloc(0) : Buffer.from(hashed, "utf8"),
      roles: [],
      options: { noPassword },
    });
    this.commitRevision();
  }

  userDelete(name: string): void {
    if (this.enabledFlag && name === ROOT_USER) throw new AuthError("InvalidAuthMgmt");
    if (!this.user(name)) throw new AuthError("UserNotFound");
    this.backend.bucket(AUTH_USERS_BUCKET).delete(Buffer.from(name, "utf8"));
    this.commitRevision();
    this.listener?.userInvalidated(name);
  }

  userChangePassword(name: string, hashed: string): void {
    const u = this.user(name);
    if (!u) throw new AuthError("UserNotFound");
    this.putUser({ ...u, name: Buffer.from(name, "utf8"), password: Buffer.from(hashed, "utf8") });
    this.commitRevision();
    this.listener?.userInvalidated(name);
  }

  /** Granting a role twice is a no-op; the role "root" may be granted without a role object. */
  userGrantRole(user: string, role: string): void {
    const u = this.user(user);
    if (!u) throw new AuthError("UserNotFound");
    if (role !== ROOT_ROLE && !this.role(role)) throw new AuthError("RoleNotFound");
    if (u.roles.includes(role)) return;
    // Go's sort.Strings: byte order of the UTF-8 strings.
    u.roles = [...u.roles, role].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    this.putUser(u);
    this.commitRevision();
  }

  userRevokeRole(name: string, role: string): void {
    if (this.enabledFlag && name === ROOT_USER && role === ROOT_ROLE) throw new AuthError("InvalidAuthMgmt");
    const u = this.user(name);
    if (!u) throw new AuthError("UserNotFound");
    const roles = u.roles.filter((r) => r !== role);
    if (roles.length === u.roles.length) throw new AuthError("RoleNotGranted");
    this.putUser({ ...u, roles });
    this.commitRevision();
  }

  userGet(name: string): string[] {
    const u = this.user(name);
    if (!u) throw new AuthError("UserNotFound");
    return u.roles;
  }

  userList(): string[] {
    return this.allUsers().map((u) => utf8(u.name));
  }

  roleAdd(name: string): void {
    if (name.length === 0) throw new AuthError("RoleEmpty");
    if (this.role(name)) throw new AuthError("RoleAlreadyExist");
    this.putRole({ name: Buffer.from(name, "utf8"), keyPermission: [] });
    this.commitRevision();
  }

  /** Deleting a role also revokes it from every user holding it. */
  roleDelete(name: string): void {
    if (this.enabledFlag && name === ROOT_ROLE) throw new AuthError("InvalidAuthMgmt");
    if (!this.role(name)) throw new AuthError("RoleNotFound");
    this.backend.bucket(AUTH_ROLES_BUCKET).delete(Buffer.from(name, "utf8"));
    for (const u of this.allUsers()) {
      const roles = u.roles.filter((r) => r !== name);
      if (roles.length !== u.roles.length) this.putUser({ ...u, roles });
    }
    this.commitRevision();
  }

  roleGet(name: string): Permission[] {
    const r = this.role(name);
    if (!r) throw new AuthError("RoleNotFound");
    return r.keyPermission;
  }

  roleList(): string[] {
    return this.allRoles().map((r) => utf8(r.name));
  }

  /**
   * Adds a permission, kept sorted by key; granting the same (key, range_end) again only updates its type.
   * Like etcd, only the first permission with a key ≥ the new key is compared for that update.
   */
  roleGrantPermission(name: string, perm: Permission | undefined): void {
    if (!perm) throw new AuthError("PermissionNotGiven");
    const r = this.role(name);
    if (!r) throw new AuthError("RoleNotFound");
    const perms = r.keyPermission;
    const idx = perms.findIndex((p) => Buffer.compare(p.key, perm.key) >= 0);
    const at = idx < 0 ? undefined : perms[idx];
    if (at && Buffer.compare(at.key, perm.key) === 0 && Buffer.compare(at.rangeEnd, perm.rangeEnd) === 0) {
      at.permType = perm.permType;
    } else {
      perms.push({ permType: perm.permType, key: perm.key, rangeEnd: perm.rangeEnd });
      perms.sort((a, b) => Buffer.compare(a.key, b.key));
    }
    this.putRole(r);
    this.commitRevision();
  }

  roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array): void {
    const r = this.role(name);
    if (!r) throw new AuthError("RoleNotFound");
    const kept = r.keyPermission.filter(
      (p) => Buffer.compare(p.key, key) !== 0 || Buffer.compare(p.rangeEnd, rangeEnd) !== 0,
    );
    if (kept.length === r.keyPermission.length) throw new AuthError("PermissionNotGranted");
    this.putRole({ name: r.name, keyPermission: kept });
    this.commitRevision();
  }
}

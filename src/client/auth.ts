// Owns the Auth API of the client (`client.auth`): enabling auth, users, roles and permissions.
import {
  type AuthDisableResponse,
  type AuthEnableResponse,
  type AuthenticateResponse,
  type AuthRoleAddResponse,
  type AuthRoleDeleteResponse,
  type AuthRoleGetResponse,
  type AuthRoleGrantPermissionResponse,
  type AuthRoleListResponse,
  type AuthRoleRevokePermissionResponse,
  AuthService,
  type AuthStatusResponse,
  type AuthUserAddResponse,
  type AuthUserChangePasswordResponse,
  type AuthUserDeleteResponse,
  type AuthUserGetResponse,
  type AuthUserGrantRoleResponse,
  type AuthUserListResponse,
  type AuthUserRevokeRoleResponse,
  Permission_Type,
} from "../proto/index.js";
import type { Caller, CallOptions } from "./call.js";
import { type Bytes, type RangeOptions, resolveRange } from "./keys.js";

export type PermissionType = "read" | "write" | "readwrite";

const PERM: Record<PermissionType, Permission_Type> = {
  read: Permission_Type.READ,
  write: Permission_Type.WRITE,
  readwrite: Permission_Type.READWRITE,
};

export interface UserAddOptions extends CallOptions {
  /** A user that can only authenticate by TLS common name. */
  noPassword?: boolean;
}

/** Authentication and access control (`client.auth`). Reads retry; changes are never retried once sent. */
export class Auth {
  /** @internal */
  constructor(private readonly caller: Caller) {}

  /** Enables auth (needs user `root` with role `root`). */
  authEnable(options: CallOptions = {}): Promise<AuthEnableResponse> {
    return this.caller.unary(AuthService.authEnable, "nonRepeatable", {}, options);
  }

  authDisable(options: CallOptions = {}): Promise<AuthDisableResponse> {
    return this.caller.unary(AuthService.authDisable, "nonRepeatable", {}, options);
  }

  /** Whether auth is enabled, and the auth revision (etcd 3.5+). */
  authStatus(options: CallOptions = {}): Promise<AuthStatusResponse> {
    return this.caller.unary(AuthService.authStatus, "repeatable", {}, options);
  }

  /** A token for `name` (the client does this itself when given `auth` credentials). */
  authenticate(name: string, password: string, options: CallOptions = {}): Promise<AuthenticateResponse> {
    return this.caller.unary(AuthService.authenticate, "nonRepeatable", { name, password }, options);
  }

  userAdd(name: string, password: string, options: UserAddOptions = {}): Promise<AuthUserAddResponse> {
    const req = { name, password, options: { noPassword: options.noPassword ?? false }, hashedPassword: "" };
    return this.caller.unary(AuthService.userAdd, "nonRepeatable", req, options);
  }

  /** The roles of a user. */
  userGet(name: string, options: CallOptions = {}): Promise<AuthUserGetResponse> {
    return this.caller.unary(AuthService.userGet, "repeatable", { name }, options);
  }

  userList(options: CallOptions = {}): Promise<AuthUserListResponse> {
    return this.caller.unary(AuthService.userList, "repeatable", {}, options);
  }

  userDelete(name: string, options: CallOptions = {}): Promise<AuthUserDeleteResponse> {
    return this.caller.unary(AuthService.userDelete, "nonRepeatable", { name }, options);
  }

  userChangePassword(
    name: string,
    password: string,
    options: CallOptions = {},
  ): Promise<AuthUserChangePasswordResponse> {
    const req = { name, password, hashedPassword: "" };
    return this.caller.unary(AuthService.userChangePassword, "nonRepeatable", req, options);
  }

  userGrantRole(user: string, role: string, options: CallOptions = {}): Promise<AuthUserGrantRoleResponse> {
    return this.caller.unary(AuthService.userGrantRole, "nonRepeatable", { user, role }, options);
  }

  userRevokeRole(user: string, role: string, options: CallOptions = {}): Promise<AuthUserRevokeRoleResponse> {
    return this.caller.unary(AuthService.userRevokeRole, "nonRepeatable", { name: user, role }, options);
  }

  roleAdd(name: string, options: CallOptions = {}): Promise<AuthRoleAddResponse> {
    return this.caller.unary(AuthService.roleAdd, "nonRepeatable", { name }, options);
  }

  /** The permissions of a role. */
  roleGet(role: string, options: CallOptions = {}): Promise<AuthRoleGetResponse> {
    return this.caller.unary(AuthService.roleGet, "repeatable", { role }, options);
  }

  roleList(options: CallOptions = {}): Promise<AuthRoleListResponse> {
    return this.caller.unary(AuthService.roleList, "repeatable", {}, options);
  }

  roleDelete(role: string, options: CallOptions = {}): Promise<AuthRoleDeleteResponse> {
    return this.caller.unary(AuthService.roleDelete, "nonRepeatable", { role }, options);
  }

  /** Grants `type` access on `key` (or a range with `rangeEnd`/`prefix`/`fromKey`) to `role`. */
  roleGrantPermission(
    role: string,
    type: PermissionType,
    key: Bytes,
    options: RangeOptions & CallOptions = {},
  ): Promise<AuthRoleGrantPermissionResponse> {
    const perm = { permType: PERM[type], ...resolveRange(key, options) };
    return this.caller.unary(AuthService.roleGrantPermission, "nonRepeatable", { name: role, perm }, options);
  }

  /** Revokes the permission on exactly `key` (or that range) from `role`. */
  roleRevokePermission(
    role: string,
    key: Bytes,
    options: RangeOptions & CallOptions = {},
  ): Promise<AuthRoleRevokePermissionResponse> {
    const req = { role, ...resolveRange(key, options) };
    return this.caller.unary(AuthService.roleRevokePermission, "nonRepeatable", req, options);
  }
}

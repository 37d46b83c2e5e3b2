// Owns the etcdserverpb.Auth gRPC service: every RPC with the caller's token, onto the server's AuthOps.
import { type AuthServer, AuthService } from "../../proto/index.js";
import type { AuthOps } from "../../server/auth_ops.js";
import { credentialsOf } from "./credentials.js";
import { unary } from "./unary.js";

/** The service as etcd 3.4 serves it: AuthStatus is 3.5+, so it gets 3.4's "unknown method" answer. */
const { authStatus: _authStatus, ...authService34 } = AuthService;
export const AuthService34 = authService34;

export function authService(auth: AuthOps): Omit<AuthServer, "authStatus"> {
  return {
    authEnable: unary(async (_req, call) => auth.authEnable(credentialsOf(call))),
    authDisable: unary(async (_req, call) => auth.authDisable(credentialsOf(call))),
    authenticate: unary(async (req, call) => auth.authenticate(req, credentialsOf(call))),
    userAdd: unary(async (req, call) => auth.userAdd(req, credentialsOf(call))),
    userGet: unary(async (req, call) => auth.userGet(req, credentialsOf(call))),
    userList: unary(async (_req, call) => auth.userList(credentialsOf(call))),
    userDelete: unary(async (req, call) => auth.userDelete(req, credentialsOf(call))),
    userChangePassword: unary(async (req, call) => auth.userChangePassword(req, credentialsOf(call))),
    userGrantRole: unary(async (req, call) => auth.userGrantRole(req, credentialsOf(call))),
    userRevokeRole: unary(async (req, call) => auth.userRevokeRole(req, credentialsOf(call))),
    roleAdd: unary(async (req, call) => auth.roleAdd(req, credentialsOf(call))),
    roleGet: unary(async (req, call) => auth.roleGet(req, credentialsOf(call))),
    roleList: unary(async (_req, call) => auth.roleList(credentialsOf(call))),
    roleDelete: unary(async (req, call) => auth.roleDelete(req, credentialsOf(call))),
    roleGrantPermission: unary(async (req, call) => auth.roleGrantPermission(req, credentialsOf(call))),
    roleRevokePermission: unary(async (req, call) => auth.roleRevokePermission(req, credentialsOf(call))),
  };
}

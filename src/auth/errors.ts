// Owns the errors an auth operation can cause; api/grpc/errors.ts maps each kind to etcd's wire error.

export type AuthErrorKind =
  | "RootUserNotExist"
  | "RootRoleNotExist"
  | "UserAlreadyExist"
  | "UserEmpty"
  | "UserNotFound"
  | "RoleAlreadyExist"
  | "RoleNotFound"
  | "RoleEmpty"
  | "AuthFailed"
  | "NoPasswordUser"
  | "PermissionDenied"
  | "RoleNotGranted"
  | "PermissionNotGranted"
  | "PermissionNotGiven"
  | "AuthNotEnabled"
  | "InvalidAuthToken"
  | "InvalidAuthMgmt"
  | "AuthOldRevision";

export class AuthError extends Error {
  override name = "AuthError";
  constructor(readonly kind: AuthErrorKind) {
    super(AUTH_MESSAGES[kind]);
  }
}

/** The auth package's own messages (etcd's auth.Err*), which reach clients as is where etcd does not map them. */
export const AUTH_MESSAGES: Record<AuthErrorKind, string> = {
  RootUserNotExist: "auth: root user does not exist",
  RootRoleNotExist: "auth: root user does not have root role",
  UserAlreadyExist: "auth: user already exists",
  UserEmpty: "auth: user name is empty",
  UserNotFound: "auth: user not found",
  RoleAlreadyExist: "auth: role already exists",
  RoleNotFound: "auth: role not found",
  RoleEmpty: "auth: role name is empty",
  AuthFailed: "auth: authentication failed, invalid user ID or password",
  NoPasswordUser: "auth: authentication failed, password was given for no password user",
  PermissionDenied: "auth: permission denied",
  RoleNotGranted: "auth: role is not granted to the user",
  PermissionNotGranted: "auth: permission is not granted to the role",
  PermissionNotGiven: "auth: permission not given",
  AuthNotEnabled: "auth: authentication is not enabled",
  InvalidAuthToken: "auth: invalid auth token",
  InvalidAuthMgmt: "auth: invalid auth management",
  AuthOldRevision: "auth: revision in header is old",
};

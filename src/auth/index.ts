// Owns the public surface of auth/: the persisted store and its permission checks, password hashing, tokens.
export { AuthError, type AuthErrorKind } from "./errors.js";
export {
  checkPassword,
  DEFAULT_BCRYPT_COST,
  hashPassword,
  MAX_BCRYPT_COST,
  MIN_BCRYPT_COST,
} from "./password.js";
export { MergedPermissions } from "./range_perm.js";
export {
  AUTH_BUCKET,
  AUTH_ROLES_BUCKET,
  AUTH_USERS_BUCKET,
  type AuthInfo,
  AuthStore,
  type AuthStoreListener,
  ROOT_ROLE,
  ROOT_USER,
} from "./store.js";
export { INVALID_AUTH_OPTS, newTokenProvider, parseDurationMs, type TokenProvider } from "./token.js";
export { DEFAULT_JWT_TTL_MS, JwtConfigError, JwtTokenProvider } from "./token_jwt.js";
export { DEFAULT_SIMPLE_TOKEN_TTL_MS, SimpleTokenProvider, simpleTokenIndex } from "./token_simple.js";

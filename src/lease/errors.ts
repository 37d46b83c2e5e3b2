// Owns the errors a lease operation can cause; api/grpc/errors.ts maps each kind to etcd's wire error.

export type LeaseErrorKind = "LeaseNotFound" | "LeaseExist" | "LeaseTTLTooLarge";

export class LeaseError extends Error {
  override name = "LeaseError";
  constructor(readonly kind: LeaseErrorKind) {
    super(kind);
  }
}

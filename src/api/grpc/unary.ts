// Owns the adapter from async handlers to grpc-js unary calls, with errors mapped through the catalogue.
import type { ServerUnaryCall, ServiceError, sendUnaryData } from "@grpc/grpc-js";
import { toServiceError } from "./errors.js";

export function unary<Req, Res>(
  fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err) as ServiceError),
    );
  };
}

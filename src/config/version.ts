// Owns the version strings etcd-ts reports: its own release, the etcd API it serves, and the --version text.
import { createRequire } from "node:module";

export const PROGRAM_NAME = "etcd-ts";
/** etcd-ts's own version, from package.json (dist/config/ → ../../package.json). */
export const ETCD_TS_VERSION: string = (
  createRequire(import.meta.url)("../../package.json") as { version: string }
).version;
/** The etcd API version etcd-ts is compatible with (what etcd 3.4 servers report as their cluster API). */
export const ETCD_API_VERSION = "3.4";

/** `--version` output (no trailing newline), in the shape of etcd's (`etcd Version`, `Git SHA`, `Go Version`, `Go OS/Arch`). */
export function versionText(): string {
  return [
    `${PROGRAM_NAME} Version: ${ETCD_TS_VERSION}`,
    `etcd API Version: ${ETCD_API_VERSION}`,
    `Node.js Version: ${process.version}`,
    `Node.js OS/Arch: ${process.platform}/${process.arch}`,
  ].join("\n");
}

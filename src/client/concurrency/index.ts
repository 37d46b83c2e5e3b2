// Owns the public surface of the concurrency recipes (clientv3/concurrency): Session, Mutex, Election, STM.
export type { CampaignOptions } from "./election.js";
export { Election } from "./election.js";
export {
  ElectionNoLeaderError,
  ElectionNotLeaderError,
  LockedError,
  SessionExpiredError,
} from "./errors.js";
export type { LockOptions } from "./mutex.js";
export { Mutex } from "./mutex.js";
export type { SessionOptions } from "./session.js";
export { DEFAULT_SESSION_TTL, Session } from "./session.js";
export type { Isolation, STM, STMOptions } from "./stm.js";
export { runSTM } from "./stm.js";

// Owns the Maintenance API of the client (`client.maintenance`): alarms, status, hash, defragment, snapshot,
// leader transfer, downgrade. Member-local calls take `endpoint` to choose the member.
import {
  type AlarmMember,
  AlarmRequest_AlarmAction,
  type AlarmResponse,
  AlarmType,
  type DefragmentResponse,
  type DowngradeRequest_DowngradeAction,
  type DowngradeResponse,
  type HashKVResponse,
  type HashResponse,
  MaintenanceService,
  type MoveLeaderResponse,
  type SnapshotResponse,
  type StatusResponse,
} from "../proto/index.js";
import type { Caller, CallOptions, MemberCallOptions } from "./call.js";
import type { MemberId } from "./cluster.js";
import { toEtcdError } from "./errors.js";
import type { Revision } from "./ops.js";

/** Maintenance (`client.maintenance`). */
export class Maintenance {
  /** @internal */
  constructor(private readonly caller: Caller) {}

  /** Every active alarm of the cluster. */
  alarmList(options: CallOptions = {}): Promise<AlarmResponse> {
    return this.alarm(AlarmRequest_AlarmAction.GET, { memberID: 0n, alarm: AlarmType.NONE }, options);
  }

  /**
   * Deactivates an alarm; with memberID 0 and alarm NONE, every active alarm (as clientv3's AlarmDisarm).
   * The response lists the alarms deactivated.
   */
  async alarmDisarm(member: AlarmMember, options: CallOptions = {}): Promise<AlarmResponse> {
    if (member.memberID !== 0n || member.alarm !== AlarmType.NONE) {
      return this.alarm(AlarmRequest_AlarmAction.DEACTIVATE, member, options);
    }
    const active = await this.alarmList(options);
    const res: AlarmResponse = { header: active.header, alarms: [] };
    for (const a of active.alarms) {
      const r = await this.alarm(AlarmRequest_AlarmAction.DEACTIVATE, a, options);
      res.header = r.header;
      res.alarms.push(...r.alarms);
    }
    return res;
  }

  /** The raw Alarm RPC (GET, ACTIVATE, DEACTIVATE). */
  alarm(
    action: AlarmRequest_AlarmAction,
    member: AlarmMember,
    options: CallOptions = {},
  ): Promise<AlarmResponse> {
    const req = { action, memberID: member.memberID, alarm: member.alarm };
    return this.caller.unary(MaintenanceService.alarm, "repeatable", req, options);
  }

  /** One member's status: version, db size, leader, raft index/term, errors. */
  status(options: MemberCallOptions = {}): Promise<StatusResponse> {
    return this.caller.unary(MaintenanceService.status, "repeatable", {}, options);
  }

  /** Hash of one member's whole backend (testing only). */
  hash(options: MemberCallOptions = {}): Promise<HashResponse> {
    return this.caller.unary(MaintenanceService.hash, "repeatable", {}, options);
  }

  /** Hash of one member's key-value history up to `revision` (0 = latest), for consistency checks. */
  hashKV(revision: Revision, options: MemberCallOptions = {}): Promise<HashKVResponse> {
    return this.caller.unary(MaintenanceService.hashKv, "repeatable", { revision }, options);
  }

  /** Defragments one member's backend (blocks that member while it runs). */
  defragment(options: MemberCallOptions = {}): Promise<DefragmentResponse> {
    return this.caller.unary(MaintenanceService.defragment, "nonRepeatable", {}, options);
  }

  /**
   * Streams a point-in-time snapshot of one member's backend, chunk by chunk. The last 32 bytes are the
   * SHA-256 of everything before them, as etcd sends it (a file of all chunks is what `etcdctl snapshot
   * save` writes).
   */
  async *snapshot(options: MemberCallOptions = {}): AsyncGenerator<Buffer, void, undefined> {
    const call = await this.caller.serverStream(MaintenanceService.snapshot, {}, options);
    const onAbort = (): void => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const r of call as AsyncIterable<SnapshotResponse>) yield r.blob;
    } catch (e) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw toEtcdError(e);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }

  /** Transfers leadership to `targetId`; must reach the current leader (`endpoint`). */
  moveLeader(targetId: MemberId, options: MemberCallOptions = {}): Promise<MoveLeaderResponse> {
    return this.caller.unary(MaintenanceService.moveLeader, "repeatable", { targetID: targetId }, options);
  }

  /** Validates, enables or cancels a cluster downgrade to `version` (etcd 3.5+). */
  downgrade(
    action: DowngradeRequest_DowngradeAction,
    version: string,
    options: CallOptions = {},
  ): Promise<DowngradeResponse> {
    return this.caller.unary(MaintenanceService.downgrade, "nonRepeatable", { action, version }, options);
  }
}

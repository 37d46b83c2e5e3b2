// Owns the cluster's alarms (NOSPACE, CORRUPT): the set raised per member, persisted in the backend "alarm" bucket.
import type { Backend } from "../backend/index.js";
import { type AlarmMember, AlarmType } from "../proto/index.js";

export const ALARM_BUCKET = "alarm";

const keyOf = (memberId: bigint, alarm: AlarmType): Buffer => {
  const k = Buffer.alloc(9);
  k.writeBigUInt64BE(memberId, 0);
  k.writeUInt8(alarm, 8);
  return k;
};

export class AlarmStore {
  private readonly active = new Map<string, AlarmMember>();

  constructor(private readonly backend: Backend) {
    for (const { key } of backend.bucket(ALARM_BUCKET).scan(Buffer.alloc(0))) {
      const m = { memberID: key.readBigUInt64BE(0), alarm: key.readUInt8(8) as AlarmType };
      this.active.set(key.toString("hex"), m);
    }
  }

  /** Alarms of this type (every type for NONE), ordered by member then type. */
  get(alarm: AlarmType): AlarmMember[] {
    return [...this.active.values()]
      .filter((m) => alarm === AlarmType.NONE || m.alarm === alarm)
      .sort((a, b) => (a.memberID < b.memberID ? -1 : a.memberID > b.memberID ? 1 : a.alarm - b.alarm));
  }

  has(alarm: AlarmType): boolean {
    for (const m of this.active.values()) if (m.alarm === alarm) return true;
    return false;
  }

  /** Raise an alarm; returns it if it was not already raised. Must run inside the apply batch. */
  activate(memberId: bigint, alarm: AlarmType): AlarmMember | undefined {
    const k = keyOf(memberId, alarm);
    const hex = k.toString("hex");
    if (this.active.has(hex)) return undefined;
    const m = { memberID: memberId, alarm };
    this.active.set(hex, m);
    this.backend.bucket(ALARM_BUCKET).put(k, Buffer.alloc(0));
    return m;
  }

  /** Clear an alarm; returns it if it was raised. Must run inside the apply batch. */
  deactivate(memberId: bigint, alarm: AlarmType): AlarmMember | undefined {
    const k = keyOf(memberId, alarm);
    const hex = k.toString("hex");
    const m = this.active.get(hex);
    if (!m) return undefined;
    this.active.delete(hex);
    this.backend.bucket(ALARM_BUCKET).delete(k);
    return m;
  }
}

/** etcd's backend quota cost: 256 bytes of overhead plus key and value per put. */
export const PUT_COST_OVERHEAD = 256;
/** etcd's cost of a lease grant. */
export const LEASE_COST = 64;

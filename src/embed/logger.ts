// Owns the server's logger: pino emitting etcd's zap-style JSON lines ({"level","ts","caller","msg",…}).
import { type Logger, pino } from "pino";

export type LogLevel = "debug" | "info" | "warn" | "error" | "dpanic" | "panic" | "fatal";

export function createLogger(level: LogLevel, destination: "stderr" | "stdout" | string = "stderr"): Logger {
  const dest =
    destination === "stderr"
      ? pino.destination({ fd: 2, sync: true })
      : destination === "stdout"
        ? pino.destination({ fd: 1, sync: true })
        : pino.destination({ dest: destination, sync: true, mkdir: true });
  return pino(
    {
      level: level === "panic" || level === "dpanic" ? "fatal" : level,
      base: undefined,
      messageKey: "msg",
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}

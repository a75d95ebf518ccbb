// The raft core logs through an injected Logger (never the console). The scenario-script
// runner captures these lines as test output; the simulator passes one only when replaying
// a seed verbosely.

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: LogLevel, message: string): void;
}

/** Discards everything. The default. */
export const discardLogger: Logger = { log() {} };

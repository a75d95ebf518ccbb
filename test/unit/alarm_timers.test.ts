import { describe, expect, it } from "vitest";
import { AlarmTimers } from "../../src/member/alarm_timers.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";

function fakeAlarm() {
  const state = { at: null as number | null, sets: 0 };
  return {
    state,
    port: {
      getAlarm: async () => state.at,
      setAlarm: async (ms: number) => {
        state.at = ms;
        state.sets++;
      },
      deleteAlarm: async () => {
        state.at = null;
      },
    },
  };
}

describe("AlarmTimers", () => {
  it("multiplexes named timers over one alarm set to the earliest", async () => {
    const { state, port } = fakeAlarm();
    const timers = new AlarmTimers<"tick" | "progress">(openMemoryDb(), port);
    timers.schedule("progress", 5_000);
    timers.schedule("tick", 100);
    await timers.arm();
    expect(state.at).toBe(100);
    expect(timers.takeDue(150)).toEqual(["tick"]);
    await timers.arm();
    expect(state.at).toBe(5_000);
  });

  it("runs a due timer once even when the alarm is delivered twice", async () => {
    const { port } = fakeAlarm();
    const timers = new AlarmTimers<"tick">(openMemoryDb(), port);
    timers.schedule("tick", 100);
    expect(timers.takeDue(100)).toEqual(["tick"]);
    expect(timers.takeDue(100)).toEqual([]); // the duplicate delivery finds nothing due
    timers.schedule("tick", 200); // a periodic timer moves forward
    expect(timers.takeDue(150)).toEqual([]);
    expect(timers.takeDue(200)).toEqual(["tick"]);
  });

  it("moves a rescheduled timer instead of adding one, and clears the alarm when none is left", async () => {
    const { state, port } = fakeAlarm();
    const timers = new AlarmTimers<"tick">(openMemoryDb(), port);
    timers.schedule("tick", 100);
    timers.schedule("tick", 300);
    expect(timers.nextDueMs()).toBe(300);
    await timers.arm();
    expect(state.at).toBe(300);
    timers.cancel("tick");
    await timers.arm();
    expect(state.at).toBeNull();
  });
});

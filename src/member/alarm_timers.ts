// Many timers over a Durable Object's single alarm. Each named timer has a due time in the
// `timers` table; the alarm is always set to the earliest one. Alarms are delivered at least
// once and may come late or twice: a delivery runs only the timers that are due by then, and
// a duplicate finds nothing due (the periodic ones were already moved forward), so handlers
// run once per due time.
import type { SqlDb } from "../util/sql.ts";

// Invariant: one row per pending timer; due_ms is wall-clock milliseconds.
const SCHEMA = "CREATE TABLE IF NOT EXISTS timers (name TEXT PRIMARY KEY, due_ms INTEGER NOT NULL) WITHOUT ROWID";

export interface AlarmPort {
  getAlarm(): Promise<number | null>;
  setAlarm(atMs: number): Promise<void>;
  deleteAlarm(): Promise<void>;
}

export class AlarmTimers<Name extends string> {
  private readonly db: SqlDb;
  private readonly alarm: AlarmPort;

  constructor(db: SqlDb, alarm: AlarmPort) {
    this.db = db;
    this.alarm = alarm;
    db.script(SCHEMA);
  }

  /** Sets (or moves) a timer. Call arm() afterwards to update the alarm. */
  schedule(name: Name, dueMs: number): void {
    this.db.run(
      "INSERT INTO timers (name, due_ms) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET due_ms = excluded.due_ms",
      name,
      Math.floor(dueMs),
    );
  }

  cancel(name: Name): void {
    this.db.run("DELETE FROM timers WHERE name = ?", name);
  }

  isScheduled(name: Name): boolean {
    return this.db.first("SELECT 1 AS one FROM timers WHERE name = ?", name) !== undefined;
  }

  /** Removes and returns the timers due at nowMs, earliest first. */
  takeDue(nowMs: number): Name[] {
    const rows = this.db.all<{ name: string }>("SELECT name FROM timers WHERE due_ms <= ? ORDER BY due_ms, name", nowMs);
    if (rows.length > 0) this.db.run("DELETE FROM timers WHERE due_ms <= ?", nowMs);
    return rows.map((r) => r.name as Name);
  }

  nextDueMs(): number | null {
    const row = this.db.first<{ due: number | null }>("SELECT min(due_ms) AS due FROM timers");
    return row?.due ?? null;
  }

  /** Points the object's alarm at the earliest timer (or clears it when none is left). */
  async arm(): Promise<void> {
    const next = this.nextDueMs();
    const current = await this.alarm.getAlarm();
    if (next === null) {
      if (current !== null) await this.alarm.deleteAlarm();
    } else if (current !== next) {
      await this.alarm.setAlarm(next);
    }
  }
}

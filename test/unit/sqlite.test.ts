import { expect, it } from "vitest";
import { openMemoryDb } from "../support/node-sqlite.ts";

it("node sqlite adapter orders BLOBs by memcmp and nests transactions", () => {
  const db = openMemoryDb();
  db.script("CREATE TABLE k(key BLOB PRIMARY KEY)");
  db.run("INSERT INTO k VALUES (?)", new Uint8Array([0xff]));
  db.run("INSERT INTO k VALUES (?)", new Uint8Array([0x01, 0x02]));
  expect(() => db.transaction(() => { db.run("INSERT INTO k VALUES (?)", new Uint8Array([5])); throw new Error("x"); })).toThrow("x");
  const keys = db.all<{ key: Uint8Array }>("SELECT key FROM k ORDER BY key").map((r) => [...r.key]);
  expect(keys).toEqual([[1, 2], [255]]);
});

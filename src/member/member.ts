import { DurableObject } from "cloudflare:workers";
import type { Env } from "./env.ts";
import { durableObjectDb } from "./sql.ts";

export class Member extends DurableObject<Env> {
  ping(): number {
    const db = durableObjectDb(this.ctx.storage);
    db.script("CREATE TABLE IF NOT EXISTS t(n INTEGER)");
    db.run("INSERT INTO t VALUES (1)");
    return Number(db.first<{ c: number }>("SELECT count(*) AS c FROM t")!.c);
  }
}

// The watch checker: many watchers of every kind (key, prefix, range, from-key, historical,
// prev_kv, filters, progress, resumed) on every transport against concurrent writers and
// multi-key txns, then every guarantee checked against the true history:
//   ordered and unique  each watcher's events are exactly its share of the history, in order
//   reliable            nothing missing (no gaps), across resumes too
//   atomic              a response holds all of the watcher's events of each revision it has
//   resumable           reopening from the last revision + 1 continues without gap or repeat
//   bookmarkable        a progress response at R comes after every event <= R, before any > R
//   prev_kv             the previous version of the key, none for a creation
// It takes a target URL (etcd or etcdo's front door), so it runs against either, and a
// stream that ends on its own (a member failed) is resumed rather than trusted.
import { lines } from "../../client/src/lines.ts";
import { History, type AppliedOp, type HEvent } from "./history.ts";
import { Liveness } from "./liveness.ts";

export type Transport = "http" | "ws" | "mux";

export interface CheckOptions {
  url: string;
  seed: number;
  /** Key prefix of this run (keys are <prefix>k00..). */
  prefix: string;
  keys?: number;
  writers?: number;
  opsPerWriter?: number;
  watchers?: number;
  transports?: Transport[];
  /** Close and reopen a random connection after about this many writes (0: never). */
  resumeEveryWrites?: number;
  /** How long to wait for the watchers to receive everything after the last write. */
  settleTimeoutMs?: number;
  /**
   * Send stream-wide progress requests (default true). etcd 3.4 answers them at once, even
   * while a watcher of the stream is still catching up, so its bookmark can run ahead of
   * events (fixed in etcd 3.5): turn them off to check a 3.4 server.
   */
  progressRequests?: boolean;
  /**
   * Called after every write (fault injection: crash or partition members through the
   * front door's /_fault API). Streams that end by themselves are resumed and counted.
   */
  onWrite?: (writes: number) => Promise<void>;
  /** Extra headers for the target (e.g. x-etcdo-member to pin a member). */
  headers?: Record<string, string>;
  /**
   * Under faults a write may fail with its outcome unknown (timed out, member crashed). With
   * this set such writes are kept aside, and afterwards every revision no answer reported is
   * read back from the server (ranges at that revision and the one before) and matched to
   * the write that made it, so the true history is complete again.
   */
  tolerateWriteFailures?: boolean;
  /**
   * Give up a socket that answers nothing, not even a progress request, for this long, and
   * resume it (a client's keepalive; see liveness.ts). 0 (default): trust open sockets.
   */
  deadStreamMs?: number;
}

export interface CheckReport {
  revisions: number;
  events: number;
  watchers: number;
  delivered: number;
  resumes: number;
  /** Streams the server ended (each resumed from its last revision + 1). */
  serverEnds: number;
  /** Sockets that stayed open but answered nothing, given up and resumed (deadStreamMs). */
  deadStreams: number;
  progress: number;
  violations: string[];
}

type Kind = "key" | "prefix" | "range" | "fromKey" | "all";

interface WatchSpec {
  label: string;
  kind: Kind;
  key: string;
  /** "" for a single key; "\0" for from-key. */
  end: string;
  startRev: number;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  progressNotify: boolean;
}

interface Delivered {
  events: HEvent[];
  /** Responses as lists of event indexes into `events` (for the atomic check). */
  responses: Array<{ from: number; to: number }>;
  /** Progress responses: how many events had arrived and the revision announced. */
  progress: Array<{ received: number; rev: number }>;
  /** First revision the watcher asked for (fixed by its first "created"). */
  firstRev: number;
  /** The revision to resume from. */
  nextRev: number;
  created: boolean;
}

interface Watcher {
  spec: WatchSpec;
  id: number;
  got: Delivered;
}

const b64 = (s: string) => Buffer.from(s, "latin1").toString("base64");
const unb64 = (s: string | undefined) => (s === undefined ? "" : Buffer.from(s, "base64").toString("latin1"));

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function covers(spec: WatchSpec, key: string): boolean {
  if (spec.end === "") return key === spec.key;
  if (key < spec.key) return false;
  return spec.end === "\0" || key < spec.end;
}

function createRequest(w: Watcher, startRev: number): object {
  const r: Record<string, unknown> = { key: b64(w.spec.key), watch_id: String(w.id) };
  if (w.spec.end !== "") r.range_end = b64(w.spec.end);
  if (startRev > 0) r.start_revision = String(startRev);
  if (w.spec.prevKv) r.prev_kv = true;
  const filters: string[] = [];
  if (w.spec.noPut) filters.push("NOPUT");
  if (w.spec.noDelete) filters.push("NODELETE");
  if (filters.length) r.filters = filters;
  if (w.spec.progressNotify) r.progress_notify = true;
  return { create_request: r };
}

/** One client connection carrying some watchers. */
class Conn {
  closedByUs = false;
  ended = false;
  readonly transport: Transport;
  readonly watchers: Watcher[];
  private readonly opts: CheckOptions;
  private readonly violations: string[];
  private readonly stats: { progress: number };
  private ws: WebSocket | null = null;
  private abort: AbortController | null = null;
  private onEnd: () => void = () => undefined;
  private liveness: Liveness | null = null;

  constructor(transport: Transport, watchers: Watcher[], opts: CheckOptions, violations: string[], stats: { progress: number }) {
    this.transport = transport;
    this.watchers = watchers;
    this.opts = opts;
    this.violations = violations;
    this.stats = stats;
  }

  async open(onEnd: () => void): Promise<void> {
    this.onEnd = onEnd;
    const requests = this.watchers.map((w) => createRequest(w, w.got.created ? w.got.nextRev : w.spec.startRev));
    if (this.transport === "http") {
      this.abort = new AbortController();
      const res = await fetch(this.opts.url + "/v3/watch", {
        method: "POST",
        body: requests.map((r) => JSON.stringify(r)).join("\n"),
        signal: this.abort.signal,
        headers: this.opts.headers,
      });
      if (res.status !== 200) throw new Error(`watch answered ${res.status}: ${await res.text()}`);
      void this.readHttp(res.body!);
      return;
    }
    const path = this.transport === "mux" ? "/v3/etcdo/stream" : "/v3/watch";
    const ws = new WebSocket(this.opts.url.replace(/^http/, "ws") + path);
    this.ws = ws;
    ws.onmessage = (e) => {
      const text = String(e.data);
      if (text === "pong") return;
      this.onMessage(text);
    };
    ws.onclose = () => this.end();
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("WebSocket failed to open"));
    });
    for (const r of requests) this.send(r);
    if (this.opts.deadStreamMs) this.liveness = new Liveness(this.opts.deadStreamMs, Date.now());
  }

  /** Probes a silent socket; true once it has stayed silent past deadStreamMs. */
  isDead(nowMs: number): boolean {
    if (!this.liveness || this.ended || this.closedByUs) return false;
    const verdict = this.liveness.check(nowMs);
    if (verdict === "probe") {
      this.send({ progress_request: {} });
      this.liveness.probed(nowMs);
    }
    return verdict === "dead";
  }

  send(req: object): void {
    if (!this.ws || this.ended || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(this.transport === "mux" ? { watch: req } : req));
  }

  private async readHttp(body: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const line of lines(body)) this.onMessage(line);
    } catch {
      // aborted or broken
    }
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
  }

  close(): void {
    this.closedByUs = true;
    this.ws?.close();
    this.abort?.abort();
  }

  private onMessage(text: string): void {
    this.liveness?.heard(Date.now());
    // A closing socket may still deliver messages; the resumed stream has taken over from
    // the revision computed at close time, so later ones here would be counted twice.
    if (this.closedByUs) return;
    let v: any;
    try {
      v = JSON.parse(text);
    } catch {
      this.violations.push(`${this.transport}: unparsable message ${text.slice(0, 200)}`);
      return;
    }
    const r = this.transport === "mux" ? v.watch : v.result;
    if (!r) {
      this.violations.push(`${this.transport}: unexpected message ${text.slice(0, 200)}`);
      return;
    }
    const id = Number(r.watch_id ?? 0);
    const rev = Number(r.header?.revision ?? 0);
    if (id === -1 && !r.created) {
      this.stats.progress++;
      for (const w of this.watchers) this.progress(w, rev);
      return;
    }
    const w = this.watchers.find((x) => x.id === id);
    if (!w) {
      this.violations.push(`${this.transport}: response for unknown watch ${id}: ${text.slice(0, 200)}`);
      return;
    }
    if (r.created) {
      if (r.canceled) this.violations.push(`${w.spec.label}: refused: ${text.slice(0, 300)}`);
      if (!w.got.created) {
        w.got.created = true;
        w.got.firstRev = w.spec.startRev > 0 ? w.spec.startRev : rev + 1;
        w.got.nextRev = w.got.firstRev;
      }
      return;
    }
    if (r.canceled) {
      this.violations.push(`${w.spec.label}: canceled: ${text.slice(0, 300)}`);
      return;
    }
    const events: any[] = r.events ?? [];
    if (events.length === 0) {
      this.stats.progress++;
      this.progress(w, rev);
      return;
    }
    const from = w.got.events.length;
    for (const e of events) {
      const ev: HEvent = {
        type: e.type === "DELETE" ? "DELETE" : "PUT",
        key: unb64(e.kv.key),
        value: unb64(e.kv.value),
        modRevision: Number(e.kv.mod_revision ?? 0),
        createRevision: Number(e.kv.create_revision ?? 0),
        version: Number(e.kv.version ?? 0),
      };
      if (e.prev_kv) {
        ev.prev = {
          key: unb64(e.prev_kv.key),
          value: unb64(e.prev_kv.value),
          createRevision: Number(e.prev_kv.create_revision ?? 0),
          modRevision: Number(e.prev_kv.mod_revision ?? 0),
          version: Number(e.prev_kv.version ?? 0),
        };
      }
      w.got.events.push(ev);
    }
    w.got.responses.push({ from, to: w.got.events.length });
    w.got.nextRev = Math.max(w.got.nextRev, w.got.events[w.got.events.length - 1]!.modRevision + 1);
  }

  private progress(w: Watcher, rev: number): void {
    if (!w.got.created) return;
    w.got.progress.push({ received: w.got.events.length, rev });
    w.got.nextRev = Math.max(w.got.nextRev, rev + 1);
  }
}

function specs(opts: CheckOptions, random: () => number, startRev: number, keys: string[]): WatchSpec[] {
  const n = opts.watchers ?? 24;
  const out: WatchSpec[] = [];
  const kinds: Kind[] = ["key", "prefix", "range", "fromKey", "all"];
  const p = opts.prefix;
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length]!;
    const k = keys[Math.floor(random() * keys.length)]!;
    const k2 = keys[Math.floor(random() * keys.length)]!;
    const [lo, hi] = k < k2 ? [k, k2] : [k2, k + "\0"];
    const spec: WatchSpec = {
      label: `w${i}:${kind}`,
      kind,
      key: kind === "key" ? k : kind === "prefix" ? k.slice(0, -1) : kind === "range" ? lo : kind === "fromKey" ? k : p,
      end: kind === "key" ? "" : kind === "prefix" ? prefixEnd(k.slice(0, -1)) : kind === "range" ? hi : kind === "fromKey" ? "\0" : prefixEnd(p),
      // A third start in the past (history replay), the rest from now.
      startRev: i % 3 === 1 ? Math.max(1, startRev - Math.floor(random() * 5)) : 0,
      prevKv: i % 2 === 0,
      noPut: i % 7 === 3,
      noDelete: i % 7 === 5,
      progressNotify: i % 4 === 0,
    };
    out.push(spec);
  }
  return out;
}

function prefixEnd(s: string): string {
  const b = Buffer.from(s, "latin1");
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i] = b[i]! + 1;
      return b.subarray(0, i + 1).toString("latin1");
    }
  }
  return "\0";
}

async function post(opts: CheckOptions, path: string, body: object): Promise<any> {
  // Reads change nothing: under faults they are simply asked again until a member answers.
  if (opts.tolerateWriteFailures && path === "/v3/kv/range") {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await postOnce(opts, path, body);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  return postOnce(opts, path, body);
}

async function postOnce(opts: CheckOptions, path: string, body: object): Promise<any> {
  const r = await fetch(opts.url + path, { method: "POST", body: JSON.stringify(body), headers: opts.headers });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${path} answered ${r.status}: ${text}`);
  return JSON.parse(text);
}

/** One writer's next write: a put, a delete or a multi-key txn; records what changed. */
/** A write whose answer never came: its ops, in the order it sent them. */
type Unanswered = AppliedOp[];

async function write(
  opts: CheckOptions,
  random: () => number,
  keys: string[],
  history: History,
  tag: string,
  unanswered: Unanswered[],
): Promise<void> {
  const pick = () => keys[Math.floor(random() * keys.length)]!;
  const r = random();
  let attempted: AppliedOp[] = [];
  try {
    await writeOnce();
  } catch (err) {
    if (!opts.tolerateWriteFailures) throw err;
    unanswered.push(attempted);
  }
  async function writeOnce(): Promise<void> {
  if (r < 0.5) {
    const key = pick();
    const value = `${tag}`;
    attempted = [{ put: key, value }];
    const res = await post(opts, "/v3/kv/put", { key: b64(key), value: b64(value) });
    history.record(Number(res.header.revision), [{ put: key, value }]);
  } else if (r < 0.7) {
    const key = pick();
    attempted = [{ del: key, deleted: true }];
    const res = await post(opts, "/v3/kv/deleterange", { key: b64(key) });
    if (Number(res.deleted ?? 0) > 0) history.record(Number(res.header.revision), [{ del: key, deleted: true }]);
  } else {
    const chosen = [...new Set([pick(), pick(), pick()])];
    type TxnOp = { put: string; value: string } | { del: string };
    const ops = chosen.map((key, i): TxnOp => (random() < 0.7 ? { put: key, value: `${tag}.${i}` } : { del: key }));
    attempted = ops.map((o): AppliedOp => ("put" in o ? o : { del: o.del, deleted: true }));
    const res = await post(opts, "/v3/kv/txn", {
      success: ops.map((o) =>
        "put" in o ? { request_put: { key: b64(o.put), value: b64(o.value) } } : { request_delete_range: { key: b64(o.del) } },
      ),
    });
    const applied: AppliedOp[] = ops.map((o, i): AppliedOp =>
      "put" in o ? o : { del: o.del, deleted: Number(res.responses?.[i]?.response_delete_range?.deleted ?? 0) > 0 },
    );
    if (applied.some((o) => "put" in o || o.deleted)) history.record(Number(res.header.revision), applied);
  }
  }
}

/** The prefix's live keys at a revision: key → value. */
async function stateAt(opts: CheckOptions, prefix: string, rev: number): Promise<Map<string, string>> {
  const res = await post(opts, "/v3/kv/range", { key: b64(prefix), range_end: b64(prefixEnd(prefix)), revision: String(rev) });
  const out = new Map<string, string>();
  for (const kv of res.kvs ?? []) out.set(Buffer.from(kv.key, "base64").toString("latin1"), Buffer.from(kv.value ?? "", "base64").toString("latin1"));
  return out;
}

/** Reads back the revisions no answer reported and records them with the write that made them. */
async function recoverUnanswered(opts: CheckOptions, history: History, unanswered: Unanswered[], firstRev: number): Promise<void> {
  const head = await post(opts, "/v3/kv/range", { key: b64(opts.prefix), range_end: b64(prefixEnd(opts.prefix)), count_only: true });
  const lastRev = Number(head.header.revision);
  const known = new Set(history.revisions());
  for (let rev = firstRev; rev <= lastRev; rev++) {
    if (known.has(rev)) continue;
    const [before, after] = [await stateAt(opts, opts.prefix, rev - 1), await stateAt(opts, opts.prefix, rev)];
    const changedPuts = new Map([...after].filter(([k, v]) => before.get(k) !== v || !before.has(k)));
    const deleted = new Set([...before.keys()].filter((k) => !after.has(k)));
    if (changedPuts.size === 0 && deleted.size === 0) continue; // not a write of this keyspace
    const i = unanswered.findIndex((ops) =>
      ops.every((o) => ("put" in o ? changedPuts.get(o.put) === o.value : !changedPuts.has(o.del))) &&
      [...changedPuts.keys()].every((k) => ops.some((o) => "put" in o && o.put === k)) &&
      [...deleted].every((k) => ops.some((o) => "del" in o && o.del === k)),
    );
    if (i < 0) throw new Error(`revision ${rev} matches no write the checker sent`);
    const ops = unanswered.splice(i, 1)[0]!;
    // A delete of a key that was absent changed nothing; the op order is the one sent.
    history.record(rev, ops.map((o) => ("put" in o ? o : { del: o.del, deleted: deleted.has(o.del) })));
  }
}

export async function runWatchCheck(opts: CheckOptions): Promise<CheckReport> {
  const random = rng(opts.seed);
  const keys = Array.from({ length: opts.keys ?? 12 }, (_, i) => `${opts.prefix}${"abc"[i % 3]}/k${String(i).padStart(2, "0")}`);
  const history = new History();
  const unanswered: Unanswered[] = [];
  const violations: string[] = [];
  const stats = { progress: 0, resumes: 0, serverEnds: 0, deadStreams: 0 };
  const firstHistoryRev = Number((await post(opts, "/v3/kv/range", { key: b64(opts.prefix + "none") })).header.revision) + 1;
  // Some history before the watchers start, for the historical ones.
  for (let i = 0; i < 10; i++) await write(opts, random, keys, history, `pre${i}`, unanswered);
  const startRev = Number((await post(opts, "/v3/kv/range", { key: b64(opts.prefix + "none") })).header.revision);
  const transports = opts.transports ?? ["http", "ws"];
  const watchers: Watcher[] = specs(opts, random, startRev, keys).map((spec, i) => ({
    spec,
    id: i + 1,
    got: { events: [], responses: [], progress: [], firstRev: 0, nextRev: 0, created: false },
  }));
  // HTTP: one watcher per stream; sockets: several watchers each.
  const conns: Conn[] = [];
  const groups: Array<{ transport: Transport; watchers: Watcher[] }> = [];
  for (let i = 0; i < watchers.length; ) {
    const transport = transports[groups.length % transports.length]!;
    const size = transport === "http" ? 1 : 3;
    groups.push({ transport, watchers: watchers.slice(i, i + size) });
    i += size;
  }
  const openGroup = async (g: { transport: Transport; watchers: Watcher[] }, slot: number): Promise<void> => {
    const c = new Conn(g.transport, g.watchers, opts, violations, stats);
    conns[slot] = c;
    await c.open(() => {
      if (c.closedByUs) return;
      // A stream that ended by itself (member failure): resume it as a client would.
      stats.resumes++;
      stats.serverEnds++;
      setTimeout(() => {
        // Unless something else (a scheduled resume) has reopened the group meanwhile: two
        // live streams for the same watchers would deliver every event twice.
        if (conns[slot] !== c) return;
        void openGroup(g, slot).catch((e) => violations.push(`reopen failed: ${e}`));
      }, 50);
    });
  };
  await Promise.all(groups.map((g, i) => openGroup(g, i)));
  // A socket open with nobody behind it is given up and resumed, as a client's keepalive would.
  const livenessTimer = opts.deadStreamMs
    ? setInterval(() => {
        const now = Date.now();
        conns.forEach((c, slot) => {
          if (!c.isDead(now)) return;
          c.close();
          stats.resumes++;
          stats.deadStreams++;
          void openGroup(groups[slot]!, slot).catch((e) => violations.push(`reopen failed: ${e}`));
        });
      }, Math.max(50, opts.deadStreamMs / 10))
    : undefined;
  await waitFor(() => watchers.every((w) => w.got.created), 10_000);

  const writers = opts.writers ?? 3;
  const per = opts.opsPerWriter ?? 40;
  let writes = 0;
  const resumeEvery = opts.resumeEveryWrites ?? 15;
  const progressRequests = opts.progressRequests ?? true;
  await Promise.all(
    Array.from({ length: writers }, async (_, wi) => {
      for (let i = 0; i < per; i++) {
        await write(opts, random, keys, history, `w${wi}.${i}`, unanswered);
        writes++;
        await opts.onWrite?.(writes);
        if (resumeEvery > 0 && writes % resumeEvery === 0) {
          const slot = Math.floor(random() * groups.length);
          const old = conns[slot]!;
          old.close();
          stats.resumes++;
          await openGroup(groups[slot]!, slot);
        }
        if (progressRequests && writes % 10 === 0) for (const c of conns) c.send({ progress_request: {} });
      }
    }),
  );

  if (unanswered.length > 0) await recoverUnanswered(opts, history, unanswered, firstHistoryRev);
  const expected = new Map<Watcher, HEvent[]>();
  const all = history.events();
  for (const w of watchers) {
    expected.set(
      w,
      all.filter(
        (e) =>
          e.modRevision >= w.got.firstRev &&
          covers(w.spec, e.key) &&
          !(e.type === "PUT" && w.spec.noPut) &&
          !(e.type === "DELETE" && w.spec.noDelete),
      ),
    );
  }
  await waitFor(() => watchers.every((w) => w.got.events.length >= expected.get(w)!.length), opts.settleTimeoutMs ?? 20_000);
  // A final bookmark on every socket: answered only after everything before it.
  if (progressRequests) for (const c of conns) c.send({ progress_request: {} });
  await new Promise((r) => setTimeout(r, 200));
  clearInterval(livenessTimer);
  for (const c of conns) c.close();

  const known = new Set(all.map((e) => e.modRevision));
  for (const w of watchers) check(w, expected.get(w)!, known, violations);
  return {
    revisions: new Set(all.map((e) => e.modRevision)).size,
    events: all.length,
    watchers: watchers.length,
    delivered: watchers.reduce((n, w) => n + w.got.events.length, 0),
    resumes: stats.resumes,
    serverEnds: stats.serverEnds,
    deadStreams: stats.deadStreams,
    progress: stats.progress,
    violations,
  };
}

function show(e: HEvent | undefined): string {
  if (!e) return "nothing";
  const prev = e.prev ? ` prev=${e.prev.value}@${e.prev.modRevision} v${e.prev.version}` : "";
  return `${e.type} ${e.key}@${e.modRevision}${e.type === "PUT" ? `=${e.value} v${e.version} c${e.createRevision}` : ""}${prev}`;
}

function check(w: Watcher, want: HEvent[], known: Set<number>, violations: string[]): void {
  const got = w.got.events;
  const label = w.spec.label;
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    const g = got[i];
    const e = want[i];
    const same =
      g && e && g.type === e.type && g.key === e.key && g.modRevision === e.modRevision &&
      (e.type === "DELETE" || (g.value === e.value && g.version === e.version && g.createRevision === e.createRevision));
    if (!same) {
      if (g && !known.has(g.modRevision)) {
        violations.push(`${label}: event ${i} at revision ${g.modRevision}, which no write was answered with (a write applied twice?): ${show(g)}`);
        return;
      }
      const what = !g ? "missing (gap)" : !e ? "extra (duplicate or foreign)" : "differs";
      violations.push(`${label}: event ${i} ${what}: got ${show(g)}, want ${show(e)}`);
      return;
    }
    if (w.spec.prevKv) {
      const wantPrev = e.type === "PUT" && e.createRevision === e.modRevision ? undefined : e.prev;
      const gp = g.prev;
      const ok = wantPrev === undefined ? gp === undefined : gp !== undefined && gp.value === wantPrev.value && gp.modRevision === wantPrev.modRevision && gp.version === wantPrev.version;
      if (!ok) {
        const kv = (x: { value: string; modRevision: number; version: number } | undefined) => (x ? `${x.value}@${x.modRevision} v${x.version}` : "none");
        violations.push(`${label}: prev_kv of ${show(e)}: got ${kv(gp)}, want ${kv(wantPrev)}`);
        return;
      }
    } else if (g.prev) {
      violations.push(`${label}: prev_kv sent without being asked`);
      return;
    }
  }
  // Atomic: every revision in a response comes with all of the watcher's events of it.
  for (const r of w.got.responses) {
    const revs = new Set(got.slice(r.from, r.to).map((e) => e.modRevision));
    for (const rev of revs) {
      const inResponse = got.slice(r.from, r.to).filter((e) => e.modRevision === rev).length;
      const all = want.filter((e) => e.modRevision === rev).length;
      if (inResponse !== all) violations.push(`${label}: revision ${rev} split across responses (${inResponse} of ${all} events)`);
    }
  }
  // Bookmarkable: a progress at R after every wanted event <= R and before any > R.
  for (const p of w.got.progress) {
    const due = want.filter((e) => e.modRevision <= p.rev).length;
    if (p.received < due) violations.push(`${label}: progress at ${p.rev} ran ahead: ${p.received} of ${due} events delivered`);
    if (p.received > due) violations.push(`${label}: progress at ${p.rev} after events above it`);
  }
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

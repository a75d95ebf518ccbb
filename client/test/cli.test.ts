// etcdoctl against etcdctl 3.4: the same command script runs with etcdctl on one fresh etcd
// and with etcdoctl on another fresh server (etcd, or etcdo via ETCDO_TEST_ENDPOINTS, which
// must then be a fresh cluster), so revisions line up; stdout, stderr and exit codes must
// match after naming the IDs and ports that differ between two clusters.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startEtcd, startTestServer } from "../../test/support/etcd-client-server.ts";

const ETCDCTL = process.env.ETCDCTL_BIN ?? "/usr/bin/etcdctl";
const BIN = fileURLToPath(new URL("../bin/etcdoctl.ts", import.meta.url));
// Node >= 22.6 strips types; use the project's Node when this one is older.
const NODE = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : fileURLToPath(new URL("../../node_modules/.bin/node", import.meta.url));

interface Result {
  stdout: string;
  stderr: string;
  code: number;
}

interface RunOptions {
  stdin?: string;
  /** Leave stdin open after `stdin` (watch -i reads on until the command ends by itself). */
  keepStdin?: boolean;
  interruptAfter?: number;
  env?: Record<string, string>;
  /** Called with all of stdout so far, as it arrives. */
  onStdout?: (soFar: string) => void;
}

function exec(file: string, args: string[], env: Record<string, string>, o: RunOptions = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: { PATH: process.env.PATH ?? "", ...env, ...o.env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout, stderr, code });
    });
    let soFar = "";
    if (o.onStdout) child.stdout!.on("data", (d) => o.onStdout!((soFar += String(d))));
    child.stdin!.on("error", () => {}); // the command may exit without reading stdin
    if (o.keepStdin) child.stdin!.write(o.stdin ?? "");
    else child.stdin!.end(o.stdin ?? "");
    // Streaming verbs (watch, lock, elect) run until interrupted, as from a terminal.
    if (o.interruptAfter) setTimeout(() => child.kill("SIGINT"), o.interruptAfter);
  });
}

let A: TestServer; // etcdctl's server
let B: TestServer; // etcdoctl's server

const etcdctl = (args: string[], o?: RunOptions) => exec(ETCDCTL, args, { ETCDCTL_API: "3", ETCDCTL_ENDPOINTS: A.hostPort }, o);
const etcdoctl = (args: string[], o?: RunOptions) => exec(NODE, [BIN, ...args], { ETCDCTL_ENDPOINTS: B.hostPort }, o);

/** Per side: IDs seen so far, replaced by stable names so the two clusters compare. */
class Names {
  private readonly map = new Map<string, string>();
  /** Member names, replaced as whole words only (short names also occur inside data). */
  private readonly names = new Set<string>();
  private leases = 0;
  /** The last header revision printed in JSON: $REV in a step. */
  rev = 0;
  private readonly server: TestServer;
  constructor(server: TestServer) {
    this.server = server;
  }

  lease(hex: string): void {
    const dec = BigInt(`0x${hex}`).toString();
    if (this.map.has(hex)) return;
    const name = `LEASE${++this.leases}`;
    this.map.set(hex, name);
    this.map.set(dec, name);
  }
  memberHex(): string {
    for (const [k, v] of this.map) if (v === "NEWMEMBER" && /^[0-9a-f]+$/.test(k) && /[a-f]/.test(k)) return k;
    for (const [k, v] of this.map) if (v === "NEWMEMBER" && k.length <= 16) return k;
    throw new Error("no new member yet");
  }
  hexOf(name: string): string {
    for (const [k, v] of this.map) if (v === name && /[a-f]/.test(k) === false && k.length === 16) return k;
    for (const [k, v] of this.map) if (v === name && k.length === 16) return k;
    throw new Error(`no lease ${name}`);
  }
  async learnCluster(): Promise<void> {
    const r = (await (await fetch(`${this.server.url}/v3/maintenance/status`, { method: "POST", body: "{}" })).json()) as { header: { cluster_id: string; member_id: string } };
    // Every member of the cluster answers as "MEMBER": a multi-member etcdo compares with a
    // single-member etcd on everything but the membership itself.
    const list = (await (await fetch(`${this.server.url}/v3/cluster/member/list`, { method: "POST", body: "{}" })).json()) as {
      members?: { ID: string; name?: string; peerURLs?: string[] }[];
    };
    const ids: [string, string][] = [[r.header.cluster_id, "CLUSTER"], [r.header.member_id, "MEMBER"]];
    for (const m of list.members ?? []) {
      ids.push([m.ID, "MEMBER"]);
      // Member names and peer URLs are each deployment's own.
      if (m.name) this.names.add(m.name);
      for (const u of m.peerURLs ?? []) this.map.set(u, "PEERURL");
    }
    for (const [id, name] of ids) {
      this.map.set(id, name);
      this.map.set(BigInt(id).toString(16), name);
    }
  }
  /** A peer URL this side's server accepts for a member that never starts. */
  newPeer(): string {
    return this.server.kind === "etcdo" ? "etcdo://default/m9" : "http://127.0.0.1:1";
  }
  learn(out: string): void {
    for (const m of out.matchAll(/"revision":(\d+)/g)) this.rev = Number(m[1]);
    for (const m of out.matchAll(/Member +([0-9a-f]+) added to cluster/g)) {
      this.map.set(m[1]!, "NEWMEMBER");
      this.map.set(BigInt(`0x${m[1]}`).toString(), "NEWMEMBER");
    }
    this.map.set(this.newPeer(), "NEWPEER");
    for (const m of out.matchAll(/lease ([0-9a-f]{16}) granted/g)) this.lease(m[1]!);
    for (const m of out.matchAll(/"ID":(\d+),"TTL"|"ID" : (\d+)\n"TTL"/g)) this.lease(BigInt(m[1] ?? m[2]!).toString(16).padStart(16, "0"));
  }
  normalize(s: string): string {
    let out = s;
    // Longest first, so a decimal ID is not partly replaced by a shorter one.
    for (const [k, v] of [...this.map].sort((a, b) => b[0].length - a[0].length)) out = out.split(k).join(v);
    for (const name of this.names) out = out.replace(new RegExp(`(?<![\\w/+=])${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w/+=])`, "g"), "NAME");
    return out
      // Raft indexes count each cluster's own internal entries (membership, publish).
      .replace(/(true|false), (true|false), (\d+), \d+, \d+, /g, "$1, $2, $3, INDEX, INDEX, ")
      .replace(/"(raftIndex|raftAppliedIndex|raft_index|raft_applied_index)":\d+/g, '"$1":INDEX')
      .replace(/^"(RaftIndex|RaftAppliedIndex)" : \d+$/gm, '"$1" : INDEX')
      .replace(/\|\s+(\d+)\s+\|\s+\d+\s+\|\s+\d+\s+\|(\s+\|)$/gm, "| $1 | INDEX | INDEX |$2")
      .replace(/127\.0\.0\.1:\d{4,5}/g, "127.0.0.1:PORT")
      .replace(/took = \S+/g, "took = T")
      .replace(/"took":"[^"]*"/g, '"took":"T"')
      .replace(/^"Took" : .*$/gm, '"Took" : T')
      // bbolt's file size depends on timing, not on the commands.
      .replace(/\b\d+(\.\d)? (B|kB|MB|GB)\b/g, "SIZE")
      .replace(/"(dbSize|dbSizeInUse)":\d+/g, '"$1":SIZE')
      .replace(/^"DBSize" : \d+$/gm, '"DBSize" : SIZE')
      .replace(/remaining\(\d+s\)/g, "remaining(Ns)")
      .replace(/"ttl":\d+/g, '"ttl":N')
      .replace(/^"TTL" : \d+$/gm, '"TTL" : N')
      .replace(/^\{"level":.*\n/gm, "")
      // Lock and election keys end in their session lease's ID (unpadded hex).
      .replace(/^([\w-]+)\/[0-9a-f]{8,16}$/gm, "$1/LEASE")
      // The new member's place among the members follows its random ID.
      .replace(/^ETCD_INITIAL_CLUSTER="(.*)"$/gm, (_, list: string) => `ETCD_INITIAL_CLUSTER="${list.split(",").map((e) => e.replace(/^[^=]*=PEERURL$/, "NAME=PEERURL")).sort().join(",")}"`)
      // %16x pads IDs to 16 columns: the two clusters' IDs differ in length.
      .replace(/^Member +(\S+) (added to|removed from|promoted in) cluster +/gm, "Member $1 $2 cluster ")
      .replace(/etcdctl/g, "etcdoctl");
  }
}

let na: Names;
let nb: Names;

beforeAll(async () => {
  // One member on each side, so that membership output compares too.
  [A, B] = await Promise.all([startEtcd("cli-etcd"), startTestServer({ members: ["m1"] })]);
  na = new Names(A);
  nb = new Names(B);
  await Promise.all([na.learnCluster(), nb.learnCluster()]);
});
afterAll(async () => {
  await Promise.all([A?.stop(), B?.stop()]);
});

interface Step {
  args: string;
  stdin?: string;
  /** Order-insensitive output (etcd lists leases from a Go map). */
  sortLines?: boolean;
  /** Compare only stderr's "Error:" lines, first one only (cobra adds usage text and repeats). */
  firstErrLine?: boolean;
  /** Do not compare stdout (cobra prints usage there for flag errors). */
  ignoreStdout?: boolean;
  /** A streaming verb: send SIGINT after this many ms. */
  interruptAfter?: number;
  /** Commands (etcdctl's own, on each side) run while the streaming verb runs. */
  meanwhile?: string[];
  /** Run `meanwhile` once the streaming verb has printed this (else after 1.5 s). */
  meanwhileAfter?: string;
  /** Extra environment for the command (not for `meanwhile`). */
  env?: Record<string, string>;
  /** Leave stdin open after `stdin`: the command must end by itself (at most 20 s). */
  keepStdin?: boolean;
}

function split(args: string, names: Names): string[] {
  // Words separated by spaces; '...' keeps spaces.
  const words = args.match(/'[^']*'|\S+/g) ?? [];
  return words.map((w) => (w.startsWith("'") ? w.slice(1, -1) : w)).map((w) => subst(w, names));
}

/** $LEASEn is that side's lease ID in hex; $REV the revision its last JSON output showed. */
function subst(w: string, names: Names): string {
  return w
    .replace(/\$(LEASE\d+)/g, (_, n: string) => names.hexOf(n))
    .replace("$NEWPEER", names.newPeer())
    .replace("$NEWMEMBER", () => names.memberHex())
    .replace("$REV", () => String(names.rev));
}

/**
 * When a step's `meanwhile` commands start: once the streaming verb has printed `marker`, or has
 * ended (a missing marker then fails the comparison instead of hanging); 1.5 s in without one.
 */
function meanwhileGate(marker: string | undefined) {
  let open: (() => void) | undefined;
  const opened = marker === undefined ? new Promise<void>((r) => setTimeout(r, 1500)) : new Promise<void>((r) => (open = r));
  return {
    opened,
    seen: (out: string) => {
      if (marker !== undefined && out.includes(marker)) open?.();
    },
    ended: () => open?.(),
  };
}

async function runStep(step: Step): Promise<{ a: Result; b: Result }> {
  const meanwhile = async (run: (args: string[]) => Promise<Result>, names: Names, ready: Promise<void>) => {
    await ready;
    for (const m of step.meanwhile ?? []) await run(split(m, names));
  };
  const [ga, gb] = [meanwhileGate(step.meanwhileAfter), meanwhileGate(step.meanwhileAfter)];
  const opts = (g: typeof ga, names: Names): RunOptions => ({ stdin: step.stdin && subst(step.stdin, names), keepStdin: step.keepStdin, interruptAfter: step.interruptAfter, env: step.env, onStdout: g.seen });
  const [a, b] = await Promise.all([
    etcdctl(split(step.args, na), opts(ga, na)).finally(ga.ended),
    etcdoctl(split(step.args, nb), opts(gb, nb)).finally(gb.ended),
    step.meanwhile ? meanwhile((x) => etcdctl(x), na, ga.opened) : undefined,
    // etcdo has no gRPC: its side writes with etcdoctl.
    step.meanwhile ? meanwhile((x) => etcdoctl(x), nb, gb.opened) : undefined,
  ]);
  na.learn(a.stdout);
  nb.learn(b.stdout);
  const norm = (r: Result, n: Names): Result => {
    let stdout = n.normalize(r.stdout);
    let stderr = n.normalize(r.stderr);
    if (step.sortLines) stdout = stdout.split("\n").sort().join("\n");
    if (step.firstErrLine) stderr = stderr.split("\n").find((l) => l.startsWith("Error:")) ?? "";
    if (step.ignoreStdout) stdout = "";
    // Durations and member IDs (hex, unpadded) differ in width between the two clusters, and
    // so do the table columns holding them: compare tables without padding (renderTable's
    // layout is checked byte for byte in gofmt.test.ts).
    if (stdout.startsWith("+")) stdout = stdout.replace(/\| +[\d.]+(ns|µs|ms|s) +\|/g, "| T |").replace(/ +/g, " ").replace(/-+/g, "-");
    return { stdout, stderr, code: r.code };
  };
  return { a: norm(a, na), b: norm(b, nb) };
}

function script(title: string, steps: Step[]): void {
  it(title, async () => {
    for (const step of steps) {
      const { a, b } = await runStep(step);
      expect({ step: step.args, ...b }).toEqual({ step: step.args, ...a });
    }
  });
}

describe.skipIf(!existsSync(ETCDCTL))("etcdoctl matches etcdctl 3.4", () => {
  script("put and get", [
    { args: "put foo bar" },
    { args: "put foo1 'bar 1'" },
    { args: "put foo2 bar2 -w json" },
    { args: "put foo3 bar3 -w=json" },
    { args: "put zoo val" },
    { args: "put héllo wörld<&>" },
    { args: "get foo" },
    { args: "get foo -w json" },
    { args: "get héllo -w json" },
    { args: "get héllo" },
    { args: "get foo --prefix" },
    { args: "get foo foo3" },
    { args: "get --prefix --limit=2 foo" },
    { args: "get foo --prefix -w json --limit 1" },
    { args: "get --from-key foo1" },
    { args: "get foo --prefix --keys-only" },
    { args: "get foo --prefix --keys-only -w json" },
    { args: "get foo --prefix -w fields" },
    { args: "put foo3 bar3 --prev-kv -w fields" },
    { args: "get foo --prefix --print-value-only" },
    { args: "get foo --prefix --sort-by=VALUE --order=DESCEND" },
    { args: "get foo --prefix --sort-by=modify --order=descend -w json" },
    { args: "get foo --prefix --sort-by=create --order=ascend" },
    { args: "get foo --prefix --order=DESCEND --limit=2" },
    { args: "get foo --rev=2" },
    { args: "get foo --rev=2 -w json" },
    { args: "get '' --prefix" },
    { args: "get '' --from-key --keys-only" },
    { args: "get foo --consistency=s" },
    { args: "get foo --hex" },
    { args: "get nothing" },
    { args: "get nothing -w json" },
    { args: "put foo newbar --prev-kv" },
    { args: "put foo newerbar --prev-kv -w json" },
    { args: "put foo --ignore-value" },
    { args: "put stdinkey", stdin: "from stdin\nwith two lines" },
    { args: "get stdinkey" },
    { args: "put -- dash -value" },
    { args: "get dash -w json" },
  ]);

  script("errors and exit codes", [
    { args: "get" },
    { args: "get a b c --prefix" },
    { args: "get a --prefix --from-key" },
    { args: "get a --consistency=x" },
    { args: "get a --sort-by=size" },
    { args: "get a --order=up" },
    { args: "get foo -w table" },
    { args: "get foo -w xml" },
    { args: "get foo -w json --print-value-only" },
    { args: "put" },
    { args: "put k v --lease=zz" },
    { args: "put k v --lease=1234" },
    { args: "put '' v" },
    { args: "put k v --ignore-value" },
    { args: "put nokey --ignore-value" },
    { args: "del" },
    { args: "del a b c" },
    { args: "get foo --rev=100000" },
    { args: "lease grant" },
    { args: "lease grant abc" },
    { args: "lease revoke xyz" },
    { args: "lease revoke 1234" },
    { args: "compaction" },
    { args: "compaction abc" },
    { args: "compaction 100000" },
    { args: "get foo --bogus", firstErrLine: true, ignoreStdout: true },
    { args: "get foo --limit=x", firstErrLine: true, ignoreStdout: true },
    { args: "bogus", firstErrLine: true },
  ]);

  script("del", [
    { args: "put d1 1" },
    { args: "put d2 2" },
    { args: "put d3 3" },
    { args: "put e1 1" },
    { args: "put z1 1" },
    { args: "del d1" },
    { args: "del d1" },
    { args: "del d2 d9 --prev-kv" },
    { args: "put d2 2" },
    { args: "del --prefix d -w json --prev-kv" },
    { args: "del --from-key z" },
    { args: "del e1 -w json" },
  ]);

  script("txn", [
    { args: "put t1 1" },
    { args: "txn", stdin: 'mod("t1") > "0"\nval("t1") = "1"\n\nput t1 2\nget t1\ndel t0\n\nput t1 3\n\n' },
    { args: "txn", stdin: 'val("t1") = "1"\n\nput t1 2\n\nput t1 4 --prev-kv\nget t1\n\n' },
    { args: "txn -w json", stdin: 'version("t1") > "0"\ncreate("t1") != "0"\n\nput t2 "a b"\nget t --prefix\n\n\n' },
    { args: "txn -i", stdin: 'ver("nope") = "0"\n\nput nope created\n\nget nope\n\n' },
    { args: "txn", stdin: 'c("t1") < "100000"\nm("t1") = "0"\n\n\nget t1 --print-value-only\ndel t2 --prev-kv\n\n' },
    { args: "txn", stdin: "\n\n\n" },
    { args: "txn", stdin: 'val("t1") = "1"\n\nput t1 2' },
    { args: "txn", stdin: "t1 = 1\n\n\n" },
    { args: "txn", stdin: '\nbogus t1\n\n\n', firstErrLine: true },
    { args: "txn", stdin: '\nget t1 -w json\n\n\n', firstErrLine: true },
    { args: "txn -w fields", stdin: 'val("t1") != "x"\n\nget t1\nput t3 x --prev-kv\n\n\n' },
    { args: "txn extra" },
  ]);

  script("leases", [
    { args: "lease grant 100" },
    { args: "lease grant 200 -w json" },
    { args: "put leased v --lease=$LEASE1" },
    { args: "get leased -w json" },
    { args: "lease timetolive $LEASE1" },
    { args: "lease timetolive $LEASE1 --keys" },
    { args: "lease timetolive $LEASE1 --keys -w json" },
    { args: "lease timetolive $LEASE1 --keys -w fields" },
    // etcd lists a lease's keys from a map: only one key while the order is visible.
    { args: "put leased2 v --lease=$LEASE1" },
    { args: "lease grant 50 -w fields" },
    { args: "lease list -w fields", sortLines: true },
    { args: "lease timetolive $LEASE2 -w json" },
    { args: "lease list", sortLines: true },
    { args: "lease keep-alive --once $LEASE1" },
    { args: "lease keep-alive --once $LEASE2 -w json" },
    { args: "put leased v2 --ignore-lease --prev-kv -w json" },
    { args: "lease revoke $LEASE1" },
    { args: "get leased" },
    { args: "lease revoke $LEASE1" },
    { args: "lease timetolive $LEASE1" },
    { args: "lease timetolive $LEASE1 -w json" },
    { args: "lease keep-alive --once $LEASE1" },
    { args: "lease revoke $LEASE2 -w json" },
    { args: "lease list" },
    { args: "lease list -w json" },
  ]);

  script("compaction", [
    { args: "put c v1" },
    { args: "put c v2" },
    { args: "put c v3" },
    { args: "get c -w json" },
    { args: "compaction 3" },
    { args: "compaction 3" },
    { args: "get c --rev=2" },
    { args: "compaction 4 --physical -w json" },
    { args: "get c --rev=4 --print-value-only" },
  ]);

  script("watch", [
    { args: "put w1 a" },
    { args: "put w1 b" },
    { args: "del w1" },
    { args: "put w2 c" },
    { args: "watch w1 --rev=1", interruptAfter: 1500 },
    { args: "watch w1 --rev=1 --prev-kv", interruptAfter: 1500 },
    { args: "watch w --prefix --rev=1 -w json", interruptAfter: 1500 },
    { args: "watch w1 w3 --rev=1 -w fields", interruptAfter: 1500 },
    { args: "watch w1 --hex --rev=2", interruptAfter: 1500 },
    { args: "watch live --prefix --prev-kv", interruptAfter: 3500, meanwhile: ["put live/a 1", "put live/a 2", "del live/a"] },
    { args: "compaction 3" },
    { args: "watch w1 --rev=2" },
    { args: "watch" },
    { args: "watch --prefix a b" },
    { args: "watch -i" },
  ]);

  // The exec form runs a command for every event with the event in its environment; a command
  // that fails ends the watch (exit 1), so these watches end on their DELETE event by themselves.
  const show = 'echo "$ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE $ETCD_WATCH_REVISION"; case $ETCD_WATCH_EVENT_TYPE in *DELETE*) exit 3;; esac';
  script("watch exec", [
    { args: "put wx/a 1 -w json" },
    { args: "put wx/b 'two words'" },
    { args: "del wx/a" },
    // From history (from wx/a's put, $REV): one response, so every command sees the same revision.
    { args: `watch wx/ --prefix --rev=$REV -- sh -c '${show}'` },
    { args: `watch --prefix --rev=$REV -- sh -c '${show}'`, env: { ETCDCTL_WATCH_KEY: "wx/" } },
    { args: `watch --rev=$REV -- sh -c '${show}'`, env: { ETCDCTL_WATCH_KEY: "wx/a", ETCDCTL_WATCH_RANGE_END: "wx/c" } },
    // Past two key arguments, etcdctl watches the first key alone.
    { args: `watch wx/a wx/c wx/z --rev=$REV -- sh -c '${show}'` },
    // Interactive: each "watch" line may carry its command (etcdctl unquotes '...' wrongly, so "...").
    { args: "watch -i", stdin: 'watch wx/ --prefix --rev=$REV -- sh -c "echo $ETCD_WATCH_KEY; case $ETCD_WATCH_EVENT_TYPE in *DELETE*) exit 4;; esac"\n', keepStdin: true },
    { args: "watch -i --rev=$REV", stdin: "watch --rev=$REV -- false\n", env: { ETCDCTL_WATCH_KEY: "wx/b" }, keepStdin: true },
    { args: "watch -i", stdin: "watch wx/a --\n", keepStdin: true },
    { args: "watch -i", stdin: "watch --prefix\n", keepStdin: true },
    { args: "watch -i", stdin: "watch wx/ --bogus\n", keepStdin: true },
    { args: "watch -i", stdin: "\nfoo\nwatch\nwatch -- echo\nwatch a b --prefix\n" },
    // Commands that fail to start, or die.
    { args: "watch wx/ --prefix --rev=$REV -- no-such-command arg" },
    { args: "watch wx/ --prefix --rev=$REV -- ./no-such-command" },
    { args: "watch wx/ --prefix --rev=$REV -- sh -c 'kill -9 $$'" },
    // (Its JSON output moves $REV on.)
    { args: `watch wx/ --prefix --rev=$REV -w json -- sh -c '${show}'` },
    // Live: the writes start once the command has run for the event already there.
    { args: "put wx/live/0 ready -w json" },
    {
      args: `watch wx/live/ --prefix --rev=$REV --prev-kv -- sh -c '${show}'`,
      meanwhileAfter: '"ready"',
      meanwhile: ["put wx/live/a 1", "put wx/live/a 2", "del wx/live/a"],
    },
    // Argument errors.
    { args: "watch wx/a --" },
    { args: "watch -- echo hi" },
    { args: "watch wx/ --prefix -- echo echo" },
    { args: "watch foo", env: { ETCDCTL_WATCH_KEY: "foo" } },
    { args: "watch foo -- echo 1", env: { ETCDCTL_WATCH_KEY: "foo" } },
    { args: "watch foo", env: { ETCDCTL_WATCH_RANGE_END: "b" } },
  ]);

  script("lock, elect, alarm", [
    { args: "lock mylock", interruptAfter: 1500 },
    { args: "lock mylock --ttl=5 -w json", interruptAfter: 1500, ignoreStdout: true },
    { args: "lock mylock -- sh -c 'echo ${ETCD_LOCK_KEY%/*} $((ETCD_LOCK_REV > 0))'" },
    { args: "lock" },
    { args: "elect myelection proposal1", interruptAfter: 1500 },
    { args: "elect -l myelection", interruptAfter: 1000 },
    { args: "elect" },
    { args: "elect a" },
    { args: "elect -l a b" },
    { args: "alarm list" },
    { args: "alarm list -w json" },
    { args: "alarm disarm" },
  ]);

  script("member add, promote, remove", [
    { args: "member add" },
    { args: "member add newbie" },
    { args: "member add newbie --peer-urls=$NEWPEER --learner" },
    // (Promoting it differs on purpose: etcd's new member never starts, etcdo's starts and catches up.)
    { args: "member remove $NEWMEMBER" },
    { args: "member remove" },
    { args: "member remove zz" },
    { args: "member remove 1234" },
    { args: "member promote 1234" },
  ]);

  script("cluster", [
    { args: "member list" },
    { args: "member list -w json" },
    { args: "member list -w table" },
    { args: "member list -w fields" },
    { args: "endpoint status --cluster" },
    { args: "endpoint status -w json" },
    { args: "endpoint status -w table" },
    { args: "endpoint status -w fields" },
    { args: "endpoint health" },
    { args: "endpoint health -w json" },
    { args: "endpoint health -w table" },
    { args: "endpoint health -w fields" },
    { args: "endpoint health --cluster -w json" },
  ]);
});

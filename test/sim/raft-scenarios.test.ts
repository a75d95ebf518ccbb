// Scenario scripts (src/raft/testdata/*.txt): readable raft interactions with their exact expected output, in the
// spirit of etcd-io/raft's testdata (cockroachdb/datadriven format). Every file in
// testdata/*.txt is a sequence of blocks:
//
//   # comments start with '#'
//   command arg1 key=value key=(a,b)
//   ----
//   expected output (up to the next blank line)
//
// If the output itself has blank lines, double the separator: "----\n----" before it and
// "----\n----" after it. To regenerate the expected outputs (then review the diff!):
//   REWRITE=1 npx vitest run --project unit test/sim/raft-scenarios.test.ts
//
// Commands (node ids are m1, m2, …):
//   add-nodes ids=(m1,m2,m3) [voters=(…)] [learners=(…)] [index=N] [prevote=bool]
//       [checkquorum=bool] [max-size=N] [max-inflight=N] [election=N] [max-uncommitted=N]
//       creates nodes; the listed voters/learners form the initial config at index N
//       (default 1); ids not listed start empty (to be added later).
//   log-level none|error|warn|info|debug      what raft logs go to the output (default info)
//   campaign m1 | tick m1 [n] | tick-election m1 | tick-heartbeat m1
//   propose m1 data                           prints "dropped" if ErrProposalDropped
//   propose-conf-change m1 [transition=Auto|Implicit|Explicit] add=(…) remove=(…) add-learner=(…)
//   read-index m1 ctx | transfer-leader m1 m2 | report-unreachable m1 m2
//   report-snapshot m1 m2 finish|failure
//   process-ready m1 [m2 …]                   handles one Ready per node, printing it
//   deliver-msgs [m1 …] [type=MsgApp] [drop=true]  delivers (or drops) queued messages
//   stabilize [m1 …]                          handles Readies and delivers until idle
//   isolate m1 | cut m1 m2 | heal             network partitions (cut is one-way)
//   expire-lease m1 [m2 …]                    as if an election timeout passed without a leader
//   compact m1 index                          snapshot at applied, compact the log to index
//   raft-state | raft-log m1 | status m1 | applied m1 | read-states m1

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeEntry, describeMessage, describeReady } from "../../src/raft/describe.ts";
import { ErrProposalDropped } from "../../src/raft/errors.ts";
import type { LogLevel } from "../../src/raft/logger.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import { Network, enc } from "../../src/raft/test-util.ts";
import type { ConfChange, ConfChangeSingle, Message, NodeId } from "../../src/raft/types.ts";

interface Block {
  command: string;
  line: number;
  expected: string;
  /** Lines before the command (comments, blank lines), kept on rewrite. */
  preamble: string[];
  double: boolean;
}

function parse(text: string): Block[] {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  let pre: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === "" || l.startsWith("#")) {
      pre.push(l);
      continue;
    }
    const command = l;
    const line = i + 1;
    i++;
    if (lines[i] !== "----") throw new Error(`line ${i + 1}: expected ---- after "${command}"`);
    let double = false;
    if (lines[i + 1] === "----") {
      double = true;
      i++;
    }
    const out: string[] = [];
    i++;
    if (double) {
      while (i < lines.length && !(lines[i] === "----" && lines[i + 1] === "----")) out.push(lines[i++]!);
      i++; // second ----
    } else {
      while (i < lines.length && lines[i]!.trim() !== "") out.push(lines[i++]!);
      i--;
    }
    blocks.push({ command, line, expected: out.join("\n"), preamble: pre, double });
    pre = [];
  }
  return blocks;
}

const LEVELS: Record<LogLevel | "none", number> = { debug: 0, info: 1, warn: 2, error: 3, none: 4 };

class Env {
  nt!: Network;
  out: string[] = [];
  indent = "";
  level: LogLevel | "none" = "info";

  logger = {
    log: (level: LogLevel, msg: string): void => {
      if (LEVELS[level] >= LEVELS[this.level]) this.out.push(`${this.indent}${level.toUpperCase()} ${msg}`);
    },
  };

  run(command: string): string {
    this.out = [];
    this.indent = "";
    const [cmd, ...rest] = tokenize(command);
    const pos = rest.filter((t) => !t.includes("="));
    const kv = new Map(rest.filter((t) => t.includes("=")).map((t) => [t.slice(0, t.indexOf("=")), t.slice(t.indexOf("=") + 1)]));
    const list = (k: string): string[] => {
      const v = kv.get(k);
      if (!v) return [];
      return v.replace(/^\(|\)$/g, "").split(",").filter((s) => s !== "");
    };
    const node = (id: string) => this.nt.get(id).node;
    const printOk = (): void => void (this.out.length === 0 && this.out.push("ok"));
    switch (cmd) {
      case "add-nodes": {
        this.nt ??= new Network(1);
        this.nt.logger = this.logger;
        const ids = list("ids");
        const voters = list("voters");
        const learners = list("learners");
        const index = Number(kv.get("index") ?? 1);
        const opts = {
          preVote: kv.get("prevote") !== "false",
          checkQuorum: kv.get("checkquorum") !== "false",
          ...(kv.has("max-size") ? { maxSizePerMsgBytes: Number(kv.get("max-size")) } : {}),
          ...(kv.has("max-inflight") ? { maxInflightMsgs: Number(kv.get("max-inflight")) } : {}),
          ...(kv.has("election") ? { electionTicks: Number(kv.get("election")) } : {}),
          ...(kv.has("max-uncommitted") ? { maxUncommittedEntriesBytes: Number(kv.get("max-uncommitted")) } : {}),
        };
        for (const id of ids) {
          const s = new MemoryStorage();
          if (voters.includes(id) || learners.includes(id)) {
            const confState = { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false };
            s.applySnapshot({ metadata: { index, term: 1, confState }, data: new Uint8Array(0) });
            s.setHardState({ term: 1, vote: "", commit: index });
          }
          this.nt.addWithStorage(id, s, opts);
        }
        printOk();
        break;
      }
      case "log-level":
        this.level = pos[0] as LogLevel | "none";
        printOk();
        break;
      case "campaign":
        node(pos[0]!).campaign();
        printOk();
        break;
      case "tick": {
        const n = Number(pos[1] ?? 1);
        for (let i = 0; i < n; i++) node(pos[0]!).tick();
        printOk();
        break;
      }
      case "tick-election":
      case "tick-heartbeat": {
        const r = node(pos[0]!).raft;
        const n = cmd === "tick-election" ? r.electionTimeout * 2 : r.heartbeatTimeout;
        for (let i = 0; i < n; i++) r.tick();
        printOk();
        break;
      }
      case "propose": {
        const err = node(pos[0]!).propose(enc(pos[1] ?? ""));
        if (err === ErrProposalDropped) this.out.push("dropped");
        printOk();
        break;
      }
      case "propose-conf-change": {
        const changes: ConfChangeSingle[] = [
          ...list("add").map((id): ConfChangeSingle => ({ type: "AddNode", nodeId: id })),
          ...list("add-learner").map((id): ConfChangeSingle => ({ type: "AddLearnerNode", nodeId: id })),
          ...list("remove").map((id): ConfChangeSingle => ({ type: "RemoveNode", nodeId: id })),
        ];
        const cc: ConfChange = { transition: (kv.get("transition") ?? "Auto") as ConfChange["transition"], changes, context: new Uint8Array(0) };
        const err = node(pos[0]!).proposeConfChange(cc);
        if (err === ErrProposalDropped) this.out.push("dropped");
        printOk();
        break;
      }
      case "read-index":
        node(pos[0]!).readIndex(enc(pos[1] ?? ""));
        printOk();
        break;
      case "transfer-leader":
        node(pos[0]!).transferLeader(pos[1]!);
        printOk();
        break;
      case "report-unreachable":
        node(pos[0]!).reportUnreachable(pos[1]!);
        printOk();
        break;
      case "report-snapshot":
        node(pos[0]!).reportSnapshot(pos[1]!, pos[2] === "failure" ? "failure" : "finish");
        printOk();
        break;
      case "process-ready":
        for (const id of pos) this.processReady(id, pos.length > 1);
        printOk();
        break;
      case "deliver-msgs":
        this.deliver(pos.length ? pos : this.ids(), kv.get("type"), kv.get("drop") === "true");
        printOk();
        break;
      case "stabilize":
        this.stabilize(pos.length ? pos : this.ids());
        printOk();
        break;
      case "isolate":
        this.nt.isolate(pos[0]!);
        printOk();
        break;
      case "cut":
        this.nt.cut.add(`${pos[0]}->${pos[1]}`);
        printOk();
        break;
      case "heal":
        this.nt.heal();
        printOk();
        break;
      case "expire-lease":
        this.nt.expireLease(...pos);
        printOk();
        break;
      case "compact": {
        const tn = this.nt.get(pos[0]!);
        const applied = tn.node.raft.raftLog.applied;
        tn.storage.createSnapshot(applied, tn.confState, enc(`snap@${applied}`));
        tn.storage.compact(Number(pos[1]));
        this.raftLog(pos[0]!);
        break;
      }
      case "raft-state":
        for (const id of this.ids()) {
          const r = this.nt.get(id).node.raft;
          const kind = r.trk.isVoter(id) ? "Voter" : r.isLearner ? "Learner" : "Non-member";
          this.out.push(`${id}: State${r.state} (${kind}) Term:${r.term} Lead:${r.lead || "0"}`);
        }
        break;
      case "raft-log":
        this.raftLog(pos[0]!);
        break;
      case "status": {
        const st = node(pos[0]!).status();
        for (const [id, p] of Object.entries(st.progress)) {
          let line = `${id}: ${p.state} match=${p.match} next=${p.next}`;
          if (p.isLearner) line += " learner";
          if (p.paused) line += " paused";
          if (p.pendingSnapshot) line += ` pendingSnap=${p.pendingSnapshot}`;
          if (!p.recentActive) line += " inactive";
          if (p.inflight) line += ` inflight=${p.inflight}`;
          this.out.push(line);
        }
        printOk();
        break;
      }
      case "applied": {
        const tn = this.nt.get(pos[0]!);
        for (const e of tn.applied) this.out.push(describeEntry(e));
        const cs = tn.confState;
        this.out.push(`config: voters=(${cs.voters.join(" ")})${cs.votersOutgoing.length ? `&&(${cs.votersOutgoing.join(" ")})` : ""} learners=(${cs.learners.join(" ")})`);
        break;
      }
      case "read-states":
        for (const rs of this.nt.get(pos[0]!).readStates) this.out.push(`{Index:${rs.index} Ctx:${new TextDecoder().decode(rs.requestCtx)}}`);
        printOk();
        break;
      default:
        throw new Error(`unknown command ${cmd}`);
    }
    return this.out.join("\n");
  }

  ids(): NodeId[] {
    return [...this.nt.nodes.keys()].sort();
  }

  raftLog(id: NodeId): void {
    const log = this.nt.get(id).node.raft.raftLog;
    const ents = log.allEntries();
    if (ents.length === 0) this.out.push(`log is empty: first index=${log.firstIndex()}, last index=${log.lastIndex()}`);
    for (const e of ents) this.out.push(describeEntry(e));
  }

  processReady(id: NodeId, header: boolean): boolean {
    const tn = this.nt.get(id);
    if (!tn.node.hasReady()) return false;
    const base = header ? "  " : "";
    if (header) this.out.push(`> ${id} handling Ready`);
    this.indent = base;
    // Print the Ready before handling it; log lines from advance() follow it.
    const before = this.out.length;
    const rd = this.nt.processReady(id)!;
    const logs = this.out.splice(before);
    for (const l of describeReady(rd)) this.out.push(base + l);
    this.out.push(...logs);
    this.indent = "";
    return true;
  }

  deliver(ids: NodeId[], type: string | undefined, drop: boolean): boolean {
    let any = false;
    for (const id of ids) {
      const match = (m: Message) => m.to === id && (!type || m.type === type);
      const msgs = this.nt.queue.filter(match);
      if (msgs.length === 0) continue;
      any = true;
      this.nt.queue = this.nt.queue.filter((m) => !match(m));
      this.out.push(`> ${id} ${drop ? "dropping" : "receiving"} messages`);
      for (const m of msgs) {
        this.out.push(`  ${describeMessage(m)}`);
        if (drop) continue;
        this.indent = "  ";
        this.nt.get(id).node.step(m);
        this.indent = "";
      }
    }
    return any;
  }

  stabilize(ids: NodeId[]): void {
    for (let round = 0; round < 100; round++) {
      let busy = false;
      for (const id of ids) while (this.processReady(id, true)) busy = true;
      if (this.deliver(ids, undefined, false)) busy = true;
      if (!busy) return;
    }
    throw new Error("stabilize: no fixpoint after 100 rounds");
  }
}

function tokenize(line: string): string[] {
  return line.match(/\S+=\([^)]*\)|\S+/g) ?? [];
}

const dir = new URL("../../src/raft/testdata/", import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith(".txt")).sort();

describe("scenario scripts", () => {
  it("has scripts", () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
  });

  for (const file of files) {
    it(file, () => {
      const path = join(dir, file);
      const text = readFileSync(path, "utf8");
      const blocks = parse(text);
      const env = new Env();
      const rewritten: string[] = [];
      for (const b of blocks) {
        let got: string;
        try {
          got = env.run(b.command);
        } catch (err) {
          throw new Error(`${file}:${b.line}: ${b.command}: ${(err as Error).message}`);
        }
        if (process.env.REWRITE === "1") {
          const double = got.split("\n").some((l) => l.trim() === "");
          // One blank line ends each output; comments before a command are kept.
          const pre = b.preamble.filter((l) => l.trim() !== "");
          const lead = rewritten.length === 0 ? "" : "\n";
          rewritten.push(`${lead}${pre.length ? `${pre.join("\n")}\n` : ""}${b.command}\n----\n${double ? `----\n${got}\n----\n----` : got}`);
        } else {
          expect(got, `${file}:${b.line}: ${b.command}`).toBe(b.expected);
        }
      }
      if (process.env.REWRITE === "1") writeFileSync(path, `${rewritten.join("\n")}\n`);
    });
  }
});

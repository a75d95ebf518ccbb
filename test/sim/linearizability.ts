// A linearizability checker for histories of concurrent operations (Wing & Gong's search
// with Lowe's memoization, as in Porcupine), partitioned by key: operations on different
// keys are independent, so each key's sub-history is checked on its own (P-compositionality).
//
// A history is a list of operations, each with the real time it was invoked and the real
// time its response arrived. An operation whose outcome is unknown (the client timed out)
// has output null and returnTime Infinity: it may have taken effect at any point after its
// invocation, or not at all. Reads that timed out can simply be left out.
//
// Usage:
//   const result = checkLinearizable(registerModel, history);
//   if (!result.ok) console.log(describeFailure(result));

export interface HistoryOp<In = unknown, Out = unknown> {
  clientId: string;
  /** Partition key: operations on different keys never constrain each other. */
  key: string;
  /** Operation name, interpreted by the model ("put", "get", "cas", …). */
  op: string;
  input: In;
  /** null when the outcome is unknown (then returnTime must be Infinity). */
  output: Out | null;
  invokeTime: number;
  returnTime: number;
}

export interface Model<State, In, Out> {
  init(): State;
  /** The state after applying op with input in state, if that can produce output (null:
   * unknown output, anything goes); undefined if the output is impossible in this state. */
  step(state: State, op: string, input: In, output: Out | null): State | undefined;
  /** A string identifying the state, for memoization. */
  hash(state: State): string;
  describe?(op: HistoryOp<In, Out>): string;
  /**
   * Optional speed-up: whether an operation with unknown outcome may matter to the others
   * (e.g. some read returned the value it wrote). Unknown operations that do not are left
   * out of a first, cheaper search; that is sound because an unknown operation can always
   * be linearized last, where nothing observes it. If that search fails, the full history
   * is searched.
   */
  observed?(op: HistoryOp<In, Out>, others: readonly HistoryOp<In, Out>[]): boolean;
}

export type CheckResult =
  | { ok: true; keys: number; ops: number }
  | { ok: false; reason: "not-linearizable" | "budget-exceeded"; key: string; ops: HistoryOp[]; longestPrefix: HistoryOp[] };

export interface CheckOptions {
  /** Bound on search steps per key (a bug in the checker's assumptions, not a verdict). */
  maxStepsPerKey?: number;
}

interface Node {
  isCall: boolean;
  id: number;
  time: number;
  match: Node | null; // call → its return node
  prev: Node | null;
  next: Node | null;
}

/** Checks every key's sub-history; stops at the first key that is not linearizable. */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: readonly HistoryOp<I, O>[],
  opts: CheckOptions = {},
): CheckResult {
  const byKey = new Map<string, HistoryOp<I, O>[]>();
  for (const op of history) {
    if (op.output === null && op.returnTime !== Infinity) throw new Error("an op with unknown output must have returnTime Infinity");
    if (!(op.returnTime >= op.invokeTime)) throw new Error(`op returns before it is invoked: ${JSON.stringify(op)}`);
    let l = byKey.get(op.key);
    if (!l) byKey.set(op.key, (l = []));
    l.push(op);
  }
  const budget = opts.maxStepsPerKey ?? 5_000_000;
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key)!;
    if (model.observed) {
      const pruned = ops.filter((op) => op.output !== null || model.observed!(op, ops));
      if (pruned.length < ops.length && checkKey(model, key, pruned, budget).ok) continue;
    }
    const r = checkKey(model, key, ops, budget);
    if (!r.ok) return r;
  }
  return { ok: true, keys: byKey.size, ops: history.length };
}

function checkKey<S, I, O>(model: Model<S, I, O>, key: string, ops: HistoryOp<I, O>[], maxSteps: number): CheckResult {
  const n = ops.length;
  // Build the event list: a call and a return per op, by time; at equal times calls come
  // first (equal-time operations are treated as concurrent).
  const events: Node[] = [];
  for (let id = 0; id < n; id++) {
    const call: Node = { isCall: true, id, time: ops[id]!.invokeTime, match: null, prev: null, next: null };
    const ret: Node = { isCall: false, id, time: ops[id]!.returnTime, match: null, prev: null, next: null };
    call.match = ret;
    events.push(call, ret);
  }
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? -1 : 1));
  const head: Node = { isCall: false, id: -1, time: -Infinity, match: null, prev: null, next: null };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }

  // The memo key is the set of linearized ops, as a 64-bit XOR hash of per-op random words
  // (collision odds ~n²/2^64, negligible next to the search bound), plus the model state.
  const zobrist = new Uint32Array(2 * n);
  let seed = 0x9e3779b9;
  for (let i = 0; i < zobrist.length; i++) {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
    zobrist[i] = seed ^ (seed >>> 13);
  }
  let h1 = 0;
  let h2 = 0;
  const toggle = (id: number): void => {
    h1 ^= zobrist[2 * id]!;
    h2 ^= zobrist[2 * id + 1]!;
  };
  const cache = new Set<string>();
  const cacheKey = (state: S): string => `${h1}:${h2}|${model.hash(state)}`;
  const stack: { node: Node; state: S }[] = [];
  let state = model.init();
  let entry: Node | null = head.next;
  let steps = 0;
  let longest: number[] = [];

  const lift = (call: Node): void => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Node): void => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  while (head.next !== null) {
    if (++steps > maxSteps) {
      return { ok: false, reason: "budget-exceeded", key, ops: ops as HistoryOp[], longestPrefix: longest.map((i) => ops[i]!) as HistoryOp[] };
    }
    if (entry === null) throw new Error("linearizability: ran off the event list");
    if (entry.isCall) {
      const op = ops[entry.id]!;
      const next = model.step(state, op.op, op.input, op.output);
      if (next !== undefined) {
        toggle(entry.id);
        const k = cacheKey(next);
        if (!cache.has(k)) {
          cache.add(k);
          stack.push({ node: entry, state });
          state = next;
          lift(entry);
          if (stack.length > longest.length) longest = stack.map((s) => s.node.id);
          entry = head.next;
          continue;
        }
        toggle(entry.id);
      }
      entry = entry.next;
    } else {
      // A return reached before its call was linearized: backtrack.
      const top = stack.pop();
      if (!top) {
        return { ok: false, reason: "not-linearizable", key, ops: ops as HistoryOp[], longestPrefix: longest.map((i) => ops[i]!) as HistoryOp[] };
      }
      state = top.state;
      toggle(top.node.id);
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return { ok: true, keys: 1, ops: n };
}

// ----------------------------------------------------------------------------------------
// The model the simulator uses: a register per key with put, get and compare-and-swap.
// Values are strings; null means "absent".

export type RegisterInput = { value?: string; expected?: string | null };
export type RegisterOutput = { value?: string | null; ok?: boolean };

export const registerModel: Model<string | null, RegisterInput, RegisterOutput> = {
  init: () => null,
  step(state, op, input, output) {
    switch (op) {
      case "put":
        return input.value!;
      case "get":
        if (output === null) return state;
        return output.value === state ? state : undefined;
      case "cas": {
        const matches = state === (input.expected ?? null);
        if (output === null) return matches ? input.value! : state;
        if (output.ok) return matches ? input.value! : undefined;
        return matches ? undefined : state;
      }
      default:
        throw new Error(`registerModel: unknown op ${op}`);
    }
  },
  hash: (s) => (s === null ? "\u0000" : s),
  observed(op, others) {
    const v = op.input.value;
    return others.some(
      (o) => o.output !== null && ((o.op === "get" && o.output.value === v) || (o.op === "cas" && o.input.expected === v)),
    );
  },
  describe(op) {
    const out = op.output === null ? "?" : JSON.stringify(op.output);
    return `[${op.invokeTime}, ${op.returnTime}] ${op.clientId} ${op.op}(${op.key}, ${JSON.stringify(op.input)}) -> ${out}`;
  },
};

/** A readable report of a failed check. */
export function describeFailure<S, I, O>(model: Model<S, I, O>, r: CheckResult): string {
  if (r.ok) return "linearizable";
  const d = (op: HistoryOp): string => (model.describe ? model.describe(op as HistoryOp<I, O>) : JSON.stringify(op));
  const lines = [`${r.reason} on key ${JSON.stringify(r.key)} (${r.ops.length} ops):`];
  for (const op of [...r.ops].sort((a, b) => a.invokeTime - b.invokeTime)) lines.push(`  ${d(op)}`);
  lines.push(`longest linearizable prefix (${r.longestPrefix.length}):`);
  for (const op of r.longestPrefix) lines.push(`  ${d(op)}`);
  return lines.join("\n");
}

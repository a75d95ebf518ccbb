// etcdoctl: etcdctl's v3 verbs, flags, output formats and exit codes over the JSON gateway
// client. run() takes argv, environment and I/O so tests can drive it in-process; the
// bin/etcdoctl.ts entry wires it to the real process.

import { Etcd } from "../src/client.ts";
import { EtcdError, GrpcCode, isLeaseNotFound } from "../src/errors.ts";
import { type DeleteOptions, type Op, type PutOptions, type RangeOptions, type SortOrder, type SortTarget, compare, op } from "../src/kv.ts";
import type { Compare, CompareOp } from "../src/kv.ts";
import { type StatusResult, alarm, memberAdd, memberPromote, memberRemove } from "../src/maintenance.ts";
import { type Watch, type WatchEvent, type WatchOptions, type WatchResponse, isWatchCompacted } from "../src/watch.ts";
import { leaseIdFromHex, leaseIdToHex } from "../src/types.ts";
import { goDuration, goQuote, goQuoteBytes, parseGoDuration, scanGoQuoted } from "./gofmt.ts";
import { type Format, type Out, Printer, UnsupportedFormat } from "./print.ts";

export const VERSION = "0.1.0";
export const API_VERSION = "3.4";
const NAME = "etcdoctl";

// etcdctl's exit codes (ctlv3/command/error.go).
export const Exit = { Success: 0, Error: 1, BadConnection: 2, InvalidInput: 3, BadFeature: 4, Interrupted: 5, IO: 6, BadArgs: 128 } as const;

export class CliExit extends Error {
  readonly code: number;
  /** Printed as "Error: <message>" on stderr when set. */
  readonly text: string | undefined;
  constructor(code: number, text?: string) {
    super(text ?? `exit ${code}`);
    this.code = code;
    this.text = text;
  }
}

const fail = (code: number, text: string): never => {
  throw new CliExit(code, text);
};

/** Reads stdin line by line (for txn), and all at once (for put's value). */
export interface Input {
  /** The next line with its "\n", or the unterminated rest at EOF ("" when nothing is left). */
  readLine(): Promise<{ line: string; eof: boolean }>;
  readAll(): Promise<string>;
}

export interface Io extends Out {
  stdin: Input;
  env: Record<string, string | undefined>;
  /** Nanosecond clock for "took" figures. */
  now?: () => bigint;
  /** Aborted on SIGINT / SIGTERM: long-running verbs (watch, lock, elect) end cleanly. */
  interrupt?: AbortSignal;
  /** Gives SIGINT / SIGTERM their default effect again (etcdctl's watch dies of them). */
  defaultSignals?: () => void;
  /**
   * Runs a command with extra environment, its output going to the CLI's own (the exec forms of
   * lock and watch). Resolves with Go's os/exec error text when it fails ("exit status 3",
   * `exec: "x": executable file not found in $PATH`), undefined when it succeeds.
   */
  exec?: (argv: string[], env: Record<string, string>) => Promise<string | undefined>;
}

// ---------------------------------------------------------------- flags

type Kind = "bool" | "string" | "int" | "duration" | "strings";
interface FlagSpec {
  name: string;
  short?: string;
  kind: Kind;
  def: string;
  usage: string;
}

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: "endpoints", kind: "strings", def: "127.0.0.1:2379", usage: "gRPC endpoints" },
  { name: "debug", kind: "bool", def: "false", usage: "enable client-side debug logging" },
  { name: "write-out", short: "w", kind: "string", def: "simple", usage: "set the output format (fields, json, protobuf, simple, table)" },
  { name: "hex", kind: "bool", def: "false", usage: "print byte strings as hex encoded strings" },
  { name: "dial-timeout", kind: "duration", def: "2s", usage: "dial timeout for client connections" },
  { name: "command-timeout", kind: "duration", def: "5s", usage: "timeout for short running command (excluding dial timeout)" },
  { name: "keepalive-time", kind: "duration", def: "2s", usage: "keepalive time for client connections" },
  { name: "keepalive-timeout", kind: "duration", def: "6s", usage: "keepalive timeout for client connections" },
  { name: "insecure-transport", kind: "bool", def: "true", usage: "disable transport security for client connections" },
  { name: "insecure-discovery", kind: "bool", def: "true", usage: "accept insecure SRV records describing cluster endpoints" },
  { name: "insecure-skip-tls-verify", kind: "bool", def: "false", usage: "skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)" },
  { name: "cert", kind: "string", def: "", usage: "identify secure client using this TLS certificate file" },
  { name: "key", kind: "string", def: "", usage: "identify secure client using this TLS key file" },
  { name: "cacert", kind: "string", def: "", usage: "verify certificates of TLS-enabled secure servers using this CA bundle" },
  { name: "user", kind: "string", def: "", usage: "username[:password] for authentication (prompt if password is not supplied)" },
  { name: "password", kind: "string", def: "", usage: "password for authentication (if this option is used, --user option shouldn't include password)" },
  { name: "discovery-srv", short: "d", kind: "string", def: "", usage: "domain name to query for SRV records describing cluster endpoints" },
  { name: "discovery-srv-name", kind: "string", def: "", usage: "service name to query when using DNS discovery" },
  { name: "help", short: "h", kind: "bool", def: "false", usage: "help" },
];

const GET_FLAGS: FlagSpec[] = [
  { name: "consistency", kind: "string", def: "l", usage: "Linearizable(l) or Serializable(s)" },
  { name: "order", kind: "string", def: "", usage: "Order of results; ASCEND or DESCEND (ASCEND by default)" },
  { name: "sort-by", kind: "string", def: "", usage: "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION" },
  { name: "limit", kind: "int", def: "0", usage: "Maximum number of results" },
  { name: "prefix", kind: "bool", def: "false", usage: "Get keys with matching prefix" },
  { name: "from-key", kind: "bool", def: "false", usage: "Get keys that are greater than or equal to the given key using byte compare" },
  { name: "rev", kind: "int", def: "0", usage: "Specify the kv revision" },
  { name: "keys-only", kind: "bool", def: "false", usage: "Get only the keys" },
  { name: "count-only", kind: "bool", def: "false", usage: "Get only the count" },
  { name: "print-value-only", kind: "bool", def: "false", usage: 'Only write values when using the "simple" output format' },
];
const PUT_FLAGS: FlagSpec[] = [
  { name: "lease", kind: "string", def: "0", usage: "lease ID (in hexadecimal) to attach to the key" },
  { name: "prev-kv", kind: "bool", def: "false", usage: "return the previous key-value pair before modification" },
  { name: "ignore-value", kind: "bool", def: "false", usage: "updates the key using its current value" },
  { name: "ignore-lease", kind: "bool", def: "false", usage: "updates the key using its current lease" },
];
const DEL_FLAGS: FlagSpec[] = [
  { name: "prefix", kind: "bool", def: "false", usage: "delete keys with matching prefix" },
  { name: "prev-kv", kind: "bool", def: "false", usage: "return deleted key-value pairs" },
  { name: "from-key", kind: "bool", def: "false", usage: "delete keys that are greater than or equal to the given key using byte compare" },
];

class Flags {
  private readonly specs = new Map<string, FlagSpec>();
  private readonly shorts = new Map<string, FlagSpec>();
  private readonly values = new Map<string, string[]>();

  constructor(specs: FlagSpec[]) {
    for (const s of specs) this.add(s);
  }

  add(s: FlagSpec): void {
    this.specs.set(s.name, s);
    if (s.short) this.shorts.set(s.short, s);
  }

  lookup(name: string): FlagSpec | undefined {
    return this.specs.get(name);
  }
  lookupShort(c: string): FlagSpec | undefined {
    return this.shorts.get(c);
  }

  set(spec: FlagSpec, v: string): void {
    if (spec.kind === "bool" && !/^(1|0|t|f|true|false|TRUE|FALSE|True|False|T|F)$/.test(v)) {
      fail(Exit.Error, `invalid argument ${goQuote(v)} for ${goQuote(`--${spec.name}`)} flag: strconv.ParseBool: parsing ${goQuote(v)}: invalid syntax`);
    }
    if (spec.kind === "int" && !/^[-+]?\d+$/.test(v)) {
      fail(Exit.Error, `invalid argument ${goQuote(v)} for ${goQuote(`--${spec.name}`)} flag: strconv.ParseInt: parsing ${goQuote(v)}: invalid syntax`);
    }
    if (spec.kind === "duration") {
      try {
        parseGoDuration(v);
      } catch (e) {
        fail(Exit.Error, `invalid argument ${goQuote(v)} for ${goQuote(`--${spec.name}`)} flag: ${(e as Error).message}`);
      }
    }
    const cur = this.values.get(spec.name) ?? [];
    cur.push(v);
    this.values.set(spec.name, cur);
  }

  changed(name: string): boolean {
    return this.values.has(name);
  }

  raw(name: string): string {
    const v = this.values.get(name);
    return v ? v[v.length - 1]! : this.specs.get(name)!.def;
  }

  bool(name: string): boolean {
    return /^(1|t|true|T|TRUE|True)$/.test(this.raw(name));
  }
  str(name: string): string {
    return this.raw(name);
  }
  int(name: string): number {
    return Number(this.raw(name));
  }
  ms(name: string): number {
    return parseGoDuration(this.raw(name));
  }
  list(name: string): string[] {
    const v = this.values.get(name) ?? [this.specs.get(name)!.def];
    return v.flatMap((x) => x.split(",")).map((x) => x.trim()).filter((x) => x !== "");
  }

  /** ETCDCTL_<FLAG> for every flag of this set not given on the command line. */
  fromEnv(env: Record<string, string | undefined>, names: Iterable<string>): void {
    for (const name of names) {
      if (this.changed(name)) continue;
      const v = env[`ETCDCTL_${name.toUpperCase().replace(/-/g, "_")}`];
      if (v !== undefined && v !== "") this.set(this.specs.get(name)!, v);
    }
  }
}

/** Parses flags anywhere among the arguments (pflag's interspersed mode); "--" ends flags. */
function parseArgs(args: string[], flags: Flags): string[] {
  const pos: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      pos.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith("--") && a.length > 2) {
      const eq = a.indexOf("=");
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const spec = flags.lookup(name);
      if (!spec) fail(Exit.Error, `unknown flag: --${name}`);
      if (eq >= 0) flags.set(spec!, a.slice(eq + 1));
      else if (spec!.kind === "bool") flags.set(spec!, "true");
      else if (i + 1 < args.length) flags.set(spec!, args[++i]!);
      else fail(Exit.Error, `flag needs an argument: --${name}`);
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      let j = 1;
      while (j < a.length) {
        const c = a[j]!;
        const spec = flags.lookupShort(c);
        if (!spec) fail(Exit.Error, `unknown shorthand flag: '${c}' in ${a}`);
        if (spec!.kind === "bool") {
          if (a[j + 1] === "=") {
            flags.set(spec!, a.slice(j + 2));
            break;
          }
          flags.set(spec!, "true");
          j++;
          continue;
        }
        let v = a.slice(j + 1);
        if (v.startsWith("=")) v = v.slice(1);
        else if (v === "") {
          if (i + 1 >= args.length) fail(Exit.Error, `flag needs an argument: '${c}' in -${c}`);
          v = args[++i]!;
        }
        flags.set(spec!, v);
        break;
      }
      continue;
    }
    pos.push(a);
  }
  return pos;
}

// ---------------------------------------------------------------- commands

interface Ctx {
  io: Io;
  flags: Flags;
  /** The positional arguments, those after "--" included. */
  args: string[];
  /** The command line as given (watch finds its "--" there, as etcdctl does in os.Args). */
  argv: string[];
  printer: () => Printer;
  client: () => Etcd;
  endpoints: () => string[];
  timeout: () => number;
}

interface Command {
  name: string;
  usage: string;
  short: string;
  flags?: FlagSpec[];
  sub?: Command[];
  run?: (ctx: Ctx) => Promise<void>;
}

const rangeArgsError = (cmd: string) => `${cmd} command needs one argument as key and an optional argument as range_end`;

function getOp(args: string[], f: Flags): { key: string; opts: RangeOptions } {
  if (args.length === 0) fail(Exit.BadArgs, rangeArgsError("get"));
  if (f.bool("prefix") && f.bool("from-key")) fail(Exit.BadArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  const opts: RangeOptions = {};
  const consistency = f.str("consistency");
  if (consistency === "s") opts.serializable = true;
  else if (consistency !== "l") fail(Exit.BadFeature, `unknown consistency flag ${goQuote(consistency)}`);
  let key = args[0]!;
  if (args.length > 1) {
    if (f.bool("prefix") || f.bool("from-key")) fail(Exit.BadArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set");
    opts.rangeEnd = args[1]!;
  }
  if (f.int("limit")) opts.limit = f.int("limit");
  if (f.int("rev") > 0) opts.revision = f.int("rev");
  const order = f.str("order").toUpperCase();
  if (order === "ASCEND" || order === "DESCEND") opts.sortOrder = order as SortOrder;
  else if (order !== "") fail(Exit.BadFeature, `bad sort order ${f.str("order")}`);
  const targets: Record<string, SortTarget> = { CREATE: "CREATE", KEY: "KEY", MODIFY: "MOD", VALUE: "VALUE", VERSION: "VERSION" };
  const target = f.str("sort-by").toUpperCase();
  if (target in targets) opts.sortTarget = targets[target];
  else if (target !== "") fail(Exit.BadFeature, `bad sort target ${f.str("sort-by")}`);
  if (f.bool("prefix")) {
    if (key === "") {
      key = "\0";
      opts.fromKey = true;
    } else opts.prefix = true;
  }
  if (f.bool("from-key")) {
    if (key === "") key = "\0";
    opts.fromKey = true;
  }
  if (f.bool("keys-only") && f.bool("count-only")) fail(Exit.BadArgs, "`--keys-only` and `--count-only` cannot be set at the same time, choose one");
  if (f.bool("keys-only")) opts.keysOnly = true;
  if (f.bool("count-only")) opts.countOnly = true;
  return { key, opts };
}

function parseLeaseHex(s: string, what: "bad lease ID" | "bad lease ID arg"): string {
  if (!/^[-+]?[0-9a-fA-F]+$/.test(s)) fail(Exit.BadArgs, `${what} (strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax), expecting ID in Hex`);
  const v = BigInt(s.startsWith("-") ? `-0x${s.slice(1)}` : `0x${s.replace(/^\+/, "")}`);
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) fail(Exit.BadArgs, `${what} (strconv.ParseInt: parsing ${goQuote(s)}: value out of range), expecting ID in Hex`);
  return v.toString();
}

async function putOp(args: string[], f: Flags, stdin: Input | null): Promise<{ key: string; value: string; opts: PutOptions }> {
  const needs = "put command needs 1 argument and input from stdin or 2 arguments";
  if (args.length === 0) fail(Exit.BadArgs, needs);
  const key = args[0]!;
  if (f.bool("ignore-value") && args.length > 1) fail(Exit.BadArgs, "put command needs only 1 argument when 'ignore-value' is set");
  let value = "";
  if (!f.bool("ignore-value")) {
    if (args.length > 1) value = args[1]!;
    else {
      value = stdin ? await stdin.readAll() : "";
      if (value === "") fail(Exit.BadArgs, needs);
    }
  }
  const lease = parseLeaseHex(f.str("lease"), "bad lease ID");
  const opts: PutOptions = {};
  if (lease !== "0") opts.lease = lease;
  if (f.bool("prev-kv")) opts.prevKv = true;
  if (f.bool("ignore-value")) opts.ignoreValue = true;
  if (f.bool("ignore-lease")) opts.ignoreLease = true;
  return { key, value, opts };
}

function delOp(args: string[], f: Flags): { key: string; opts: DeleteOptions } {
  if (args.length === 0 || args.length > 2) fail(Exit.BadArgs, rangeArgsError("del"));
  if (f.bool("prefix") && f.bool("from-key")) fail(Exit.BadArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  const opts: DeleteOptions = {};
  let key = args[0]!;
  if (args.length > 1) {
    if (f.bool("prefix") || f.bool("from-key")) fail(Exit.BadArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set");
    opts.rangeEnd = args[1]!;
  }
  if (f.bool("prefix")) {
    if (key === "") {
      key = "\0";
      opts.fromKey = true;
    } else opts.prefix = true;
  }
  if (f.bool("prev-kv")) opts.prevKv = true;
  if (f.bool("from-key")) {
    if (key === "") key = "\0";
    opts.fromKey = true;
  }
  return { key, opts };
}

/** Server and client errors as etcdctl prints them: etcd's message, or gRPC's status string. */
function errText(e: unknown): string {
  if (e instanceof EtcdError) {
    if (e.message.startsWith("etcdserver:") || e.code === GrpcCode.DeadlineExceeded || e.code === GrpcCode.Canceled || e.isNetworkError) return e.message;
    return e.toGrpcString();
  }
  return e instanceof Error ? e.message : String(e);
}

async function call<T>(p: Promise<T>, code: number = Exit.Error, wrap?: (m: string) => string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof CliExit) throw e;
    const m = errText(e);
    throw new CliExit(code, wrap ? wrap(m) : m);
  }
}

// etcdctl's txn syntax (ctlv3/command/txn_command.go).

function argify(s: string): string[] {
  const re = /"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?/g;
  return (s.match(re) ?? []).map((a) => {
    if (a.startsWith("'") && a.endsWith("'") && a.length >= 2) return a.slice(1, -1);
    if (a.startsWith('"')) {
      const q = scanGoQuoted(a);
      if (!q) fail(Exit.InvalidInput, `unable to parse ${a}`);
      return q!.value;
    }
    return a;
  });
}

export function parseCompare(line: string): Compare {
  const lp = line.indexOf("(");
  if (lp < 0) fail(Exit.InvalidInput, `malformed comparison: ${line}`);
  const target = line.slice(0, lp);
  const k = scanGoQuoted(line.slice(lp + 1));
  const m = k ? /^\)\s+(\S+)\s+/.exec(k.rest) : null;
  const v = k && m ? scanGoQuoted(k.rest.slice(m[0].length)) : null;
  if (!k || !m || !v) return fail(Exit.InvalidInput, `malformed comparison: ${line}`);
  const key = k.value;
  const opStr = m[1]! as CompareOp;
  if (!["=", "==", "!=", "<", ">"].includes(opStr)) fail(Exit.InvalidInput, `malformed comparison: ${line} (unknown op ${opStr})`);
  const val = v.value;
  const int = () => {
    if (!/^[-+]?\d+$/.test(val)) fail(Exit.InvalidInput, `invalid txn compare request: ${line}`);
    return Number(val);
  };
  switch (target) {
    case "ver":
    case "version":
      return compare.version(key, opStr, int());
    case "c":
    case "create":
      return compare.createRevision(key, opStr, int());
    case "m":
    case "mod":
      return compare.modRevision(key, opStr, int());
    case "val":
    case "value":
      return compare.value(key, opStr, val);
    case "lease":
      // etcdctl 3.4 cannot build this compare (it panics); the lease is given in hex as elsewhere.
      return compare.lease(key, opStr, parseLeaseHex(val, "bad lease ID"));
    default:
      return fail(Exit.InvalidInput, `malformed comparison: ${line} (unknown target ${target})`);
  }
}

export async function parseRequestOp(line: string): Promise<Op> {
  const args = argify(line);
  if (args.length < 2) fail(Exit.InvalidInput, `invalid txn compare request: ${line}`);
  const verb = args[0]!;
  const specs = verb === "get" ? GET_FLAGS : verb === "put" ? PUT_FLAGS : verb === "del" ? DEL_FLAGS : null;
  if (!specs) return fail(Exit.InvalidInput, `invalid txn request: ${line}`);
  const f = new Flags(specs);
  let pos: string[];
  try {
    pos = parseArgs(args.slice(1), f);
  } catch {
    return fail(Exit.InvalidInput, `invalid txn request: ${line}`);
  }
  if (verb === "get") {
    const g = getOp(pos, f);
    return op.get(g.key, g.opts);
  }
  if (verb === "put") {
    const p = await putOp(pos, f, null);
    return op.put(p.key, p.value, p.opts);
  }
  const d = delOp(pos, f);
  return op.delete(d.key, d.opts);
}

async function readSection<T>(stdin: Input, parse: (l: string) => Promise<T> | T): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const { line, eof } = await stdin.readLine();
    // Go's ReadString('\n') reports EOF for a last line without its newline.
    if (eof) fail(Exit.InvalidInput, "EOF");
    const t = line.trim();
    if (t === "") return out;
    out.push(await parse(t));
  }
}

function leaseArg(ctx: Ctx, what: string): string {
  if (ctx.args.length !== 1) fail(Exit.BadArgs, what);
  return parseLeaseHex(ctx.args[0]!, "bad lease ID arg");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function endpointsFromCluster(ctx: Ctx): Promise<string[]> {
  if (!ctx.flags.bool("cluster")) return ctx.endpoints();
  const ml = await call(ctx.client().memberList({ timeout: ctx.timeout() }), Exit.Error, (m) => `failed to fetch endpoints from etcd cluster member list: ${m}`);
  return ml.members.flatMap((m) => m.clientURLs);
}

const WATCH_FLAGS: FlagSpec[] = [
  { name: "interactive", short: "i", kind: "bool", def: "false", usage: "Interactive mode" },
  { name: "prefix", kind: "bool", def: "false", usage: "Watch on a prefix if prefix is set" },
  { name: "rev", kind: "int", def: "0", usage: "Revision to start watching" },
  { name: "prev-kv", kind: "bool", def: "false", usage: "get the previous key-value pair before the event happens" },
];

// etcdctl's watch argument errors (ctlv3/command/watch_command.go).
const WATCH_ARGS = {
  count: "bad number of arguments",
  conflictEnv: "bad number of arguments (found conflicting environment key)",
  separator: "bad number of arguments (found separator --, but no commands)",
};

/** One watch as written: its key arguments, and the command to run for every event (after "--"). */
interface WatchCall {
  args: string[];
  exec: string[];
}

/** ETCDCTL_WATCH_KEY and ETCDCTL_WATCH_RANGE_END: the key (and range end) to watch when none is given. */
function watchEnvArgs(env: Record<string, string | undefined>): string[] {
  const key = env.ETCDCTL_WATCH_KEY ?? "";
  const end = env.ETCDCTL_WATCH_RANGE_END ?? "";
  if (key === "" && end !== "") fail(Exit.BadArgs, `ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=${goQuote(end)}`);
  return key === "" ? [] : end === "" ? [key] : [key, end];
}

/**
 * The key arguments: the environment's first, then the positional ones before the command.
 * etcdctl cuts them at the last word equal to the command's name, so `watch k -- echo echo`
 * watches the range [k, echo); etcdoctl cuts at the same place.
 */
function watchKeyArgs(envArgs: string[], positional: string[], exec: string[]): string[] {
  const all = [...envArgs, ...positional];
  return exec.length > 0 ? all.slice(0, all.lastIndexOf(exec[0]!)) : all;
}

/** `watch [key [range_end]] [-- command args...]` on the command line. */
function watchCommandLine(argv: string[], positional: string[], envArgs: string[]): WatchCall {
  // etcdctl looks for "--" after the word "watch" in os.Args (which starts with the program's
  // name); a prefix of the verb ("wat") leaves the whole command line.
  const at = argv.indexOf("watch");
  const raw = at >= 0 ? argv.slice(at + 1) : [NAME, ...argv];
  const sep = raw.indexOf("--");
  if (sep >= 0 && sep === raw.length - 1) fail(Exit.BadArgs, WATCH_ARGS.separator);
  if (sep < 0 && raw.length === 0 && envArgs.length === 0) fail(Exit.BadArgs, WATCH_ARGS.count);
  const exec = sep >= 0 ? raw.slice(sep + 1) : [];
  // Everything after "--" is positional too: any positional word before it conflicts with ETCDCTL_WATCH_KEY.
  if (envArgs.length > 0 && positional.length > exec.length) fail(Exit.BadArgs, WATCH_ARGS.conflictEnv);
  return { args: watchKeyArgs(envArgs, positional, exec), exec };
}

/** A "watch ..." line of interactive mode, with its own flags; a malformed one ends the command as in etcdctl. */
function watchLine(words: string[], envArgs: string[]): { call: WatchCall; flags: Flags } {
  const rest = words.slice(1);
  const sep = rest.indexOf("--");
  if (sep >= 0 && sep === rest.length - 1) fail(Exit.BadArgs, WATCH_ARGS.separator);
  const flags = new Flags(WATCH_FLAGS);
  let positional: string[] = [];
  try {
    positional = parseArgs(rest, flags);
  } catch (e) {
    throw e instanceof CliExit ? new CliExit(Exit.BadArgs, e.text) : e;
  }
  if (sep < 0 && envArgs.length === 0 && positional.length === 0) fail(Exit.BadArgs, WATCH_ARGS.count);
  if (sep < 0 && envArgs.length > 0 && positional.length > 0) fail(Exit.BadArgs, WATCH_ARGS.conflictEnv);
  const exec = sep >= 0 ? rest.slice(sep + 1) : [];
  return { call: { args: watchKeyArgs(envArgs, positional, exec), exec }, flags };
}

/** The watch request for key arguments; as in etcdctl, a range end only comes from exactly two of them. */
function watchOptions(args: string[], f: Flags): { key: string; opts: WatchOptions } {
  if (args.length < 1) fail(Exit.BadArgs, WATCH_ARGS.count);
  if (f.bool("prefix") && args.length === 2) fail(Exit.BadArgs, "`range_end` and `--prefix` are mutually exclusive");
  const opts: WatchOptions = {};
  if (args.length === 2) opts.rangeEnd = args[1]!;
  if (f.bool("prefix")) opts.prefix = true;
  if (f.int("rev") > 0) opts.startRevision = f.int("rev");
  if (f.bool("prev-kv")) opts.prevKv = true;
  return { key: args[0]!, opts };
}

/**
 * The exec form: runs the command for one event, with etcdctl's environment (Go-quoted type,
 * key and value; the response's revision) and its output passed through. A failing command
 * ends etcdoctl with exit code 1, as it ends etcdctl.
 */
async function execForEvent(ctx: Ctx, exec: string[], r: WatchResponse, ev: WatchEvent): Promise<void> {
  if (!ctx.io.exec) fail(Exit.Error, "cannot run commands here");
  const failed = await ctx.io.exec!(exec, {
    ETCD_WATCH_REVISION: String(r.header.revision),
    ETCD_WATCH_EVENT_TYPE: ev.type === "delete" ? '"DELETE"' : '"PUT"',
    ETCD_WATCH_KEY: goQuoteBytes(ev.kv.key),
    ETCD_WATCH_VALUE: goQuoteBytes(ev.kv.value),
  });
  if (failed === undefined) return;
  ctx.io.err(`command [${exec.map(goQuote).join(" ")}] error (${failed})\n`);
  throw new CliExit(Exit.Error);
}

/** Prints one watch's responses, running `exec` (if any) for each event, until the watch ends. */
async function followWatch(ctx: Ctx, p: Printer, w: Watch, exec: string[]): Promise<void> {
  try {
    for await (const r of w) {
      if (r.progress) ctx.io.out(`progress notify: ${r.header.revision}\n`);
      else if (r.events.length === 0) continue;
      p.watch(r);
      if (exec.length > 0) for (const ev of r.events) await execForEvent(ctx, exec, r, ev);
    }
  } catch (e) {
    if (e instanceof CliExit) throw e;
    ctx.io.err(`watch was canceled (${errText(e)})\n`);
    // etcdctl prints the cancel response too (only the json and fields formats show it).
    if (isWatchCompacted(e) && e.header) p.watch({ header: e.header, events: [], progress: false }, e.compactRevision);
  }
}

/** Runs the command line's watch until interrupted; a watch the server ends ends the command as etcdctl's does. */
async function printWatch(ctx: Ctx, p: Printer, call: WatchCall, f: Flags): Promise<void> {
  const { key, opts } = watchOptions(call.args, f);
  const c = ctx.client();
  try {
    await followWatch(ctx, p, c.watch(key, { ...opts, signal: ctx.io.interrupt }), call.exec);
  } finally {
    c.close();
  }
  if (!ctx.io.interrupt?.aborted) fail(Exit.Interrupted, "watch is canceled by the server");
}

/** `watch -i`: "watch ..." and "progress" lines from stdin, until it ends or a command fails. */
async function watchInteractive(ctx: Ctx, p: Printer, envArgs: string[]): Promise<void> {
  const c = ctx.client();
  const watches: Watch[] = [];
  let fatal: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fatal = reject));
  try {
    for (;;) {
      const { line, eof } = await Promise.race([ctx.io.stdin.readLine(), failed]);
      if (eof) fail(Exit.InvalidInput, "Error reading watch request line: EOF");
      const l = line.replace(/\n$/, "");
      const words = argify(l);
      if (words.length === 0) {
        ctx.io.err(`Invalid command: ${l} (watch and progress supported)\n`);
        continue;
      }
      if (words[0] === "progress") {
        // One request answers every watch of the stream.
        watches[0]?.requestProgress();
        continue;
      }
      if (words[0] !== "watch") {
        ctx.io.err(`Invalid command ${l} (only support watch)\n`);
        continue;
      }
      if (words.length < 2 && envArgs.length === 0) {
        ctx.io.err(`Invalid command ${l} (command type or key is not provided)\n`);
        continue;
      }
      const { call, flags } = watchLine(words, envArgs);
      let req: { key: string; opts: WatchOptions };
      try {
        req = watchOptions(call.args, flags);
      } catch (e) {
        ctx.io.err(`Invalid command ${l} (${e instanceof CliExit ? e.text : String(e)})\n`);
        continue;
      }
      const w = c.watch(req.key, { ...req.opts, signal: ctx.io.interrupt });
      watches.push(w);
      followWatch(ctx, p, w, call.exec).catch(fatal);
    }
  } finally {
    c.close();
  }
}

/** Waits for SIGINT / SIGTERM, or fails with `lostText` when `lost` aborts first. */
async function untilInterrupted(ctx: Ctx, lost: AbortSignal, lostText: string): Promise<void> {
  await new Promise<void>((resolve) => {
    if (ctx.io.interrupt?.aborted || lost.aborted) return resolve();
    ctx.io.interrupt?.addEventListener("abort", () => resolve(), { once: true });
    lost.addEventListener("abort", () => resolve(), { once: true });
  });
  if (lost.aborted && !ctx.io.interrupt?.aborted) fail(Exit.Error, lostText);
}

function memberIdArg(ctx: Ctx): string {
  if (ctx.args.length !== 1) fail(Exit.BadArgs, "member ID is not provided");
  const s = ctx.args[0]!;
  if (!/^[0-9a-fA-F]+$/.test(s)) fail(Exit.BadArgs, `bad member ID arg (strconv.ParseUint: parsing ${goQuote(s)}: invalid syntax), expecting ID in Hex`);
  const v = BigInt(`0x${s}`);
  if (v > 0xffffffffffffffffn) fail(Exit.BadArgs, `bad member ID arg (strconv.ParseUint: parsing ${goQuote(s)}: value out of range), expecting ID in Hex`);
  return v.toString();
}

const COMMANDS: Command[] = [
  {
    name: "get",
    usage: "get [options] <key> [range_end]",
    short: "Gets the key or a range of keys",
    flags: GET_FLAGS,
    run: async (ctx) => {
      const { key, opts } = getOp(ctx.args, ctx.flags);
      const p = ctx.printer();
      // As etcdctl 3.5, which added --count-only: the count is shown by the fields format.
      if (opts.countOnly && p.format !== "fields") fail(Exit.BadArgs, "--count-only is only for `--write-out=fields`");
      const r = await call(ctx.client().range(key, { ...opts, timeout: ctx.timeout() }));
      if (ctx.flags.bool("print-value-only")) {
        if (p.format !== "simple") fail(Exit.BadArgs, "print-value-only is only for `--write-out=simple`");
        p.simple.valueOnly = true;
      }
      p.get(r);
    },
  },
  {
    name: "put",
    usage: "put [options] <key> <value> (<value> can also be given from stdin)",
    short: "Puts the given key into the store",
    flags: PUT_FLAGS,
    run: async (ctx) => {
      const { key, value, opts } = await putOp(ctx.args, ctx.flags, ctx.io.stdin);
      const p = ctx.printer();
      p.put(await call(ctx.client().put(key, value, { ...opts, timeout: ctx.timeout() })));
    },
  },
  {
    name: "del",
    usage: "del [options] <key> [range_end]",
    short: "Removes the specified key or range of keys [key, range_end)",
    flags: DEL_FLAGS,
    run: async (ctx) => {
      const { key, opts } = delOp(ctx.args, ctx.flags);
      const p = ctx.printer();
      p.del(await call(ctx.client().delete(key, { ...opts, timeout: ctx.timeout() })));
    },
  },
  {
    name: "txn",
    usage: "txn [options]",
    short: "Txn processes all the requests in one transaction",
    flags: [{ name: "interactive", short: "i", kind: "bool", def: "false", usage: "Input transaction in interactive mode" }],
    run: async (ctx) => {
      if (ctx.args.length !== 0) fail(Exit.BadArgs, "txn command does not accept argument");
      const p = ctx.printer();
      const interactive = ctx.flags.bool("interactive");
      const prompt = (s: string) => interactive && ctx.io.out(`${s}\n`);
      prompt("compares:");
      const cmps = await readSection(ctx.io.stdin, parseCompare);
      prompt("success requests (get, put, del):");
      const thens = await readSection(ctx.io.stdin, parseRequestOp);
      prompt("failure requests (get, put, del):");
      const elses = await readSection(ctx.io.stdin, parseRequestOp);
      const t = ctx.client().txn().if(...cmps).then(...thens).else(...elses);
      p.txn(await call(t.commit({ timeout: ctx.timeout() })));
    },
  },
  {
    name: "compaction",
    usage: "compaction [options] <revision>",
    short: "Compacts the event history in etcd",
    flags: [{ name: "physical", kind: "bool", def: "false", usage: "'true' to wait for compaction to physically remove all old revisions" }],
    run: async (ctx) => {
      if (ctx.args.length !== 1) fail(Exit.BadArgs, "compaction command needs 1 argument");
      const s = ctx.args[0]!;
      if (!/^[-+]?\d+$/.test(s)) fail(Exit.Error, `strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax`);
      const rev = Number(s);
      ctx.printer();
      await call(ctx.client().compact(rev, { physical: ctx.flags.bool("physical"), timeout: ctx.timeout() }));
      ctx.io.out(`compacted revision ${rev}\n`);
    },
  },
  {
    name: "lease",
    usage: "lease <subcommand>",
    short: "Lease related commands",
    sub: [
      {
        name: "grant",
        usage: "grant <ttl>",
        short: "Creates leases",
        run: async (ctx) => {
          if (ctx.args.length !== 1) fail(Exit.BadArgs, "lease grant command needs TTL argument");
          const s = ctx.args[0]!;
          if (!/^[-+]?\d+$/.test(s)) fail(Exit.BadArgs, `bad TTL (strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax)`);
          const p = ctx.printer();
          p.grant(await call(ctx.client().grant(Number(s), { timeout: ctx.timeout() }), Exit.Error, (m) => `failed to grant lease (${m})`));
        },
      },
      {
        name: "revoke",
        usage: "revoke <leaseID>",
        short: "Revokes leases",
        run: async (ctx) => {
          const id = leaseArg(ctx, "lease revoke command needs 1 argument");
          const p = ctx.printer();
          p.revoke(id, await call(ctx.client().revoke(id, { timeout: ctx.timeout() }), Exit.Error, (m) => `failed to revoke lease (${m})`));
        },
      },
      {
        name: "timetolive",
        usage: "timetolive <leaseID> [options]",
        short: "Get lease information",
        flags: [{ name: "keys", kind: "bool", def: "false", usage: "Get keys attached to this lease" }],
        run: async (ctx) => {
          const id = leaseArg(ctx, "lease timetolive command needs lease ID as argument");
          const keys = ctx.flags.bool("keys");
          const p = ctx.printer();
          p.timeToLive(await call(ctx.client().timeToLive(id, { keys, timeout: ctx.timeout() }), Exit.BadConnection), keys);
        },
      },
      {
        name: "list",
        usage: "list",
        short: "List all active leases",
        run: async (ctx) => {
          const p = ctx.printer();
          p.leases(await call(ctx.client().leases({ timeout: ctx.timeout() }), Exit.BadConnection));
        },
      },
      {
        name: "keep-alive",
        usage: "keep-alive [options] <leaseID>",
        short: "Keeps leases alive (renew)",
        flags: [{ name: "once", kind: "bool", def: "false", usage: "Resets the keep-alive time to its original value and exits immediately" }],
        run: async (ctx) => {
          const id = leaseArg(ctx, "lease keep-alive command needs lease ID as argument");
          const p = ctx.printer();
          const c = ctx.client();
          if (ctx.flags.bool("once")) {
            p.keepAlive(await call(c.keepAliveOnce(id, { timeout: ctx.timeout() }), Exit.BadConnection));
            return;
          }
          // Renew about every TTL/3, as clientv3's KeepAlive does, until the lease is gone.
          let first = true;
          for (;;) {
            try {
              const r = await c.keepAliveOnce(id, { timeout: ctx.timeout() });
              p.keepAlive(r);
              first = false;
              await sleep(Math.max(500, (r.ttl * 1000) / 3));
            } catch (e) {
              if (first && !isLeaseNotFound(e)) throw new CliExit(Exit.BadConnection, errText(e));
              if (isLeaseNotFound(e)) break;
              await sleep(500);
            }
          }
          if (p.format === "simple") ctx.io.out(`lease ${leaseIdToHex(id)} expired or revoked.\n`);
        },
      },
    ],
  },
  {
    name: "endpoint",
    usage: "endpoint <subcommand>",
    short: "Endpoint related commands",
    flags: [{ name: "cluster", kind: "bool", def: "false", usage: "use all endpoints from the cluster member list" }],
    sub: [
      {
        name: "health",
        usage: "health",
        short: "Checks the healthiness of endpoints specified in `--endpoints` flag",
        run: async (ctx) => {
          const p = ctx.printer();
          const eps = await endpointsFromCluster(ctx);
          const c = ctx.client();
          const now = ctx.io.now ?? (() => process.hrtime.bigint());
          const list = await Promise.all(
            eps.map(async (ep) => {
              const st = now();
              let error = "";
              try {
                const h = await c.health({ endpoint: ep, timeout: ctx.timeout() });
                if (!h.health) error = h.reason || "unhealthy";
              } catch (e) {
                error = errText(e);
              }
              return { ep, health: error === "", took: goDuration(now() - st), error };
            }),
          );
          p.endpointHealth(list);
          if (list.some((h) => h.error !== "")) fail(Exit.Error, "unhealthy cluster");
        },
      },
      {
        name: "status",
        usage: "status",
        short: "Prints out the status of endpoints specified in `--endpoints` flag",
        run: async (ctx) => {
          const p = ctx.printer();
          const c = ctx.client();
          const list: { ep: string; resp: StatusResult }[] = [];
          let failed = false;
          for (const ep of await endpointsFromCluster(ctx)) {
            try {
              list.push({ ep, resp: await c.status({ endpoint: ep, timeout: ctx.timeout() }) });
            } catch (e) {
              failed = true;
              ctx.io.err(`Failed to get the status of endpoint ${ep} (${errText(e)})\n`);
            }
          }
          p.endpointStatus(list);
          if (failed) throw new CliExit(Exit.Error);
        },
      },
    ],
  },
  {
    name: "member",
    usage: "member <subcommand>",
    short: "Membership related commands",
    sub: [
      {
        name: "add",
        usage: "add <memberName> [options]",
        short: "Adds a member into the cluster",
        flags: [
          { name: "peer-urls", kind: "string", def: "", usage: "comma separated peer URLs for the new member." },
          { name: "learner", kind: "bool", def: "false", usage: "indicates if the new member is raft learner" },
        ],
        run: async (ctx) => {
          if (ctx.args.length < 1) fail(Exit.BadArgs, "member name not provided");
          if (ctx.args.length > 1) fail(Exit.BadArgs, `too many arguments, did you mean --peer-urls=${ctx.args.slice(1).join(",")}`);
          const urls = ctx.flags.str("peer-urls").split(",").filter((u) => u !== "");
          if (urls.length === 0) fail(Exit.BadArgs, "member peer urls not provided");
          const p = ctx.printer();
          const r = await call(memberAdd(ctx.client().conn, urls, { isLearner: ctx.flags.bool("learner"), timeout: ctx.timeout() }));
          p.memberAdd(ctx.args[0]!, urls, r);
        },
      },
      {
        name: "remove",
        usage: "remove <memberID>",
        short: "Removes a member from the cluster",
        run: async (ctx) => {
          const id = memberIdArg(ctx);
          const p = ctx.printer();
          p.memberChange("removed from", id, await call(memberRemove(ctx.client().conn, id, { timeout: ctx.timeout() })));
        },
      },
      {
        name: "promote",
        usage: "promote <memberID>",
        short: "Promotes a non-voting member in the cluster",
        run: async (ctx) => {
          const id = memberIdArg(ctx);
          const p = ctx.printer();
          p.memberChange("promoted in", id, await call(memberPromote(ctx.client().conn, id, { timeout: ctx.timeout() })));
        },
      },
      {
        name: "list",
        usage: "list",
        short: "Lists all members in the cluster",
        run: async (ctx) => {
          const p = ctx.printer();
          p.memberList(await call(ctx.client().memberList({ timeout: ctx.timeout() })));
        },
      },
    ],
  },
  {
    name: "watch",
    usage: "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
    short: "Watches events stream on keys or prefixes",
    flags: WATCH_FLAGS,
    run: async (ctx) => {
      const envArgs = watchEnvArgs(ctx.io.env);
      const p = ctx.printer();
      ctx.io.defaultSignals?.();
      if (ctx.flags.bool("interactive")) return watchInteractive(ctx, p, envArgs);
      await printWatch(ctx, p, watchCommandLine(ctx.argv, ctx.args, envArgs), ctx.flags);
    },
  },
  {
    name: "lock",
    usage: "lock <lockname> [exec-command arg1 arg2 ...]",
    short: "Acquires a named lock",
    flags: [{ name: "ttl", kind: "int", def: "10", usage: "timeout for session" }],
    run: async (ctx) => {
      if (ctx.args.length === 0) fail(Exit.BadArgs, "lock takes a lock name argument and an optional command to execute");
      const c = ctx.client();
      const held = await call(c.lock(ctx.args[0]!, { ttl: ctx.flags.int("ttl"), signal: ctx.io.interrupt }));
      if (ctx.args.length > 1) {
        if (!ctx.io.exec) fail(Exit.Error, "cannot run commands here");
        const failed = await ctx.io.exec!(ctx.args.slice(1), { ETCD_LOCK_KEY: new TextDecoder().decode(held.key), ETCD_LOCK_REV: String(held.revision) });
        await call(held.unlock());
        if (failed !== undefined) fail(Exit.Error, failed);
        return;
      }
      const got = await call(c.range(held.key, { timeout: ctx.timeout() }));
      if (got.kvs.length === 0) fail(Exit.Error, "lock lost on init");
      ctx.printer().get(got);
      await untilInterrupted(ctx, held.lost, "session expired");
      await call(held.unlock());
    },
  },
  {
    name: "elect",
    usage: "elect <election-name> [proposal]",
    short: "Observes and participates in leader election",
    flags: [{ name: "listen", short: "l", kind: "bool", def: "false", usage: "observation mode" }],
    run: async (ctx) => {
      if (ctx.args.length !== 1 && ctx.args.length !== 2) fail(Exit.BadArgs, "elect takes one election name argument and an optional proposal argument");
      const listen = ctx.flags.bool("listen");
      if (listen && ctx.args.length === 2) fail(Exit.BadArgs, "proposal given but -l is set");
      if (!listen && ctx.args.length === 1) fail(Exit.BadArgs, "no proposal argument but -l not set");
      const c = ctx.client();
      const p = ctx.printer();
      if (listen) {
        try {
          for await (const kv of c.observe(ctx.args[0]!, { signal: ctx.io.interrupt })) p.keyValue(kv);
        } catch (e) {
          fail(Exit.Error, errText(e));
        }
        if (!ctx.io.interrupt?.aborted) fail(Exit.Error, "observe channel closed");
        return;
      }
      const lead = await call(c.campaign(ctx.args[0]!, ctx.args[1]!, { signal: ctx.io.interrupt }));
      const kv = (await call(c.range(lead.key, { timeout: ctx.timeout() }))).kvs[0];
      if (kv) p.keyValue(kv);
      await untilInterrupted(ctx, lead.lost, "elect: session expired");
      await call(lead.resign());
    },
  },
  {
    name: "alarm",
    usage: "alarm <subcommand>",
    short: "Alarm related commands",
    sub: [
      {
        name: "disarm",
        usage: "disarm",
        short: "Disarms all alarms",
        run: async (ctx) => {
          if (ctx.args.length !== 0) fail(Exit.BadArgs, "alarm disarm command accepts no arguments");
          const p = ctx.printer();
          p.alarms(await call(alarm(ctx.client().conn, "DEACTIVATE", { timeout: ctx.timeout() })));
        },
      },
      {
        name: "list",
        usage: "list",
        short: "Lists all alarms",
        run: async (ctx) => {
          if (ctx.args.length !== 0) fail(Exit.BadArgs, "alarm list command accepts no arguments");
          const p = ctx.printer();
          p.alarms(await call(alarm(ctx.client().conn, "GET", { timeout: ctx.timeout() })));
        },
      },
    ],
  },
  {
    name: "version",
    usage: "version",
    short: "Prints the version of etcdoctl",
    run: async (ctx) => {
      ctx.io.out(`${NAME} version: ${VERSION}\nAPI version: ${API_VERSION}\n`);
    },
  },
];

function findCommand(list: Command[], word: string): Command | undefined {
  const exact = list.find((c) => c.name === word);
  if (exact) return exact;
  // cobra.EnablePrefixMatching, as etcdctl sets it: a unique prefix selects a command.
  const matches = list.filter((c) => c.name.startsWith(word));
  return matches.length === 1 ? matches[0] : undefined;
}

function help(path: Command[], cmds: Command[], flags: FlagSpec[]): string {
  const name = [NAME, ...path.map((c) => c.name)].join(" ");
  const cur = path[path.length - 1];
  let s = `NAME:\n\t${name} - ${cur ? cur.short : "A simple command line client for etcd3 and etcdo."}\n\nUSAGE:\n\t${cur ? `${NAME} ${[...path.slice(0, -1).map((c) => c.name), cur.usage].join(" ")}` : `${NAME} [flags] <command>`}\n`;
  if (cmds.length) s += `\nCOMMANDS:\n${cmds.map((c) => `\t${c.usage.padEnd(40)}\t${c.short}`).join("\n")}\n`;
  if (flags.length) s += `\nOPTIONS:\n${flags.map((f) => `  ${f.short ? `-${f.short}, ` : "    "}--${f.name}=${f.kind === "string" ? goQuote(f.def) : f.def}\t${f.usage}`).join("\n")}\n`;
  return s;
}

/** Runs one etcdoctl invocation; returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const flags = new Flags(GLOBAL_FLAGS);
  try {
    // Find the command path first: leading words that name commands (flags may sit anywhere).
    const path: Command[] = [];
    let list = COMMANDS;
    const rest: string[] = [];
    let i = 0;
    for (; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--") break;
      if (a.startsWith("-")) {
        rest.push(a);
        // A global flag's separate value must not be taken for a command name.
        const spec = a.startsWith("--") ? flags.lookup(a.slice(2)) : a.length === 2 ? flags.lookupShort(a[1]!) : undefined;
        if (spec && spec.kind !== "bool" && !a.includes("=") && i + 1 < argv.length) rest.push(argv[++i]!);
        continue;
      }
      if (list.length === 0) break;
      const c = findCommand(list, a);
      if (!c) {
        if (path.length === 0) fail(Exit.Error, `unknown command ${goQuote(a)} for ${goQuote(NAME)}\nRun '${NAME} --help' for usage.`);
        break;
      }
      path.push(c);
      for (const f of c.flags ?? []) flags.add(f);
      list = c.sub ?? [];
    }
    const args = parseArgs([...rest, ...argv.slice(i)], flags);
    flags.fromEnv(io.env, GLOBAL_FLAGS.map((f) => f.name).filter((n) => n !== "help"));
    const cmd = path[path.length - 1];
    if (flags.bool("help") || !cmd || !cmd.run) {
      io.out(help(path, cmd?.sub ?? (cmd ? [] : COMMANDS), [...(cmd?.flags ?? []), ...GLOBAL_FLAGS]));
      return Exit.Success;
    }

    const format = flags.str("write-out");
    if (!["simple", "json", "table", "fields", "protobuf"].includes(format)) fail(Exit.BadFeature, "unsupported output format");
    let printer: Printer | undefined;
    let client: Etcd | undefined;
    const ctx: Ctx = {
      io,
      flags,
      args,
      argv,
      printer: () => (printer ??= new Printer(format as Format, io, { hex: flags.bool("hex"), valueOnly: false })),
      endpoints: () => flags.list("endpoints"),
      timeout: () => flags.ms("command-timeout"),
      client: () => (client ??= makeClient(flags)),
    };
    await cmd.run(ctx);
    return Exit.Success;
  } catch (e) {
    if (e instanceof UnsupportedFormat) {
      io.err(`Error: ${e.message}\n`);
      return Exit.BadFeature;
    }
    if (e instanceof CliExit) {
      if (e.text !== undefined) io.err(`Error: ${e.text}\n`);
      return e.code;
    }
    io.err(`Error: ${errText(e)}\n`);
    return Exit.Error;
  }
}

function makeClient(flags: Flags): Etcd {
  const endpoints = flags.list("endpoints");
  const scheme = flags.str("cert") || flags.str("cacert") || !flags.bool("insecure-transport") ? "https://" : "http://";
  const eps = endpoints.map((e) => (/^[a-z]+:\/\//i.test(e) ? e : scheme + e));
  let auth: { username: string; password: string } | undefined;
  const user = flags.str("user");
  if (user) {
    let password = flags.str("password");
    let username = user;
    if (!password) {
      const i = user.indexOf(":");
      if (i < 0) fail(Exit.Error, "password is required: give --user=name:password or --password");
      username = user.slice(0, i);
      password = user.slice(i + 1);
    }
    auth = { username, password };
  }
  return new Etcd({ endpoints: eps, auth });
}
